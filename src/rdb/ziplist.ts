/**
 * Ziplist (RDB types 10, 12, 13 and the nodes of type 14, written by Redis up to 6.2): u32 LE total
 * bytes, u32 LE offset of the last entry, u16 LE count (65535 = unknown), entries, 0xFF. An entry is
 * the previous entry's length (1 byte, or 0xFE + u32 LE), an encoding (string lengths in 1, 2 or 5
 * bytes, big-endian; or an integer type), and the data. Checked as Redis's deep validation does:
 * bounds, encodings, each prevlen against the previous entry, the tail offset, the count.
 */
import { BlobError } from './errors.js';

const TWO_32 = 4294967296;
const HEADER = 10;

export class ZiplistReader {
  readonly zl: Buffer;
  /** index of the terminator */
  readonly last: number;
  readonly declared: number;
  readonly tail: number;
  count = 0;
  p = HEADER;
  private prevRaw = 0;
  private lastEntry = -1;

  at = 0;
  isStr = false;
  sStart = 0;
  sEnd = 0;
  num = 0;
  big: bigint | undefined = undefined;

  constructor(zl: Buffer) {
    if (zl.length < HEADER + 1) throw new BlobError(`ziplist of ${zl.length} bytes is shorter than its header and terminator`, 0);
    // byte arithmetic rather than Buffer's read methods: the same once optimised, much faster before
    const total = (zl[0]! | (zl[1]! << 8) | (zl[2]! << 16) | (zl[3]! << 24)) >>> 0;
    if (total !== zl.length) throw new BlobError(`ziplist header says ${total} bytes but the string holds ${zl.length}`, 0);
    if (zl[zl.length - 1] !== 0xff) throw new BlobError('ziplist does not end with the 0xFF terminator', zl.length - 1);
    this.tail = (zl[4]! | (zl[5]! << 8) | (zl[6]! << 16) | (zl[7]! << 24)) >>> 0;
    if (this.tail > zl.length - 1) throw new BlobError(`ziplist tail offset ${this.tail} is outside its ${zl.length} bytes`, 4);
    this.zl = zl;
    this.last = zl.length - 1;
    this.declared = zl[8]! | (zl[9]! << 8);
  }

  next(): boolean {
    const zl = this.zl;
    const p = this.p;
    const last = this.last;
    if (zl[p] === 0xff) return this.end(p);
    this.at = p;
    this.big = undefined;
    let q = p;
    let prevlen: number;
    if (zl[q]! < 254) {
      prevlen = zl[q]!;
      q += 1;
    } else {
      if (q + 5 > last) this.cut(p);
      prevlen = zl.readUInt32LE(q + 1);
      q += 5;
    }
    if (prevlen !== this.prevRaw) throw new BlobError(`ziplist entry at offset ${p} says the previous entry has ${prevlen} bytes, not ${this.prevRaw}`, p);
    if (q >= last) this.cut(p);
    const e = zl[q]!;
    let dataLen: number;
    if (e < 0xc0) {
      this.isStr = true;
      const t = e >> 6;
      if (t === 0) {
        dataLen = e & 0x3f;
        q += 1;
      } else if (t === 1) {
        if (q + 1 >= last) this.cut(p);
        dataLen = ((e & 0x3f) << 8) | zl[q + 1]!;
        q += 2;
      } else {
        if (q + 4 >= last) this.cut(p);
        dataLen = zl.readUInt32BE(q + 1);
        q += 5;
      }
      this.sStart = q;
      this.sEnd = q + dataLen;
    } else {
      q += 1;
      dataLen = this.integer(e, q, p);
    }
    const next = q + dataLen;
    if (next > last) throw new BlobError(`ziplist entry at offset ${p} runs past the end of the ziplist`, p);
    this.prevRaw = next - p;
    this.lastEntry = p;
    this.p = next;
    this.count++;
    return true;
  }

  /** checks the terminator at `p`: the last byte, after the tail entry and the declared count */
  private end(p: number): false {
    if (p !== this.last) throw new BlobError(`ziplist terminator at offset ${p}, before the end of its ${this.zl.length} bytes`, p);
    if (this.lastEntry !== -1 && this.lastEntry !== this.tail) {
      throw new BlobError(`ziplist tail offset ${this.tail} does not point at its last entry (offset ${this.lastEntry})`, 4);
    }
    if (this.declared !== 65535 && this.declared !== this.count) {
      throw new BlobError(`ziplist declares ${this.declared} elements but holds ${this.count}`, 8);
    }
    return false;
  }

  /** an integer entry with encoding byte `e` whose data starts at `q`: sets num (and big); returns the data's length */
  private integer(e: number, q: number, p: number): number {
    const zl = this.zl;
    let dataLen: number;
    this.isStr = false;
    switch (e) {
      case 0xc0:
        dataLen = 2;
        break;
      case 0xd0:
        dataLen = 4;
        break;
      case 0xe0:
        dataLen = 8;
        break;
      case 0xf0:
        dataLen = 3;
        break;
      case 0xfe:
        dataLen = 1;
        break;
      default:
        if (e >= 0xf1 && e <= 0xfd) dataLen = 0;
        else throw new BlobError(`ziplist entry at offset ${p} has the invalid encoding byte 0x${e.toString(16)}`, p);
    }
    if (q + dataLen > this.last) this.cut(p);
    switch (e) {
      case 0xc0:
        this.num = ((zl[q]! | (zl[q + 1]! << 8)) << 16) >> 16;
        break;
      case 0xd0:
        this.num = zl[q]! | (zl[q + 1]! << 8) | (zl[q + 2]! << 16) | (zl[q + 3]! << 24);
        break;
      case 0xf0:
        this.num = ((zl[q]! | (zl[q + 1]! << 8) | (zl[q + 2]! << 16)) << 8) >> 8;
        break;
      case 0xfe:
        this.num = (zl[q]! << 24) >> 24;
        break;
      case 0xe0: {
        const lo = zl.readUInt32LE(q);
        const hi = zl.readInt32LE(q + 4);
        if (hi >= -0x200000 && hi < 0x200000) this.num = hi * TWO_32 + lo;
        else {
          this.big = zl.readBigInt64LE(q);
          this.num = Number(this.big);
        }
        break;
      }
      default:
        this.num = (e & 0x0f) - 1;
    }
    return dataLen;
  }

  private cut(p: number): never {
    throw new BlobError(`ziplist entry at offset ${p} is cut off by the end of the ziplist`, p);
  }

  buf(): Buffer {
    if (this.isStr) return this.zl.subarray(this.sStart, this.sEnd);
    return Buffer.from(this.big !== undefined ? this.big.toString() : String(this.num), 'latin1');
  }

  key(): string {
    if (this.isStr) return this.zl.toString('latin1', this.sStart, this.sEnd);
    return this.big !== undefined ? this.big.toString() : String(this.num);
  }
}
