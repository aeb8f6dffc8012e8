/**
 * A cursor over buffered RDB bytes. Reads past the buffered end throw NEED_MORE (recording how far
 * the reader needed to see); anomalies throw RdbFormatError with the absolute offset and the key.
 */
import { BlobError, NEED_MORE, RdbFormatError, type RdbWarning } from './errors.js';
import { MemberSet } from './byte-set.js';
import { lzfDecompress, lzfValidate } from './lzf.js';

const TWO_32 = 4294967296;
/** LZF blobs up to this size are decompressed into a reused buffer when only checked */
const SCRATCH_MAX = 1 << 20;
/** a little-endian double read through its bytes into the host's order */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** encodings of the last string read */
export const STR_RAW = 0;
export const STR_INT = 1;
export const STR_LZF = 2;

export class ByteReader {
  buf: Buffer;
  pos: number;
  end: number;
  /** absolute offset of buf[0] */
  base: number;
  source: string | undefined;
  /** the key being read, for messages: a buffer, or its position in buf (keyS < 0: none) */
  keyBuf: Buffer | undefined = undefined;
  keyS = -1;
  keyE = -1;
  /** when NEED_MORE was thrown: the position (in buf) the reader needed to reach */
  needEnd = 0;
  /** and where the item probably ends, projected from the elements read so far */
  guessEnd = 0;
  progStart = -1;
  progCount = 0;
  /** elements of the tracked sequence read so far */
  progDone = 0;
  maxLength: number;
  /** a "VALKEY" file: type 22 is Valkey's hash with field expiries, opcode 243 SLOT_IMPORT */
  valkey = false;
  /** what the servers load but do not write is damage (RdbParserOptions.strict) */
  strict = false;
  onWarning: ((warning: RdbWarning) => void) | undefined = undefined;
  /** absolute offset of the last warning given (an item read again after NEED_MORE gives it once) */
  private warnedAt = -1;
  /** duplicate detection, shared by the values this reader reads one after another */
  readonly members = new MemberSet();
  /** where lastBufTransient() decompresses */
  private scratch: Buffer = Buffer.alloc(0);

  // the last string read by str()
  sEnc = STR_RAW;
  sStart = 0;
  sEnd = 0;
  sInt = 0;
  sRawLen = 0;
  /** position of the last string's first (length) byte */
  sAt = 0;
  /** the blob being checked (see openBlob): its encoding and where its bytes (or its header) are */
  blobEnc = STR_RAW;
  blobAt = 0;

  constructor(buf: Buffer, pos: number, end: number, base: number, source: string | undefined, maxLength: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.base = base;
    this.source = source;
    this.maxLength = maxLength;
  }

  reset(buf: Buffer, pos: number, end: number, base: number): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.base = base;
    this.keyBuf = undefined;
    this.keyS = -1;
    this.progStart = -1;
  }

  /** the key being read, if any */
  currentKey(): Buffer | undefined {
    return this.keyBuf ?? (this.keyS >= 0 ? this.buf.subarray(this.keyS, this.keyE) : undefined);
  }

  more(n: number): never {
    this.needEnd = this.pos + n;
    this.guessEnd = this.needEnd;
    if (this.progStart >= 0 && this.progDone > 0) {
      // elements so far are a fair guess of the size of the ones still to come
      const projected = this.progStart + Math.ceil(((this.pos - this.progStart) / this.progDone) * this.progCount);
      if (projected > this.guessEnd) this.guessEnd = projected;
    }
    throw NEED_MORE;
  }

  /** starts tracking a counted sequence of `count` elements from `start` (see guessEnd) */
  track(start: number, count: number): void {
    this.progStart = start;
    this.progCount = count;
    this.progDone = 0;
  }

  untrack(): void {
    this.progStart = -1;
  }

  /** throws an RdbFormatError at `at` (a position in buf) */
  fail(detail: string, at = this.pos): never {
    throw this.error(detail, at);
  }

  /**
   * Something the servers load although they never write it: a warning at `at` (a position in buf),
   * or with `strict` an RdbFormatError.
   */
  lenient(code: RdbWarning['code'], detail: string, at: number): void {
    if (this.strict) this.fail(detail, at);
    const offset = this.base + at;
    if (offset <= this.warnedAt) return;
    this.warnedAt = offset;
    const key = this.currentKey();
    const message = this.error(`${detail} (loaded as it is by Redis; an error with strict)`, at).message;
    this.onWarning?.({ code, offset, ...(key ? { key: Buffer.from(key) } : {}), message });
  }

  error(detail: string, at = this.pos): RdbFormatError {
    return new RdbFormatError(detail, { source: this.source, offset: this.base + at, key: this.currentKey() });
  }

  u8(): number {
    if (this.pos >= this.end) this.more(1);
    return this.buf[this.pos++]!;
  }

  need(n: number): void {
    if (this.pos + n > this.end) this.more(n);
  }

  /** a length (RDB length encoding); special string encodings and oversized values are errors */
  len(): number {
    const at = this.pos;
    if (at >= this.end) this.more(1);
    const b = this.buf[at]!;
    if (b < 0x40) {
      this.pos = at + 1;
      return b;
    }
    if (b < 0x80) {
      if (at + 2 > this.end) this.more(2);
      this.pos = at + 2;
      return ((b & 0x3f) << 8) | this.buf[at + 1]!;
    }
    return this.longLen(b, at);
  }

  private longLen(b: number, at: number): number {
    if (b === 0x80) {
      if (at + 5 > this.end) this.more(5);
      this.pos = at + 5;
      return this.buf.readUInt32BE(at + 1);
    }
    if (b === 0x81) {
      if (at + 9 > this.end) this.more(9);
      const hi = this.buf.readUInt32BE(at + 1);
      const lo = this.buf.readUInt32BE(at + 5);
      if (hi >= 0x200000) this.fail(`length ${(BigInt(hi) << 32n) | BigInt(lo)} is beyond any real size`, at);
      this.pos = at + 9;
      return hi * TWO_32 + lo;
    }
    if (b >= 0xc0) this.fail(`expected a length, found the special string encoding 0x${b.toString(16)}`, at);
    return this.fail(`unknown length encoding 0x${b.toString(16)}`, at);
  }

  /** a length read as an unsigned 64-bit integer (module ids and fields, stream IDs) */
  lenBig(): bigint {
    const at = this.pos;
    if (at >= this.end) this.more(1);
    const b = this.buf[at]!;
    if (b === 0x81) {
      if (at + 9 > this.end) this.more(9);
      this.pos = at + 9;
      return this.buf.readBigUInt64BE(at + 1);
    }
    return BigInt(this.len());
  }

  /** reads one RDB string, setting sEnc/sStart/sEnd (raw, or LZF data) or sInt; LZF is not checked here */
  str(): void {
    const at = this.pos;
    this.sAt = at;
    if (at >= this.end) this.more(1);
    const b = this.buf[at]!;
    let n: number;
    if (b < 0x40) {
      n = b;
      this.pos = at + 1;
    } else if (b < 0x80) {
      if (at + 2 > this.end) this.more(2);
      n = ((b & 0x3f) << 8) | this.buf[at + 1]!;
      this.pos = at + 2;
    } else if (b < 0xc0) {
      n = this.longLen(b, at);
    } else {
      this.special(b, at);
      return;
    }
    if (this.pos + n > this.end) {
      if (n > this.maxLength) this.fail(`string of ${n} bytes is larger than the ${this.maxLength}-byte limit`, at);
      this.more(n);
    }
    this.sEnc = STR_RAW;
    this.sStart = this.pos;
    this.pos += n;
    this.sEnd = this.pos;
  }

  private special(b: number, at: number): void {
    const enc = b & 0x3f;
    const buf = this.buf;
    this.pos = at + 1;
    if (enc === 0) {
      if (at + 2 > this.end) this.more(1);
      this.sInt = (buf[at + 1]! << 24) >> 24;
      this.pos = at + 2;
      this.sEnc = STR_INT;
    } else if (enc === 1) {
      if (at + 3 > this.end) this.more(2);
      this.sInt = ((buf[at + 1]! | (buf[at + 2]! << 8)) << 16) >> 16;
      this.pos = at + 3;
      this.sEnc = STR_INT;
    } else if (enc === 2) {
      if (at + 5 > this.end) this.more(4);
      this.sInt = buf[at + 1]! | (buf[at + 2]! << 8) | (buf[at + 3]! << 16) | (buf[at + 4]! << 24);
      this.pos = at + 5;
      this.sEnc = STR_INT;
    } else if (enc === 3) {
      const clen = this.len();
      const rawLen = this.len();
      if (rawLen === 0) this.fail('LZF string declares an uncompressed length of 0', at);
      if (rawLen > this.maxLength) this.fail(`LZF string of ${rawLen} bytes is larger than the ${this.maxLength}-byte limit`, at);
      // a 3-byte back reference yields at most 264 bytes: no LZF data expands further than that
      if (rawLen > clen * 88 + 32) this.fail(`LZF string declares ${rawLen} bytes from ${clen} compressed bytes, more than LZF can expand to`, at);
      if (this.pos + clen > this.end) {
        if (clen > this.maxLength) this.fail(`LZF string of ${clen} compressed bytes is larger than the ${this.maxLength}-byte limit`, at);
        this.more(clen);
      }
      this.sEnc = STR_LZF;
      this.sStart = this.pos;
      this.pos += clen;
      this.sEnd = this.pos;
      this.sRawLen = rawLen;
    } else {
      this.fail(`unknown string encoding 0x${b.toString(16)}`, at);
    }
  }

  /** reads and checks a string whose contents nobody needs */
  skipStr(): void {
    this.str();
    if (this.sEnc === STR_LZF) this.checkLzf();
  }

  /** checks the LZF data of the last string read (without producing its output) */
  checkLzf(): void {
    try {
      lzfValidate(this.buf, this.sStart, this.sEnd, this.sRawLen);
    } catch (error) {
      if (error instanceof BlobError) this.fail(error.message, this.sStart + error.at);
      throw error;
    }
  }

  /** the contents of the last string read: a view for raw strings, a new buffer otherwise */
  lastBuf(): Buffer {
    if (this.sEnc === STR_RAW) return this.buf.subarray(this.sStart, this.sEnd);
    if (this.sEnc === STR_INT) return Buffer.from(String(this.sInt), 'latin1');
    try {
      return lzfDecompress(this.buf, this.sStart, this.sEnd, this.sRawLen);
    } catch (error) {
      if (error instanceof BlobError) this.fail(error.message, this.sStart + error.at);
      throw error;
    }
  }

  /**
   * The contents of the last string read, LZF-compressed, in a buffer the next call reuses: for
   * blobs that are only checked, never kept (larger ones get a buffer of their own).
   */
  lastBufTransient(): Buffer {
    const n = this.sRawLen;
    if (n > SCRATCH_MAX) return this.lastBuf();
    if (this.scratch.length < n) this.scratch = Buffer.allocUnsafeSlow(Math.max(n, 2 * this.scratch.length, 4096));
    try {
      lzfDecompress(this.buf, this.sStart, this.sEnd, n, this.scratch);
    } catch (error) {
      if (error instanceof BlobError) this.fail(error.message, this.sStart + error.at);
      throw error;
    }
    return this.scratch.subarray(0, n);
  }

  /** the contents of the last string read as a latin1 JS string (for duplicate detection) */
  lastKey(): string {
    if (this.sEnc === STR_RAW) return this.buf.toString('latin1', this.sStart, this.sEnd);
    if (this.sEnc === STR_INT) return String(this.sInt);
    return this.lastBuf().toString('latin1');
  }

  /** records the last string read in `set` (for duplicate detection) */
  addLastTo(set: MemberSet): void {
    if (this.sEnc === STR_RAW) set.add(this.sStart, this.sEnd, this.sAt);
    else if (this.sEnc === STR_INT) set.addInteger(this.sInt, this.sAt);
    else {
      const b = this.lastBufTransient();
      set.addCopy(b, 0, b.length, this.sAt);
    }
  }

  strBuf(): Buffer {
    this.str();
    return this.lastBuf();
  }

  /** raw bytes (no length prefix) */
  bytes(n: number): Buffer {
    if (this.pos + n > this.end) this.more(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** a little-endian signed 64-bit integer as a number (exact below 2^53) */
  i64(): number {
    if (this.pos + 8 > this.end) this.more(8);
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readInt32LE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** a little-endian signed 32-bit integer */
  i32(): number {
    if (this.pos + 4 > this.end) this.more(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    const p = this.pos;
    if (p + 8 > this.end) this.more(8);
    const buf = this.buf;
    if (HOST_LE) for (let k = 0; k < 8; k++) F64_BYTES[k] = buf[p + k]!;
    else for (let k = 0; k < 8; k++) F64_BYTES[7 - k] = buf[p + k]!;
    this.pos = p + 8;
    return F64[0]!;
  }
}
