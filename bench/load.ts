/**
 * HTTP load generator: node:http with a keep-alive Agent, run in a worker thread so that the bench's
 * own bookkeeping (polling PostgreSQL, /proc, GET probes) never delays a send or a latency sample.
 *
 * - closed loop: `concurrency` connections each send the next request as soon as the previous one
 *   answered (maximum throughput);
 * - open loop: requests are due at a fixed rate whatever the answers; latency is measured from the
 *   time a request was due, so a stalled server is not hidden (no coordinated omission).
 */
import { Agent, request } from 'node:http';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { nowMs } from './stats';

export interface LoadRequests {
  method: 'POST' | 'GET';
  /** One path for every request, or one per request. */
  paths: string | string[];
  /** POST bodies (request i sends bodies[i % n]). */
  bodies?: Buffer[];
  /** Items carried by request i (for items/s); default 1. */
  items?: number[];
  /** Requests whose send time is reported to `onSent` (open loop only). */
  sample?: boolean[];
}

export interface LoadSpec {
  baseUrl: string;
  headers: Record<string, string>;
  mode: 'closed' | 'open';
  concurrency: number;
  /** Open loop: requests per second. */
  rate?: number;
  /** Stop issuing after this long (open loop: required). Closed loop without it: every request once. */
  durationMs?: number;
  /**
   * Open loop: first send at the same rate for this long, on the same connections, and leave those
   * answers out of the result — a fresh load worker's code is not yet optimised and its connections
   * are still being opened (measured: 2.5–4.5 % of a 10 s run's look-ups answered late, > 8 ms, all in its first 0.7 s).
   */
  warmupMs?: number;
  /** Closed loop: start over at the first request until durationMs has passed. */
  cycle?: boolean;
  /** Closed loop: send at least this many requests (cycling). */
  minRequests?: number;
  expectStatus: number;
  requests: LoadRequests;
}

export interface LoadResult {
  /** Requests issued, in order (request i used input i % n), warm-up included. */
  issued: number;
  /** Of those, sent in the open loop's warm-up (LoadSpec.warmupMs): not in ok, failed, latencies or items. */
  warmupRequests: number;
  /** Warm-up requests not answered with expectStatus. */
  warmupFailed: number;
  ok: number;
  failed: number;
  statusCounts: Record<string, number>;
  errorSamples: string[];
  /** Items of requests answered with expectStatus. */
  items: number;
  startMs: number;
  endMs: number;
  /** Per ok request, in completion order. */
  latencies: Float64Array;
  completedAt: Float64Array;
  /** Open loop: when the load generator's own thread stalled more than GENERATOR_STALL_MS (s from startMs, ms late). */
  generatorStalls: Array<{ atS: number; ms: number }>;
  completedItems: Float64Array;
}

const GENERATOR_STALL_MS = 25;

interface WorkerInput {
  kind: 'tessera-bench-load';
  spec: Omit<LoadSpec, 'requests'> & { requests: Omit<LoadRequests, 'bodies'> & { bodyBuffer?: SharedArrayBuffer; bodyOffsets?: number[] } };
}

type WorkerMessage = { type: 'sent'; index: number; atMs: number } | { type: 'done'; result: LoadResult } | { type: 'error'; message: string };

/** Runs one load phase in a fresh worker thread. */
export function runLoad(spec: LoadSpec, onSent?: (index: number, atMs: number) => void): Promise<LoadResult> {
  const { bodies, ...rest } = spec.requests;
  let bodyBuffer: SharedArrayBuffer | undefined;
  let bodyOffsets: number[] | undefined;
  if (bodies) {
    const total = bodies.reduce((n, b) => n + b.length, 0);
    bodyBuffer = new SharedArrayBuffer(total);
    const view = Buffer.from(bodyBuffer);
    bodyOffsets = [0];
    let at = 0;
    for (const b of bodies) {
      b.copy(view, at);
      at += b.length;
      bodyOffsets.push(at);
    }
  }
  const input: WorkerInput = { kind: 'tessera-bench-load', spec: { ...spec, requests: { ...rest, bodyBuffer, bodyOffsets } } };
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: input });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'sent') onSent?.(m.index, m.atMs);
      else if (m.type === 'done') {
        resolve(m.result);
        void worker.terminate();
      } else {
        reject(new Error(m.message));
        void worker.terminate();
      }
    });
    worker.on('error', reject);
  });
}

async function workerMain(input: WorkerInput): Promise<LoadResult> {
  const { spec } = input;
  const url = new URL(spec.baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency, maxFreeSockets: spec.concurrency, scheduling: 'fifo' });
  const req = spec.requests;
  // Own copies: plain Buffers for the socket writes.
  const bodies: Buffer[] | undefined = req.bodyBuffer
    ? req.bodyOffsets!.slice(0, -1).map((start, i) => Buffer.from(Buffer.from(req.bodyBuffer!, start, req.bodyOffsets![i + 1]! - start)))
    : undefined;
  const n = bodies?.length ?? (Array.isArray(req.paths) ? req.paths.length : 1);
  const pathOf = (i: number) => (Array.isArray(req.paths) ? req.paths[i % req.paths.length]! : req.paths);
  const itemsOf = (i: number) => req.items?.[i % n] ?? 1;

  const latencies: number[] = [];
  const completedAt: number[] = [];
  const completedItems: number[] = [];
  const statusCounts: Record<string, number> = {};
  const errorSamples: string[] = [];
  let ok = 0;
  let failed = 0;
  let items = 0;
  let issued = 0;
  let warmupRequests = 0;
  let warmupFailed = 0;
  let measureFromMs = -Infinity;

  const send = (i: number, dueMs: number) =>
    new Promise<void>((resolve) => {
      const body = bodies?.[i % n];
      const headers: Record<string, string | number> = { ...spec.headers };
      if (body) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = body.length;
      }
      const finish = (status: string, detail?: string) => {
        const at = nowMs();
        if (dueMs < measureFromMs) {
          if (status !== String(spec.expectStatus)) warmupFailed++;
          return resolve();
        }
        statusCounts[status] = (statusCounts[status] ?? 0) + 1;
        if (status === String(spec.expectStatus)) {
          ok++;
          items += itemsOf(i);
          latencies.push(at - dueMs);
          completedAt.push(at);
          completedItems.push(itemsOf(i));
        } else {
          failed++;
          if (errorSamples.length < 5 && detail) errorSamples.push(`${status}: ${detail.slice(0, 300)}`);
        }
        resolve();
      };
      const r = request({ agent, host: url.hostname, port: url.port, method: req.method, path: pathOf(i), headers }, (res) => {
        const status = String(res.statusCode);
        if (res.statusCode === spec.expectStatus) {
          res.resume();
          res.on('end', () => finish(status));
        } else {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => finish(status, text));
        }
        res.on('error', (e) => finish('error', e.message));
      });
      r.on('error', (e) => finish('error', e.message));
      r.end(body);
    });

  const generatorStalls: Array<{ atMs: number; ms: number }> = [];
  let startMs = nowMs();
  if (spec.mode === 'closed') {
    const until = spec.durationMs !== undefined ? startMs + spec.durationMs : Infinity;
    const minRequests = spec.minRequests ?? (spec.cycle ? 0 : n);
    const take = (): number => {
      if (issued >= minRequests && (!spec.cycle || nowMs() >= until)) return -1;
      if (!spec.cycle && issued >= n) return -1;
      return issued++;
    };
    const loop = async () => {
      for (let i = take(); i >= 0; i = take()) await send(i, nowMs());
    };
    await Promise.all(Array.from({ length: spec.concurrency }, loop));
  } else {
    const rate = spec.rate!;
    const warmup = spec.warmupMs ?? 0;
    const duration = warmup + spec.durationMs!;
    const interval = 1000 / rate;
    const pending: Array<Promise<void>> = [];
    measureFromMs = startMs + warmup;
    // The generator's own stalls: a tick of this 5 ms timer that comes late says the worker could not send on time.
    let lastTick = nowMs();
    const watch = setInterval(() => {
      const now = nowMs();
      if (now - lastTick > GENERATOR_STALL_MS) generatorStalls.push({ atMs: lastTick, ms: now - lastTick - 5 });
      lastTick = now;
    }, 5);
    await new Promise<void>((done) => {
      const tick = () => {
        const now = nowMs();
        for (;;) {
          const due = startMs + issued * interval;
          if (due - startMs >= duration) return done();
          if (due > now) break;
          const i = issued++;
          if (due < measureFromMs) warmupRequests++;
          if (req.sample?.[i % n]) parentPort!.postMessage({ type: 'sent', index: i, atMs: nowMs() } satisfies WorkerMessage);
          pending.push(send(i, due));
        }
        setTimeout(tick, Math.max(0, startMs + issued * interval - nowMs()));
      };
      tick();
    });
    clearInterval(watch);
    await Promise.all(pending);
    startMs = measureFromMs;
  }
  agent.destroy();
  return {
    issued,
    warmupRequests,
    warmupFailed,
    ok,
    failed,
    statusCounts,
    errorSamples,
    items,
    startMs,
    endMs: completedAt.length ? completedAt[completedAt.length - 1]! : nowMs(),
    generatorStalls: generatorStalls.map((g) => ({ atS: Math.round((g.atMs - startMs) / 100) / 10, ms: Math.round(g.ms) })),
    latencies: Float64Array.from(latencies),
    completedAt: Float64Array.from(completedAt),
    completedItems: Float64Array.from(completedItems),
  };
}

/** Items/s over the run after a warm-up (the first `warmupShare` of the run's time), and over all of it. */
export function throughput(result: LoadResult, warmupShare = 0.1): { perSec: number; overallPerSec: number; seconds: number } {
  const total = result.endMs - result.startMs;
  const from = result.startMs + total * warmupShare;
  let items = 0;
  for (let i = 0; i < result.completedAt.length; i++) if (result.completedAt[i]! >= from) items += result.completedItems[i]!;
  const window = result.endMs - from;
  return { perSec: window > 0 ? (items * 1000) / window : 0, overallPerSec: total > 0 ? (result.items * 1000) / total : 0, seconds: total / 1000 };
}

if (!isMainThread && (workerData as WorkerInput | undefined)?.kind === 'tessera-bench-load') {
  workerMain(workerData as WorkerInput).then(
    (result) => parentPort!.postMessage({ type: 'done', result } satisfies WorkerMessage, [result.latencies.buffer as ArrayBuffer, result.completedAt.buffer as ArrayBuffer, result.completedItems.buffer as ArrayBuffer]),
    (error: unknown) => parentPort!.postMessage({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies WorkerMessage),
  );
}
