import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { WORKER_INGEST_KINDS, type IngestContext, type IngestKind, type IngestLogRecord, type IngestPreparation } from './ingest-kinds';
import { rulesSpecOf, type PrepareReply, type PrepareRequest } from './ingest-prepare.protocol';

/** Bodies with fewer items are prepared on the event loop: a hand-over costs more than they do. */
export const MIN_WORKER_ITEMS = 16;
/**
 * A worker with this many bodies waiting: the event loop prepares the next one itself. Only a safety valve:
 * measured on 2 cores, handing every large body over beat sharing them (at 3 or 8 waiting) — the event loop
 * is the bound, and a body prepared in place costs it 12 µs per item where a hand-over costs about 2.
 */
export const MAX_QUEUED_PER_WORKER = 64;
const WORKER_SCRIPT = join(__dirname, 'ingest-prepare.worker.js');
const WORKER_KINDS = new Set(WORKER_INGEST_KINDS);

interface PoolWorker {
  worker: Worker;
  inFlight: Map<number, { resolve: (p: IngestPreparation) => void; reject: (e: Error) => void }>;
}

/**
 * Validation and encoding of large ingest bodies on worker threads (issue 12): the event loop, which
 * also runs HTTP, JSON.parse and the log append, was the bound on a 2-core machine. A worker runs the
 * same `IngestKind.prepare` on a structured clone of the parsed body and hands back the records as flat
 * string arrays (cheap to clone), so answers and records are the same as when prepared in place. Small
 * bodies (and any body while every worker has `maxQueued` waiting) are prepared on the event loop.
 */
export class IngestPreparePool {
  private readonly workers: Array<PoolWorker | undefined>;
  private nextId = 0;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly script = WORKER_SCRIPT,
    private readonly maxQueued = MAX_QUEUED_PER_WORKER,
  ) {
    this.workers = new Array(size).fill(undefined);
    // Started now, not on the first large body: loading its modules takes a few hundred ms.
    for (let i = 0; i < size; i++) this.workers[i] = this.spawn(i);
  }

  /**
   * TESSERA_INGEST_WORKERS workers (default: 1 when the machine has 2 or more cores), none when the
   * compiled worker script is absent (TypeScript sources under jest run everything in place).
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): IngestPreparePool | undefined {
    const raw = env.TESSERA_INGEST_WORKERS;
    const size = raw !== undefined && raw !== '' ? Number(raw) : availableParallelism() >= 2 ? 1 : 0;
    if (!Number.isInteger(size) || size < 0 || size > 64) throw new Error(`TESSERA_INGEST_WORKERS must be an integer 0–64, got ${raw}`);
    if (size === 0 || !existsSync(WORKER_SCRIPT)) return undefined;
    return new IngestPreparePool(size);
  }

  /** `kind.prepare` on a worker when the kind is one a worker knows, the body is large and a worker has room; else in place. */
  prepare(kind: IngestKind, tenant: string, body: unknown, context: IngestContext): IngestPreparation | Promise<IngestPreparation> {
    const handOver = !this.closed && WORKER_KINDS.has(kind) && Array.isArray(body) && body.length >= MIN_WORKER_ITEMS;
    const w = handOver ? this.idlest() : undefined;
    if (w === undefined || w.inFlight.size >= this.maxQueued) return kind.prepare(tenant, body, context);
    const request: PrepareRequest = {
      id: this.nextId++,
      kind: kind.name,
      tenant,
      body,
      rules: rulesSpecOf(context.rules),
      fields: context.fields,
      receivedAt: context.receivedAt.getTime(),
    };
    return new Promise((resolve, reject) => {
      w.inFlight.set(request.id, { resolve, reject });
      w.worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w?.worker.terminate()));
  }

  private idlest(): PoolWorker {
    let best: PoolWorker | undefined;
    for (let i = 0; i < this.workers.length; i++) {
      const w = (this.workers[i] ??= this.spawn(i));
      if (best === undefined || w.inFlight.size < best.inFlight.size) best = w;
    }
    return best!;
  }

  private spawn(slot: number): PoolWorker {
    const w: PoolWorker = { worker: new Worker(this.script), inFlight: new Map() };
    w.worker.unref(); // never holds the process open
    w.worker.on('message', (reply: PrepareReply) => {
      const pending = w.inFlight.get(reply.id);
      if (!pending) return;
      w.inFlight.delete(reply.id);
      if ('error' in reply) pending.reject(new Error(reply.error));
      else if (reply.ok) pending.resolve({ ok: true, records: recordsOf(reply) });
      else pending.resolve({ ok: false, detail: reply.detail });
    });
    // A worker that dies fails its bodies (500, nothing was published) and is replaced on the next body.
    const fail = (error: Error) => {
      if (this.workers[slot] === w) this.workers[slot] = undefined;
      for (const p of w.inFlight.values()) p.reject(error);
      w.inFlight.clear();
    };
    w.worker.on('error', fail);
    w.worker.on('exit', (code) => fail(new Error(`ingest worker exited with code ${code}`)));
    return w;
  }
}

function recordsOf(reply: Extract<PrepareReply, { ok: true }>): IngestLogRecord[] {
  const { keys, partitionKeys, values, headers, headerOf } = reply;
  const records: IngestLogRecord[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    records[i] = { key: keys[i]!, partitionKey: partitionKeys[i]!, value: values[i]!, headers: { ...headers[headerOf[i]!] } };
  }
  return records;
}
