/**
 * Micro-benchmark of the ingest hot path: validateProfileUpsertBody + buildProfileUpsertRecords on
 * 100,000 items of ~10 attributes, in bodies of 500 items (as POST /v3/profiles receives them), one core.
 *
 *   npm run build && node dist/libs/contracts/scripts/profile-upserts.bench.js [items] [rounds]
 *
 * Not part of `npm test`.
 */
import { IdentifierRules } from '@tessera/identity';
import { buildProfileUpsertRecords, validateProfileUpsertBody } from '@tessera/contracts';

const TOTAL = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const BATCH = 500;

function makeBodies(): string[] {
  const bodies: string[] = [];
  for (let b = 0; b < TOTAL / BATCH; b++) {
    const items = [];
    for (let i = 0; i < BATCH; i++) {
      const n = b * BATCH + i;
      items.push({
        attributes: {
          email: `User.${n}@Example.com`,
          phone: `+1 (555) ${String(n % 1000).padStart(3, '0')}-${String(n % 10000).padStart(4, '0')}`,
          vuid: `vuid-${n.toString(36)}`,
          first_name: 'Johnny',
          last_name: 'Zaius',
          city: 'Boston',
          zip: '02101',
          score: n * 0.5,
          vip: n % 2 === 0,
          tags: ['a', 'b', n % 7],
          ts: 1_700_000_000 + n,
        },
      });
    }
    bodies.push(JSON.stringify(items));
  }
  return bodies;
}

function main(): void {
  const rules = IdentifierRules.defaults();
  const bodies = makeBodies();
  const parsed = bodies.map((b) => JSON.parse(b));
  let bytes = 0;
  for (const b of bodies) bytes += b.length;
  console.log(`${TOTAL} items in ${bodies.length} bodies of ${BATCH}, ${(bytes / 1024 / 1024).toFixed(1)} MiB of JSON, node ${process.version}`);

  const run = (label: string, fn: () => void) => {
    const rates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = process.hrtime.bigint();
      fn();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      rates.push(TOTAL / (ms / 1000));
    }
    rates.sort((a, b) => a - b);
    const median = rates[Math.floor(rates.length / 2)];
    console.log(`${label.padEnd(36)} median ${Math.round(median).toLocaleString('en')} items/s (min ${Math.round(rates[0]).toLocaleString('en')}, max ${Math.round(rates[rates.length - 1]).toLocaleString('en')})`);
  };

  let sink = 0;
  const validateOnly = () => {
    for (const body of parsed) {
      const r = validateProfileUpsertBody(body, rules);
      if (!r.ok) throw new Error(JSON.stringify(r).slice(0, 500));
      sink += r.items.length;
    }
  };
  const validateAndBuild = () => {
    for (const body of parsed) {
      const receivedAt = new Date();
      const r = validateProfileUpsertBody(body, rules, { receivedAt });
      if (!r.ok) throw new Error('invalid');
      sink += buildProfileUpsertRecords('acme', r.items, receivedAt, rules).length;
    }
  };
  const parseValidateAndBuild = () => {
    for (const text of bodies) {
      const receivedAt = new Date();
      const r = validateProfileUpsertBody(JSON.parse(text), rules, { receivedAt });
      if (!r.ok) throw new Error('invalid');
      sink += buildProfileUpsertRecords('acme', r.items, receivedAt, rules).length;
    }
  };

  validateAndBuild(); // warm-up
  run('validate', validateOnly);
  run('validate + build', validateAndBuild);
  run('JSON.parse + validate + build', parseValidateAndBuild);
  if (sink === 0) console.log('');
}

main();
