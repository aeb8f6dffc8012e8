/**
 * Listpack (Redis 7.0): u32 LE total bytes, u16 LE element count (65535 = unknown), entries, 0xFF.
 * Each entry is an encoding byte (+ length or integer bytes), the data, and a "backlen": the entry's
 * length without the backlen, in 1-5 bytes read backwards, 7 bits per byte.
 * The reader validates each entry as it steps to it: encoding, bounds, backlen; and at the end the
 * terminator position and the declared count. Offsets in errors are relative to the listpack.
 */
import { BlobError } from './errors.js';

const TWO_32 = 4294967296;
export const LP_HEADER = 6;
export const LP_COUNT_UNKNOWN = 65535;

function backlenSize(len: number): number {
  if (len <= 127) return 1;
  if (len < 16383) return 2;
  if (len < 2097151) return 3;
  if (len < 268435455) return 4;
  return 5;
}

export class ListpackReader {
  readonly lp: Buffer;
  /** index of the terminator */
  readonly last: number;
  readonly declared: number;
  /** entries stepped over so far */
  count = 0;
  p = LP_HEADER;

  // the current entry
  at = 0;
  isStr = false;
  sStart = 0;
  sEnd = 0;
  num = 0;
  /** set when an integer does not fit a double exactly */
  big: bigint | undefined = undefined;

  constructor(lp: Buffer) {
    if (lp.length < LP_HEADER + 1) throw new BlobError(`listpack of ${lp.length} bytes is shorter than its header and terminator`, 0);
    // byte arithmetic rather than Buffer's read methods: the same once optimised, much faster before
    const total = (lp[0]! | (lp[1]! << 8) | (lp[2]! << 16) | (lp[3]! << 24)) >>> 0;
    if (total !== lp.length) throw new BlobError(`listpack header says ${total} bytes but the string holds ${lp.length}`, 0);
    if (lp[lp.length - 1] !== 0xff)
      throw new BlobError(`listpack does not end with the 0xFF terminator (found 0x${lp[lp.length - 1]!.toString(16)})`, lp.length - 1);
    this.lp = lp;
    this.last = lp.length - 1;
    this.declared = lp[4]! | (lp[5]! << 8);
  }

  /** steps to the next entry; false at the terminator (after checking the declared count) */
  next(): boolean {
    const lp = this.lp;
    const p = this.p;
    const last = this.last;
    if (p === last) {
      if (this.declared !== LP_COUNT_UNKNOWN && this.declared !== this.count) {
        throw new BlobError(`listpack declares ${this.declared} elements but holds ${this.count}`, 4);
      }
      return false;
    }
    const b = lp[p]!;
    let len: number;
    this.at = p;
    this.big = undefined;
    if (b < 0x80) {
      this.isStr = false;
      this.num = b;
      len = 1;
    } else if (b < 0xc0) {
      this.isStr = true;
      this.sStart = p + 1;
      len = 1 + (b & 0x3f);
    } else if (b < 0xe0) {
      if (p + 1 >= last) this.cut(p);
      const v = ((b & 0x1f) << 8) | lp[p + 1]!;
      this.isStr = false;
      this.num = v >= 4096 ? v - 8192 : v;
      len = 2;
    } else if (b < 0xf0) {
      if (p + 1 >= last) this.cut(p);
      this.isStr = true;
      this.sStart = p + 2;
      len = 2 + (((b & 0x0f) << 8) | lp[p + 1]!);
    } else {
      len = this.wide(b, p);
    }
    const bl = backlenSize(len);
    const next = p + len + bl;
    if (next > last) throw new BlobError(`listpack entry at offset ${p} (${len + bl} bytes) runs past the end of the listpack`, p);
    // the backlen: most significant 7-bit group first; every byte but the first has the 0x80 bit
    const q = p + len;
    if (bl === 1) {
      if (lp[q] !== len) this.badBacklen(p, len);
    } else if (bl === 2) {
      if (lp[q] !== len >> 7 || lp[q + 1] !== ((len & 127) | 128)) this.badBacklen(p, len);
    } else {
      this.checkLongBacklen(p, len, bl);
    }
    if (this.isStr) this.sEnd = p + len;
    this.p = next;
    this.count++;
    return true;
  }

  /** an entry whose encoding byte is 0xF0 or above: a 32-bit string length or a 16- to 64-bit integer; returns its length */
  private wide(b: number, p: number): number {
    const lp = this.lp;
    const last = this.last;
    let len: number;
    switch (b) {
      case 0xf0:
        if (p + 4 >= last) this.cut(p);
        this.isStr = true;
        this.sStart = p + 5;
        len = 5 + ((lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16) | (lp[p + 4]! << 24)) >>> 0);
        break;
      case 0xf1:
        if (p + 2 >= last) this.cut(p);
        this.isStr = false;
        this.num = ((lp[p + 1]! | (lp[p + 2]! << 8)) << 16) >> 16;
        len = 3;
        break;
      case 0xf2:
        if (p + 3 >= last) this.cut(p);
        this.isStr = false;
        this.num = ((lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16)) << 8) >> 8;
        len = 4;
        break;
      case 0xf3:
        if (p + 4 >= last) this.cut(p);
        this.isStr = false;
        this.num = lp[p + 1]! | (lp[p + 2]! << 8) | (lp[p + 3]! << 16) | (lp[p + 4]! << 24);
        len = 5;
        break;
      case 0xf4: {
        if (p + 8 >= last) this.cut(p);
        this.isStr = false;
        const lo = lp.readUInt32LE(p + 1);
        const hi = lp.readInt32LE(p + 5);
        if (hi >= -0x200000 && hi < 0x200000) this.num = hi * TWO_32 + lo;
        else {
          this.big = lp.readBigInt64LE(p + 1);
          this.num = Number(this.big);
        }
        len = 9;
        break;
      }
      case 0xff:
        throw new BlobError(`listpack terminator at offset ${p}, before the end of its ${lp.length} bytes`, p);
      default:
        throw new BlobError(`listpack entry at offset ${p} has the invalid encoding byte 0x${b.toString(16)}`, p);
    }
    return len;
  }

  private cut(p: number): never {
    throw new BlobError(`listpack entry at offset ${p} is cut off by the end of the listpack`, p);
  }

  /** a back-length of three bytes or more (entries of 16 KiB and longer) */
  private checkLongBacklen(p: number, len: number, bl: number): void {
    const q = p + len;
    for (let k = 0; k < bl; k++) {
      const group = Math.floor(len / 2 ** (7 * (bl - 1 - k))) % 128;
      if (this.lp[q + k] !== (k === 0 ? group : group | 128)) this.badBacklen(p, len);
    }
  }

  private badBacklen(p: number, len: number): never {
    throw new BlobError(`listpack entry at offset ${p}: its back-length does not encode its length ${len}`, p);
  }

  /** the current entry as bytes (integers as their decimal text, as Redis returns them) */
  buf(): Buffer {
    if (this.isStr) return this.lp.subarray(this.sStart, this.sEnd);
    return Buffer.from(this.big !== undefined ? this.big.toString() : String(this.num), 'latin1');
  }

  /** the current entry as a latin1 string (duplicate detection) */
  key(): string {
    if (this.isStr) return this.lp.toString('latin1', this.sStart, this.sEnd);
    return this.big !== undefined ? this.big.toString() : String(this.num);
  }

  /** the current entry as an integer, as Redis's lpGetIntegerIfValid reads it (strings holding integers count) */
  int(what: string): number {
    if (!this.isStr) return this.num;
    const text = this.lp.toString('latin1', this.sStart, this.sEnd);
    if (!/^-?(0|[1-9][0-9]{0,18})$/.test(text)) throw new BlobError(`${what} at offset ${this.at} is not an integer`, this.at);
    return Number(text);
  }

  /** the current entry as an exact integer: a number when it fits 2^53, else a BigInt */
  exactInt(what: string): number | bigint {
    if (!this.isStr) return this.big ?? this.num;
    return this.int(what);
  }
}
