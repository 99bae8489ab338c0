/**
 * The events phase of `npm run bench` (issue 10): POST /v3/events as SDKs send it, with the
 * projector running — events/s from the first POST until the projector's checkpoint reaches the log
 * end (every event applied: identifiers resolved, the event row stored, its idempotence id recorded).
 *
 * Every event carries 2 identifiers and an `idempotence_id`:
 *   - known      70%: a person of the main population (already projected): their email (as they send
 *                it) + their vuid, or a new device's vuid for people without one (a link);
 *   - new        30%: a new visitor: a new vuid + a new email (creates a profile).
 * Data: the SDK's fields (data_source_type/data_source/data_source_version) plus 2–3 event fields.
 * A person appears at most once, so concurrent bodies cannot reorder one person's events.
 */
import type { Client } from 'pg';
import type { Body, Person } from './population';
import { rng } from './population';

export interface EventPopulationOptions {
  /** People of the main population (already applied): the known share of events is theirs. */
  people: readonly Person[];
  events: number;
  batchSize: number;
  seed: number;
  /** Distinguishes this segment's new vuids, emails and idempotence ids. */
  prefix: string;
}

export interface EventPopulation {
  bodies: Body[];
  events: number;
  counts: { known: number; new: number };
  avgEventBytes: number;
}

const SHARE_KNOWN = 0.7;

export function generateEvents(o: EventPopulationOptions): EventPopulation {
  const r = rng(o.seed);
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
    return s;
  };
  const kinds: Array<[string, string | null, () => Record<string, unknown>]> = [
    ['fullstack', 'identified', () => ({})],
    ['product', 'detail', () => ({ product_id: `sku-${Math.floor(r() * 5000)}`, price: Math.round(r() * 20_000) / 100 })],
    ['order', 'purchase', () => ({ order_id: `o-${hex(10)}`, total: Math.round(r() * 50_000) / 100, items: 1 + Math.floor(r() * 6) })],
    ['pageview', null, () => ({ page: ['/', '/pricing', '/cart', '/checkout', '/account'][Math.floor(r() * 5)] })],
  ];
  // A stride coprime with the population size visits every person once, spread over the population.
  const n = o.people.length;
  let stride = Math.max(1, Math.floor(n * 0.618));
  while (gcd(stride, n) !== 1) stride++;
  const known = Math.min(Math.round(o.events * SHARE_KNOWN), n);

  const parts: string[] = [];
  const counts = { known: 0, new: 0 };
  let bytes = 0;
  for (let i = 0; i < o.events; i++) {
    let identifiers: Record<string, string>;
    if (i % 10 < 7 && counts.known < known) {
      const p = o.people[(i * stride) % n]!;
      identifiers = { email: p.sentEmail, vuid: p.vuid ?? `${o.prefix}-dev-${hex(8)}-${i.toString(36)}` };
      counts.known++;
    } else {
      identifiers = { vuid: `${o.prefix}-${hex(8)}-${i.toString(36)}`, email: `${o.prefix}.${i}.${hex(4)}@events.example.com` };
      counts.new++;
    }
    const [type, action, extra] = kinds[Math.floor(r() * kinds.length)]!;
    const event = {
      type,
      ...(action ? { action } : {}),
      identifiers,
      data: {
        idempotence_id: `${o.prefix}-${o.seed}-${i}-${hex(12)}`,
        data_source_type: 'sdk',
        data_source: 'javascript-sdk',
        data_source_version: '1.2.3',
        ...extra(),
      },
    };
    const json = JSON.stringify(event);
    bytes += Buffer.byteLength(json);
    parts.push(json);
  }
  const bodies: Body[] = [];
  for (let i = 0; i < parts.length; i += o.batchSize) {
    const slice = parts.slice(i, i + o.batchSize);
    bodies.push({ json: Buffer.from(`[${slice.join(',')}]`), items: slice.length, firstItem: i });
  }
  return { bodies, events: parts.length, counts, avgEventBytes: parts.length ? bytes / parts.length : 0 };
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Rows in profile_events (the projector stores one per applied event); null when the table is absent. */
export async function storedEventCount(db: Client): Promise<number | null> {
  try {
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM profile_events');
    return Number(rows[0]?.n ?? 0);
  } catch {
    return null;
  }
}
