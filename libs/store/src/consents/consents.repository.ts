import type { ConsentRecord } from '@tessera/contracts';
import type { EntityManager } from 'typeorm';
import type { SqlRunner } from '../erasures/identifier-hasher';

/**
 * Applies consent.v1 records (DESIGN §11) in one statement: per identifier (tenant, type, keyed hash)
 * the latest `updateTs` wins whatever the order records arrive in — ties go to the larger record id,
 * so a replay in any order ends in the same row. `hashOnly` (an erased identifier, or a redacted
 * record) stores the value as NULL: the opt-out still holds by its hash. Re-applying a record changes
 * nothing. Called by the projector in the checkpoint's transaction.
 */
export async function applyConsents(manager: EntityManager, consents: Array<ConsentRecord & { hashOnly: boolean }>): Promise<void> {
  if (consents.length === 0) return;
  const rows = consents.map((c) => ({
    tenant: c.tenant,
    type: c.identifierType,
    value_hash: c.identifierHash,
    value: c.hashOnly ? null : c.identifierValue,
    consent: c.consent,
    reason: c.reason,
    update_ts: c.updateTs,
    record_id: c.id,
  }));
  // Record ids compare byte-wise (COLLATE "C"), whatever the database's collation.
  // DISTINCT ON: one candidate per identifier (ON CONFLICT cannot touch a row twice in one statement).
  await manager.query(
    `INSERT INTO consents AS c (tenant, type, value_hash, value, consent, reason, update_ts, record_id)
     SELECT DISTINCT ON (n.tenant, n.type, n.value_hash) n.tenant, n.type, n.value_hash, n.value, n.consent, n.reason, n.update_ts, n.record_id
       FROM jsonb_to_recordset($1::jsonb) AS n(tenant text, type text, value_hash text, value text, consent boolean, reason text, update_ts timestamptz, record_id text)
      ORDER BY n.tenant, n.type, n.value_hash, n.update_ts DESC, n.record_id COLLATE "C" DESC
     ON CONFLICT (tenant, type, value_hash) DO UPDATE
        SET value = EXCLUDED.value, consent = EXCLUDED.consent, reason = EXCLUDED.reason,
            update_ts = EXCLUDED.update_ts, record_id = EXCLUDED.record_id
      WHERE (EXCLUDED.update_ts, EXCLUDED.record_id COLLATE "C") > (c.update_ts, c.record_id COLLATE "C")`,
    [JSON.stringify(rows)],
  );
}

export interface StoredConsent {
  consent: boolean | null;
  reason: string | null;
  updateTs: Date;
}

/** The current consent of one identifier, by its keyed hash; null when none was ever given. */
export async function findConsent(sql: SqlRunner, tenant: string, type: string, valueHash: string): Promise<StoredConsent | null> {
  const rows = (await sql.query(`SELECT consent, reason, update_ts FROM consents WHERE tenant = $1 AND type = $2 AND value_hash = $3`, [tenant, type, valueHash])) as Array<{
    consent: boolean | null;
    reason: string | null;
    update_ts: Date;
  }>;
  const row = rows[0];
  return row ? { consent: row.consent, reason: row.reason, updateTs: row.update_ts } : null;
}
