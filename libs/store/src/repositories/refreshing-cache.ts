import { LRUCache } from 'lru-cache';

export interface RefreshingCacheOptions<V> {
  /** From this age on a hit is still served, and one background reload starts (refresh ahead). */
  refreshAfterMs: number;
  /**
   * Past this age an entry is never served: the caller waits for a reload. Ages count from the start
   * of the load that produced the value, so a value is never older than this when it is used.
   */
  maxAgeMs: number;
  /** Entries kept; the least recently used goes first. */
  maxEntries: number;
  /**
   * Values of this kind (e.g. "no such key") live in their own LRU, so that a flood of them (random
   * API keys) can only evict each other, never a known entry.
   */
  negative?: { is: (value: V) => boolean; maxEntries: number };
  now?: () => number;
}

interface Entry<V> {
  value: V;
  /** When the load that produced the value started. */
  at: number;
}

/**
 * A bounded cache for hot-path look-ups (API keys, tenant settings): one load at a time per key
 * (concurrent misses share it), a hit near the end of its life is served while one reload runs, and
 * nothing older than `maxAgeMs` is ever served — so a change in the database (a revoked key, a new
 * identifier type) takes effect within `maxAgeMs`, in every process.
 */
export class RefreshingCache<K extends {}, V> {
  private readonly known: LRUCache<K, Entry<V>>;
  private readonly unknown?: LRUCache<K, Entry<V>>;
  private readonly loading = new Map<K, { value: Promise<V>; at: number }>();
  private readonly now: () => number;

  constructor(private readonly options: RefreshingCacheOptions<V>) {
    if (!(options.refreshAfterMs <= options.maxAgeMs)) throw new Error('refreshAfterMs must not exceed maxAgeMs');
    this.known = new LRUCache({ max: options.maxEntries });
    if (options.negative) this.unknown = new LRUCache({ max: options.negative.maxEntries });
    this.now = options.now ?? Date.now;
  }

  /** `loadedSince`: only a value whose load started at or after this time will do (e.g. no older than a record). */
  async get(key: K, load: (key: K) => Promise<V>, loadedSince = -Infinity): Promise<V> {
    let entry = this.known.get(key) ?? this.unknown?.get(key);
    if (entry && entry.at < loadedSince) entry = undefined;
    const age = entry ? this.now() - entry.at : Infinity;
    if (entry && age < this.options.refreshAfterMs) return entry.value;
    if (entry && age < this.options.maxAgeMs) {
      if (!this.loading.has(key)) void this.load(key, load).catch(() => undefined);
      return entry.value;
    }
    const running = this.loading.get(key);
    return running && running.at >= loadedSince ? running.value : this.load(key, load);
  }

  /** Forgets a key; a load already running for it will not store its (possibly older) answer. */
  delete(key: K): void {
    this.known.delete(key);
    this.unknown?.delete(key);
    this.loading.delete(key);
  }

  /** Entries held: known and negative. */
  get size(): { known: number; negative: number } {
    return { known: this.known.size, negative: this.unknown?.size ?? 0 };
  }

  private load(key: K, load: (key: K) => Promise<V>): Promise<V> {
    const at = this.now();
    const loading = { at } as { value: Promise<V>; at: number };
    loading.value = load(key).then(
      (value) => {
        if (this.loading.get(key) === loading) {
          this.loading.delete(key);
          this.store(key, { value, at });
        }
        return value;
      },
      (error: unknown) => {
        if (this.loading.get(key) === loading) this.loading.delete(key);
        throw error;
      },
    );
    this.loading.set(key, loading);
    return loading.value;
  }

  private store(key: K, entry: Entry<V>): void {
    if (this.unknown && this.options.negative!.is(entry.value)) {
      this.known.delete(key);
      this.unknown.set(key, entry);
    } else {
      this.unknown?.delete(key);
      this.known.set(key, entry);
    }
  }
}
