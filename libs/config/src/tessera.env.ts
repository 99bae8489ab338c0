import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  Validate,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { CorsOrigins, parseCorsOrigins, parseDuration } from './duration';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const BROKER_LIST = /^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/;

@ValidatorConstraint({ name: 'atMostReplicationFactor' })
class AtMostReplicationFactor implements ValidatorConstraintInterface {
  validate(value: number, args: ValidationArguments): boolean {
    return value <= (args.object as CommonEnv).TESSERA_KAFKA_REPLICATION_FACTOR;
  }

  defaultMessage(args: ValidationArguments): string {
    return `TESSERA_KAFKA_MIN_INSYNC_REPLICAS must not exceed TESSERA_KAFKA_REPLICATION_FACTOR (${(args.object as CommonEnv).TESSERA_KAFKA_REPLICATION_FACTOR})`;
  }
}

const DAY_MS = 86_400_000;

/** A duration (`24h`, `90m`, `3600s`, `500ms`, `7d` or ms) within [min, max] ms, given as the constraint's arguments. */
@ValidatorConstraint({ name: 'isDurationWithin' })
class IsDurationWithin implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const [min, max] = args.constraints as [number, number];
    const ms = typeof value === 'string' ? parseDuration(value) : undefined;
    return ms !== undefined && ms >= min && ms <= max;
  }

  defaultMessage(args: ValidationArguments): string {
    const [min] = args.constraints as [number, number];
    return min >= 1000
      ? `${args.property} must be a duration from 1s to 366d, such as 24h, 90m, 3600s or a number of milliseconds`
      : `${args.property} must be a duration above 0 and at most 366d, such as 24h, 90m, 3600s, 500ms or a number of milliseconds`;
  }
}

@ValidatorConstraint({ name: 'isCorsOrigins' })
class IsCorsOrigins implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && parseCorsOrigins(value) !== undefined;
  }

  defaultMessage(): string {
    return 'TESSERA_CORS_ORIGINS must be * or a comma-separated list of origins scheme://host[:port] (no path)';
  }
}

/** Settings every Tessera process shares (DESIGN §2). */
export class CommonEnv {
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsString()
  TESSERA_DATA_DIR: string = './.tessera';

  @IsOptional()
  @Matches(BROKER_LIST, { message: 'KAFKA_BROKERS must be a comma-separated list of host:port' })
  KAFKA_BROKERS?: string;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  /**
   * Partitions of tessera.profile-upserts.v1 when Tessera creates it. Default: 1 on the Postgres log
   * (log order = application order, so a replay rebuilds identical profiles, ids included), 8 on Kafka.
   */
  @IsOptional()
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(1)
  @Max(1024)
  TESSERA_PARTITIONS?: number;

  /**
   * Replication factor of the Kafka topics Tessera creates (existing topics are left alone). Default 3,
   * for a 3-broker cluster; on a cluster with fewer brokers the broker count is used, with a warning.
   */
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(1)
  @Max(32)
  TESSERA_KAFKA_REPLICATION_FACTOR: number = 3;

  /**
   * `min.insync.replicas` of the Kafka topics Tessera creates: with acks=all, a write is acknowledged
   * (202) only once this many replicas have it. Default 2; capped at the replication factor used.
   */
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(1)
  @Validate(AtMostReplicationFactor)
  TESSERA_KAFKA_MIN_INSYNC_REPLICAS: number = 2;

  /**
   * Kafka consumer-group session timeout: how long a worker that died without leaving (SIGKILL, lost
   * host) keeps its partitions before the group gives them to the others. Within the broker's
   * group.min/max.session.timeout.ms (6 s – 30 min by default).
   */
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(1_000)
  @Max(1_800_000)
  TESSERA_KAFKA_SESSION_TIMEOUT_MS: number = 30_000;

  /** Connections in this process's PostgreSQL pool. */
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(2)
  @Max(200)
  TESSERA_DB_POOL_SIZE: number = 20;

  /**
   * How long a request's `Idempotency-Key` answer and an event's `data.idempotence_id` are remembered
   * (DESIGN §10): `24h`, `90m`, `3600s`, `500ms`, `7d` or a number of milliseconds. Read it as
   * `idempotencyWindowMs`.
   */
  // Longest accepted: a year (a typo such as `24d` for `24h` still fits).
  @Validate(IsDurationWithin, [1, 366 * DAY_MS])
  TESSERA_IDEMPOTENCY_WINDOW: string = '24h';

  /** `TESSERA_IDEMPOTENCY_WINDOW` in milliseconds. */
  get idempotencyWindowMs(): number {
    return parseDuration(this.TESSERA_IDEMPOTENCY_WINDOW) ?? DAY_MS;
  }

  /**
   * Kafka: the event store is a compacted topic so that erasure can delete records (tombstones, DESIGN
   * §11); `max.compaction.lag.ms` bounds how long an erased record stays readable on the broker.
   */
  @Validate(IsDurationWithin, [1000, 366 * DAY_MS])
  TESSERA_KAFKA_MAX_COMPACTION_LAG: string = '24h';

  /**
   * Declared search attributes (README "Search attributes"): a comma-separated list of attribute names
   * (`city,plan`; lowercase letters, digits and `_`, at most 40 characters) kept as indexed columns
   * so a listing filtered on one counts and pages from an index. Set, a start makes the declared set
   * exactly this list (`none`: no attribute); unset or empty, it leaves the set as the last start made it.
   */
  @IsOptional()
  @Matches(/^[a-z][a-z0-9_]{0,39}(,[a-z][a-z0-9_]{0,39})*$/, {
    message: 'TESSERA_SEARCH_ATTRIBUTES must be a comma-separated list of attribute names (lowercase letters, digits and _, starting with a letter, at most 40 characters each), or none',
  })
  TESSERA_SEARCH_ATTRIBUTES?: string;

  /** `TESSERA_SEARCH_ATTRIBUTES` as a list; undefined when not set. */
  get searchAttributes(): string[] | undefined {
    const raw = this.TESSERA_SEARCH_ATTRIBUTES;
    if (raw === undefined) return undefined;
    return raw === 'none' ? [] : [...new Set(raw.split(','))];
  }

  /** `TESSERA_KAFKA_MAX_COMPACTION_LAG` in milliseconds. */
  get kafkaMaxCompactionLagMs(): number {
    return parseDuration(this.TESSERA_KAFKA_MAX_COMPACTION_LAG) ?? DAY_MS;
  }
}

/** HTTP surfaces (ingest, query, single-node). */
export class HttpEnv extends CommonEnv {
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = 8080;

  @IsString()
  HOST: string = '0.0.0.0';

  /** Maximum request body in bytes (413 above it). */
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(1024)
  TESSERA_BODY_LIMIT: number = 4 * 1024 * 1024;

  /**
   * Worker threads that validate and encode ingest bodies of 16+ items (the event loop keeps HTTP, the
   * JSON parse and the log append). Default: 1 when the machine has 2 or more cores, else 0 (in place).
   */
  @IsOptional()
  @Transform(({ value }) => (value === '' ? undefined : Number(value)))
  @IsInt()
  @Min(0)
  @Max(64)
  TESSERA_INGEST_WORKERS?: number;

  /** Default per-tenant rate limit: items (upserted items or look-ups) per second, per process. */
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(1)
  TESSERA_RATE_LIMIT: number = 100_000;

  /** Default per-tenant burst (token bucket size). */
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(1)
  TESSERA_RATE_BURST: number = 200_000;

  /** How long ingest waits for the log to acknowledge a batch before answering 503. */
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(100)
  TESSERA_PRODUCE_TIMEOUT_MS: number = 10_000;

  /**
   * Browser origins allowed to call the API cross-origin (CORS): `*` (any, the default; browser SDKs
   * post from customers' sites) or a comma-separated list such as `https://shop.example,http://localhost:3000`.
   * Read it as `corsOrigins`.
   */
  @Validate(IsCorsOrigins)
  TESSERA_CORS_ORIGINS: string = '*';

  /**
   * Native API writes (DESIGN §12) answer once the projection applied them; after this long without it
   * they answer 202 with `Location` instead.
   */
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(0)
  @Max(120_000)
  TESSERA_SYNC_WRITE_TIMEOUT_MS: number = 5_000;

  /**
   * The admin key of /api/v1/tenants (DESIGN §12, seed 004). Single node: generated, persisted and
   * printed by `npm start` when unset. Scale-out apps: unset = the tenant administration routes refuse
   * every key.
   */
  @IsOptional()
  @MinLength(16, { message: 'TESSERA_ADMIN_KEY must be at least 16 characters' })
  TESSERA_ADMIN_KEY?: string;

  /** `TESSERA_CORS_ORIGINS` parsed: `'*'` or the allowed origins, lower case. */
  get corsOrigins(): CorsOrigins {
    return parseCorsOrigins(this.TESSERA_CORS_ORIGINS) ?? '*';
  }
}

/** The worker app (scale-out): the profile projector, with health endpoints on PORT. */
export class WorkerEnv extends HttpEnv {
  @Transform(({ value }) => Number(value))
  @IsInt()
  @Min(1)
  @Max(50_000)
  TESSERA_WORKER_BATCH_SIZE: number = 2000;
}

/** Single-node mode: ingest + query + worker in one process, plus the default tenant's keys. */
export class SingleNodeEnv extends WorkerEnv {
  @IsOptional()
  @MinLength(16, { message: 'TESSERA_PUBLIC_KEY must be at least 16 characters' })
  TESSERA_PUBLIC_KEY?: string;

  @IsOptional()
  @MinLength(16, { message: 'TESSERA_PRIVATE_KEY must be at least 16 characters' })
  TESSERA_PRIVATE_KEY?: string;
}

/** The ingest app (scale-out): POST /v3/profiles and health. */
export class IngestEnv extends HttpEnv {}

/** The query app (scale-out): GET /v3/profiles and health. */
export class QueryEnv extends HttpEnv {}
