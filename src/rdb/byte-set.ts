/**
 * Duplicate detection for collections of any size, without a JS string per member. Members are
 * recorded as (hash, position, length): a range of the value's own buffer, or a copy in an arena for
 * members that are not (integers as their decimal text, LZF-compressed strings). findDuplicate()
 * then looks for equal hashes, with an open-addressing table of indexes (up to a million members)
 * or a radix sort of the hashes (beyond: sequential memory traffic instead of a cache miss per
 * member), and confirms equal hashes byte by byte. One instance is reused from value to value; its arrays only grow.
 */

/** up to this many members an open-addressing table of member indexes; beyond, a radix sort */
const SMALL = 1 << 20;

export class MemberSet {
  private main: Buffer = Buffer.alloc(0);
  private arena: Buffer = Buffer.allocUnsafe(256);
  private arenaUsed = 0;
  private hashes = new Int32Array(64);
  /** +(pos + 1) in main, -(pos + 1) in the arena */
  private tags = new Int32Array(64);
  private lengths = new Int32Array(64);
  /** where each member was found (for messages) */
  private places = new Int32Array(64);
  private table = new Int32Array(2048);
  private sortKeys = new Uint32Array(0);
  private sortIdx = new Uint32Array(0);
  private tmpKeys = new Uint32Array(0);
  private tmpIdx = new Uint32Array(0);
  private readonly counts = new Int32Array(2048);
  size = 0;

  /** empties the set; raw members will be ranges of `main` */
  reset(main: Buffer): void {
    this.main = main;
    this.size = 0;
    this.arenaUsed = 0;
  }

  /** records main[start, end), found at `place` */
  add(start: number, end: number, place: number): void {
    this.push(hash(this.main, start, end), start + 1, end - start, place);
  }

  /** records bytes that live elsewhere (copied into the arena) */
  addCopy(buf: Uint8Array, start: number, end: number, place: number): void {
    const length = end - start;
    this.reserve(length);
    const at = this.arenaUsed;
    this.arena.set(buf.subarray(start, end), at);
    this.arenaUsed += length;
    this.push(hash(this.arena, at, at + length), -(at + 1), length, place);
  }

  /** records an integer by its decimal text (how Redis compares integer-encoded members) */
  addInteger(value: number | bigint, place: number): void {
    const text = String(value);
    this.reserve(text.length);
    const at = this.arenaUsed;
    this.arena.write(text, at, 'latin1');
    this.arenaUsed += text.length;
    this.push(hash(this.arena, at, at + text.length), -(at + 1), text.length, place);
  }

  /** the index of a member equal to an earlier one, or -1 */
  findDuplicate(): number {
    return this.size <= SMALL ? this.findSmall() : this.findLarge();
  }

  /** the text of member `i` (latin1) */
  text(i: number): string {
    const tag = this.tags[i]!;
    const buf = tag > 0 ? this.main : this.arena;
    const start = tag > 0 ? tag - 1 : -tag - 1;
    return buf.toString('latin1', start, start + this.lengths[i]!);
  }

  place(i: number): number {
    return this.places[i]!;
  }

  private push(h: number, tag: number, length: number, place: number): void {
    const i = this.size;
    if (i === this.hashes.length) this.grow();
    this.hashes[i] = h;
    this.tags[i] = tag;
    this.lengths[i] = length;
    this.places[i] = place;
    this.size = i + 1;
  }

  private grow(): void {
    const n = this.hashes.length * 2;
    const grown = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.hashes = grown(this.hashes);
    this.tags = grown(this.tags);
    this.lengths = grown(this.lengths);
    this.places = grown(this.places);
  }

  private reserve(length: number): void {
    if (this.arenaUsed + length <= this.arena.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaUsed + length));
    this.arena.copy(bigger, 0, 0, this.arenaUsed);
    this.arena = bigger;
  }

  private same(i: number, j: number): boolean {
    const length = this.lengths[i]!;
    if (this.hashes[i] !== this.hashes[j] || this.lengths[j] !== length) return false;
    const ti = this.tags[i]!;
    const tj = this.tags[j]!;
    const a = ti > 0 ? this.main : this.arena;
    const b = tj > 0 ? this.main : this.arena;
    const as = ti > 0 ? ti - 1 : -ti - 1;
    const bs = tj > 0 ? tj - 1 : -tj - 1;
    if (length > 32) return a.compare(b, bs, bs + length, as, as + length) === 0;
    for (let k = 0; k < length; k++) if (a[as + k] !== b[bs + k]) return false;
    return true;
  }

  private findSmall(): number {
    const n = this.size;
    let mask = 15;
    while (mask + 1 < n * 2) mask = mask * 2 + 1;
    if (this.table.length < mask + 1) this.table = new Int32Array(mask + 1);
    const table = this.table;
    table.fill(0, 0, mask + 1);
    for (let i = 0; i < n; i++) {
      let slot = this.hashes[i]! & mask;
      for (;;) {
        const j = table[slot]!;
        if (j === 0) break;
        if (this.same(j - 1, i)) return i;
        slot = (slot + 1) & mask;
      }
      table[slot] = i + 1;
    }
    return -1;
  }

  /** radix sort of (hash, index) in three passes of 11 bits, then equal neighbours compared */
  private findLarge(): number {
    const n = this.size;
    if (this.sortKeys.length < n) {
      const size = Math.max(n, this.sortKeys.length * 2);
      this.sortKeys = new Uint32Array(size);
      this.sortIdx = new Uint32Array(size);
      this.tmpKeys = new Uint32Array(size);
      this.tmpIdx = new Uint32Array(size);
    }
    let keys = this.sortKeys;
    let idx = this.sortIdx;
    let tk = this.tmpKeys;
    let ti = this.tmpIdx;
    const hashes = this.hashes;
    for (let i = 0; i < n; i++) {
      keys[i] = hashes[i]!;
      idx[i] = i;
    }
    const counts = this.counts;
    for (let shift = 0; shift < 32; shift += 11) {
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(keys[i]! >>> shift) & 2047]!++;
      let sum = 0;
      for (let b = 0; b < 2048; b++) {
        const c = counts[b]!;
        counts[b] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const k = keys[i]!;
        const d = counts[(k >>> shift) & 2047]!++;
        tk[d] = k;
        ti[d] = idx[i]!;
      }
      [keys, tk] = [tk, keys];
      [idx, ti] = [ti, idx];
    }
    let found = -1;
    for (let i = 1; i < n; i++) {
      if (keys[i] !== keys[i - 1]) continue;
      // a run of equal hashes: compare its members pairwise (runs are short)
      let start = i - 1;
      while (i + 1 < n && keys[i + 1] === keys[start]) i++;
      for (let a = start; a <= i; a++) {
        for (let b = a + 1; b <= i; b++) {
          const x = idx[a]!;
          const y = idx[b]!;
          if (this.same(x, y)) {
            const later = Math.max(x, y);
            if (found === -1 || later < found) found = later;
          }
        }
      }
      start = i;
    }
    return found;
  }
}

/**
 * A fast 32-bit hash of buf[start, end): one multiply and rotate per 4-byte word, then murmur3's
 * finaliser. Only a filter: equal hashes are always confirmed byte by byte.
 */
export function hash(buf: Uint8Array, start: number, end: number): number {
  let h = 0x9747b28c ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    h = Math.imul(h ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24)), 0x9e3779b1);
    h = (h << 15) | (h >>> 17);
  }
  for (; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
