import { EntityManager } from 'typeorm';
import type { IdentifierLink, ProfileState } from '@tessera/identity';
import { StaleSnapshotError } from '../transaction/transaction-runner';
import { errorCode } from '../database/error-classification';
import { pgArray } from './profile-graph.arrays';

/**
 * Above this many distinct identifier keys a batch locks its tenants' whole identity graphs instead of
 * keys. Per batch transaction: at most FINE_LOCK_LIMIT advisory locks on keys plus one per tenant.
 */
export const FINE_LOCK_LIMIT = 512;
/** First key of the two-key advisory lock space of the tenant graph locks (the one-key space holds the keys). */
const TENANT_GRAPH_LOCK_SPACE = 736_102_912;

/**
 * How a batch holds the graph it writes: its tenants' whole graphs exclusively (no one else writes them
 * until it commits, so rows need no row locks), or its identifier keys (rows it reads are locked FOR UPDATE).
 */
export type GraphLock = 'tenants' | 'keys';

export interface TenantIdentifierKey {
  tenant: string;
  type: string;
  value: string;
}

export interface TenantProfileKey {
  tenant: string;
  id: string;
}

export interface GraphSlice {
  profiles: Array<ProfileState & { tenant: string }>;
  identifiers: Array<IdentifierLink & { tenant: string }>;
}

/**
 * The profile and identifier rows known to be stored (keys: profileRowKey / identifierRowKey): save
 * updates these in place and inserts every other row with a plain INSERT. Without it every row is upserted.
 */
export interface StoredRows {
  profiles: ReadonlySet<string>;
  identifiers: ReadonlySet<string>;
}

export const profileRowKey = (p: { tenant: string; id: string }): string => `${p.tenant}\u0001${p.id}`;
export const identifierRowKey = (i: { tenant: string; type: string; value: string }): string => `${i.tenant}\u0001${i.type}\u0001${i.value}`;

/**
 * StoredRows that follow the open transaction: after each save the rows it wrote are stored, the
 * identifiers it deleted are not. A replay's graph kept in memory holds one for the whole replay; a batch
 * saved in several statements one for the batch (what its load found, then what each statement wrote).
 */
export class KnownRows implements StoredRows {
  readonly profiles = new Set<string>();
  readonly identifiers = new Set<string>();

  static of(slice: GraphSlice): KnownRows {
    const known = new KnownRows();
    for (const p of slice.profiles) known.profiles.add(profileRowKey(p));
    for (const i of slice.identifiers) known.identifiers.add(identifierRowKey(i));
    return known;
  }

  /** Right after save was called with `changes` (a failed save fails the transaction, and this with it). */
  remember(changes: Pick<GraphChanges, 'profiles' | 'identifiers' | 'removedIdentifiers'>): void {
    for (const p of changes.profiles) this.profiles.add(profileRowKey(p));
    for (const i of changes.identifiers) this.identifiers.add(identifierRowKey(i));
    for (const r of changes.removedIdentifiers) this.identifiers.delete(identifierRowKey(r));
  }
}

export interface GraphChanges {
  profiles: Array<ProfileState & { tenant: string }>;
  identifiers: Array<IdentifierLink & { tenant: string }>;
  /** loser → survivor, to re-point profiles merged earlier into a loser (not in memory). */
  merges: Array<{ tenant: string; loser: string; survivor: string }>;
  warnings: Array<{ tenant: string; recordId: string; profileId: string | null; message: string }>;
  /** Events applied (DESIGN §10): kept under the profile they were applied to; reads follow merged_into. */
  events: ProfileEventRow[];
  /** `data.idempotence_id`s of the applied events, with the receivedAt their window starts at. */
  idempotenceKeys: IdempotenceKeyRow[];
  /** Identifier rows unlinked by the batch (native contact DELETE, DESIGN §12): deleted. */
  removedIdentifiers: TenantIdentifierKey[];
  /** One row per profile-change record (DESIGN §12): what the waiting handler answers. */
  writeOutcomes: WriteOutcomeRow[];
  /** Stored with the rows; null for rows whose checkpoint is stored already (a replay's write-behind flush). */
  checkpoint: { consumerGroup: string; topic: string; partition: number; nextOffset: number } | null;
  /** Which rows exist (e.g. a graph kept in memory knows); default: what this repository's last lockAndLoad found. */
  stored?: StoredRows;
}

export interface ProfileEventRow {
  tenant: string;
  /** The record id. */
  id: string;
  profileId: string;
  type: string;
  action: string | null;
  /** Event time, epoch ms. */
  ts: number;
  identifiers: Record<string, unknown>;
  data: Record<string, unknown>;
}

export interface WriteOutcomeRow {
  tenant: string;
  recordId: string;
  state: 'applied' | 'conflict' | 'not-found';
  profileId: string | null;
  ownerId: string | null;
  field: string | null;
  contactId: string | null;
}

export interface IdempotenceKeyRow {
  tenant: string;
  key: string;
  /** epoch ms */
  receivedAt: number;
  recordId: string;
}

/** Empty changes of a checkpoint: the start of every batch's change set. */
export function emptyGraphChanges(checkpoint: GraphChanges['checkpoint']): GraphChanges {
  return { profiles: [], identifiers: [], merges: [], warnings: [], events: [], idempotenceKeys: [], removedIdentifiers: [], writeOutcomes: [], checkpoint };
}

/** attribute → [ts, record id], stored inverted as `{"<ts> <record id>": [attribute, …]}`: a profile's
 * attributes come from few writes, so this keeps rows (and the WAL) far smaller. */
export function packVersions(versions: Record<string, [number, string]>): Record<string, string[]> {
  return JSON.parse(packedVersionsJson(versions)) as Record<string, string[]>;
}

/**
 * packVersions as the JSON text save sends, built directly (an object with these keys would take a new
 * hidden class per key, slow to build and to stringify). Attributes sorted, so the text does not depend
 * on the order they were written in.
 */
export function packedVersionsJson(versions: Record<string, [number, string]>): string {
  // A profile's attributes come from few writes: its groups are found by a short linear search (the
  // attributes one record wrote share one tuple object; equal tuples that are not shared join its group).
  const tuples: Array<[number, string]> = [];
  const groups: string[][] = [];
  for (const attribute of Object.keys(versions).sort()) {
    const version = versions[attribute];
    let g = tuples.indexOf(version);
    if (g < 0) g = tuples.findIndex((t) => t[0] === version[0] && t[1] === version[1]);
    if (g < 0) g = tuples.push(version) - 1;
    (groups[g] ??= []).push(attribute);
  }
  let json = '';
  for (let g = 0; g < tuples.length; g++) json += `${g ? ',' : '{'}${JSON.stringify(`${tuples[g][0]} ${tuples[g][1]}`)}:${JSON.stringify(groups[g])}`;
  return json ? `${json}}` : '{}';
}

export function unpackVersions(stored: Record<string, unknown> | null): Record<string, [number, string]> {
  const versions: Record<string, [number, string]> = {};
  for (const [key, value] of Object.entries(stored ?? {})) {
    if (Array.isArray(value) && typeof value[0] === 'number') {
      versions[key] = value as [number, string]; // unpacked form
      continue;
    }
    const space = key.indexOf(' ');
    const version: [number, string] = [Number(key.slice(0, space)), key.slice(space + 1)];
    for (const attribute of value as string[]) versions[attribute] = version;
  }
  return versions;
}

const IDENTIFIER_COLUMNS = `i.tenant, i.type, i.value, i.profile_id, i.confidence,
  round(extract(epoch FROM i.first_seen) * 1000)::bigint AS first_ms, round(extract(epoch FROM i.last_seen) * 1000)::bigint AS last_ms`;
/** Every identifier row of the profiles whose tenants and ids are parameters $n and $n+1. */
const identifiersOfProfiles = (n: number) =>
  `SELECT ${IDENTIFIER_COLUMNS} FROM identifiers i JOIN unnest($${n}::text[], $${n + 1}::text[]) AS p(tenant, id) ON i.tenant = p.tenant AND i.profile_id = p.id`;

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

/**
 * The identity graph as the resolver needs it: locked and loaded for a whole batch in a few
 * round trips, written back by save statements that each carry the consumer checkpoint.
 */
export class ProfileGraphRepository {
  /** The rows the last lockAndLoad found: locked (profiles) or under our key locks, so they stay until commit. */
  private loaded?: KnownRows;

  constructor(private readonly manager: EntityManager) {}

  /**
   * The partition's checkpoint row, locked for this transaction; created (and so locked) when missing,
   * so that the first batch of a partition is fenced like every other: a second member delivering the
   * same records waits here and then finds them applied. `undefined` = no checkpoint yet.
   */
  async lockCheckpoint(consumerGroup: string, topic: string, partition: number): Promise<number | undefined> {
    const params = [consumerGroup, topic, partition];
    const select = `SELECT next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2 AND partition = $3 FOR UPDATE`;
    for (;;) {
      const rows: Array<{ next_offset: string }> = await this.manager.query(select, params);
      if (rows.length) return Number(rows[0].next_offset);
      // Only for a partition's first batch: one more statement.
      const created: unknown[] = await this.manager.query(
        `INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, updated_at) VALUES ($1, $2, $3, 0, now())
         ON CONFLICT (consumer_group, topic, partition) DO NOTHING RETURNING 1`,
        params,
      );
      if (created.length) return undefined;
      // Another member created it meanwhile and has committed: read (and wait for) its row.
    }
  }

  /**
   * Locks the batch's graph (see lockIdentifiers) and then loads, in two round trips, the graph slice
   * the resolver needs: the profiles the identifiers and zaius_ids reach — locked FOR UPDATE (in key
   * order) unless the batch holds its tenants' whole graphs — then every identifier row of the live ones
   * and, under key locks only, of the batch's keys again, read after the row locks are held. Concurrent
   * batches on other partitions serialise on shared people and cannot deadlock; a slice that changed
   * between the two reads is retried (StaleSnapshotError).
   */
  async lockAndLoad(identifiers: TenantIdentifierKey[], profileIds: TenantProfileKey[]): Promise<GraphSlice> {
    this.loaded = undefined;
    const lock = await this.lockIdentifiers(identifiers, profileIds.map((p) => p.tenant));
    const keyParams = [pgArray(identifiers.map((k) => k.tenant)), pgArray(identifiers.map((k) => k.type)), pgArray(identifiers.map((k) => k.value))];
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
        ${lock === 'keys' ? 'FOR UPDATE OF p' : ''}`,
      [...keyParams, pgArray(profileIds.map((z) => z.tenant)), pgArray(profileIds.map((z) => z.id))],
    );
    const live = profileRows.filter((p) => !p.merged_into);
    const liveParams = [pgArray(live.map((p) => p.tenant)), pgArray(live.map((p) => p.id))];
    // Holding the tenants' graphs, the batch's keys point where the first read found them: the identifiers
    // of the live profiles are all. Otherwise the keys are read again to see whether they moved meanwhile.
    const identifierRows: IdentifierRow[] =
      lock === 'tenants'
        ? await this.manager.query(identifiersOfProfiles(1), liveParams)
        : await this.manager.query(
            `${identifiersOfProfiles(4)}
              UNION
             SELECT ${IDENTIFIER_COLUMNS} FROM identifiers i JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(tenant, type, value) USING (tenant, type, value)`,
            [...keyParams, ...liveParams],
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
    this.loaded = KnownRows.of(slice);
    return slice;
  }

  /**
   * Transaction-level advisory locks, bounded (issue 8 item 4): PostgreSQL's lock table holds
   * max_locks_per_transaction × max_connections entries for all sessions together, so one lock per
   * identifier of a 10,000-record batch exhausts it (53200). Two granularities:
   * - up to FINE_LOCK_LIMIT distinct keys ('keys'): each key (64-bit hash) exclusively, under a shared
   *   lock of each tenant's graph — batches on other partitions only wait for one another when they share
   *   a person; the profile rows read are locked FOR UPDATE (lockAndLoad), as a shared person can be
   *   reached through different keys;
   * - more keys ('tenants'): each tenant's graph exclusively. Nothing else writes those tenants' profiles
   *   or identifiers until commit (every writer holds the tenant lock, at least shared), so the rows read
   *   need no row locks: a FOR UPDATE of a big batch's ≈ 1,400 profiles cost ≈ 25 µs of PostgreSQL time
   *   a row. A batch that big touched nearly every one of the 512 key buckets that came before, so it
   *   already waited for every other batch; now only for those of its own tenants.
   * One call takes its locks in one global order — tenants, then keys, each by hash. A transaction that
   * locks again later (the segment after an erasure, the erasure itself) may meet another in a cycle
   * (e.g. a tenant held shared, then wanted exclusively): PostgreSQL detects it (40P01) and
   * runInTransaction retries the batch, as with the key buckets before.
   * `tenants`: tenants the batch writes besides those of its keys (profiles named by id).
   */
  async lockIdentifiers(identifiers: TenantIdentifierKey[], tenants: string[] = []): Promise<GraphLock> {
    const graphs = JSON.stringify([...new Set([...identifiers.map((k) => k.tenant), ...tenants])]);
    if (graphs === '[]') return 'keys';
    const keys = [...new Set(identifiers.map(identifierRowKey))];
    if (keys.length > FINE_LOCK_LIMIT) {
      await this.manager.query(
        `SELECT pg_advisory_xact_lock($2::int, t) FROM (SELECT DISTINCT hashtext(x) AS t FROM json_array_elements_text($1::json) AS x ORDER BY 1) AS s`,
        [graphs, TENANT_GRAPH_LOCK_SPACE],
      );
      return 'tenants';
    }
    await this.manager.query(
      `WITH l AS (SELECT 0 AS kind, hashtext(x)::bigint AS h FROM json_array_elements_text($2::json) AS x
                  UNION SELECT 1, hashtextextended(k, 0) FROM json_array_elements_text($1::json) AS k)
       SELECT CASE WHEN kind = 0 THEN pg_advisory_xact_lock_shared($3::int, h::int)::text ELSE pg_advisory_xact_lock(h)::text END
         FROM (SELECT * FROM l ORDER BY kind, h) AS s`,
      [JSON.stringify(keys), graphs, TENANT_GRAPH_LOCK_SPACE],
    );
    return 'keys';
  }

  /**
   * For a bulk load into `table` in this transaction: when the table is empty, its secondary indexes are
   * dropped (the table stays locked until commit: nobody sees it without them) and their definitions
   * returned, to be built again by createIndexes once the rows are in. A table with rows keeps its
   * indexes ([]). The primary key stays: it catches a row inserted twice.
   */
  async dropSecondaryIndexesIfEmpty(table: 'profiles' | 'identifiers'): Promise<string[]> {
    await this.manager.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    const [{ empty }]: Array<{ empty: boolean }> = await this.manager.query(`SELECT NOT EXISTS (SELECT 1 FROM ${table}) AS empty`);
    if (!empty) return [];
    const indexes: Array<{ name: string; definition: string }> = await this.manager.query(
      `SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS definition
         FROM pg_index WHERE indrelid = $1::regclass AND NOT indisunique AND NOT indisprimary ORDER BY 1`,
      [table],
    );
    if (indexes.length) await this.manager.query(`DROP INDEX ${indexes.map((i) => i.name).join(', ')}`);
    return indexes.map((i) => i.definition);
  }

  /** Builds indexes from their definitions (dropSecondaryIndexesIfEmpty), with more sort memory than a default session. */
  async createIndexes(definitions: string[]): Promise<void> {
    if (definitions.length === 0) return;
    await this.manager.query(`SET LOCAL maintenance_work_mem = '256MB'`);
    for (const definition of definitions) await this.manager.query(definition);
  }

  /** The stored `data.idempotence_id`s among `keys`: tenant\u0001key → where its window starts. One round trip. */
  async idempotenceKeys(keys: Array<{ tenant: string; key: string }>): Promise<Map<string, { receivedAt: number; recordId: string }>> {
    const found = new Map<string, { receivedAt: number; recordId: string }>();
    if (keys.length === 0) return found;
    const rows: Array<{ tenant: string; key: string; received_ms: string; record_id: string }> = await this.manager.query(
      `SELECT i.tenant, i.key, round(extract(epoch FROM i.received_at) * 1000)::bigint AS received_ms, i.record_id
         FROM idempotence_ids i JOIN unnest($1::text[], $2::text[]) AS k(tenant, key) USING (tenant, key)`,
      [keys.map((k) => k.tenant), keys.map((k) => k.key)],
    );
    for (const r of rows) found.set(`${r.tenant}\u0001${r.key}`, { receivedAt: Number(r.received_ms), recordId: r.record_id });
    return found;
  }

  /** What the last lockAndLoad found, handed over (a batch saved in several statements follows it in KnownRows). */
  takeLoadedRows(): KnownRows | undefined {
    const loaded = this.loaded;
    this.loaded = undefined;
    return loaded;
  }

  /**
   * One statement: profiles, identifiers, merge redirects, warnings, events, idempotence ids, unlinked
   * identifiers, write outcomes and the checkpoint. An unlinked row is never also in `identifiers`
   * (the graph reports final states), so the DELETE and the upsert never touch the same row.
   * Rows known to be stored (StoredRows) are UPDATEd, the others INSERTed without ON CONFLICT: a
   * speculative insertion costs about a fifth more per row, and the locks make a conflict impossible —
   * should one happen all the same (a row stored that the load did not see), the batch is retried on a
   * fresh snapshot rather than overwriting it. With nothing known every row is upserted.
   */
  async save(changes: GraphChanges): Promise<void> {
    return this.runSave(this.prepareSave(changes));
  }

  /**
   * The save statement with its parameters, serialised now: the rows may share objects with a graph
   * that changes again before the statement runs (a batch saved in several statements).
   */
  prepareSave(changes: GraphChanges): PreparedSave {
    const stored = changes.stored ?? this.loaded;
    this.loaded = undefined;
    const profiles = splitStored(changes.profiles, stored?.profiles, profileRowKey);
    const identifiers = splitStored(changes.identifiers, stored?.identifiers, identifierRowKey);
    const c = changes.checkpoint;
    return {
      sql: saveSql(stored === undefined),
      params: [
        ...profileColumns(profiles.inserted),
        ...identifierColumns(identifiers.inserted),
        JSON.stringify(changes.merges),
        JSON.stringify(changes.warnings),
        c?.consumerGroup ?? null,
        c?.topic ?? null,
        c?.partition ?? null,
        c?.nextOffset ?? null,
        // Only the redirect (r) reads it, and only for the batch's merges.
        pgArray(changes.merges.length ? changes.profiles.map(profileRowKey) : []),
        JSON.stringify(changes.events),
        JSON.stringify(changes.idempotenceKeys),
        pgArray(changes.removedIdentifiers.map((r) => r.tenant)),
        pgArray(changes.removedIdentifiers.map((r) => r.type)),
        pgArray(changes.removedIdentifiers.map((r) => r.value)),
        JSON.stringify(changes.writeOutcomes),
        ...profileColumns(profiles.updated),
        ...identifierColumns(identifiers.updated),
      ],
      updatedProfiles: profiles.updated.length,
      updatedIdentifiers: identifiers.updated.length,
    };
  }

  /**
   * A bulk load's statement (a replay's final state): rows of one table, none of them stored, as plain
   * INSERTs touching that table only — so each table can be loaded by a transaction of its own that holds
   * it alone. A row stored already fails the statement (StaleSnapshotError), never overwritten.
   */
  prepareInsert(rows: Pick<GraphChanges, 'profiles'> | Pick<GraphChanges, 'identifiers'>): PreparedSave {
    return 'profiles' in rows
      ? { sql: bulkInsertSql(insertProfiles(1)), params: profileColumns(rows.profiles), updatedProfiles: 0, updatedIdentifiers: 0 }
      : { sql: bulkInsertSql(insertIdentifiers(1)), params: identifierColumns(rows.identifiers), updatedProfiles: 0, updatedIdentifiers: 0 };
  }

  async runSave(prepared: PreparedSave): Promise<void> {
    const counts: Array<{ updated_profiles: string; updated_identifiers: string }> = await this.manager.query(prepared.sql, prepared.params).catch(staleIfStoredAlready);
    if (Number(counts[0].updated_profiles) !== prepared.updatedProfiles || Number(counts[0].updated_identifiers) !== prepared.updatedIdentifiers) {
      throw new StaleSnapshotError('rows the batch loaded were gone when it saved');
    }
  }
}

/** A save statement ready to run: its parameters hold strings and numbers only. */
export interface PreparedSave {
  sql: string;
  params: unknown[];
  /** Rows it UPDATEs: fewer matched means they were gone (StaleSnapshotError). */
  updatedProfiles: number;
  updatedIdentifiers: number;
}

/** Primary keys of the rows save inserts: a duplicate there means the slice missed a stored row. */
const STORED_ROW_KEYS = new Set(['profiles_pkey', 'identifiers_pkey']);

/** A duplicate key on a row save inserted: the load missed it, so the batch is retried (never a data error, never overwritten). */
function staleIfStoredAlready(error: unknown): never {
  const e = error as { constraint?: unknown; driverError?: { constraint?: unknown } };
  const constraint = String(e.constraint ?? e.driverError?.constraint);
  if (errorCode(error) === '23505' && STORED_ROW_KEYS.has(constraint)) throw new StaleSnapshotError(`a row the batch inserts is stored already (${constraint})`);
  throw error;
}

/** Rows known to be stored apart from the others; all "inserted" (upserted) when nothing is known. */
function splitStored<T>(rows: T[], stored: ReadonlySet<string> | undefined, key: (row: T) => string): { updated: T[]; inserted: T[] } {
  const updated: T[] = [];
  const inserted: T[] = [];
  // Nothing known (a replay's write-behind flush): no keys to build.
  if (!stored || stored.size === 0) return { updated, inserted: rows };
  for (const row of rows) (stored.has(key(row)) ? updated : inserted).push(row);
  return { updated, inserted };
}

/**
 * Profile rows as 8 array parameters: typed arrays, and the two JSON columns as one JSON array each (the
 * texts joined, never escaped again as array elements would be: the attributes are most of a row's bytes).
 */
function profileColumns(rows: GraphChanges['profiles']): unknown[] {
  return [
    pgArray(rows.map((p) => p.tenant)),
    pgArray(rows.map((p) => p.id)),
    `[${rows.map((p) => JSON.stringify(p.attributes)).join(',')}]`,
    `[${rows.map((p) => packedVersionsJson(p.versions)).join(',')}]`,
    pgArray(rows.map((p) => p.createdTs)),
    pgArray(rows.map((p) => p.createdRecordId)),
    pgArray(rows.map((p) => p.updatedTs)),
    pgArray(rows.map((p) => p.mergedInto)),
  ];
}

/** Identifier rows as 7 array parameters. */
function identifierColumns(rows: GraphChanges['identifiers']): unknown[] {
  return [
    pgArray(rows.map((i) => i.tenant)),
    pgArray(rows.map((i) => i.type)),
    pgArray(rows.map((i) => i.value)),
    pgArray(rows.map((i) => i.profileId)),
    pgArray(rows.map((i) => i.confidence)),
    pgArray(rows.map((i) => i.firstSeen)),
    pgArray(rows.map((i) => i.lastSeen)),
  ];
}

/** `unnest` of profileColumns from parameter $n on. Epoch ms as float8: to_timestamp(ms / 1000) is exact to the ms. */
const profileRows = (n: number) =>
  `ROWS FROM (unnest($${n}::text[]), unnest($${n + 1}::text[]), jsonb_array_elements($${n + 2}::jsonb), jsonb_array_elements($${n + 3}::jsonb),
              unnest($${n + 4}::float8[]), unnest($${n + 5}::text[]), unnest($${n + 6}::float8[]), unnest($${n + 7}::text[]))
     AS x(tenant, id, attributes, versions, created_ms, created_record_id, updated_ms, merged_into)`;
const identifierRows = (n: number) =>
  `unnest($${n}::text[], $${n + 1}::text[], $${n + 2}::text[], $${n + 3}::text[], $${n + 4}::text[], $${n + 5}::float8[], $${n + 6}::float8[])
     AS x(tenant, type, value, profile_id, confidence, first_ms, last_ms)`;

/** INSERT of profileColumns from parameter $n on (without ON CONFLICT and RETURNING). */
const insertProfiles = (n: number) => `INSERT INTO profiles AS t (tenant, id, attributes, attribute_versions, created_at, created_record_id, updated_at, merged_into)
         SELECT tenant, id, attributes, versions, to_timestamp(created_ms / 1000), created_record_id, to_timestamp(updated_ms / 1000), merged_into
           FROM ${profileRows(n)}`;
/** INSERT of identifierColumns from parameter $n on (without ON CONFLICT and RETURNING). */
const insertIdentifiers = (n: number) => `INSERT INTO identifiers AS t (tenant, type, value, profile_id, confidence, first_seen, last_seen)
         SELECT tenant, type, value, profile_id, confidence, to_timestamp(first_ms / 1000), to_timestamp(last_ms / 1000)
           FROM ${identifierRows(n)}`;
/** A bulk load's statement: read by runSave like a save statement that updates nothing. */
const bulkInsertSql = (insert: string) => `WITH x AS (${insert} RETURNING 1) SELECT 0 AS updated_profiles, 0 AS updated_identifiers`;

/** The save statement: plain INSERTs and UPDATEs of known rows, or (`upsert`) every row upserted. Parameters: see save. */
function saveSql(upsert: boolean): string {
  return `WITH p AS (
         ${insertProfiles(1)}
         ${upsert ? `ON CONFLICT (tenant, id) DO UPDATE SET attributes = EXCLUDED.attributes, attribute_versions = EXCLUDED.attribute_versions,
           created_at = EXCLUDED.created_at, created_record_id = EXCLUDED.created_record_id, updated_at = EXCLUDED.updated_at,
           merged_into = EXCLUDED.merged_into, version = t.version + 1` : ''}
         RETURNING 1
       ), pu AS (
         UPDATE profiles AS t SET attributes = x.attributes, attribute_versions = x.versions, created_at = to_timestamp(x.created_ms / 1000),
           created_record_id = x.created_record_id, updated_at = to_timestamp(x.updated_ms / 1000), merged_into = x.merged_into, version = t.version + 1
           FROM ${profileRows(29)}
          WHERE t.tenant = x.tenant AND t.id = x.id
         RETURNING 1
       ), i AS (
         ${insertIdentifiers(9)}
         ${upsert ? `ON CONFLICT (tenant, type, value) DO UPDATE SET profile_id = EXCLUDED.profile_id, confidence = EXCLUDED.confidence,
           first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen` : ''}
         RETURNING 1
       ), iu AS (
         UPDATE identifiers AS t SET profile_id = x.profile_id, confidence = x.confidence, first_seen = to_timestamp(x.first_ms / 1000),
           last_seen = to_timestamp(x.last_ms / 1000)
           FROM ${identifierRows(37)}
          WHERE t.tenant = x.tenant AND t.type = x.type AND t.value = x.value
         RETURNING 1
       ), r AS (
         UPDATE profiles AS t SET merged_into = m.survivor, version = t.version + 1
           FROM jsonb_to_recordset($16::jsonb) AS m(tenant text, loser text, survivor text)
          WHERE t.tenant = m.tenant AND t.merged_into = m.loser
            AND NOT (t.tenant || chr(1) || t.id = ANY ($22::text[]))
         RETURNING 1
       ), w AS (
         INSERT INTO identity_warnings (tenant, record_id, profile_id, message)
         SELECT tenant, "recordId", "profileId", message
           FROM jsonb_to_recordset($17::jsonb) AS x(tenant text, "recordId" text, "profileId" text, message text)
         ON CONFLICT (record_id, message) DO NOTHING
         RETURNING 1
       ), e AS (
         INSERT INTO profile_events (tenant, id, profile_id, type, action, ts, identifiers, data)
         SELECT tenant, id, "profileId", type, action, to_timestamp(ts / 1000.0), identifiers, data
           FROM jsonb_to_recordset($23::jsonb) AS x(tenant text, id text, "profileId" text, type text, action text, ts bigint, identifiers jsonb, data jsonb)
         ON CONFLICT (tenant, id) DO NOTHING
         RETURNING 1
       ), k AS (
         INSERT INTO idempotence_ids AS t (tenant, key, received_at, record_id)
         SELECT tenant, key, to_timestamp("receivedAt" / 1000.0), "recordId"
           FROM jsonb_to_recordset($24::jsonb) AS x(tenant text, key text, "receivedAt" bigint, "recordId" text)
         ON CONFLICT (tenant, key) DO UPDATE SET received_at = EXCLUDED.received_at, record_id = EXCLUDED.record_id
         RETURNING 1
       ), d AS (
         DELETE FROM identifiers AS t
          USING unnest($25::text[], $26::text[], $27::text[]) AS x(tenant, type, value)
          WHERE t.tenant = x.tenant AND t.type = x.type AND t.value = x.value
         RETURNING 1
       ), wo AS (
         INSERT INTO profile_write_outcomes AS t (record_id, tenant, state, profile_id, owner_id, field, contact_id, applied_at)
         SELECT "recordId", tenant, state, "profileId", "ownerId", field, "contactId", now()
           FROM jsonb_to_recordset($28::jsonb) AS x("recordId" text, tenant text, state text, "profileId" text, "ownerId" text, field text, "contactId" text)
         ON CONFLICT (record_id) DO UPDATE SET state = EXCLUDED.state, profile_id = EXCLUDED.profile_id, owner_id = EXCLUDED.owner_id,
           field = EXCLUDED.field, contact_id = EXCLUDED.contact_id
         RETURNING 1
       ), o AS (
         INSERT INTO consumer_offsets AS t (consumer_group, topic, partition, next_offset, updated_at)
         SELECT $18::text, $19::text, $20::int, $21::bigint, now() WHERE $18::text IS NOT NULL
         ON CONFLICT (consumer_group, topic, partition) DO UPDATE
           SET next_offset = GREATEST(t.next_offset, EXCLUDED.next_offset), updated_at = now()
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM pu) AS updated_profiles, (SELECT count(*) FROM iu) AS updated_identifiers,
              (SELECT count(*) FROM p) AS profiles, (SELECT count(*) FROM i) AS identifiers,
              (SELECT count(*) FROM r) AS redirects, (SELECT count(*) FROM w) AS warnings, (SELECT count(*) FROM e) AS events,
              (SELECT count(*) FROM k) AS idempotence, (SELECT count(*) FROM d) AS unlinked, (SELECT count(*) FROM wo) AS outcomes,
              (SELECT count(*) FROM o) AS offsets`;
}
