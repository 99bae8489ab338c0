import { postProfiles, RawResponse, sleep } from './http';

/** One item of a load batch: every attribute is derived from `n`, so a profile shows whether the item applied whole. */
export interface LoadItem {
  attributes: {
    email: string;
    first_name: string;
    last_name: string;
    city: string;
    score: number;
    vip: boolean;
    tags: string[];
  };
}

export function loadItem(tag: string, client: number, seq: number, i: number): LoadItem {
  const n = client * 1_000_000 + seq * 1_000 + i;
  return {
    attributes: {
      email: `${tag}.${client}.${seq}.${i}@example.com`,
      first_name: `F${n}`,
      last_name: `L${n}`,
      city: `City ${n % 97}`,
      score: n,
      vip: n % 2 === 0,
      tags: [`t${n}`, `u${n % 7}`],
    },
  };
}

/**
 * Checks a looked-up profile against the item: `applied` when every attribute of the item is there
 * with its value, `absent` on 404, `partial` when some are there and some are not (never acceptable).
 */
export function itemState(item: LoadItem, lookup: { status: number; body: any }): 'applied' | 'absent' | 'partial' | 'error' {
  if (lookup.status === 404) return 'absent';
  if (lookup.status !== 200) return 'error';
  const attrs = lookup.body?.attributes ?? {};
  const expected = item.attributes as Record<string, unknown>;
  const same = Object.keys(expected).map((k) => JSON.stringify(attrs[k]) === JSON.stringify(expected[k]));
  if (same.every(Boolean)) return 'applied';
  return 'partial';
}

export interface PostOutcome {
  client: number;
  seq: number;
  items: LoadItem[];
  sentAt: number;
  doneAt?: number;
  response?: RawResponse;
}

export interface LoadOptions {
  url: string;
  key: string;
  clients: number;
  itemsPerBatch: number;
  /** Email prefix, unique per test. */
  tag: string;
  /** Bound on requests per client (the loop never runs away against a dead server). */
  maxRequestsPerClient?: number;
  /** Pause after a transport error before the next try. Default 50 ms. */
  errorPauseMs?: number;
}

/** Clients posting batches back to back on fresh connections, recording every answer. */
export class LoadDriver {
  readonly outcomes: PostOutcome[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly options: LoadOptions) {}

  start(): this {
    const { clients } = this.options;
    this.loops = Array.from({ length: clients }, (_, c) => this.loop(c));
    return this;
  }

  private async loop(client: number): Promise<void> {
    const max = this.options.maxRequestsPerClient ?? 400;
    for (let seq = 0; seq < max && !this.stopped; seq++) {
      const items = Array.from({ length: this.options.itemsPerBatch }, (_, i) => loadItem(this.options.tag, client, seq, i));
      const outcome: PostOutcome = { client, seq, items, sentAt: Date.now() };
      this.outcomes.push(outcome);
      outcome.response = await postProfiles(this.options.url, this.options.key, items);
      outcome.doneAt = Date.now();
      if (outcome.response.error) await sleep(this.options.errorPauseMs ?? 50);
    }
  }

  /** Requests sent and not answered yet. */
  pending(): PostOutcome[] {
    return this.outcomes.filter((o) => o.doneAt === undefined);
  }

  accepted(): PostOutcome[] {
    return this.outcomes.filter((o) => o.response?.status === 202);
  }

  /** Resolves once `n` batches were acknowledged (or rejects after `timeoutMs`). */
  async untilAccepted(n: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.accepted().length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.accepted().length}/${n} batches acknowledged: ${JSON.stringify(this.statusCounts())}`);
      await sleep(20);
    }
  }

  statusCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const o of this.outcomes) {
      const k = o.response ? (o.response.status !== undefined ? String(o.response.status) : o.response.error!) : 'pending';
      counts[k] = (counts[k] ?? 0) + 1;
    }
    return counts;
  }

  /** Stops issuing new requests and waits for the ones in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}
