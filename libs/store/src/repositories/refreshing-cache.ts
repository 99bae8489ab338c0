interface Entry<V> {
  value?: V;
  at: number;
  loading?: Promise<V>;
}

/**
 * A small cache for hot-path look-ups (API keys, tenant settings): one load at a time per key
 * (concurrent misses share it), and a stale value is served while one background refresh runs,
 * so an expiry never stalls the requests in flight. Past `maxStaleMs` a refresh is awaited.
 */
export class RefreshingCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();

  constructor(
    private readonly freshMs: number,
    private readonly maxStaleMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: K, load: (key: K) => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    const age = entry ? this.now() - entry.at : Infinity;
    if (entry && 'value' in entry && age < this.freshMs) return entry.value as V;
    if (entry && 'value' in entry && age < this.maxStaleMs) {
      if (!entry.loading) void this.refresh(key, entry, load).catch(() => undefined);
      return entry.value as V;
    }
    if (entry?.loading) return entry.loading;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const fresh: Entry<V> = entry ?? { at: 0 };
    this.entries.set(key, fresh);
    return this.refresh(key, fresh, load);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private refresh(key: K, entry: Entry<V>, load: (key: K) => Promise<V>): Promise<V> {
    entry.loading = load(key).then(
      (value) => {
        entry.value = value;
        entry.at = this.now();
        entry.loading = undefined;
        return value;
      },
      (error) => {
        entry.loading = undefined;
        if (!('value' in entry)) this.entries.delete(key);
        throw error;
      },
    );
    return entry.loading;
  }
}
