import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Access } from '../http/access-policy';
import { TesseraMetrics } from './tessera-metrics';

const EXAMPLE = [
  '# HELP tessera_ingest_items_total Ingest items accepted and stored in the log, by route',
  '# TYPE tessera_ingest_items_total counter',
  'tessera_ingest_items_total{route="/v3/profiles"} 42',
  '',
].join('\n');

/**
 * Prometheus scrape endpoint, open to anyone like the health probes (an orchestrator's scraper holds
 * no tenant key): it answers counts and latencies only — route templates, record kinds, partitions —
 * never a tenant, key, identifier or value. Put it behind the network boundary like /health/*.
 */
@ApiTags('metrics')
@Controller()
export class MetricsController {
  constructor(private readonly metrics: TesseraMetrics) {}

  @Get('metrics')
  @Access('none')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format 0.0.4)', description: 'Ingest, log append, projector, consumer lag, read latency, database pool and process figures of this process.' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The metrics in Prometheus text format', schema: { type: 'string' }, example: EXAMPLE })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const text = await this.metrics.exposition();
    reply.header('content-type', this.metrics.contentType);
    return text;
  }
}
