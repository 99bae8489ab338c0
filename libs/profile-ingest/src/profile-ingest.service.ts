import { HttpException, Inject, Injectable, OnApplicationShutdown, Optional } from '@nestjs/common';
import { PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { EVENT_LOG, EventLog } from '@tessera/event-log';
import { ApiProblemException, ingestRouteLabel, LOGGER, TenantRateLimiter, TesseraLogger, TesseraMetrics } from '@tessera/runtime';
import { TenantRepository } from '@tessera/store';
import { EVENT_INGEST, PROFILE_UPSERT_INGEST, type IngestKind } from './ingest-kinds';
import { IngestPreparePool } from './ingest-prepare.pool';

export const PRODUCE_TIMEOUT_MS = Symbol('PRODUCE_TIMEOUT_MS');
const RETRY_AFTER_SECONDS = '5';

/**
 * The one publishing path of every ingest route (POST /v3/profiles, POST /v3/events): accepts a
 * batch all-or-nothing and answers only after the log stored every record. All kinds go on the one
 * topic (DESIGN §9), so a person's upserts and events are applied in one order.
 */
@Injectable()
export class ProfileIngestService implements OnApplicationShutdown {
  private draining = false;
  /** Worker threads that validate and encode large bodies (TESSERA_INGEST_WORKERS); undefined: all in place. */
  preparePool: IngestPreparePool | undefined = IngestPreparePool.fromEnv();

  constructor(
    @Inject(EVENT_LOG) private readonly eventLog: EventLog,
    private readonly tenants: TenantRepository,
    @Inject(LOGGER) private readonly logger: TesseraLogger,
    @Inject(PRODUCE_TIMEOUT_MS) private readonly produceTimeoutMs: number,
    private readonly rateLimiter: TenantRateLimiter,
    @Optional() private readonly metrics?: TesseraMetrics,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.preparePool?.close();
  }

  /** New batches (of every route) are refused with 503 once shutdown has begun; in-flight ones finish. */
  stopAccepting(): void {
    this.draining = true;
  }

  /** POST /v3/profiles. Resolves to the number of records published. */
  accept(tenant: string, body: unknown): Promise<number> {
    return this.publish(tenant, body, PROFILE_UPSERT_INGEST);
  }

  /** POST /v3/events. Resolves to the number of records published. */
  acceptEvents(tenant: string, body: unknown): Promise<number> {
    return this.publish(tenant, body, EVENT_INGEST);
  }

  /** Counts and times every batch by route and the status it is answered with (metrics, when provided). */
  async publish(tenant: string, body: unknown, kind: IngestKind): Promise<number> {
    if (!this.metrics) return this.publishBatch(tenant, body, kind);
    const route = ingestRouteLabel(kind.name);
    const end = this.metrics.ingestDuration.startTimer({ route });
    let status = 202;
    try {
      const items = await this.publishBatch(tenant, body, kind);
      this.metrics.ingestItems.inc({ route }, items);
      return items;
    } catch (error) {
      status = error instanceof HttpException ? error.getStatus() : 500;
      throw error;
    } finally {
      end({ status: String(status) });
      this.metrics.ingestRequests.inc({ route, status: String(status) });
    }
  }

  private async publishBatch(tenant: string, body: unknown, kind: IngestKind): Promise<number> {
    // Step 1: refuse early — draining, then the tenant's rate (one token per item, as the client counts them).
    if (this.draining) throw new ApiProblemException(503, undefined, { 'Retry-After': RETRY_AFTER_SECONDS });
    await this.rateLimiter.take(tenant, Array.isArray(body) ? Math.max(1, body.length) : 1);

    // Step 2: validate and encode under the tenant's identifier rules; nothing is published unless every item is valid.
    const [rules, fields] = await Promise.all([this.tenants.identifierRules(tenant), this.tenants.fieldsOf(tenant)]);
    const context = { rules, fields, receivedAt: new Date() };
    const prepared = this.preparePool ? await this.preparePool.prepare(kind, tenant, body, context) : kind.prepare(tenant, body, context);
    if (!prepared.ok) throw new ApiProblemException(400, prepared.detail);
    const { records } = prepared;

    // Step 3: produce with a deadline; a log that cannot take the batch in time is a 503 the client retries.
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.eventLog.produce(PROFILE_UPSERTS_TOPIC, records),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`log did not acknowledge within ${this.produceTimeoutMs} ms`)), this.produceTimeoutMs);
        }),
      ]);
    } catch (error) {
      // Records stored before the failure are harmless: a retried batch applies the same values again
      // (events carry their idempotence_id, so a retried event is applied once).
      this.logger.warn(
        { err: error instanceof Error ? error.message : String(error), tenant, route: kind.name, items: records.length },
        'log unavailable, answering 503',
      );
      throw new ApiProblemException(503, undefined, { 'Retry-After': RETRY_AFTER_SECONDS });
    } finally {
      if (timer) clearTimeout(timer);
    }
    return records.length;
  }
}
