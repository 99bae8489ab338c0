// Not part of npm test: ProfileGraphRepository variants for the A/B of projector-throughput.measure.ts
// (VARIANTS=base,current …, alternating run by run in one process). Findings of issue 12 (20,000 people):
//   base            the statements before issue 12's database work (031a111), kept verbatim to measure against
//   current         the repository as built (typed arrays, UPDATE of loaded rows, plain INSERT of the others)
//   nolock          (unsafe) the load without FOR UPDATE: no measurable gain — the row locks are 0.46 WAL
//                   records / 25 B per record, not a significant cost
//   typed, json, split, splitPlain, splitTyped, splitTypedPlain   the steps towards current, one at a time:
//                   json_to_recordset was slower than jsonb_to_recordset; the plain INSERT is the main win
//   probe, probeCurrent   key joins as one index probe per key: no gain at 20,000 or 60,000 people
//   noNamed         (unsafe) without the record-derived profile ids: what probing them costs (~5-7 µs/record)
//   namedSaop       those ids as one ScalarArrayOp index scan per tenant (196 index searches instead of 2,000):
//                   no measurable CPU gain (without OFFSET 0 the planner flattened it into a 1 s filter join)
//   residentStored  the replay's save told which rows are stored (changes.stored): ~20 % less save CPU
import { EntityManager } from 'typeorm';
import type { IdentifierLink } from '@tessera/identity';
import {
  GraphChanges,
  GraphSlice,
  packVersions,
  ProfileGraphRepository,
  StaleSnapshotError,
  TenantIdentifierKey,
  TenantProfileKey,
  unpackVersions,
} from '@tessera/store';

interface ProfileRow {
  tenant: string;
  id: string;
  attributes: Record<string, never>;
  versions: Record<string, unknown> | null;
  created_ms: string;
  created_record_id: string;
  updated_ms: string;
  merged_into: string | null;
}

interface IdentifierRow {
  tenant: string;
  type: string;
  value: string;
  profile_id: string;
  confidence: string;
  first_ms: string;
  last_ms: string;
}

/** The repository before issue 12's database work (031a111). */
class BaseGraphRepository {
  constructor(private readonly manager: EntityManager) {}

  lockIdentifiers!: ProfileGraphRepository['lockIdentifiers'];

  async lockAndLoad(identifiers: TenantIdentifierKey[], profileIds: TenantProfileKey[]): Promise<GraphSlice> {
    await this.lockIdentifiers(identifiers);
    const keyParams = [identifiers.map((k) => k.tenant), identifiers.map((k) => k.type), identifiers.map((k) => k.value)];
    const profileRows: ProfileRow[] = await this.manager.query(
      `WITH keys AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS k(tenant, type, value)),
            zids AS (SELECT * FROM unnest($4::text[], $5::text[]) AS z(tenant, id)),
            named AS (SELECT p.tenant, p.id, p.merged_into FROM profiles p JOIN zids z USING (tenant, id)),
            pids AS (
              SELECT i.tenant, i.profile_id AS id FROM identifiers i JOIN keys k USING (tenant, type, value)
              UNION SELECT tenant, id FROM named
              UNION SELECT tenant, merged_into FROM named WHERE merged_into IS NOT NULL
            )
       SELECT p.tenant, p.id, p.attributes, p.attribute_versions AS versions,
              round(extract(epoch FROM p.created_at) * 1000)::bigint AS created_ms, p.created_record_id,
              round(extract(epoch FROM p.updated_at) * 1000)::bigint AS updated_ms, p.merged_into
         FROM profiles p JOIN pids USING (tenant, id)
        ORDER BY p.tenant, p.id
          FOR UPDATE OF p`,
      [...keyParams, profileIds.map((z) => z.tenant), profileIds.map((z) => z.id)],
    );
    const live = profileRows.filter((p) => !p.merged_into);
    const identifierRows: IdentifierRow[] = await this.manager.query(
      `SELECT i.tenant, i.type, i.value, i.profile_id, i.confidence,
              round(extract(epoch FROM i.first_seen) * 1000)::bigint AS first_ms, round(extract(epoch FROM i.last_seen) * 1000)::bigint AS last_ms
         FROM identifiers i JOIN unnest($4::text[], $5::text[]) AS p(tenant, id) ON i.tenant = p.tenant AND i.profile_id = p.id
       UNION
       SELECT i.tenant, i.type, i.value, i.profile_id, i.confidence,
              round(extract(epoch FROM i.first_seen) * 1000)::bigint, round(extract(epoch FROM i.last_seen) * 1000)::bigint
         FROM identifiers i JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(tenant, type, value) USING (tenant, type, value)`,
      [...keyParams, live.map((p) => p.tenant), live.map((p) => p.id)],
    );
    const slice: GraphSlice = {
      profiles: profileRows.map((r) => ({
        tenant: r.tenant,
        id: r.id,
        attributes: r.attributes ?? {},
        versions: unpackVersions(r.versions),
        createdTs: Number(r.created_ms),
        createdRecordId: r.created_record_id,
        updatedTs: Number(r.updated_ms),
        mergedInto: r.merged_into,
      })),
      identifiers: identifierRows.map((r) => ({
        tenant: r.tenant,
        type: r.type,
        value: r.value,
        profileId: r.profile_id,
        confidence: r.confidence as IdentifierLink['confidence'],
        firstSeen: Number(r.first_ms),
        lastSeen: Number(r.last_ms),
      })),
    };
    // An identifier of the batch now pointing at a profile we did not lock (or at a merged-away one)
    // means another batch changed the graph between the two reads: retry on a fresh snapshot.
    const locked = new Set(live.map((p) => `${p.tenant}\u0001${p.id}`));
    const stale = slice.identifiers.filter((i) => !locked.has(`${i.tenant}\u0001${i.profileId}`));
    if (stale.length) throw new StaleSnapshotError(`identifiers moved to profiles not locked: ${[...new Set(stale.map((i) => i.profileId))].join(', ')}`);
    return slice;
  }

  async save(changes: GraphChanges): Promise<void> {
    const profiles = changes.profiles.map((p) => ({
      tenant: p.tenant,
      id: p.id,
      attributes: p.attributes,
      versions: packVersions(p.versions),
      created_ms: p.createdTs,
      created_record_id: p.createdRecordId,
      updated_ms: p.updatedTs,
      merged_into: p.mergedInto,
    }));
    const identifiers = changes.identifiers.map((i) => ({
      tenant: i.tenant,
      type: i.type,
      value: i.value,
      profile_id: i.profileId,
      confidence: i.confidence,
      first_ms: i.firstSeen,
      last_ms: i.lastSeen,
    }));
    const c = changes.checkpoint;
    await this.manager.query(
      `WITH p AS (
         INSERT INTO profiles AS t (tenant, id, attributes, attribute_versions, created_at, created_record_id, updated_at, merged_into)
         SELECT tenant, id, attributes, versions, to_timestamp(created_ms / 1000.0), created_record_id, to_timestamp(updated_ms / 1000.0), merged_into
           FROM jsonb_to_recordset($1::jsonb) AS x(tenant text, id text, attributes jsonb, versions jsonb, created_ms bigint,
                                                   created_record_id text, updated_ms bigint, merged_into text)
         ON CONFLICT (tenant, id) DO UPDATE SET attributes = EXCLUDED.attributes, attribute_versions = EXCLUDED.attribute_versions,
           created_at = EXCLUDED.created_at, created_record_id = EXCLUDED.created_record_id, updated_at = EXCLUDED.updated_at,
           merged_into = EXCLUDED.merged_into, version = t.version + 1
         RETURNING 1
       ), i AS (
         INSERT INTO identifiers AS t (tenant, type, value, profile_id, confidence, first_seen, last_seen)
         SELECT tenant, type, value, profile_id, confidence, to_timestamp(first_ms / 1000.0), to_timestamp(last_ms / 1000.0)
           FROM jsonb_to_recordset($2::jsonb) AS x(tenant text, type text, value text, profile_id text, confidence text, first_ms bigint, last_ms bigint)
         ON CONFLICT (tenant, type, value) DO UPDATE SET profile_id = EXCLUDED.profile_id, confidence = EXCLUDED.confidence,
           first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen
         RETURNING 1
       ), r AS (
         UPDATE profiles AS t SET merged_into = m.survivor, version = t.version + 1
           FROM jsonb_to_recordset($3::jsonb) AS m(tenant text, loser text, survivor text)
          WHERE t.tenant = m.tenant AND t.merged_into = m.loser
            AND NOT (t.tenant || chr(1) || t.id = ANY ($9::text[]))
         RETURNING 1
       ), w AS (
         INSERT INTO identity_warnings (tenant, record_id, profile_id, message)
         SELECT tenant, "recordId", "profileId", message
           FROM jsonb_to_recordset($4::jsonb) AS x(tenant text, "recordId" text, "profileId" text, message text)
         ON CONFLICT (record_id, message) DO NOTHING
         RETURNING 1
       ), e AS (
         INSERT INTO profile_events (tenant, id, profile_id, type, action, ts, identifiers, data)
         SELECT tenant, id, "profileId", type, action, to_timestamp(ts / 1000.0), identifiers, data
           FROM jsonb_to_recordset($10::jsonb) AS x(tenant text, id text, "profileId" text, type text, action text, ts bigint, identifiers jsonb, data jsonb)
         ON CONFLICT (tenant, id) DO NOTHING
         RETURNING 1
       ), k AS (
         INSERT INTO idempotence_ids AS t (tenant, key, received_at, record_id)
         SELECT tenant, key, to_timestamp("receivedAt" / 1000.0), "recordId"
           FROM jsonb_to_recordset($11::jsonb) AS x(tenant text, key text, "receivedAt" bigint, "recordId" text)
         ON CONFLICT (tenant, key) DO UPDATE SET received_at = EXCLUDED.received_at, record_id = EXCLUDED.record_id
         RETURNING 1
       ), d AS (
         DELETE FROM identifiers AS t
          USING unnest($12::text[], $13::text[], $14::text[]) AS x(tenant, type, value)
          WHERE t.tenant = x.tenant AND t.type = x.type AND t.value = x.value
         RETURNING 1
       ), wo AS (
         INSERT INTO profile_write_outcomes AS t (record_id, tenant, state, profile_id, owner_id, field, contact_id, applied_at)
         SELECT "recordId", tenant, state, "profileId", "ownerId", field, "contactId", now()
           FROM jsonb_to_recordset($15::jsonb) AS x("recordId" text, tenant text, state text, "profileId" text, "ownerId" text, field text, "contactId" text)
         ON CONFLICT (record_id) DO UPDATE SET state = EXCLUDED.state, profile_id = EXCLUDED.profile_id, owner_id = EXCLUDED.owner_id,
           field = EXCLUDED.field, contact_id = EXCLUDED.contact_id
         RETURNING 1
       ), o AS (
         INSERT INTO consumer_offsets AS t (consumer_group, topic, partition, next_offset, updated_at)
         VALUES ($5, $6, $7, $8, now())
         ON CONFLICT (consumer_group, topic, partition) DO UPDATE
           SET next_offset = GREATEST(t.next_offset, EXCLUDED.next_offset), updated_at = now()
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM p) AS profiles, (SELECT count(*) FROM i) AS identifiers,
              (SELECT count(*) FROM r) AS redirects, (SELECT count(*) FROM w) AS warnings, (SELECT count(*) FROM e) AS events,
              (SELECT count(*) FROM k) AS idempotence, (SELECT count(*) FROM d) AS unlinked, (SELECT count(*) FROM wo) AS outcomes,
              (SELECT count(*) FROM o) AS offsets`,
      [
        JSON.stringify(profiles),
        JSON.stringify(identifiers),
        JSON.stringify(changes.merges),
        JSON.stringify(changes.warnings),
        c.consumerGroup,
        c.topic,
        c.partition,
        c.nextOffset,
        // Only the redirect (r) reads it, and only for the batch's merges.
        changes.merges.length ? changes.profiles.map((p) => `${p.tenant}\u0001${p.id}`) : [],
        JSON.stringify(changes.events),
        JSON.stringify(changes.idempotenceKeys),
        changes.removedIdentifiers.map((r) => r.tenant),
        changes.removedIdentifiers.map((r) => r.type),
        changes.removedIdentifiers.map((r) => r.value),
        JSON.stringify(changes.writeOutcomes),
      ],
    );
  }
}

type Repo = { manager: EntityManager; stored?: { profiles: Set<string>; identifiers: Set<string> } };
const base = BaseGraphRepository.prototype as unknown as {
  lockAndLoad(this: unknown, i: TenantIdentifierKey[], p: TenantProfileKey[]): Promise<GraphSlice>;
  save(this: unknown, c: GraphChanges): Promise<void>;
};

/** Experiment (NOT safe): the profiles load without its row locks, to see what they cost. */
async function lockAndLoadNoRowLocks(this: Repo, identifiers: TenantIdentifierKey[], profileIds: TenantProfileKey[]): Promise<GraphSlice> {
  const manager = this.manager;
  const proxy = {
    query: (sql: string, params: unknown[]) => manager.query(sql.replace(/FOR UPDATE OF p/, ''), params),
  } as unknown as EntityManager;
  return base.lockAndLoad.call(Object.assign(Object.create(this as object), { manager: proxy }), identifiers, profileIds);
}

const PROBES: Array<[string, string]> = [
  [
    'named AS (SELECT p.tenant, p.id, p.merged_into FROM profiles p JOIN zids z USING (tenant, id))',
    'named AS (SELECT p.tenant, p.id, p.merged_into FROM zids z, LATERAL (SELECT tenant, id, merged_into FROM profiles p WHERE p.tenant = z.tenant AND p.id = z.id LIMIT 1) p)',
  ],
  [
    'SELECT i.tenant, i.profile_id AS id FROM identifiers i JOIN keys k USING (tenant, type, value)',
    'SELECT i.tenant, i.profile_id AS id FROM keys k, LATERAL (SELECT tenant, profile_id FROM identifiers i WHERE i.tenant = k.tenant AND i.type = k.type AND i.value = k.value LIMIT 1) i',
  ],
  [
    'FROM identifiers i JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(tenant, type, value) USING (tenant, type, value)',
    'FROM unnest($1::text[], $2::text[], $3::text[]) AS k(tenant, type, value), LATERAL (SELECT * FROM identifiers i WHERE i.tenant = k.tenant AND i.type = k.type AND i.value = k.value LIMIT 1) i',
  ],
];

/** Experiment: the loads' key joins as one index probe per key (LATERAL … LIMIT 1), whatever the statistics say. */
async function lockAndLoadProbing(this: Repo, identifiers: TenantIdentifierKey[], profileIds: TenantProfileKey[]): Promise<GraphSlice> {
  const manager = this.manager;
  const proxy = {
    query: (sql: string, params: unknown[]) => {
      let probing = sql;
      for (const [from, to] of PROBES) probing = probing.replace(from, to);
      if (probing === sql && !sql.includes('advisory')) throw new Error('probe variant: no join rewritten');
      return manager.query(probing, params);
    },
  } as unknown as EntityManager;
  return lockAndLoadRemembering.call(Object.assign(Object.create(this as object), { manager: proxy }), identifiers, profileIds);
}

/** Taken before any variant is applied (the prototype's methods get replaced). */
const current = { lockAndLoad: ProfileGraphRepository.prototype.lockAndLoad, save: ProfileGraphRepository.prototype.save };

/** Rows saved so far in this run (a run starts from empty tables): what a graph kept in memory knows is stored. */
const savedRows = { profiles: new Set<string>(), identifiers: new Set<string>() };
/**
 * Experiment for the replay (RESIDENT=1): save told which rows are stored (`changes.stored`), as the
 * projector could tell it from the graph it keeps in memory, so new rows are plain INSERTs there too.
 */
async function saveKnowingSavedRows(this: Repo, changes: GraphChanges): Promise<void> {
  await current.save.call(this as unknown as ProfileGraphRepository, { ...changes, stored: { profiles: new Set(savedRows.profiles), identifiers: new Set(savedRows.identifiers) } });
  for (const p of changes.profiles) savedRows.profiles.add(`${p.tenant}\u0001${p.id}`);
  for (const i of changes.identifiers) savedRows.identifiers.add(`${i.tenant}\u0001${i.type}\u0001${i.value}`);
  for (const r of changes.removedIdentifiers) savedRows.identifiers.delete(`${r.tenant}\u0001${r.type}\u0001${r.value}`);
}
/** Experiment (NOT safe): the current load without the record-derived profile ids, to see what probing them costs. */
async function lockAndLoadNoNamed(this: Repo, identifiers: TenantIdentifierKey[], profileIds: TenantProfileKey[]): Promise<GraphSlice> {
  void profileIds;
  return current.lockAndLoad.call(this, identifiers, []);
}

const NAMED_SAOP: [string, string] = [
  'named AS (SELECT p.tenant, p.id, p.merged_into FROM profiles p JOIN zids z USING (tenant, id))',
  `named AS (SELECT p.tenant, p.id, p.merged_into FROM (SELECT tenant, array_agg(id) AS ids FROM zids GROUP BY tenant) z,
               LATERAL (SELECT tenant, id, merged_into FROM profiles p WHERE p.tenant = z.tenant AND p.id = ANY (z.ids) OFFSET 0) p)`,
];
/** Experiment: the record-derived profile ids looked up as one index scan per tenant over a sorted array (ScalarArrayOp). */
async function lockAndLoadNamedSaop(this: Repo, identifiers: TenantIdentifierKey[], profileIds: TenantProfileKey[]): Promise<GraphSlice> {
  const manager = this.manager;
  const proxy = {
    query: (sql: string, params: unknown[]) => manager.query(sql.replace(NAMED_SAOP[0], NAMED_SAOP[1]), params),
  } as unknown as EntityManager;
  const view = Object.assign(Object.create(this as object), { manager: proxy });
  const slice = await current.lockAndLoad.call(view, identifiers, profileIds);
  (this as unknown as { loaded: unknown }).loaded = view.loaded;
  return slice;
}

/** Experiment: the current load with each key join as one index probe per key (see PROBES). */
async function lockAndLoadCurrentProbing(this: Repo, identifiers: TenantIdentifierKey[], profileIds: TenantProfileKey[]): Promise<GraphSlice> {
  const manager = this.manager;
  const proxy = {
    query: (sql: string, params: unknown[]) => {
      let probing = sql;
      for (const [from, to] of PROBES) probing = probing.replace(from, to);
      return manager.query(probing, params);
    },
  } as unknown as EntityManager;
  const view = Object.assign(Object.create(this as object), { manager: proxy });
  const slice = await current.lockAndLoad.call(view, identifiers, profileIds);
  (this as unknown as { loaded: unknown }).loaded = view.loaded;
  return slice;
}

/** base load, remembering which rows exist (the split saves need it). */
async function lockAndLoadRemembering(this: Repo, identifiers: TenantIdentifierKey[], profileIds: TenantProfileKey[]): Promise<GraphSlice> {
  const slice = await base.lockAndLoad.call(this, identifiers, profileIds);
  this.stored = {
    profiles: new Set(slice.profiles.map((p) => `${p.tenant}\u0001${p.id}`)),
    identifiers: new Set(slice.identifiers.map((i) => `${i.tenant}\u0001${i.type}\u0001${i.value}`)),
  };
  return slice;
}

/** Profiles and identifiers as typed arrays (unnest) instead of jsonb_to_recordset; split or upserted. */
const UNSAFE = /[\u0000-\u001f\ud800-\udfff]/;
/** A PostgreSQL array literal through JSON.stringify (native): the same quoting as long as no string holds a control character or surrogate. */
function arrayLiteral(xs: Array<string | number | null>): string | Array<string | number | null> {
  for (const x of xs) if (typeof x === 'string' && UNSAFE.test(x)) return xs;
  const j = JSON.stringify(xs);
  return '{' + j.slice(1, -1) + '}';
}

function saveWith(options: { split: boolean; plainInsert: boolean; typed: boolean; json?: boolean }) {
  return async function save(this: Repo, changes: GraphChanges): Promise<void> {
    const stored = options.split ? this.stored : undefined;
    const isStoredP = (p: { tenant: string; id: string }) => stored?.profiles.has(`${p.tenant}\u0001${p.id}`) ?? false;
    const isStoredI = (i: { tenant: string; type: string; value: string }) => stored?.identifiers.has(`${i.tenant}\u0001${i.type}\u0001${i.value}`) ?? false;
    const pu = changes.profiles.filter(isStoredP);
    const pi = changes.profiles.filter((p) => !isStoredP(p));
    const iu = changes.identifiers.filter(isStoredI);
    const ii = changes.identifiers.filter((i) => !isStoredI(i));
    const pCols = (ps: typeof pu) => [
      ps.map((p) => p.tenant), ps.map((p) => p.id), ps.map((p) => JSON.stringify(p.attributes)), ps.map((p) => JSON.stringify(packVersions(p.versions))),
      ps.map((p) => p.createdTs), ps.map((p) => p.createdRecordId), ps.map((p) => p.updatedTs), ps.map((p) => p.mergedInto),
    ].map(arrayLiteral);
    const iCols = (is: typeof iu) => [
      is.map((i) => i.tenant), is.map((i) => i.type), is.map((i) => i.value), is.map((i) => i.profileId), is.map((i) => i.confidence),
      is.map((i) => i.firstSeen), is.map((i) => i.lastSeen),
    ].map(arrayLiteral);
    const pSrc = (n: number) => options.typed
      ? `unnest($${n}::text[], $${n + 1}::text[], $${n + 2}::jsonb[], $${n + 3}::jsonb[], $${n + 4}::float8[], $${n + 5}::text[], $${n + 6}::float8[], $${n + 7}::text[])
           AS x(tenant, id, attributes, versions, created_ms, created_record_id, updated_ms, merged_into)`
      : `json${options.json ? '' : 'b'}_to_recordset($${n}::json${options.json ? '' : 'b'}) AS x(tenant text, id text, attributes jsonb, versions jsonb, created_ms bigint, created_record_id text, updated_ms bigint, merged_into text)`;
    const iSrc = (n: number) => options.typed
      ? `unnest($${n}::text[], $${n + 1}::text[], $${n + 2}::text[], $${n + 3}::text[], $${n + 4}::text[], $${n + 5}::float8[], $${n + 6}::float8[])
           AS x(tenant, type, value, profile_id, confidence, first_ms, last_ms)`
      : `json${options.json ? '' : 'b'}_to_recordset($${n}::json${options.json ? '' : 'b'}) AS x(tenant text, type text, value text, profile_id text, confidence text, first_ms bigint, last_ms bigint)`;
    const ts = (c: string) => (options.typed ? `to_timestamp(${c} / 1000)` : `to_timestamp(${c} / 1000.0)`);
    const pParams = (ps: typeof pu) => (options.typed ? pCols(ps) : [JSON.stringify(ps.map((p) => ({
      tenant: p.tenant, id: p.id, attributes: p.attributes, versions: packVersions(p.versions), created_ms: p.createdTs,
      created_record_id: p.createdRecordId, updated_ms: p.updatedTs, merged_into: p.mergedInto,
    })))]);
    const iParams = (is: typeof iu) => (options.typed ? iCols(is) : [JSON.stringify(is.map((i) => ({
      tenant: i.tenant, type: i.type, value: i.value, profile_id: i.profileId, confidence: i.confidence, first_ms: i.firstSeen, last_ms: i.lastSeen,
    })))]);
    const params: unknown[] = [];
    const add = (xs: unknown[]) => { const n = params.length + 1; params.push(...xs); return n; };
    const c = changes.checkpoint;
    const nPi = add(pParams(pi));
    const nPu = add(pParams(pu));
    const nIi = add(iParams(ii));
    const nIu = add(iParams(iu));
    const nRest = add([
      JSON.stringify(changes.merges), JSON.stringify(changes.warnings), c.consumerGroup, c.topic, c.partition, c.nextOffset,
      changes.merges.length ? changes.profiles.map((p) => `${p.tenant}\u0001${p.id}`) : [],
      JSON.stringify(changes.events), JSON.stringify(changes.idempotenceKeys),
      changes.removedIdentifiers.map((r) => r.tenant), changes.removedIdentifiers.map((r) => r.type), changes.removedIdentifiers.map((r) => r.value),
      JSON.stringify(changes.writeOutcomes),
    ]);
    const $ = (k: number) => `$${nRest + k}`;
    const profileInsert = `INSERT INTO profiles AS t (tenant, id, attributes, attribute_versions, created_at, created_record_id, updated_at, merged_into)
         SELECT tenant, id, attributes, versions, ${ts('created_ms')}, created_record_id, ${ts('updated_ms')}, merged_into FROM ${pSrc(nPi)}`;
    const identifierInsert = `INSERT INTO identifiers AS t (tenant, type, value, profile_id, confidence, first_seen, last_seen)
         SELECT tenant, type, value, profile_id, confidence, ${ts('first_ms')}, ${ts('last_ms')} FROM ${iSrc(nIi)}`;
    const rows: Array<Record<string, string>> = await this.manager.query(
      `WITH p AS (
         ${profileInsert}
         ${options.plainInsert ? '' : `ON CONFLICT (tenant, id) DO UPDATE SET attributes = EXCLUDED.attributes, attribute_versions = EXCLUDED.attribute_versions,
           created_at = EXCLUDED.created_at, created_record_id = EXCLUDED.created_record_id, updated_at = EXCLUDED.updated_at,
           merged_into = EXCLUDED.merged_into, version = t.version + 1`}
         RETURNING 1
       ), pu AS (
         UPDATE profiles AS t SET attributes = x.attributes, attribute_versions = x.versions, created_at = ${ts('x.created_ms')},
           created_record_id = x.created_record_id, updated_at = ${ts('x.updated_ms')}, merged_into = x.merged_into, version = t.version + 1
           FROM ${pSrc(nPu)} WHERE t.tenant = x.tenant AND t.id = x.id
         RETURNING 1
       ), i AS (
         ${identifierInsert}
         ${options.plainInsert ? '' : `ON CONFLICT (tenant, type, value) DO UPDATE SET profile_id = EXCLUDED.profile_id, confidence = EXCLUDED.confidence,
           first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen`}
         RETURNING 1
       ), iu AS (
         UPDATE identifiers AS t SET profile_id = x.profile_id, confidence = x.confidence, first_seen = ${ts('x.first_ms')}, last_seen = ${ts('x.last_ms')}
           FROM ${iSrc(nIu)} WHERE t.tenant = x.tenant AND t.type = x.type AND t.value = x.value
         RETURNING 1
       ), r AS (
         UPDATE profiles AS t SET merged_into = m.survivor, version = t.version + 1
           FROM jsonb_to_recordset(${$(0)}::jsonb) AS m(tenant text, loser text, survivor text)
          WHERE t.tenant = m.tenant AND t.merged_into = m.loser
            AND NOT (t.tenant || chr(1) || t.id = ANY (${$(6)}::text[]))
         RETURNING 1
       ), w AS (
         INSERT INTO identity_warnings (tenant, record_id, profile_id, message)
         SELECT tenant, "recordId", "profileId", message
           FROM jsonb_to_recordset(${$(1)}::jsonb) AS x(tenant text, "recordId" text, "profileId" text, message text)
         ON CONFLICT (record_id, message) DO NOTHING
         RETURNING 1
       ), e AS (
         INSERT INTO profile_events (tenant, id, profile_id, type, action, ts, identifiers, data)
         SELECT tenant, id, "profileId", type, action, to_timestamp(ts / 1000.0), identifiers, data
           FROM jsonb_to_recordset(${$(7)}::jsonb) AS x(tenant text, id text, "profileId" text, type text, action text, ts bigint, identifiers jsonb, data jsonb)
         ON CONFLICT (tenant, id) DO NOTHING
         RETURNING 1
       ), k AS (
         INSERT INTO idempotence_ids AS t (tenant, key, received_at, record_id)
         SELECT tenant, key, to_timestamp("receivedAt" / 1000.0), "recordId"
           FROM jsonb_to_recordset(${$(8)}::jsonb) AS x(tenant text, key text, "receivedAt" bigint, "recordId" text)
         ON CONFLICT (tenant, key) DO UPDATE SET received_at = EXCLUDED.received_at, record_id = EXCLUDED.record_id
         RETURNING 1
       ), d AS (
         DELETE FROM identifiers AS t
          USING unnest(${$(9)}::text[], ${$(10)}::text[], ${$(11)}::text[]) AS x(tenant, type, value)
          WHERE t.tenant = x.tenant AND t.type = x.type AND t.value = x.value
         RETURNING 1
       ), wo AS (
         INSERT INTO profile_write_outcomes AS t (record_id, tenant, state, profile_id, owner_id, field, contact_id, applied_at)
         SELECT "recordId", tenant, state, "profileId", "ownerId", field, "contactId", now()
           FROM jsonb_to_recordset(${$(12)}::jsonb) AS x("recordId" text, tenant text, state text, "profileId" text, "ownerId" text, field text, "contactId" text)
         ON CONFLICT (record_id) DO UPDATE SET state = EXCLUDED.state, profile_id = EXCLUDED.profile_id, owner_id = EXCLUDED.owner_id,
           field = EXCLUDED.field, contact_id = EXCLUDED.contact_id
         RETURNING 1
       ), o AS (
         INSERT INTO consumer_offsets AS t (consumer_group, topic, partition, next_offset, updated_at)
         VALUES (${$(2)}, ${$(3)}, ${$(4)}, ${$(5)}, now())
         ON CONFLICT (consumer_group, topic, partition) DO UPDATE
           SET next_offset = GREATEST(t.next_offset, EXCLUDED.next_offset), updated_at = now()
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM pu) AS pu, (SELECT count(*) FROM iu) AS iu, (SELECT count(*) FROM p) AS p, (SELECT count(*) FROM i) AS i,
              (SELECT count(*) FROM r) AS redirects, (SELECT count(*) FROM w) AS warnings, (SELECT count(*) FROM e) AS events,
              (SELECT count(*) FROM k) AS idempotence, (SELECT count(*) FROM d) AS unlinked, (SELECT count(*) FROM wo) AS outcomes,
              (SELECT count(*) FROM o) AS offsets`,
      params,
    );
    if (Number(rows[0].pu) !== pu.length || Number(rows[0].iu) !== iu.length) throw new StaleSnapshotError('rows loaded were gone at save');
  };
}

type Methods = Partial<Record<'lockAndLoad' | 'save' | 'lockIdentifiers' | 'lockCheckpoint', unknown>>;

export const GRAPH_VARIANTS: Record<string, Methods> = {
  base: { lockAndLoad: BaseGraphRepository.prototype.lockAndLoad, save: BaseGraphRepository.prototype.save },
  current: {},
  nolock: { lockAndLoad: lockAndLoadNoRowLocks, save: BaseGraphRepository.prototype.save },
  typed: { lockAndLoad: BaseGraphRepository.prototype.lockAndLoad, save: saveWith({ split: false, plainInsert: false, typed: true }) },
  split: { lockAndLoad: lockAndLoadRemembering, save: saveWith({ split: true, plainInsert: false, typed: false }) },
  splitTyped: { lockAndLoad: lockAndLoadRemembering, save: saveWith({ split: true, plainInsert: false, typed: true }) },
  json: { lockAndLoad: BaseGraphRepository.prototype.lockAndLoad, save: saveWith({ split: false, plainInsert: false, typed: false, json: true }) },
  splitPlain: { lockAndLoad: lockAndLoadRemembering, save: saveWith({ split: true, plainInsert: true, typed: false }) },
  noNamed: { lockAndLoad: lockAndLoadNoNamed },
  namedSaop: { lockAndLoad: lockAndLoadNamedSaop },
  probeCurrent: { lockAndLoad: lockAndLoadCurrentProbing },
  residentStored: { save: saveKnowingSavedRows },
  probe: { lockAndLoad: lockAndLoadProbing, save: BaseGraphRepository.prototype.save },
  splitTypedPlain: { lockAndLoad: lockAndLoadRemembering, save: saveWith({ split: true, plainInsert: true, typed: true }) },
};

/** Puts a variant's methods on ProfileGraphRepository.prototype; returns the undo. */
export function applyGraphVariant(name: string): () => void {
  const proto = ProfileGraphRepository.prototype as unknown as Record<string, unknown>;
  const saved = Object.fromEntries(Object.keys(GRAPH_VARIANTS[name]).map((k) => [k, proto[k]]));
  savedRows.profiles.clear();
  savedRows.identifiers.clear();
  Object.assign(proto, GRAPH_VARIANTS[name]);
  return () => Object.assign(proto, saved);
}
