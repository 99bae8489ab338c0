import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Access } from '../http/access-policy';
import type { TesseraLogger } from '../logger';
import { LOGGER } from '../tokens';
import { RETRY_AFTER_HEADER } from '../http/openapi/zaius-errors.dto';
import { HealthStatusDto } from './health.dto';
import { ReadinessRegistry } from './readiness.registry';

/**
 * Probes for orchestrators, open to anyone: they answer a status only. Why a check fails is logged
 * (once per change), never answered — error text names hosts, settings and internals.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  private failing = new Map<string, string>();

  constructor(
    private readonly readiness: ReadinessRegistry,
    @Inject(LOGGER) private readonly logger: TesseraLogger,
  ) {}

  /** The process is up. */
  @Get('live')
  @Access('none')
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process is up' })
  @ApiOkResponse({ type: HealthStatusDto, example: { status: 'ok' } })
  live() {
    return { status: 'ok' };
  }

  /** Ready when every registered readiness check passes (database, migrations, event log, …). */
  @Get('ready')
  @Access('none')
  @ApiOperation({ summary: 'Readiness: database, migrations, event log and every other registered check pass' })
  @ApiOkResponse({ type: HealthStatusDto, example: { status: 'ok' } })
  @ApiServiceUnavailableResponse({ type: HealthStatusDto, example: { status: 'unavailable' }, headers: RETRY_AFTER_HEADER, description: 'A check fails (the log says which)' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const report = await this.readiness.evaluate();
    this.logChanges(report.checks);
    if (report.ready) return { status: 'ok' };
    reply.status(503).header('Retry-After', '5');
    return { status: 'unavailable' };
  }

  private logChanges(checks: Record<string, string>): void {
    const failing = new Map(Object.entries(checks).filter(([, result]) => result !== 'ok'));
    for (const [check, result] of failing) {
      if (this.failing.get(check) !== result) this.logger.warn({ check, result }, 'readiness check failing');
    }
    for (const check of this.failing.keys()) {
      if (!failing.has(check)) this.logger.info({ check }, 'readiness check passing again');
    }
    this.failing = failing;
  }
}
