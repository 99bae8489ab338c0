import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PartitionLagFigure } from './metric-labels';

/** Seconds: 1 ms … 10 s (HTTP answers, produce acknowledgements, projector batches). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Records per projector batch (TESSERA_WORKER_BATCH_SIZE caps it). */
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];
/** A scrape never waits longer than this for the lag or pool figures (a slow database must not hang it). */
const SCRAPE_SOURCE_TIMEOUT_MS = 2000;

/** A consumer whose lag is read at scrape time (high-water mark − its checkpoint, per partition). */
export interface LagSource {
  group: string;
  topic: string;
  read(): Promise<PartitionLagFigure[]>;
}

/** The pg pool's counters (pg.Pool exposes them as properties). */
export interface PoolFigures {
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  readonly options?: { max?: number };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Every metric of one Tessera process, on its own prom-client registry (not the global one: tests run
 * several apps in one process). Hot paths only call `inc`/`observe` on these fields; figures that cost
 * a query (consumer lag) or live elsewhere (the pool) are read at scrape time by `collect` callbacks.
 * Names and labels are listed in the README's metrics section.
 */
export class TesseraMetrics {
  readonly registry = new Registry();

  /** Every HTTP answer, by method, matched route template (never the raw URL) and status. */
  readonly httpRequestDuration = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'HTTP request duration, from the request to the answer sent, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** Profile reads on their own: look-up (GET /v3/profiles), search (GET /api/v1/profiles), get by id. */
  readonly profileReadDuration = new Histogram({
    name: 'tessera_profile_read_duration_seconds',
    help: 'Profile read latency by operation (lookup: GET /v3/profiles, search: GET /api/v1/profiles, get: GET /api/v1/profiles/:id)',
    labelNames: ['operation', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** Ingest batches that reached the publishing path, by route and the status answered. */
  readonly ingestRequests = new Counter({
    name: 'tessera_ingest_requests_total',
    help: 'Ingest batches handled by the publishing path, by route and answered status (202 accepted, 400 invalid, 429 rate-limited, 503 log unavailable or draining)',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });

  /** Items (log records) accepted: a 202 batch counts all its items. */
  readonly ingestItems = new Counter({
    name: 'tessera_ingest_items_total',
    help: 'Ingest items accepted and stored in the log, by route',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });

  /** Validate + encode + produce of one batch, by route and status. */
  readonly ingestDuration = new Histogram({
    name: 'tessera_ingest_duration_seconds',
    help: 'Ingest batch latency in the publishing path (rate limit, validation, encoding, log append), by route and status',
    labelNames: ['route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** EventLog.produce until the log acknowledged (Kafka acks=-1, Postgres commit). */
  readonly logAppendDuration = new Histogram({
    name: 'tessera_log_append_duration_seconds',
    help: 'Event log append (produce) latency until every record is durably stored, by topic and outcome (ok, error)',
    labelNames: ['topic', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly logAppendedRecords = new Counter({
    name: 'tessera_log_appended_records_total',
    help: 'Records appended to the event log (acknowledged), by topic',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly projectorBatchRecords = new Histogram({
    name: 'tessera_projector_batch_records',
    help: 'Records per batch handed to the projector, by consumer group',
    labelNames: ['group'] as const,
    buckets: BATCH_SIZE_BUCKETS,
    registers: [this.registry],
  });

  readonly projectorBatchDuration = new Histogram({
    name: 'tessera_projector_batch_duration_seconds',
    help: 'Projector batch duration (decode, apply, commit with the checkpoint), by consumer group and outcome (ok, error: redelivered)',
    labelNames: ['group', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly projectorRecordsApplied = new Counter({
    name: 'tessera_projector_records_applied_total',
    help: 'Records of committed projector batches, by consumer group and kind (upsert, event, consent, erasure, profile-change, tombstone, other)',
    labelNames: ['group', 'kind'] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'tessera_dead_letters_total',
    help: 'Records dead-lettered (committed to the DLQ with the checkpoint), by consumer group',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });

  private readonly lagSources: LagSource[] = [];
  /** Read by `exposition` before each scrape; both lag gauges show the same read. */
  private lagFigures: LagFigure[] = [];
  private pool?: PoolFigures;

  constructor() {
    // process_resident_memory_bytes, nodejs_eventloop_lag_seconds, GC, heap, handles, …
    collectDefaultMetrics({ register: this.registry });
    const lag = () => this.lagFigures;
    new Gauge({
      name: 'tessera_consumer_lag_records',
      help: 'Records in the log not yet applied by a consumer: the partition high-water mark minus its committed checkpoint (read at scrape time)',
      labelNames: ['group', 'topic', 'partition'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const figure of lag()) this.set({ group: figure.group, topic: figure.topic, partition: String(figure.partition) }, figure.lag);
      },
    });
    new Gauge({
      name: 'tessera_log_end_offset',
      help: 'Partition high-water mark (next offset to be written) of the topics a consumer of this process reads (scrape time)',
      labelNames: ['topic', 'partition'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const figure of lag()) this.set({ topic: figure.topic, partition: String(figure.partition) }, figure.end);
      },
    });
    const pool = () => this.pool;
    new Gauge({
      name: 'tessera_db_pool_connections',
      help: 'Database pool connections by state: total (open), idle, in_use (total − idle), waiting (callers queued for a connection), max (the pool size)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const p = pool();
        if (!p) return;
        this.set({ state: 'total' }, p.totalCount);
        this.set({ state: 'idle' }, p.idleCount);
        this.set({ state: 'in_use' }, p.totalCount - p.idleCount);
        this.set({ state: 'waiting' }, p.waitingCount);
        if (p.options?.max !== undefined) this.set({ state: 'max' }, p.options.max);
      },
    });
  }

  /** The database pool whose figures each scrape reads. */
  watchPool(pool: PoolFigures): void {
    this.pool = pool;
  }

  /** A consumer whose lag each scrape reads (one per group and topic; a later one replaces an earlier). */
  watchConsumerLag(source: LagSource): void {
    const at = this.lagSources.findIndex((s) => s.group === source.group && s.topic === source.topic);
    if (at >= 0) this.lagSources.splice(at, 1, source);
    else this.lagSources.push(source);
  }

  /** The Prometheus text exposition of every metric, the consumer lag read for this scrape. */
  async exposition(): Promise<string> {
    this.lagFigures = await readLag(this.lagSources);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

type LagFigure = PartitionLagFigure & { group: string; topic: string };

/** Every source's figures, each read with a deadline; a source that fails or is slow adds none. */
async function readLag(sources: LagSource[]): Promise<LagFigure[]> {
  const figures = await Promise.all(
    sources.map(async (s) => {
      try {
        return (await withTimeout(s.read(), SCRAPE_SOURCE_TIMEOUT_MS)).map((f) => ({ ...f, group: s.group, topic: s.topic }));
      } catch {
        return []; // an unreachable log or database leaves the gauge empty for this scrape; readiness says why
      }
    }),
  );
  return figures.flat();
}
