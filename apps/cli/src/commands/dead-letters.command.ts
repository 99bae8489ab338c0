import { randomUUID } from 'node:crypto';
import { DLQ_HEADER, PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { LogRecord } from '@tessera/event-log';
import { Infrastructure } from '@tessera/runtime';
import { drainTopic } from './drain-topic';

export const DLQ_RETRY_GROUP = 'tessera.dlq-retry';
const DLQ_HEADERS = new Set<string>(Object.values(DLQ_HEADER));

/** Prints dead-lettered records with why and where they came from. */
export async function listDeadLetters(infra: Infrastructure, options: { limit: number; out: NodeJS.WritableStream }): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  await drainTopic(infra.eventLog, {
    groupId: `tessera.cli.dlq-list.${randomUUID()}`,
    topic: PROFILE_UPSERTS_DLQ_TOPIC,
    fromZero: true,
    handleBatch: async (batch) => {
      records.push(...batch.records);
    },
  });
  const shown = records.slice(-options.limit);
  for (const r of shown) {
    const h = r.headers;
    options.out.write(
      `${JSON.stringify({
        dlqOffset: r.offset,
        key: r.key,
        error: h[DLQ_HEADER.error],
        source: `${h[DLQ_HEADER.sourceTopic]}/${h[DLQ_HEADER.sourcePartition]}@${h[DLQ_HEADER.sourceOffset]}`,
        value: r.value.toString('utf8').slice(0, 500),
      })}\n`,
    );
  }
  options.out.write(`${records.length} dead-lettered record(s)${shown.length < records.length ? `, last ${shown.length} shown` : ''}\n`);
  return records;
}

/** Re-publishes dead letters not retried before (tracked by a consumer group) with their original key, value and headers. */
export async function retryDeadLetters(infra: Infrastructure): Promise<number> {
  let count = 0;
  await drainTopic(infra.eventLog, {
    groupId: DLQ_RETRY_GROUP,
    topic: PROFILE_UPSERTS_DLQ_TOPIC,
    handleBatch: async (batch) => {
      await infra.eventLog.produce(
        PROFILE_UPSERTS_TOPIC,
        batch.records.map((r) => ({
          key: r.key ?? '',
          value: r.value,
          headers: Object.fromEntries(Object.entries(r.headers).filter(([k]) => !DLQ_HEADERS.has(k))),
        })),
      );
      count += batch.records.length;
    },
  });
  return count;
}
