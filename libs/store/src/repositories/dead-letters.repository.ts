import { DataSource, EntityManager } from 'typeorm';
import { DeadLetterState } from '../dead-letters/dead-letter-error';

/** A record the projector cannot apply, as the projector reports it (no key or values). */
export interface DeadLetterInput {
  /** Fresh id for a new dead letter (ignored when the record is already one). */
  id: string;
  /** The `dead-letter-id` header: the record is a copy re-published by `dlq retry`. */
  retryOf?: string;
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: number;
  schema?: string;
  /** Already without values (errorWithoutValues). */
  error: string;
}

/** TypeORM answers UPDATE/DELETE … RETURNING with [rows, affected]; other statements with rows. */
function returned<T>(result: unknown): T[] {
  return Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number' ? (result[0] as T[]) : (result as T[]);
}

export interface DeadLetterRow {
  id: string;
  state: DeadLetterState;
  attempts: number;
  source: string;
  schema: string | null;
  error: string;
  createdAt: string;
  updatedAt: string;
  retriedAt: string | null;
}

export interface DeadLetterOutcome {
  /** New dead letters: their records go to the DLQ topic. */
  added: Set<string>;
  /** Re-published copies that failed again: their dead letter is back to `new` (no second DLQ record). */
  failedAgain: Set<string>;
}

/**
 * The dead letters' lifecycle (issue 9 item 6). The projector writes in its checkpoint transaction
 * (static methods on its manager); the CLI reads and moves states.
 */
export class DeadLettersRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * In the checkpoint's transaction. A retried copy that fails again updates its dead letter (only if
   * it is `retried`: a replay of the copy changes nothing); any other record is inserted unless its
   * source record is already a dead letter (a replay). Two statements plus one per kind, set-based.
   */
  static async record(manager: EntityManager, letters: DeadLetterInput[]): Promise<DeadLetterOutcome> {
    const outcome: DeadLetterOutcome = { added: new Set(), failedAgain: new Set() };
    const retries = letters.filter((l) => l.retryOf);
    let known = new Set<string>();
    if (retries.length) {
      const updated = returned<{ id: string }>(await manager.query(
        `UPDATE dead_letters d SET state = 'new', attempts = d.attempts + 1, error = r.error, updated_at = now()
         FROM unnest($1::uuid[], $2::text[]) AS r(id, error)
         WHERE d.id = r.id AND d.state = 'retried' RETURNING d.id`,
        [retries.map((l) => l.retryOf), retries.map((l) => l.error)],
      ));
      for (const r of updated) outcome.failedAgain.add(r.id);
      const existing: Array<{ id: string }> = await manager.query(`SELECT id FROM dead_letters WHERE id = ANY($1::uuid[])`, [retries.map((l) => l.retryOf)]);
      known = new Set(existing.map((r) => r.id));
    }
    // A copy whose dead letter was purged meanwhile becomes a dead letter of its own.
    const fresh = letters.filter((l) => !l.retryOf || !known.has(l.retryOf));
    if (fresh.length) {
      const inserted: Array<{ id: string }> = await manager.query(
        `INSERT INTO dead_letters (id, source_topic, source_partition, source_offset, schema, error)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[])
         ON CONFLICT DO NOTHING RETURNING id`,
        [
          fresh.map((l) => l.id),
          fresh.map((l) => l.sourceTopic),
          fresh.map((l) => l.sourcePartition),
          fresh.map((l) => l.sourceOffset),
          fresh.map((l) => l.schema ?? null),
          fresh.map((l) => l.error),
        ],
      );
      for (const r of inserted) outcome.added.add(r.id);
    }
    return outcome;
  }

  /** In the checkpoint's transaction: re-published copies that applied resolve their dead letters. */
  static async resolve(manager: EntityManager, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await manager.query(`UPDATE dead_letters SET state = 'resolved', updated_at = now() WHERE id = ANY($1::uuid[]) AND state = 'retried'`, [ids]);
  }

  async list(options: { limit: number; state?: DeadLetterState }): Promise<{ rows: DeadLetterRow[]; total: number }> {
    const where = options.state ? `WHERE state = $1` : '';
    const filter = options.state ? [options.state] : [];
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT * FROM (SELECT * FROM dead_letters ${where} ORDER BY created_at DESC, source_topic, source_partition, source_offset DESC LIMIT ${Math.trunc(options.limit)}) last
       ORDER BY created_at, source_topic, source_partition, source_offset`,
      filter,
    );
    const total = Number((await this.dataSource.query(`SELECT count(*) AS n FROM dead_letters ${where}`, filter))[0].n);
    return {
      total,
      rows: rows.map((r) => ({
        id: String(r.id),
        state: r.state as DeadLetterState,
        attempts: Number(r.attempts),
        source: `${r.source_topic}/${r.source_partition}@${r.source_offset}`,
        schema: (r.schema as string | null) ?? null,
        error: String(r.error),
        createdAt: (r.created_at as Date).toISOString(),
        updatedAt: (r.updated_at as Date).toISOString(),
        retriedAt: r.retried_at ? (r.retried_at as Date).toISOString() : null,
      })),
    };
  }

  /** Moves every `new` dead letter to `retried` (committed before the copies are published); returns them with their source (`topic/partition@offset`). */
  async markRetried(): Promise<Array<{ id: string; source: string }>> {
    const rows = returned<{ id: string; source: string }>(
      await this.dataSource.query(
        `UPDATE dead_letters SET state = 'retried', retried_at = now(), updated_at = now() WHERE state = 'new'
         RETURNING id, source_topic || '/' || source_partition || '@' || source_offset AS source`,
      ),
    );
    return rows.map((r) => ({ id: r.id, source: r.source }));
  }

  /** Publishing failed: the ids are `new` again, for the next retry. */
  async unmarkRetried(ids: string[]): Promise<void> {
    if (ids.length) await this.dataSource.query(`UPDATE dead_letters SET state = 'new', updated_at = now() WHERE id = ANY($1::uuid[]) AND state = 'retried'`, [ids]);
  }

  /** Discards dead letters (never retried again); resolved ones stay resolved. Returns ids not found. */
  async discard(ids: string[]): Promise<{ discarded: string[]; unknown: string[] }> {
    const rows = returned<{ id: string; state: string }>(
      await this.dataSource.query(
        `UPDATE dead_letters SET state = CASE WHEN state = 'resolved' THEN state ELSE 'discarded' END, updated_at = now()
         WHERE id = ANY($1::uuid[]) RETURNING id, state`,
        [ids],
      ),
    );
    const found = new Set(rows.map((r) => r.id));
    return { discarded: rows.filter((r) => r.state === 'discarded').map((r) => r.id), unknown: ids.filter((id) => !found.has(id)) };
  }

  /** Deletes dead letters created before `before` (any state); their DLQ records are never retried. */
  async purge(before: Date): Promise<number> {
    const rows = returned<{ id: string }>(await this.dataSource.query(`DELETE FROM dead_letters WHERE created_at < $1 RETURNING id`, [before]));
    return rows.length;
  }
}
