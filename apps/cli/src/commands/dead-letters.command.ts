import { parseArgs } from 'node:util';
import { CommonEnv, loadEnv } from '@tessera/config';
import { DLQ_HEADER, PROFILE_UPSERTS_DLQ_TOPIC, PROFILE_UPSERTS_TOPIC } from '@tessera/contracts';
import { LogRecord } from '@tessera/event-log';
import { createLogger, Infrastructure, startInfrastructure } from '@tessera/runtime';
import { DEAD_LETTER_ID_HEADER, DEAD_LETTER_STATES, DeadLettersRepository, DeadLetterState, isDeadLetterId, isDeadLetterState } from '@tessera/store';
import { drainTopic } from './drain-topic';

/** The one consumer group `dlq retry` reads the DLQ topic with (from offset 0 every time; `dlq list` uses none). */
export const DLQ_RETRY_GROUP = 'tessera.dlq-retry';
const DLQ_HEADERS = new Set<string>([...Object.values(DLQ_HEADER), DEAD_LETTER_ID_HEADER]);

export const DLQ_USAGE = `usage: npm run tessera -- dlq <command>

  dlq list [--limit N] [--state ${DEAD_LETTER_STATES.join('|')}]
                              dead letters, oldest first, one JSON object a line (id, state, attempts,
                              source, error); the count goes to stderr
  dlq retry                   re-publish every dead letter in state new to ${PROFILE_UPSERTS_TOPIC} (state
                              retried; resolved once it applies, new again if it fails again)
  dlq discard <id> [<id>…]    never retry these dead letters (state discarded)
  dlq purge --before DATE     delete dead letters created before DATE (ISO 8601, e.g. 2026-12-01 or
                              2026-12-01T12:00:00Z); prints how many`;

export interface DlqIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export type DlqCommand =
  | { action: 'list'; limit: number; state?: DeadLetterState }
  | { action: 'retry' }
  | { action: 'discard'; ids: string[] }
  | { action: 'purge'; before: Date };

/** A wrong `dlq` command line (exit code 2). */
export class DlqUsageError extends Error {}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Parses the words after `dlq`; every problem names the argument. */
export function parseDeadLettersArgs(argv: string[]): DlqCommand {
  const [action, ...rest] = argv;
  const options = { limit: { type: 'string' }, state: { type: 'string' }, before: { type: 'string' } } as const;
  const allowed: Record<string, string[]> = { list: ['limit', 'state'], retry: [], discard: [], purge: ['before'] };
  if (!action || !(action in allowed)) throw new DlqUsageError(`unknown command: dlq ${action ?? ''}`.trim());
  let parsed: { values: Record<string, string | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    throw new DlqUsageError(`dlq ${action}: ${(error as Error).message.split('. ')[0]}`);
  }
  const { values, positionals } = parsed;
  const extra = Object.keys(values).find((k) => values[k] !== undefined && !allowed[action].includes(k));
  if (extra) throw new DlqUsageError(`dlq ${action}: unknown option '--${extra}'`);
  if (action !== 'discard' && positionals.length) throw new DlqUsageError(`dlq ${action}: unexpected argument '${positionals[0]}'`);
  switch (action) {
    case 'list': {
      const limit = values.limit === undefined ? 100 : /^\d+$/.test(values.limit) ? Number(values.limit) : NaN;
      if (!Number.isSafeInteger(limit) || limit < 1) throw new DlqUsageError(`dlq list: --limit must be a positive integer (got ${JSON.stringify(values.limit)})`);
      if (values.state !== undefined && !isDeadLetterState(values.state)) {
        throw new DlqUsageError(`dlq list: --state must be one of ${DEAD_LETTER_STATES.join(', ')} (got ${JSON.stringify(values.state)})`);
      }
      return { action, limit, state: values.state as DeadLetterState | undefined };
    }
    case 'discard': {
      if (positionals.length === 0) throw new DlqUsageError('dlq discard: give at least one dead letter id (see dlq list)');
      const bad = positionals.find((id) => !isDeadLetterId(id));
      if (bad !== undefined) throw new DlqUsageError(`dlq discard: ${JSON.stringify(bad)} is not a dead letter id (a UUID, see dlq list)`);
      return { action, ids: [...new Set(positionals.map((id) => id.toLowerCase()))] };
    }
    case 'purge': {
      const before = values.before;
      if (before === undefined) throw new DlqUsageError('dlq purge: --before DATE is required (ISO 8601, e.g. 2026-12-01)');
      const at = ISO_DATE.test(before) ? new Date(before) : new Date(NaN);
      if (Number.isNaN(at.getTime())) throw new DlqUsageError(`dlq purge: --before must be an ISO 8601 date or date-time (got ${JSON.stringify(before)})`);
      return { action, before: at };
    }
    default:
      return { action: 'retry' };
  }
}

/**
 * `tessera dlq …`: parses first (a bad command line never starts anything), then runs against the
 * same infrastructure as the server. Results for scripts on stdout, messages on stderr.
 * Exit codes: 0 done, 1 refused (unknown ids), 2 wrong command line.
 */
export async function deadLettersMain(argv: string[], io: DlqIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  if (argv.length === 0) {
    io.err.write(`tessera: dlq needs a command\n\n${DLQ_USAGE}\n`);
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out.write(`${DLQ_USAGE}\n`);
    return 0;
  }
  let command: DlqCommand;
  try {
    command = parseDeadLettersArgs(argv);
  } catch (error) {
    if (!(error instanceof DlqUsageError)) throw error;
    io.err.write(`tessera: ${error.message}\n\n${DLQ_USAGE}\n`);
    return 2;
  }
  const env = loadEnv(CommonEnv);
  const logger = createLogger(env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL, 'tessera-cli');
  // Next to a running single-node server, share its embedded PostgreSQL instead of restarting it.
  const infra = await startInfrastructure(env, logger, { whenEmbeddedRunning: 'share' });
  try {
    return await runDeadLettersCommand(infra, command, io);
  } finally {
    await infra.close();
  }
}

export async function runDeadLettersCommand(infra: Infrastructure, command: DlqCommand, io: DlqIo): Promise<number> {
  const repo = new DeadLettersRepository(infra.database.dataSource);
  switch (command.action) {
    case 'list': {
      await listDeadLetters(repo, { ...command, out: io.out, err: io.err });
      return 0;
    }
    case 'retry': {
      const ids = await retryDeadLetters(infra, repo);
      for (const id of ids) io.out.write(`${id}\n`);
      io.err.write(`re-published ${ids.length} dead letter(s) to ${PROFILE_UPSERTS_TOPIC} (state retried)\n`);
      return 0;
    }
    case 'discard': {
      const { discarded, unknown } = await repo.discard(command.ids);
      for (const id of discarded) io.out.write(`${id}\n`);
      io.err.write(`discarded ${discarded.length} dead letter(s)\n`);
      for (const id of unknown) io.err.write(`tessera: no dead letter ${id}\n`);
      return unknown.length ? 1 : 0;
    }
    case 'purge': {
      const n = await repo.purge(command.before);
      io.out.write(`${n}\n`);
      io.err.write(`purged ${n} dead letter(s) created before ${command.before.toISOString()}\n`);
      return 0;
    }
  }
}

/** Prints dead letters from the dead_letters table: no consumer group, nothing left behind. */
export async function listDeadLetters(
  repo: DeadLettersRepository,
  options: { limit: number; state?: DeadLetterState; out: NodeJS.WritableStream; err: NodeJS.WritableStream },
): Promise<number> {
  const { rows, total } = await repo.list(options);
  for (const r of rows) options.out.write(`${JSON.stringify(r)}\n`);
  const what = options.state ? `dead letter(s) in state ${options.state}` : 'dead letter(s)';
  options.err.write(`${total} ${what}${rows.length < total ? `, last ${rows.length} shown` : ''}\n`);
  return total;
}

/**
 * Re-publishes every dead letter in state `new` with its original key, value and headers plus the
 * `dead-letter-id` header, after marking it `retried` (committed first, so a fast worker always finds
 * it so). The worker then resolves it, or moves it back to `new` — never a second dead letter.
 */
export async function retryDeadLetters(infra: Infrastructure, repo: DeadLettersRepository): Promise<string[]> {
  // By source record (the DLQ headers every dead letter has, also those written before dead letters had ids).
  const records = new Map<string, LogRecord>();
  await drainTopic(infra.eventLog, {
    groupId: DLQ_RETRY_GROUP,
    topic: PROFILE_UPSERTS_DLQ_TOPIC,
    fromZero: true,
    handleBatch: async (batch) => {
      for (const r of batch.records) records.set(`${r.headers[DLQ_HEADER.sourceTopic]}/${r.headers[DLQ_HEADER.sourcePartition]}@${r.headers[DLQ_HEADER.sourceOffset]}`, r);
    },
  });
  const marked = await repo.markRetried();
  const found = marked.filter((m) => records.has(m.source));
  // Not in the DLQ topic yet (an outbox not published yet): left `new` for the next retry.
  await repo.unmarkRetried(marked.filter((m) => !records.has(m.source)).map((m) => m.id));
  try {
    await infra.eventLog.produce(
      PROFILE_UPSERTS_TOPIC,
      found.map(({ id, source }) => {
        const r = records.get(source)!;
        const headers = Object.fromEntries(Object.entries(r.headers).filter(([k]) => !DLQ_HEADERS.has(k)));
        // Back to the partition it came from: its key is the record id, so only the source partition keeps it with its person's records.
        const partition = Number(r.headers[DLQ_HEADER.sourcePartition]);
        return { key: r.key ?? '', value: r.value, headers: { ...headers, [DEAD_LETTER_ID_HEADER]: id }, partition: Number.isSafeInteger(partition) && partition >= 0 ? partition : undefined };
      }),
    );
  } catch (error) {
    await repo.unmarkRetried(found.map((m) => m.id));
    throw error;
  }
  return found.map((m) => m.id);
}
