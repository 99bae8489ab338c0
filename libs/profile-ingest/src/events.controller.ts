import { Body, Controller, HttpCode, Post, Req, UseInterceptors } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access, AuthenticatedRequest, IdempotencyInterceptor, zaiusAccepted } from '@tessera/runtime';
import { ApiEventsTrack } from './profile-ingest.dto';
import { ProfileIngestService } from './profile-ingest.service';

@ApiTags('events (v3)')
@Controller('v3/events')
export class EventsController {
  constructor(private readonly ingest: ProfileIngestService) {}

  /** Batch of events (DESIGN §10): 202 only after the log acknowledged every item. */
  @Post()
  @HttpCode(202)
  @Access('write')
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({ summary: 'Send events (batch, ODP v3)' })
  @ApiEventsTrack()
  async track(@Body() body: unknown, @Req() request: AuthenticatedRequest) {
    await this.ingest.acceptEvents(request.principal!.tenant, body);
    return zaiusAccepted();
  }
}
