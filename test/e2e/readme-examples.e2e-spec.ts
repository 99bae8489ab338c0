import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { bodyMismatches, parseReadmeExamples, ReadmeExample } from '../support/readme-examples';
import { SingleNode, startSingleNode } from '../support/single-node-server';

// Every curl example of the README, run as written (through sh and curl) against the built single-node
// server, in README order; a new example is picked up without touching this file.
const parsed = parseReadmeExamples(readFileSync(resolve(__dirname, '../../README.md'), 'utf8'));
const sh = promisify(execFile);

let server: SingleNode;
let previous200: unknown;
/** The answer of the example run last (any status): what a `NAME=…` line below it refers to. */
let previousBody: unknown;
const variables: Record<string, string> = {};
const filled = new Set<number>();

beforeAll(async () => {
  server = await startSingleNode();
});

afterAll(async () => {
  expect(await server.stop()).toBe(0);
  server.cleanup();
});

/** Runs one example with the server's address and real keys; returns the status and the parsed body. */
async function run(example: ReadmeExample): Promise<{ status: number; body: unknown; raw: string }> {
  const command = example.command
    .replace(/(https?:\/\/)?localhost:8080/g, server.url)
    .replace(/\bcurl\b/, `curl -sS -w '\\n%{http_code}'`)
    .replace(/ -i\b/, '');
  const { stdout } = await sh('sh', ['-c', command], {
    env: { ...process.env, PUBLIC_KEY: server.publicKey, PRIVATE_KEY: server.privateKey, ADMIN_KEY: adminKey(), ...variables },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string; message: string }) => ({ stdout: error.stdout ?? '' })); // e.g. 413 while uploading
  const cut = stdout.lastIndexOf('\n');
  const raw = stdout.slice(0, cut);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    body = raw;
  }
  return { status: Number(stdout.slice(cut + 1)), body, raw };
}

/** The admin key `npm start` generated and printed (the README tells the reader to copy it from there). */
function adminKey(): string {
  const printed = /admin key: +(\S+)/.exec(server.output());
  if (!printed) throw new Error('the server printed no admin key');
  return printed[1];
}

/**
 * Reads wait for the worker (and an erasure's status for the log's redaction, which starts once the request
 * is 15 s old); anything else runs once.
 */
async function runUntilDocumented(example: ReadmeExample) {
  const isRead = !/-X POST|\s-d\s|--data/.test(example.command);
  const deadline = Date.now() + (isRead ? 50_000 : 0);
  for (;;) {
    const result = await run(example);
    if (result.status === example.status && mismatches(example, result.body).length === 0) return result;
    if (Date.now() >= deadline) return result;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function mismatches(example: ReadmeExample, body: unknown): string[] {
  if (example.sameAsPrevious) {
    if (previous200 === undefined) return ['"the same profile": no documented 200 answered before it'];
    return JSON.stringify(body) === JSON.stringify(previous200) ? [] : ['not the same profile as the example above'];
  }
  return example.body === undefined ? [] : bodyMismatches(example.body, body);
}

/** Placeholders the README assigns (`NAME=…`), filled from the answer they refer to. */
const FILL: Record<string, (body: any) => string> = {
  ZAIUS_ID: (body) => {
    if (typeof body?.attributes?.zaius_id !== 'string') throw new Error('ZAIUS_ID: the example above answered no zaius_id');
    return body.attributes.zaius_id;
  },
  PROFILE_ID: (body) => {
    if (typeof body?.id !== 'string') throw new Error('PROFILE_ID: the example above answered no id');
    return body.id;
  },
  CONTACT_ID: (body) => {
    if (typeof body?.contact_id !== 'string') throw new Error('CONTACT_ID: the example above answered no contact_id');
    return body.contact_id;
  },
  KEY_PREFIX: (body) => {
    if (typeof body?.prefix !== 'string') throw new Error('KEY_PREFIX: the example above answered no prefix');
    return body.prefix;
  },
  KEY: (body) => {
    if (typeof body?.key !== 'string') throw new Error('KEY: the example above answered no key');
    return body.key;
  },
  REQUEST_ID: (body) => {
    if (typeof body?.request_ids?.[0] !== 'string') throw new Error('REQUEST_ID: the example above answered no request_ids');
    return body.request_ids[0];
  },
};

it('the README documents its curl examples (parser sanity: none lost, outage examples marked)', () => {
  expect(parsed.examples.length).toBeGreaterThanOrEqual(15);
  expect(parsed.outageSkipped).toBeGreaterThanOrEqual(1);
  for (const a of parsed.assignments) expect(Object.keys(FILL)).toContain(a.name);
});

describe.each(parsed.examples.map((e) => [`README line ${e.line}: ${e.command.split('\n')[0].slice(0, 90)} → ${e.status}`, e] as const))('%s', (_, example) => {
  it('answers the documented status and body', async () => {
    // Each assignment is filled once, from the answer of the example just above it.
    for (const a of parsed.assignments.filter((a) => a.line < example.line && !filled.has(a.line))) {
      variables[a.name] = FILL[a.name](previousBody);
      filled.add(a.line);
    }
    const result = await runUntilDocumented(example);
    previousBody = result.body;
    expect({ status: result.status, mismatches: mismatches(example, result.body), body: result.raw.slice(0, 600) }).toMatchObject({ status: example.status, mismatches: [] });
    if (result.status === 200 && !example.sameAsPrevious) previous200 = result.body;
  });
});
