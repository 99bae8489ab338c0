import { Body, Controller, HttpCode, Post, Req, UseInterceptors } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access, AuthenticatedRequest, IdempotencyInterceptor, zaiusAccepted } from '@tessera/runtime';
import { ApiProfileUpsert } from './profile-ingest.dto';
import { ProfileIngestService } from './profile-ingest.service';

@ApiTags('profiles (v3)')
@Controller('v3/profiles')
export class ProfileIngestController {
  constructor(private readonly ingest: ProfileIngestService) {}

  /** Batch upsert (DESIGN §3): 202 only after the log acknowledged every item. */
  @Post()
  @HttpCode(202)
  @Access('write')
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({ summary: 'Create or update profiles (batch upsert, Zaius v3)' })
  @ApiProfileUpsert()
  async upsert(@Body() body: unknown, @Req() request: AuthenticatedRequest) {
    await this.ingest.accept(request.principal!.tenant, body);
    return zaiusAccepted();
  }
}
