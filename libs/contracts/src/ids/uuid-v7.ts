import { randomFillSync } from 'node:crypto';

/**
 * UUID version 7 (RFC 9562 §5.7): 48-bit Unix time in milliseconds, version 7, variant 0b10, random.
 *
 * Monotonic within one process (RFC 9562 §6.2 method 1, "fixed bit-length dedicated counter"):
 * the 12 bits of rand_a and the top 30 bits of rand_b form a 42-bit counter that is seeded randomly
 * (top bit clear, so there is room to count) whenever the millisecond changes and incremented for
 * every further id in the same millisecond. The last 32 bits are fresh random bits on every id.
 * If the clock goes backwards the last timestamp is kept; if the counter ever overflows the
 * timestamp is advanced by 1 ms. So ids from one generator sort (as strings) in creation order.
 */

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const COUNTER_MAX = 2 ** 42 - 1;
const MAX_TIMESTAMP = 2 ** 48 - 1;

export type RandomFill = (target: Buffer) => void;

export interface UuidV7GeneratorOptions {
  /** Milliseconds since the epoch. Default Date.now. */
  now?: () => number;
  /** Fills a buffer with cryptographically strong random bytes. Default crypto.randomFillSync. */
  randomFill?: RandomFill;
}

/** A UUID v7 generator with its own monotonic state. Most code wants the shared `uuidv7()`. */
export function createUuidV7Generator(options: UuidV7GeneratorOptions = {}): () => string {
  const now = options.now ?? Date.now;
  const fill: RandomFill = options.randomFill ?? ((b) => randomFillSync(b));
  // Random bytes are drawn from a pool: one getrandom call per 1,024 ids instead of one per id.
  const pool = Buffer.allocUnsafe(10 * 1024);
  let poolOffset = pool.length;
  let lastMs = -1;
  let counter = 0;
  // `xxxxxxxx-xxxx-` of lastMs: ids of one millisecond share it (most ids of a busy batch).
  let prefixMs = -1;
  let prefix = '';

  const take = (n: number): number => {
    if (poolOffset + n > pool.length) {
      fill(pool);
      poolOffset = 0;
    }
    const at = poolOffset;
    poolOffset += n;
    return at;
  };
  const seed = (): number => {
    const at = take(6);
    // 41 random bits: the counter's top bit starts clear.
    return (pool[at] & 0x01) * 2 ** 40 + pool.readUIntBE(at + 1, 5);
  };

  return function uuidv7(): string {
    let ms = Math.floor(now());
    if (!(ms >= 0)) ms = 0;
    if (ms > lastMs) {
      lastMs = ms;
      counter = seed();
    } else if (counter < COUNTER_MAX) {
      counter += 1;
    } else {
      lastMs += 1; // counter exhausted within one millisecond: borrow the next one (RFC 9562 §6.2)
      counter = seed();
    }
    if (lastMs > MAX_TIMESTAMP) throw new RangeError('uuidv7: timestamp does not fit in 48 bits');

    const hi = Math.floor(counter / 0x1000000); // counter bits 41..24 (18 bits)
    const lo = counter % 0x1000000; // counter bits 23..0
    const r = take(4);
    if (prefixMs !== lastMs) {
      const t = lastMs.toString(16).padStart(12, '0');
      prefix = `${t.slice(0, 8)}-${t.slice(8, 12)}-`;
      prefixMs = lastMs;
    }
    return (
      prefix +
      HEX[0x70 | ((hi >>> 14) & 0x0f)] +
      HEX[(hi >>> 6) & 0xff] +
      '-' +
      HEX[0x80 | (hi & 0x3f)] +
      HEX[(lo >>> 16) & 0xff] +
      '-' +
      HEX[(lo >>> 8) & 0xff] +
      HEX[lo & 0xff] +
      HEX[pool[r]] +
      HEX[pool[r + 1]] +
      HEX[pool[r + 2]] +
      HEX[pool[r + 3]]
    );
  };
}

/** A new UUID v7 (lower-case, canonical 8-4-4-4-12 form), monotonic within this process. */
export const uuidv7: () => string = createUuidV7Generator();

/** Canonical lower-case UUID v7: version nibble 7, variant 0b10. */
export const UUID_V7_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isUuidV7(value: unknown): value is string {
  return typeof value === 'string' && UUID_V7_PATTERN.test(value);
}

/** The Unix time in milliseconds a UUID v7 carries, or undefined when `id` is not a canonical UUID v7. */
export function uuidV7Timestamp(id: string): number | undefined {
  if (!isUuidV7(id)) return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
