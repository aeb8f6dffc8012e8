/**
 * A small seeded pseudo-random generator, so that a dataset is a pure function of its seed: the
 * seed string is hashed (cyrb128) into the 128-bit state of xoshiro128**. Only 32-bit integer
 * arithmetic is used (no Math.random, no transcendental functions), so every Node version and
 * platform produces the same numbers.
 */

/** Hashes a string into four 32-bit words (cyrb128), never all zero. */
export function hashSeed(seed: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < seed.length; i++) {
    const k = seed.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  const words: [number, number, number, number] = [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
  if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
  return words;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** xoshiro128** seeded from a string. */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: string) {
    [this.#a, this.#b, this.#c, this.#d] = hashSeed(seed);
  }

  /** The next unsigned 32-bit integer. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  /** An integer in [0, n), n <= 2^32. */
  int(n: number): number {
    return Math.floor((this.next() / 4294967296) * n);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `percent`/100. */
  chance(percent: number): boolean {
    return this.int(100) < percent;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** Picks from a table of `[item, weight]` pairs with integer weights. */
  weighted<T>(table: WeightedTable<T>): T {
    return table.lookup[this.int(table.lookup.length)] as T;
  }

  /** `count` hex digits (count a multiple of 2). */
  hex(count: number): string {
    let out = '';
    while (out.length < count) {
      const n = this.next();
      out += HEX[n >>> 24]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;
    }
    return out.length === count ? out : out.slice(0, count);
  }

  /** An RFC 4122 version-4-shaped UUID. */
  uuid(): string {
    const a = this.next();
    const b = this.next();
    const c = this.next();
    const d = this.next();
    return (
      HEX[a >>> 24]! +
      HEX[(a >>> 16) & 255]! +
      HEX[(a >>> 8) & 255]! +
      HEX[a & 255]! +
      '-' +
      HEX[b >>> 24]! +
      HEX[(b >>> 16) & 255]! +
      '-' +
      HEX[((b >>> 8) & 0x0f) | 0x40]! +
      HEX[b & 255]! +
      '-' +
      HEX[((c >>> 24) & 0x3f) | 0x80]! +
      HEX[(c >>> 16) & 255]! +
      '-' +
      HEX[(c >>> 8) & 255]! +
      HEX[c & 255]! +
      HEX[d >>> 24]! +
      HEX[(d >>> 16) & 255]! +
      HEX[(d >>> 8) & 255]! +
      HEX[d & 255]!
    );
  }
}

export interface WeightedTable<T> {
  /** each item repeated `weight` times, so a pick is one lookup */
  lookup: readonly T[];
}

export function weightedTable<T>(entries: ReadonlyArray<readonly [T, number]>): WeightedTable<T> {
  const lookup: T[] = [];
  for (const [item, weight] of entries) {
    if (!Number.isInteger(weight) || weight < 0) throw new RangeError(`weights are non-negative integers, not ${weight}`);
    for (let i = 0; i < weight; i++) lookup.push(item);
  }
  if (lookup.length === 0) throw new RangeError('a weighted table needs a positive total weight');
  return { lookup };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
