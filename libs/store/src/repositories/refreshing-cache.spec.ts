import { RefreshingCache } from './refreshing-cache';

describe('RefreshingCache', () => {
  const setup = (options: { maxEntries?: number; negative?: boolean } = {}) => {
    const clock = { t: 0 };
    const cache = new RefreshingCache<string, number>({
      refreshAfterMs: 1000,
      maxAgeMs: 5000,
      maxEntries: options.maxEntries ?? 100,
      negative: options.negative ? { is: (v) => v < 0, maxEntries: 10 } : undefined,
      now: () => clock.t,
    });
    let loads = 0;
    let release: (() => void) | undefined;
    const load = (v: number, gate = false) => () => {
      loads++;
      return gate ? new Promise<number>((r) => (release = () => r(v))) : Promise.resolve(v);
    };
    return { clock, cache, load, loads: () => loads, release: () => release?.() };
  };
  const settle = () => new Promise((r) => setImmediate(r));

  it('given concurrent misses, then one load serves them all', async () => {
    const { cache, load, loads, release } = setup();
    const gets = [cache.get('k', load(1, true)), cache.get('k', load(2)), cache.get('k', load(3))];
    release();
    expect(await Promise.all(gets)).toEqual([1, 1, 1]);
    expect(loads()).toBe(1);
  });

  it('given an entry past its refresh age, then it is served while one reload runs, then the new value', async () => {
    const { clock, cache, load, loads, release } = setup();
    await cache.get('k', load(1));
    clock.t = 2000;
    expect(await cache.get('k', load(2, true))).toBe(1);
    expect(await cache.get('k', load(3))).toBe(1);
    expect(loads()).toBe(2);
    release();
    await settle();
    expect(await cache.get('k', load(4))).toBe(2);
  });

  it('given an entry at its maximum age, then it is never served: the caller waits for the reload', async () => {
    const { clock, cache, load } = setup();
    await cache.get('k', load(1));
    clock.t = 5000;
    expect(await cache.get('k', load(5))).toBe(5);
  });

  it('given a reload that started before the entry expired, then the entry still expires at its own age', async () => {
    const { clock, cache, load, release } = setup();
    await cache.get('k', load(1));
    clock.t = 4000;
    expect(await cache.get('k', load(2, true))).toBe(1); // reload starts, still running
    clock.t = 5000;
    const waiting = cache.get('k', load(3)); // expired: waits for the running reload, not the old value
    release();
    expect(await waiting).toBe(2);
  });

  it('given a value, then its age counts from the start of the load that produced it', async () => {
    const { clock, cache, release, load } = setup();
    const first = cache.get('k', load(1, true));
    clock.t = 4500; // the load took 4.5 s
    release();
    expect(await first).toBe(1);
    clock.t = 5000;
    expect(await cache.get('k', load(2))).toBe(2);
  });

  it('given a failing first load, then the error reaches the caller and the next call loads again', async () => {
    const { cache } = setup();
    await expect(cache.get('k', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await cache.get('k', () => Promise.resolve(7))).toBe(7);
  });

  it('given a key deleted while its load runs, then that load does not store its older answer', async () => {
    const { cache, load, loads, release } = setup();
    const before = cache.get('k', load(1, true));
    cache.delete('k');
    release();
    expect(await before).toBe(1);
    expect(await cache.get('k', load(2))).toBe(2);
    expect(loads()).toBe(2);
  });

  it('given more keys than it holds, then the least recently used goes first, not everything', async () => {
    const { cache, load, loads } = setup({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) await cache.get(k, load(1));
    await cache.get('a', load(1)); // a is now the most recently used
    await cache.get('d', load(1)); // evicts b
    const before = loads();
    await cache.get('a', load(1));
    await cache.get('c', load(1));
    expect(loads()).toBe(before);
    await cache.get('b', load(1));
    expect(loads()).toBe(before + 1);
  });

  it('given a flood of negative values, then they evict each other but never a known entry', async () => {
    const { cache, load, loads } = setup({ maxEntries: 2, negative: true });
    await cache.get('known', load(1));
    for (let i = 0; i < 1000; i++) await cache.get(`unknown-${i}`, load(-1));
    expect(cache.size).toEqual({ known: 1, negative: 10 });
    const before = loads();
    expect(await cache.get('known', load(99))).toBe(1);
    expect(loads()).toBe(before);
  });

  it('given a key whose value turns from negative to known, then it moves to the known entries', async () => {
    const { clock, cache, load } = setup({ negative: true });
    expect(await cache.get('k', load(-1))).toBe(-1);
    clock.t = 5000;
    expect(await cache.get('k', load(3))).toBe(3);
    expect(cache.size).toEqual({ known: 1, negative: 0 });
  });

  it('given a caller that needs a value loaded since a given time, then an older entry is reloaded and a newer one served', async () => {
    const { clock, cache, load, loads } = setup();
    await cache.get('k', load(1));
    clock.t = 100;
    expect(await cache.get('k', load(2), 0)).toBe(1); // loaded at 0: good enough
    expect(loads()).toBe(1);
    expect(await cache.get('k', load(3), 50)).toBe(3); // loaded before 50: reloaded
    expect(await cache.get('k', load(4), 50)).toBe(3);
    expect(loads()).toBe(2);
  });

  it('given a load running since before the required time, then a new load is made; one running since after it is shared', async () => {
    const { clock, cache, load, loads, release } = setup();
    const early = cache.get('k', load(1, true)); // started at 0
    clock.t = 10;
    const late = cache.get('k', load(2), 5);
    const shared = cache.get('k', load(3), 10);
    release();
    expect(await Promise.all([early, late, shared])).toEqual([1, 2, 2]);
    expect(loads()).toBe(2);
    expect(await cache.get('k', load(4))).toBe(2); // the early load did not overwrite the newer value
  });
});
