import { CONSENT_SCHEMA } from '@tessera/contracts/consents/consents.topic';
import { ERASURE_SCHEMA } from '@tessera/contracts/erasures/erasures.topic';
import { EVENT_SCHEMA } from '@tessera/contracts/events/events.topic';
import { PROFILE_CHANGE_SCHEMA } from '@tessera/contracts/profile-changes/profile-changes.topic';
import { PROFILE_UPSERT_SCHEMA } from '@tessera/contracts/profile-upserts/profile-upserts.topic';

/**
 * Label values of Tessera's metrics: every one comes from a small fixed set (route templates, record
 * kinds, status codes), never from a raw URL, a tenant or a record — a label of unbounded cardinality
 * would grow the registry with the traffic. Pure: no Nest, no prom-client.
 */

/** The `schema` header of each record kind the projector applies → its `kind` label. */
export const RECORD_KIND_LABELS: Readonly<Record<string, string>> = {
  [PROFILE_UPSERT_SCHEMA]: 'upsert',
  [EVENT_SCHEMA]: 'event',
  [CONSENT_SCHEMA]: 'consent',
  [ERASURE_SCHEMA]: 'erasure',
  [PROFILE_CHANGE_SCHEMA]: 'profile-change',
};

/**
 * A record's `kind` label: by its schema header (none: a profile upsert written before the header
 * existed), `tombstone` for an erased record on Kafka (empty value), `other` for a kind this version
 * does not name (the label set stays bounded whatever a producer sends).
 */
export function recordKindLabel(schema: string | undefined, valueLength: number): string {
  if (valueLength === 0) return 'tombstone';
  if (schema === undefined) return 'upsert';
  return RECORD_KIND_LABELS[schema] ?? 'other';
}

/** Counts a batch's records by kind label in one pass (a handful of keys). */
export function countRecordKinds(records: ReadonlyArray<{ headers: Record<string, string>; value: { length: number } }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) {
    const kind = recordKindLabel(r.headers.schema, r.value.length);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/**
 * The read operations timed on their own (`tessera_profile_read_duration_seconds{operation}`), by the
 * route template Fastify matched: look-up (/v3), search (the native listing) and get by id.
 */
const READ_OPERATIONS: ReadonlyMap<string, string> = new Map([
  ['GET /v3/profiles', 'lookup'],
  ['GET /api/v1/profiles', 'search'],
  ['GET /api/v1/profiles/:id', 'get'],
  ['GET /api/v1/customers/:customer/profiles', 'customer-profiles'],
]);

export function readOperationOf(method: string, route: string): string | undefined {
  return READ_OPERATIONS.get(`${method} ${route}`);
}

/** Requests that matched no route are one label value, not their URLs (a scanner would otherwise grow the registry). */
export const UNMATCHED_ROUTE = 'unmatched';

/** The `route` label: the template Fastify matched (`/api/v1/profiles/:id`), or `unmatched`. */
export function routeLabel(template: string | undefined): string {
  return template && template.length > 0 ? template : UNMATCHED_ROUTE;
}

export interface PartitionLagFigure {
  partition: number;
  /** Next offset to be written (the high-water mark). */
  end: number;
  /** The consumer's next offset to apply (0 when it has no checkpoint yet). */
  checkpoint: number;
  /** Records written but not yet applied: end − checkpoint, never negative. */
  lag: number;
}

/**
 * Lag per partition from the log's end offsets and a consumer's checkpoints: a partition without a
 * checkpoint lags by everything in it (the projector starts at the log's beginning).
 */
export function partitionLag(ends: ReadonlyArray<{ partition: number; offset: number }>, checkpoints: ReadonlyMap<number, number>): PartitionLagFigure[] {
  return ends.map(({ partition, offset }) => {
    const checkpoint = checkpoints.get(partition) ?? 0;
    return { partition, end: offset, checkpoint, lag: Math.max(0, offset - checkpoint) };
  });
}

/**
 * The `route` label of an ingest batch, by the publishing path's kind name (`profiles`, `events`,
 * `consent`, `compliance.gdpr`, …): the route template that sends it, `other` for a name not listed.
 */
export function ingestRouteLabel(kindName: string): string {
  if (kindName === 'profiles' || kindName === 'events' || kindName === 'consent') return `/v3/${kindName}`;
  if (kindName.startsWith('compliance.')) return '/v3/compliance/:regulation/delete';
  return 'other';
}
