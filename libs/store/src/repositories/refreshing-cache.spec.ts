import { RefreshingCache } from './refreshing-cache';

describe('RefreshingCache', () => {
  const setup = () => {
    const clock = { t: 0 };
    const cache = new RefreshingCache<string, number>(1000, 10_000, 100, () => clock.t);
    let loads = 0;
    let release: (() => void) | undefined;
    const load = (v: number, gate = false) => () => {
      loads++;
      return gate ? new Promise<number>((r) => (release = () => r(v))) : Promise.resolve(v);
    };
    return { clock, cache, load, loads: () => loads, release: () => release?.() };
  };

  it('given concurrent misses, then one load serves them all', async () => {
    const { cache, load, loads, release } = setup();
    const gets = [cache.get('k', load(1, true)), cache.get('k', load(2)), cache.get('k', load(3))];
    release();
    expect(await Promise.all(gets)).toEqual([1, 1, 1]);
    expect(loads()).toBe(1);
  });

  it('given a stale entry, then the stale value is served while one refresh runs, then the new value', async () => {
    const { clock, cache, load, loads, release } = setup();
    await cache.get('k', load(1));
    clock.t = 2000;
    expect(await cache.get('k', load(2, true))).toBe(1);
    expect(await cache.get('k', load(3))).toBe(1);
    expect(loads()).toBe(2);
    release();
    await new Promise((r) => setImmediate(r));
    expect(await cache.get('k', load(4))).toBe(2);
  });

  it('given an entry older than the maximum staleness, then the refresh is awaited', async () => {
    const { clock, cache, load } = setup();
    await cache.get('k', load(1));
    clock.t = 20_000;
    expect(await cache.get('k', load(5))).toBe(5);
  });

  it('given a failing first load, then the error reaches the caller and the next call loads again', async () => {
    const { cache } = setup();
    await expect(cache.get('k', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await cache.get('k', () => Promise.resolve(7))).toBe(7);
  });
});
