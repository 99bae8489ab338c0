import { DataSource, EntityManager } from 'typeorm';
import { runInTransaction } from '../transaction/transaction-runner';

export interface OutboxRecord {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

/** Publishes records to a log; resolves once the log stored them all (EventLog.produce). */
export type OutboxPublisher = (topic: string, records: OutboxRecord[]) => Promise<unknown>;

const PUBLISH_CHUNK = 1000;

/**
 * Dead letters for a log outside PostgreSQL (Kafka): stored in the projection's transaction, so they
 * exist exactly when the checkpoint moved past their records, and published after that commit. A
 * crash between commit and publish leaves them here: the next `publish` (at start) sends them.
 */
export class DeadLetterOutbox {
  constructor(private readonly dataSource: DataSource) {}

  /** Inside the caller's transaction: one statement for all records. */
  static async add(manager: EntityManager, topic: string, records: OutboxRecord[]): Promise<void> {
    if (records.length === 0) return;
    await manager.query(
      `INSERT INTO dead_letter_outbox (topic, key, value, headers)
       SELECT $1, k, v, h::jsonb FROM unnest($2::text[], $3::bytea[], $4::text[]) AS r(k, v, h)`,
      [topic, records.map((r) => r.key), records.map((r) => r.value), records.map((r) => JSON.stringify(r.headers))],
    );
  }

  /**
   * Sends every waiting dead letter, oldest first, and deletes what the log acknowledged. Rows are
   * locked (SKIP LOCKED) while they are sent, so two workers never send the same row at once.
   * Returns how many were published.
   */
  async publish(send: OutboxPublisher): Promise<number> {
    let published = 0;
    for (;;) {
      const sent = await runInTransaction(this.dataSource, async (manager) => {
        const rows: Array<{ id: string; topic: string; key: string; value: Buffer; headers: Record<string, string> }> = await manager.query(
          `SELECT id, topic, key, value, headers FROM dead_letter_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [PUBLISH_CHUNK],
        );
        const byTopic = new Map<string, typeof rows>();
        for (const r of rows) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
        for (const [topic, group] of byTopic) await send(topic, group.map((r) => ({ key: r.key, value: r.value, headers: r.headers })));
        if (rows.length) await manager.query(`DELETE FROM dead_letter_outbox WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
        return rows.length;
      });
      published += sent;
      if (sent < PUBLISH_CHUNK) return published;
    }
  }
}
