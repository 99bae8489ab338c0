/**
 * A deterministic, realistic population of profile upserts for the benchmark (issue 4).
 *
 * Every person has an email; 60% a vuid, 30% a phone, 10% a customer_id. The upsert stream per
 * population of N people holds about 1.43·N items:
 *   - identified   one per person: email + the person's other identifiers + ~10 attributes;
 *   - anonymous    20% of all upserts: vuid-only page-view style items of people with a vuid, sent
 *                  *before* the person's identified upsert (the anonymous profile later gains the email);
 *   - merge-prep   phone-only items of "merge people" sent *after* their identified upsert (the phone is
 *                  new, so it starts a second profile of the same person);
 *   - merge        5% of all upserts: email + phone of a merge person, sent after the merge-prep: both
 *                  high-confidence identifiers point at different profiles → the profiles merge.
 * Items of one person are spread `window` positions apart, so a batch never holds two of them and
 * 50 concurrent batches cannot reorder them in the log.
 */

export type ItemKind = 'identified' | 'anonymous' | 'merge-prep' | 'merge';

export interface PopulationOptions {
  people: number;
  /** Distinguishes segments of one run (emails and vuids are unique per prefix). */
  prefix: string;
  seed: number;
  /** Items per request body. */
  batchSize: number;
}

export interface Person {
  email: string;
  /** Email as a client sends it (sometimes mixed case); `email` is the normalised form. */
  sentEmail: string;
  vuid?: string;
  phone?: string;
  customerId?: string;
  anonymousFirst: boolean;
  mergePerson: boolean;
}

export interface PopulationItem {
  kind: ItemKind;
  person: number;
  /** One row per person for ceiling D (the projection also ends with about one profile per person). */
  key: string;
  attributes: Record<string, unknown>;
}

export interface Body {
  /** The JSON text of the request body (an array of `batchSize` items). */
  json: Buffer;
  items: number;
  /** Index in `Population.items` of the first item of the body. */
  firstItem: number;
}

export interface Population {
  options: PopulationOptions;
  people: Person[];
  items: PopulationItem[];
  bodies: Body[];
  counts: Record<ItemKind, number>;
  identifierCounts: { email: number; vuid: number; phone: number; customerId: number };
  avgItemBytes: number;
  avgAttributes: number;
}

// Anonymous = 20% of upserts and merge = 5%: per person 1 identified + a anonymous + 2m (prep + merge)
// with a·N = 0.2·U, m·N = 0.05·U, U = N(1 + a + 2m) → U = N / 0.7, a = 2/7, m = 1/14.
const SHARE_VUID = 0.6;
const SHARE_PHONE = 0.3;
const SHARE_CUSTOMER_ID = 0.1;
const ANONYMOUS_OF_VUID_PEOPLE = 2 / 7 / SHARE_VUID;
const MERGE_OF_PHONE_PEOPLE = 1 / 14 / SHARE_PHONE;

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Elijah', 'Sophia', 'Mateo', 'Isabella', 'Lucas', 'Mia', 'Amelia', 'Hiro', 'Zoe', 'Aarav', 'Chloé'];
const LAST = ['Smith', 'Johnson', 'Garcia', 'Martinez', 'Nguyen', 'Kim', 'Müller', 'Rossi', 'Dubois', 'Silva', 'Kowalski', 'Tanaka', "O'Brien", 'Patel'];
const CITIES: Array<[string, string, string]> = [
  ['Boston', 'US', '02101'],
  ['San Francisco', 'US', '94107'],
  ['Austin', 'US', '73301'],
  ['Toronto', 'CA', 'M5V 2T6'],
  ['London', 'GB', 'EC1A 1BB'],
  ['Berlin', 'DE', '10115'],
  ['Paris', 'FR', '75001'],
  ['São Paulo', 'BR', '01000-000'],
  ['Tokyo', 'JP', '100-0001'],
  ['Sydney', 'AU', '2000'],
];
const PLANS = ['free', 'basic', 'pro', 'enterprise'];
const TAGS = ['newsletter', 'mobile', 'loyalty', 'churn_risk', 'vip_event', 'app_user', 'promo_sms', 'b2b'];
const PAGES = ['/', '/pricing', '/blog/how-to-cdp', '/product/sneaker-42', '/cart', '/checkout', '/search?q=boots', '/account'];
const SOURCES = ['google', 'newsletter', 'facebook', 'direct', 'bing', 'partner'];
const DEVICES = ['ios', 'android', 'desktop-chrome', 'desktop-safari', 'desktop-firefox'];

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const hex = (r: () => number, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
};
const isoDay = (r: () => number) => new Date(Date.UTC(2024, 0, 1) + Math.floor(r() * 600) * 86_400_000 + Math.floor(r() * 86_400) * 1000).toISOString();

function makePerson(i: number, o: PopulationOptions, r: () => number): Person {
  const local = `${o.prefix}.${String(i).padStart(7, '0')}.${hex(r, 4)}`;
  const domain = pick(r, ['example.com', 'mail.example.org', 'bench.tessera.dev', 'corp.example.net']);
  const email = `${local}@${domain}`;
  const sentEmail = r() < 0.1 ? `${local.charAt(0).toUpperCase()}${local.slice(1)}@${domain.toUpperCase()}` : email;
  const hasVuid = r() < SHARE_VUID;
  const hasPhone = r() < SHARE_PHONE;
  const hasCustomerId = r() < SHARE_CUSTOMER_ID;
  return {
    email,
    sentEmail,
    vuid: hasVuid ? `${o.prefix}-${hex(r, 8)}-${i.toString(36)}` : undefined,
    // Unique per person and segment, and a possible US number (E.164 rule): an area code per prefix,
    // the index as the 7-digit subscriber number, written the way people type it.
    phone: hasPhone ? `+1 (${phoneArea(o.prefix)}) ${String(i).padStart(7, '0').slice(0, 3)}-${String(i).padStart(7, '0').slice(3)}` : undefined,
    customerId: hasCustomerId ? `${o.prefix.toUpperCase()}C${String(i).padStart(8, '0')}` : undefined,
    anonymousFirst: hasVuid && r() < ANONYMOUS_OF_VUID_PEOPLE,
    mergePerson: hasPhone && r() < MERGE_OF_PHONE_PEOPLE,
  };
}

function profileAttributes(r: () => number): Record<string, unknown> {
  const [city, country, zip] = pick(r, CITIES);
  const tags: string[] = [];
  for (const t of TAGS) if (r() < 0.25) tags.push(t);
  return {
    first_name: pick(r, FIRST),
    last_name: pick(r, LAST),
    city,
    country,
    zip,
    plan: pick(r, PLANS),
    lifetime_value: Math.round(r() * 500_000) / 100,
    orders: Math.floor(r() * 40),
    accepts_marketing: r() < 0.6,
    tags,
    last_order_at: isoDay(r),
  };
}

function item(kind: ItemKind, index: number, p: Person, o: PopulationOptions, r: () => number): PopulationItem {
  let attributes: Record<string, unknown>;
  switch (kind) {
    case 'anonymous':
      attributes = { vuid: p.vuid, page: pick(r, PAGES), utm_source: pick(r, SOURCES), device: pick(r, DEVICES), locale: pick(r, ['en-US', 'de-DE', 'fr-FR', 'pt-BR', 'ja-JP']), visits: 1 + Math.floor(r() * 20), last_seen_at: isoDay(r) };
      break;
    case 'merge-prep':
      attributes = { phone: p.phone, sms_opt_in: r() < 0.7, carrier: pick(r, ['att', 'verizon', 't-mobile', 'vodafone']), ...profileAttributes(r) };
      break;
    case 'merge':
      attributes = { email: p.sentEmail, phone: p.phone, ...profileAttributes(r) };
      break;
    case 'identified': {
      attributes = { email: p.sentEmail };
      if (p.vuid) attributes.vuid = p.vuid;
      if (p.phone && !p.mergePerson) attributes.phone = p.phone;
      if (p.customerId) attributes.customer_id = p.customerId;
      Object.assign(attributes, profileAttributes(r));
      break;
    }
  }
  return { kind, person: index, key: `${o.prefix}.${index}`, attributes };
}

export function generatePopulation(options: PopulationOptions): Population {
  const r = rng(options.seed);
  const n = options.people;
  const people = Array.from({ length: n }, (_, i) => makePerson(i, options, r));
  // Gap between a person's items, in stream positions (people): larger than the items in flight
  // (50 connections × 100 items) so the log order is the stream order per person.
  const window = Math.max(1, Math.min(20_000, Math.floor(n / 8)));
  const items: PopulationItem[] = [];
  for (let pos = -window; pos < n + 2 * window; pos++) {
    const anon = pos + window;
    if (anon >= 0 && anon < n && people[anon]!.anonymousFirst) items.push(item('anonymous', anon, people[anon]!, options, r));
    if (pos >= 0 && pos < n) items.push(item('identified', pos, people[pos]!, options, r));
    const prep = pos - window;
    if (prep >= 0 && prep < n && people[prep]!.mergePerson) items.push(item('merge-prep', prep, people[prep]!, options, r));
    const merge = pos - 2 * window;
    if (merge >= 0 && merge < n && people[merge]!.mergePerson) items.push(item('merge', merge, people[merge]!, options, r));
  }
  const bodies: Body[] = [];
  let bytes = 0;
  let attributes = 0;
  for (let i = 0; i < items.length; i += options.batchSize) {
    const slice = items.slice(i, i + options.batchSize);
    const parts = slice.map((it) => JSON.stringify({ attributes: it.attributes }));
    for (const p of parts) bytes += Buffer.byteLength(p);
    for (const it of slice) attributes += Object.keys(it.attributes).length;
    bodies.push({ json: Buffer.from(`[${parts.join(',')}]`), items: slice.length, firstItem: i });
  }
  const counts: Record<ItemKind, number> = { identified: 0, anonymous: 0, 'merge-prep': 0, merge: 0 };
  for (const it of items) counts[it.kind]++;
  return {
    options,
    people,
    items,
    bodies,
    counts,
    identifierCounts: {
      email: n,
      vuid: people.filter((p) => p.vuid).length,
      phone: people.filter((p) => p.phone).length,
      customerId: people.filter((p) => p.customerId).length,
    },
    avgItemBytes: items.length ? bytes / items.length : 0,
    avgAttributes: items.length ? attributes / items.length : 0,
  };
}

/** A 3-digit area code (200–999) per population prefix, so segments of one run never share a phone. */
function phoneArea(prefix: string): number {
  let h = 7;
  for (const c of prefix) h = (h * 31 + c.charCodeAt(0)) % 1_000_003;
  return 200 + (h % 800);
}
