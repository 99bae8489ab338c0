import {
  buildEventRecords,
  buildProfileUpsertRecords,
  validateEventBody,
  validateProfileUpsertBody,
  type DeclaredFieldTypes,
  type EventInvalid,
  type ProfileUpsertInvalid,
} from '@tessera/contracts';
import type { IdentifierRules } from '@tessera/identity';

/** A log input as the builders make it (structurally the event log's LogRecordInput). */
export interface IngestLogRecord {
  key: string;
  partitionKey: string;
  value: string;
  headers: Record<string, string>;
}

/** The 400 detail of a refused body: every invalid item, or what is wrong with the body as a whole. */
export type IngestRefusal = { invalids: Array<ProfileUpsertInvalid | EventInvalid> } | { message: string };

/** What the publishing path knows about the request when a kind prepares its records. */
export interface IngestContext {
  /** The tenant's identifier rules (custom types, default phone region). */
  rules: IdentifierRules;
  /** When the body was received: records' `receivedAt` and the default event time. */
  receivedAt: Date;
  /** The tenant's declared customer fields (DESIGN §10 field schema): upsert values are checked against them. */
  fields: DeclaredFieldTypes;
}

export type IngestPreparation = { ok: true; records: IngestLogRecord[] } | { ok: false; detail: IngestRefusal };

/**
 * What differs between the ingest routes: how a body is validated (all-or-nothing) and turned into
 * log records. Everything else — draining, rate limit, produce with a deadline, 503 — is the one
 * publishing path of IngestService.
 */
export interface IngestKind {
  /** For logs: `profiles`, `events`. */
  name: string;
  prepare(tenant: string, body: unknown, context: IngestContext): IngestPreparation;
}

/** POST /v3/profiles (DESIGN §3, §4): profile-upsert.v1 records. */
export const PROFILE_UPSERT_INGEST: IngestKind = {
  name: 'profiles',
  prepare(tenant, body, { rules, receivedAt, fields }) {
    const result = validateProfileUpsertBody(body, rules, { receivedAt, fields });
    if (!result.ok) return { ok: false, detail: 'invalids' in result ? { invalids: result.invalids } : { message: result.bodyError } };
    return { ok: true, records: buildProfileUpsertRecords(tenant, result.items, receivedAt, rules) };
  },
};

/** POST /v3/events (DESIGN §10): event.v1 records. */
export const EVENT_INGEST: IngestKind = {
  name: 'events',
  prepare(tenant, body, { rules, receivedAt }) {
    const result = validateEventBody(body, rules, { receivedAt });
    if (!result.ok) return { ok: false, detail: 'invalids' in result ? { invalids: result.invalids } : { message: result.bodyError } };
    return { ok: true, records: buildEventRecords(tenant, result.items, receivedAt, rules) };
  },
};

/**
 * The kinds a worker thread can prepare (IngestPreparePool): module constants it rebuilds by name. Kinds
 * made for one request (consent, compliance: closures over their records) are always prepared in place.
 */
export const WORKER_INGEST_KINDS: readonly IngestKind[] = [PROFILE_UPSERT_INGEST, EVENT_INGEST];
