/**
 * Duplicate detection for collections read element by element, when the members' bytes are gone by
 * the time the next ones arrive (see incremental.ts). Each member is kept as a 64-bit fingerprint
 * (the first half of MurmurHash3 x86_128) in an open-addressing table sized from the declared member
 * count to be at most 80 % full: 10 bytes per member, instead of the member itself. Two different
 * members are taken for one with a probability of about n^2 / 2^65 per collection of n members
 * (3e-8 at a million members). One instance is reused from value to value; its table only grows.
 *
 * Members are queued and inserted in batches: the table of a large collection is larger than the
 * CPU's caches, and every insert is a cache miss at a random slot. A batch first loads the first
 * slot of each of its members in a loop of independent loads (the CPU overlaps their misses), then
 * inserts them in order from cache, at about half the cost per insert (docs/benchmarks.md, Backup and
 * verify).
 *
 * This JS table is the fallback: where WebAssembly runs (everywhere but `node --jitless`), the
 * cursor uses fingerprint-table.ts, the same contract (MemberFingerprints) with the hash and the
 * table in WebAssembly.
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

/** slots of the smallest table */
const MIN_SLOTS = 64;
/** tables are presized from the declared member count up to this many members, then grow */
const PRESIZE_MAX = 1 << 20;
/** 2^-32 */
const TO_UNIT = 1 / 4294967296;
/** members queued before a batch is inserted */
export const FINGERPRINT_BATCH = 64;

/** the slots of a table for a collection that declares `count` members (both tables size alike) */
export function tableSlots(count: number): number {
  return Math.max(MIN_SLOTS, Math.ceil((Math.min(count, PRESIZE_MAX) * 5) / 4) + 1);
}

/** how many fingerprints a table of `slots` holds before it grows (80 % full) */
export function tableLimit(slots: number): number {
  return Math.floor((slots * 4) / 5);
}

/**
 * What the duplicate check of a collection read element by element needs: members queued (a range of
 * a buffer that stays unchanged until the next flush, a copy, or an integer by its decimal text) and
 * inserted in batches. Fingerprints (below) is the JS table; fingerprint-table.ts the WebAssembly one.
 */
export interface MemberFingerprints {
  /** members queued since the last flush */
  readonly queued: number;
  /** members inserted since the last reset */
  readonly size: number;
  /** empties the set for a collection that declares `count` members */
  reset(count: number): void;
  /** queues buf[start, end), which must not change until flush(); true when the batch is full */
  queueRange(buf: Uint8Array, start: number, end: number): boolean;
  /** queues a copy of bytes[start, end); true when the batch is full */
  queueCopy(bytes: Uint8Array, start: number, end: number): boolean;
  /** queues an integer by its decimal text (how Redis compares integer-encoded members) */
  queueInteger(value: number | bigint): boolean;
  /** inserts the queued members in order: the batch index of the first one already there (those after it are dropped), or -1 */
  flush(): number;
}

export class Fingerprints implements MemberFingerprints {
  /** [lo, hi] pairs; hi is never 0 in a used slot */
  private table = new Int32Array(2 * MIN_SLOTS);
  /** slots in use for the current collection (the table may be longer) */
  private slots = MIN_SLOTS;
  /** grow beyond this many members */
  private limit = tableLimit(MIN_SLOTS);
  size = 0;
  /** the fingerprint of the last member hashed */
  private lo = 0;
  private hi = 0;
  private readonly digits = Buffer.allocUnsafe(24);
  /** fingerprints queued for the next batch */
  private readonly queuedLo = new Int32Array(FINGERPRINT_BATCH);
  private readonly queuedHi = new Int32Array(FINGERPRINT_BATCH);
  /** how many are queued */
  queued = 0;
  /** keeps the batch's touching loads from being optimized away (no meaning otherwise) */
  touched = 0;

  /** empties the set for a collection that declares `count` members */
  reset(count: number): void {
    const slots = tableSlots(count);
    if (2 * slots > this.table.length) this.table = new Int32Array(2 * slots);
    else this.table.fill(0, 0, 2 * Math.max(slots, this.slots));
    this.slots = slots;
    this.limit = tableLimit(slots);
    this.size = 0;
    this.queued = 0;
  }

  queueRange(buf: Uint8Array, start: number, end: number): boolean {
    this.hash(buf, start, end);
    return this.queue();
  }

  /** (the hash reads the bytes at once: a copy and a range are the same here) */
  queueCopy(bytes: Uint8Array, start: number, end: number): boolean {
    return this.queueRange(bytes, start, end);
  }

  queueInteger(value: number | bigint): boolean {
    const n = this.digits.write(String(value), 0, 'latin1');
    return this.queueRange(this.digits, 0, n);
  }

  /** queues the fingerprint last hashed; true when the batch is full */
  private queue(): boolean {
    const i = this.queued++;
    this.queuedLo[i] = this.lo;
    this.queuedHi[i] = this.hi;
    return this.queued === FINGERPRINT_BATCH;
  }

  /**
   * Inserts the queued members in order and empties the queue: the queue index of the first one
   * whose fingerprint was already there (those after it are dropped), or -1.
   */
  flush(): number {
    const n = this.queued;
    this.queued = 0;
    const lo = this.queuedLo;
    const hi = this.queuedHi;
    // the first slot of each, touched by independent loads whose cache misses overlap
    const table = this.table;
    const slots = this.slots;
    let touched = 0;
    for (let i = 0; i < n; i++) touched |= table[2 * (((lo[i]! >>> 0) * slots * TO_UNIT) | 0) + 1]!;
    this.touched = touched;
    for (let i = 0; i < n; i++) if (!this.insertPair(lo[i]!, hi[i]!)) return i;
    return -1;
  }

  private insertPair(lo: number, hi: number): boolean {
    const table = this.table;
    const slots = this.slots;
    // the slot from the top bits of lo (multiplicative range reduction), then linear probing
    let slot = ((lo >>> 0) * slots * TO_UNIT) | 0;
    for (;;) {
      const h = table[2 * slot + 1]!;
      if (h === 0) break;
      if (h === hi && table[2 * slot] === lo) return false;
      if (++slot === slots) slot = 0;
    }
    table[2 * slot] = lo;
    table[2 * slot + 1] = hi;
    if (++this.size > this.limit) this.grow();
    return true;
  }

  private grow(): void {
    const old = this.table;
    const oldSlots = this.slots;
    const slots = 2 * oldSlots;
    const table = new Int32Array(2 * slots);
    for (let i = 0; i < 2 * oldSlots; i += 2) {
      const hi = old[i + 1]!;
      if (hi === 0) continue;
      const lo = old[i]!;
      let slot = ((lo >>> 0) * slots * TO_UNIT) | 0;
      while (table[2 * slot + 1] !== 0) if (++slot === slots) slot = 0;
      table[2 * slot] = lo;
      table[2 * slot + 1] = hi;
    }
    this.table = table;
    this.slots = slots;
    this.limit = tableLimit(slots);
  }

  /** MurmurHash3 x86_128 (seed 0) of buf[start, end); keeps h1 and h2 (h2 never 0) */
  private view: DataView = new DataView(new ArrayBuffer(0));
  private viewOf: Uint8Array | undefined;

  private hash(buf: Uint8Array, start: number, end: number): void {
    if (buf !== this.viewOf) {
      this.viewOf = buf;
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const view = this.view;
    const length = end - start;
    let h1 = 0;
    let h2 = 0;
    let h3 = 0;
    let h4 = 0;
    let i = start;
    for (; i + 16 <= end; i += 16) {
      let k1 = view.getInt32(i, true);
      let k2 = view.getInt32(i + 4, true);
      let k3 = view.getInt32(i + 8, true);
      let k4 = view.getInt32(i + 12, true);
      k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
      h1 = rotl(h1 ^ k1, 19) + h2;
      h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;
      k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
      h2 = rotl(h2 ^ k2, 17) + h3;
      h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
      k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
      h3 = rotl(h3 ^ k3, 15) + h4;
      h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;
      k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
      h4 = rotl(h4 ^ k4, 13) + h1;
      h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
    }
    // the tail, little-endian words padded with zeros (the reference's fall-through switch)
    let k1 = 0;
    let k2 = 0;
    let k3 = 0;
    let k4 = 0;
    switch (end - i) {
      case 15:
        k4 ^= buf[i + 14]! << 16;
      // falls through
      case 14:
        k4 ^= buf[i + 13]! << 8;
      // falls through
      case 13:
        k4 ^= buf[i + 12]!;
        h4 ^= Math.imul(rotl(Math.imul(k4, C4), 18), C1);
      // falls through
      case 12:
        k3 ^= buf[i + 11]! << 24;
      // falls through
      case 11:
        k3 ^= buf[i + 10]! << 16;
      // falls through
      case 10:
        k3 ^= buf[i + 9]! << 8;
      // falls through
      case 9:
        k3 ^= buf[i + 8]!;
        h3 ^= Math.imul(rotl(Math.imul(k3, C3), 17), C4);
      // falls through
      case 8:
        k2 ^= buf[i + 7]! << 24;
      // falls through
      case 7:
        k2 ^= buf[i + 6]! << 16;
      // falls through
      case 6:
        k2 ^= buf[i + 5]! << 8;
      // falls through
      case 5:
        k2 ^= buf[i + 4]!;
        h2 ^= Math.imul(rotl(Math.imul(k2, C2), 16), C3);
      // falls through
      case 4:
        k1 ^= buf[i + 3]! << 24;
      // falls through
      case 3:
        k1 ^= buf[i + 2]! << 16;
      // falls through
      case 2:
        k1 ^= buf[i + 1]! << 8;
      // falls through
      case 1:
        k1 ^= buf[i]!;
        h1 ^= Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    }
    this.finish(h1, h2, h3, h4, length);
  }

  /** MurmurHash3's finalisation: mixes the four lanes with the length into lo and hi */
  private finish(h1: number, h2: number, h3: number, h4: number, length: number): void {
    h1 ^= length;
    h2 ^= length;
    h3 ^= length;
    h4 ^= length;
    h1 = (h1 + h2 + h3 + h4) | 0;
    h2 = (h2 + h1) | 0;
    h3 = (h3 + h1) | 0;
    h4 = (h4 + h1) | 0;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h3 = fmix(h3);
    h4 = fmix(h4);
    h1 = (h1 + h2 + h3 + h4) | 0;
    h2 = (h2 + h1) | 0;
    this.lo = h1;
    this.hi = h2 === 0 ? 1 : h2;
  }
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
