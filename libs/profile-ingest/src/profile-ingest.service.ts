import { Inject, Injectable } from '@nestjs/common';
import { buildProfileUpsertRecords, PROFILE_UPSERTS_TOPIC, validateProfileUpsertBody } from '@tessera/contracts';
import { EVENT_LOG, EventLog } from '@tessera/event-log';
import { ApiProblemException, LOGGER, TenantRateLimiter, TesseraLogger } from '@tessera/runtime';
import { TenantRepository } from '@tessera/store';

export const PRODUCE_TIMEOUT_MS = Symbol('PRODUCE_TIMEOUT_MS');
const RETRY_AFTER_SECONDS = '5';

/** Accepts a Zaius v3 batch all-or-nothing and answers only after the log stored every record. */
@Injectable()
export class ProfileIngestService {
  private draining = false;

  constructor(
    @Inject(EVENT_LOG) private readonly eventLog: EventLog,
    private readonly tenants: TenantRepository,
    @Inject(LOGGER) private readonly logger: TesseraLogger,
    @Inject(PRODUCE_TIMEOUT_MS) private readonly produceTimeoutMs: number,
    private readonly rateLimiter: TenantRateLimiter,
  ) {}

  /** New batches are refused with 503 once shutdown has begun; in-flight ones finish. */
  stopAccepting(): void {
    this.draining = true;
  }

  async accept(tenant: string, body: unknown): Promise<number> {
    if (this.draining) throw new ApiProblemException(503, undefined, { 'Retry-After': RETRY_AFTER_SECONDS });
    await this.rateLimiter.take(tenant, Array.isArray(body) ? Math.max(1, body.length) : 1);
    const rules = await this.tenants.identifierRules(tenant);
    const receivedAt = new Date();
    const result = validateProfileUpsertBody(body, rules, { receivedAt });
    if (!result.ok) {
      throw new ApiProblemException(400, 'invalids' in result ? { invalids: result.invalids } : { message: result.bodyError });
    }
    const records = buildProfileUpsertRecords(tenant, result.items, receivedAt, rules);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.eventLog.produce(PROFILE_UPSERTS_TOPIC, records),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`log did not acknowledge within ${this.produceTimeoutMs} ms`)), this.produceTimeoutMs);
        }),
      ]);
    } catch (error) {
      // Records stored before the failure are harmless: a retried batch applies the same values again.
      this.logger.warn({ err: error instanceof Error ? error.message : String(error), tenant, items: records.length }, 'log unavailable, answering 503');
      throw new ApiProblemException(503, undefined, { 'Retry-After': RETRY_AFTER_SECONDS });
    } finally {
      if (timer) clearTimeout(timer);
    }
    return records.length;
  }
}
