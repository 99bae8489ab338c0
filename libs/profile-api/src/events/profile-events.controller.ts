import { Controller, Get, Param, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { isUuid } from '@tessera/identity';
import { Access, AuthenticatedRequest, ProblemException, TenantRateLimiter } from '@tessera/runtime';
import { readScopeOf } from '../profile-reads/read-scope';
import { encodeEventsCursor } from './events-cursor';
import { parseEventsQuery } from './events-query';
import { ApiProfileEvents } from './profile-events.dto';
import { ProfileEventsReader } from './profile-events.reader';

export interface ProfileEventView {
  id: string;
  type: string;
  action: string | null;
  ts: string;
  identifiers: Record<string, unknown>;
  data: Record<string, unknown>;
}

/** Events kept per profile, following merges (DESIGN §10, §12 conventions). */
@ApiTags('profiles')
@Controller('api/v1/profiles')
export class ProfileEventsController {
  constructor(
    private readonly events: ProfileEventsReader,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  @Get(':id/events')
  @Access('read')
  @ApiOperation({ summary: 'List a profile\'s events, newest first' })
  @ApiProfileEvents()
  async list(@Param('id') id: string, @Query() query: Record<string, unknown>, @Req() request: AuthenticatedRequest): Promise<{ events: ProfileEventView[]; next: string | null }> {
    const { tenant, restrictions } = readScopeOf(request);
    await this.rateLimiter.take(tenant, 1);
    // Profile ids are UUIDs, canonical in lower case; anything else names no profile.
    const profileId = id.toLowerCase();
    const parsed = parseEventsQuery(query, profileId);
    if (!parsed.ok) throw ProblemException.badParameter(parsed.problem.parameter, parsed.problem.message);
    const survivor = isUuid(profileId) ? await this.events.survivorOf(tenant, profileId, restrictions) : null;
    // Another tenant's profile, or one outside the key's restrictions, is as unknown as a missing one.
    if (!survivor) throw ProblemException.notFound(`no profile with id ${id}`);

    const { limit, cursor } = parsed.query;
    const rows = await this.events.page(tenant, survivor, limit + 1, cursor);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      events: page.map((e) => ({ id: e.id, type: e.type, action: e.action, ts: e.ts.toISOString(), identifiers: e.identifiers, data: e.data })),
      next: rows.length > limit ? encodeEventsCursor({ profileId, ts: last.tsKey, id: last.id }) : null,
    };
  }
}
