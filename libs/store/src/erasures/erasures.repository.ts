import type { EntityManager } from 'typeorm';
import type { ErasureRecord } from '@tessera/contracts';
import { ProfileGraphRepository } from '../repositories/profile-graph.repository';
import { IdentifierHasher } from './identifier-hasher';

/** The zaius_id "identifier" is the profile id itself: it has no identifiers row. */
const ZAIUS_ID = 'zaius_id';

/** Map key of erasedSince. */
export function erasedKey(tenant: string, type: string, hash: string): string {
  return `${tenant}\u0001${type}\u0001${hash}`;
}

/**
 * When each of these identifiers (by keyed hash) was erased, if ever: `tenant\u0001type\u0001hash` →
 * erased_at in ms. One round trip. The projector drops a record received before the erased_at of any
 * of its identifiers (DESIGN §11: another partition, a lagging worker or a replay applies it late).
 */
export async function erasedSince(
  manager: EntityManager,
  refs: Array<{ tenant: string; type: string; hash: string }>,
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const unique = new Map(refs.map((r) => [erasedKey(r.tenant, r.type, r.hash), r]));
  if (unique.size === 0) return found;
  const keys = [...unique.values()];
  const rows: Array<{ tenant: string; type: string; hash: string; erased_ms: string }> = await manager.query(
    `SELECT e.tenant, e.type, e.hash, round(extract(epoch FROM e.erased_at) * 1000)::bigint AS erased_ms
       FROM erased_identifiers e
       JOIN unnest($1::text[], $2::text[], $3::text[]) AS r(tenant, type, hash) USING (tenant, type, hash)`,
    [keys.map((k) => k.tenant), keys.map((k) => k.type), keys.map((k) => k.hash)],
  );
  for (const r of rows) found.set(erasedKey(r.tenant, r.type, r.hash), Number(r.erased_ms));
  return found;
}

/**
 * The tenants among `tenants` that ever erased anyone: only their records need their identifiers
 * hashed for the cut-off (the common case, no erasure yet, costs one index probe per tenant and no HMAC).
 */
export async function tenantsWithErasures(manager: EntityManager, tenants: string[]): Promise<Set<string>> {
  if (tenants.length === 0) return new Set();
  const rows: Array<{ tenant: string }> = await manager.query(
    `SELECT t AS tenant FROM unnest($1::text[]) AS t WHERE EXISTS (SELECT 1 FROM erased_identifiers e WHERE e.tenant = t)`,
    [tenants],
  );
  return new Set(rows.map((r) => r.tenant));
}

/** The surviving profile of `id` (itself when not merged away), through any chain of merged_into; undefined when unknown. */
async function survivorOf(manager: EntityManager, tenant: string, id: string): Promise<string | undefined> {
  const rows: Array<{ id: string }> = await manager.query(
    `WITH RECURSIVE up AS (
       SELECT id, merged_into, 0 AS depth FROM profiles WHERE tenant = $1 AND id = $2
       UNION ALL
       SELECT p.id, p.merged_into, up.depth + 1 FROM profiles p JOIN up ON p.tenant = $1 AND p.id = up.merged_into WHERE up.depth < 64
     )
     SELECT id FROM up WHERE merged_into IS NULL LIMIT 1`,
    [tenant, id],
  );
  return rows[0]?.id;
}

interface Person {
  /** The survivors and every profile merged into them, in id order. */
  profileIds: string[];
  identifiers: Array<{ type: string; value: string; profileId: string }>;
}

/** Survivors, every profile merged into them (merged chains are re-pointed, but follow them anyway) and their identifiers: one round trip. */
async function personOf(manager: EntityManager, tenant: string, roots: string[]): Promise<Person> {
  if (roots.length === 0) return { profileIds: [], identifiers: [] };
  const rows: Array<{ id: string; type: string | null; value: string | null }> = await manager.query(
    `WITH RECURSIVE person AS (
       SELECT id FROM profiles WHERE tenant = $1 AND id = ANY ($2::text[])
       UNION
       SELECT p.id FROM profiles p JOIN person ON p.tenant = $1 AND p.merged_into = person.id
     )
     SELECT person.id, i.type, i.value FROM person LEFT JOIN identifiers i ON i.tenant = $1 AND i.profile_id = person.id
      ORDER BY person.id, i.type, i.value`,
    [tenant, roots],
  );
  return {
    profileIds: [...new Set(rows.map((r) => r.id))],
    identifiers: rows.flatMap((r) => (r.type !== null && r.value !== null ? [{ type: r.type, value: r.value, profileId: r.id }] : [])),
  };
}

/**
 * The profile holding the identifier whose keyed hash is `hash`, found without the value: every
 * stored value of the tenant's type is hashed inside PostgreSQL (HMAC-SHA256 from the built-in
 * sha256(), IdentifierHasher.sqlHmacParts) on a range scan of the identifiers primary key. Only used
 * when the request's profile hint does not hold the identifier (it was unknown at request time, or moved).
 */
export async function findIdentifierHolder(
  manager: EntityManager,
  hasher: IdentifierHasher,
  tenant: string,
  type: string,
  hash: string,
): Promise<string | undefined> {
  const { inner, outer } = hasher.sqlHmacParts(tenant, type);
  const rows: Array<{ profile_id: string }> = await manager.query(
    `SELECT profile_id FROM identifiers
      WHERE tenant = $1 AND type = $2 AND sha256($4::bytea || sha256($3::bytea || convert_to(value, 'UTF8'))) = decode($5, 'hex')
      LIMIT 1`,
    [tenant, type, inner, outer, hash],
  );
  return rows[0]?.profile_id;
}

/**
 * Applies an erasure record (DESIGN §11) inside the projector's batch transaction, in log order:
 * 1. who — the profile the hint names (through merged_into) and the profile that holds the
 *    identifier now (by keyed hash); the person is those survivors and every profile merged into them;
 * 2. lock — the person's identifier keys (the projector's advisory locks) and profile rows, then read
 *    the person again so identifiers linked meanwhile by another partition are included;
 * 3. remove — profiles, identifiers, profile_events, identity_warnings; consents keep only the hash;
 *    erased_identifiers gets every identifier of the person (and the requested one, found or not)
 *    with erased_at = the request's receivedAt (the later one wins); the request row records it.
 * Idempotent: a redelivered batch or a replay finds nothing left to delete and only re-marks the
 * request (its completed_at is kept).
 */
export async function applyErasure(manager: EntityManager, erasure: ErasureRecord, hasher: IdentifierHasher): Promise<void> {
  const { tenant, identifierType: type, identifierHash: hash } = erasure;

  // Step 1: who — the hint's person first (a few indexed reads); the hash scan only when it does not hold the identifier.
  const hintRoot = erasure.profileId ? await survivorOf(manager, tenant, erasure.profileId) : undefined;
  const hinted = await personOf(manager, tenant, hintRoot ? [hintRoot] : []);
  let holderRoot: string | undefined;
  if (type === ZAIUS_ID) {
    // The identifier is a profile id: it resolved to the hint when the request came in.
    if (hinted.profileIds.some((id) => hasher.hash(tenant, ZAIUS_ID, id) === hash)) holderRoot = hintRoot;
  } else if (hinted.identifiers.some((i) => i.type === type && hasher.hash(tenant, type, i.value) === hash)) {
    holderRoot = hintRoot;
  } else {
    const holder = await findIdentifierHolder(manager, hasher, tenant, type, hash);
    holderRoot = holder ? await survivorOf(manager, tenant, holder) : undefined;
  }
  const roots = [...new Set([holderRoot, hintRoot].filter((r): r is string => r !== undefined))];

  // Step 2: lock the person's identifier keys (the projector's advisory locks) and profile rows, then
  // read the person again under the locks: identifiers another partition linked meanwhile are included.
  const seen = holderRoot === hintRoot ? hinted : await personOf(manager, tenant, roots);
  let person = seen;
  if (seen.profileIds.length) {
    await new ProfileGraphRepository(manager).lockIdentifiers(seen.identifiers.map((i) => ({ tenant, type: i.type, value: i.value })), [tenant]);
    await manager.query(`SELECT id FROM profiles WHERE tenant = $1 AND id = ANY ($2::text[]) ORDER BY id FOR UPDATE`, [tenant, seen.profileIds]);
    person = await personOf(manager, tenant, roots);
  }
  const { profileIds, identifiers } = person;

  // Step 3: remove. Every identifier of the person by keyed hash, profile ids as zaius_ids, and the one requested.
  const erased = new Map<string, { type: string; hash: string }>();
  const add = (t: string, h: string) => erased.set(`${t}\u0001${h}`, { type: t, hash: h });
  add(type, hash);
  for (const i of identifiers) add(i.type, hasher.hash(tenant, i.type, i.value));
  for (const id of profileIds) add(ZAIUS_ID, hasher.hash(tenant, ZAIUS_ID, id));
  const types = [...erased.values()].map((e) => e.type);
  const hashes = [...erased.values()].map((e) => e.hash);
  await manager.query(
    `WITH ev AS (DELETE FROM profile_events WHERE tenant = $1 AND profile_id = ANY ($2::text[]) RETURNING 1),
          w AS (DELETE FROM identity_warnings WHERE tenant = $1 AND profile_id = ANY ($2::text[]) RETURNING 1),
          i AS (DELETE FROM identifiers WHERE tenant = $1 AND profile_id = ANY ($2::text[]) RETURNING 1),
          p AS (DELETE FROM profiles WHERE tenant = $1 AND id = ANY ($2::text[]) RETURNING 1),
          c AS (
            UPDATE consents k SET value = NULL
              FROM unnest($3::text[], $4::text[]) AS x(type, hash)
             WHERE k.tenant = $1 AND k.type = x.type AND k.value_hash = x.hash AND k.value IS NOT NULL
            RETURNING 1
          ),
          e AS (
            INSERT INTO erased_identifiers AS t (tenant, type, hash, erased_at, request_id)
            SELECT $1, x.type, x.hash, $5::timestamptz, $6 FROM unnest($3::text[], $4::text[]) AS x(type, hash)
            ON CONFLICT (tenant, type, hash) DO UPDATE SET erased_at = EXCLUDED.erased_at, request_id = EXCLUDED.request_id
             WHERE t.erased_at < EXCLUDED.erased_at
            RETURNING 1
          ),
          r AS (
            INSERT INTO erasure_requests AS t (id, tenant, regulation, requester, identifier_type, identifier_hash, record_id, requested_at, applied_at, profile_id)
            VALUES ($6, $1, $7, $8, $9, $10, $11, $5::timestamptz, now(), $12)
            ON CONFLICT (id) DO UPDATE SET applied_at = now(), profile_id = COALESCE(EXCLUDED.profile_id, t.profile_id)
            RETURNING 1
          )
     SELECT (SELECT count(*) FROM ev) AS events, (SELECT count(*) FROM w) AS warnings, (SELECT count(*) FROM i) AS identifiers,
            (SELECT count(*) FROM p) AS profiles, (SELECT count(*) FROM c) AS consents, (SELECT count(*) FROM e) AS erased,
            (SELECT count(*) FROM r) AS requests`,
    [
      tenant,
      profileIds,
      types,
      hashes,
      erasure.receivedAt,
      erasure.requestId,
      erasure.regulation,
      erasure.requester,
      type,
      hash,
      erasure.id,
      holderRoot ?? hintRoot ?? null,
    ],
  );
}
