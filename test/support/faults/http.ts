import { readFileSync } from 'node:fs';
import { IncomingMessage, request } from 'node:http';

/** What a client saw: an HTTP answer, or a transport error (no answer at all). */
export interface RawResponse {
  status?: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json?: any;
  /** errno-like code of a transport failure (ECONNREFUSED, ECONNRESET, EPIPE, TIMEOUT…) when no answer came. */
  error?: string;
}

export interface RawRequestOptions {
  method?: string;
  /** Path with query string, e.g. `/v3/profiles?email=a%40b.co`. */
  path: string;
  headers?: Record<string, string | number | string[]>;
  /** Sent as one write; a string is UTF-8 encoded. Omit for no body. */
  body?: string | Buffer;
  /** Body written in these pieces (chunked transfer unless a content-length header is given). */
  chunks?: Array<string | Buffer>;
  /** Hang guard: the request is abandoned (error TIMEOUT) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Default false: a fresh TCP connection per request (no keep-alive races with a closing server). */
  agent?: false;
}

/** Reads a whole answer (body parsed as JSON when it is JSON) into `done`. */
function collectResponse(res: IncomingMessage, done: (r: RawResponse) => void): void {
  const parts: Buffer[] = [];
  res.on('data', (d: Buffer) => parts.push(d));
  res.on('error', () => undefined);
  res.on('end', () => {
    const text = Buffer.concat(parts).toString('utf8');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    done({ status: res.statusCode, headers: res.headers, text, json });
  });
}

/**
 * One HTTP request with node:http, always resolving: the answer (even when the server closed the
 * connection before the upload ended, as it does for 413) or the transport error.
 */
export function rawRequest(baseUrl: string, options: RawRequestOptions): Promise<RawResponse> {
  const url = new URL(options.path, baseUrl);
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: RawResponse) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => collectResponse(res, done),
    );
    req.setTimeout(options.timeoutMs ?? 30_000, () => {
      req.destroy();
      done({ headers: {}, text: '', error: 'TIMEOUT' });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      // EPIPE / ECONNRESET while uploading can precede a response the server already sent (413):
      // give the response a moment to arrive before reporting the transport error.
      setTimeout(() => done({ headers: {}, text: '', error: e.code ?? e.message }), 200);
    });
    if (options.chunks) {
      for (const c of options.chunks) req.write(c);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

/** POST /v3/profiles with a JSON (or raw) body on a fresh connection. */
export function postProfiles(baseUrl: string, key: string | null, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return rawRequest(baseUrl, {
    method: 'POST',
    path: '/v3/profiles',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...(key ? { 'x-api-key': key } : {}), ...headers },
    body: payload,
  });
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resident memory of a process in MiB, from /proc/<pid>/status (Linux). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** True while a process exists (signal 0). */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A request whose headers and first part of the body go out now and the rest on `finish()`: a request
 * that is already in the server's hands (in flight) when a fault is injected.
 */
export function startSlowRequest(
  baseUrl: string,
  options: { method?: string; path: string; headers: Record<string, string | number>; body: string | Buffer; firstBytes: number; timeoutMs?: number },
): { finish(): void; response: Promise<RawResponse> } {
  const body = Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body, 'utf8');
  const url = new URL(options.path, baseUrl);
  let req!: ReturnType<typeof request>;
  const response = new Promise<RawResponse>((resolve) => {
    let settled = false;
    const done = (r: RawResponse) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: options.method ?? 'POST',
        headers: { ...options.headers, 'content-length': body.length },
        agent: false,
      },
      (res) => collectResponse(res, done),
    );
    req.setTimeout(options.timeoutMs ?? 30_000, () => {
      req.destroy();
      done({ headers: {}, text: '', error: 'TIMEOUT' });
    });
    req.on('error', (e: NodeJS.ErrnoException) => setTimeout(() => done({ headers: {}, text: '', error: e.code ?? e.message }), 200));
    req.flushHeaders();
    req.write(body.subarray(0, options.firstBytes));
  });
  return {
    finish: () => {
      req.end(body.subarray(options.firstBytes));
    },
    response,
  };
}
