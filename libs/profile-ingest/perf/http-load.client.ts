// The load generator of the ingest measure scripts, run in its own process (fork): the server's CPU is then its
// own. Reads length-prefixed bodies from a file once; on each message `{from, to}` posts bodies[from..to) to
// POST /v3/profiles with `conc` keep-alive connections in flight and answers the status counts.
import { readFileSync, writeFileSync } from 'node:fs';
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';

export type Poster = ((from: number, to: number) => Promise<Record<string, number>>) & { close(): void };

/** Writes the bodies where the client reads them and forks it; resolves once it is ready. */
export async function forkHttpPoster(url: string, key: string, bodies: Buffer[], file: string, conc: number): Promise<Poster> {
  writeFileSync(file, Buffer.concat(bodies.flatMap((b) => [Buffer.from(new Uint32Array([b.length]).buffer), b])));
  const child: ChildProcess = fork(__filename, [JSON.stringify({ url, key, file, conc })], { execArgv: [] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`client exited with ${code}`)));
  });
  const post = (from: number, to: number) =>
    new Promise<Record<string, number>>((resolve) => {
      child.once('message', (statuses) => resolve(statuses as Record<string, number>));
      child.send({ from, to });
    });
  return Object.assign(post, { close: () => void child.kill() });
}

function runClient(): void {
  const { url, key, file, conc } = JSON.parse(process.argv[2]!) as { url: string; key: string; file: string; conc: number };
  const buf = readFileSync(file);
  const bodies: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const n = buf.readUInt32LE(at);
    bodies.push(buf.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: conc });
  const post = (body: Buffer) =>
    new Promise<number | string>((resolve) => {
      const r = request(
        { agent, host: target.hostname, port: target.port, method: 'POST', path: '/v3/profiles', headers: { 'content-type': 'application/json', 'content-length': body.length, 'x-api-key': key } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      r.on('error', () => resolve('error'));
      r.end(body);
    });
  process.on('message', async ({ from, to }: { from: number; to: number }) => {
    const statuses: Record<string, number> = {};
    let next = from;
    await Promise.all(
      Array.from({ length: conc }, async () => {
        for (let i = next++; i < to; i = next++) {
          const s = await post(bodies[i]!);
          statuses[s] = (statuses[s] ?? 0) + 1;
        }
      }),
    );
    process.send!(statuses);
  });
  process.send!('ready');
}

if (require.main === module) runClient();
