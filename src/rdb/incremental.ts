/**
 * One large value read element by element (RdbParserOptions.rawValues 'none' or `{ maxBytes }`):
 * after each element (or node, or field) the cursor moves the parser's commit point (`itemStart`),
 * so the parser can drop the bytes before it, and keeps only what the checks need: counts, the
 * stream's last ID, and a 64-bit fingerprint per member of a set, sorted set or hash (fingerprints.ts).
 * A raw string nobody needs (a string value, a list element, a hash value, a PLAIN quicklist node, a
 * module string) longer than 4 KiB is skipped as its bytes arrive. Blobs (listpack, ziplist, intset,
 * LZF strings) are read whole. The checks, their order, messages and offsets are those of the
 * readers of whole values (collections.ts, stream.ts, module.ts), which this reuses where it can;
 * duplicates are reported after the last element, as there.
 */
import { count, readContainer, readPackedNode, readScore, show } from './collections.js';
import { expiryFromTtl, readMinExpire, readValkeyExpiry } from './hash-expiry.js';
import { readModuleField } from './module.js';
import { MemberSet } from './member-set.js';
import { ByteReader } from './reader.js';
import { readStreamEnd, readStreamNode, type StreamProgress, type StreamVersion } from './stream.js';
import { TYPE } from './types.js';

/** raw strings longer than this are skipped as their bytes arrive instead of being waited for whole */
const SKIP_FROM = 4096;

/** the parser's commit point: bytes before `itemStart` are done with */
export interface Commit {
  itemStart: number;
}

const enum Phase {
  /** the element count (or a module's id) comes next */
  Start,
  Elements,
  /** a hash's value comes next */
  HashValue,
  /** the expiry after a hash's value comes next (Valkey's RDB_TYPE_HASH_2) */
  HashExpiry,
  /** a stream's length, IDs and groups come next */
  StreamEnd,
  Done,
}

const EMPTY = Buffer.alloc(0);

export class ValueCursor {
  // the record whose value this is
  type = 0;
  /** a copy: the bytes it came in are gone before the value ends */
  key: Buffer = EMPTY;
  /** absolute offset of the record */
  offset = 0;
  expireAtMs = NaN;
  idle = -1;
  freq = -1;

  private phase = Phase.Start;
  private n = 0;
  private i = 0;
  /** absolute offset of the element count */
  private countAt = 0;
  /** quicklist elements so far */
  private total = 0;
  /** hashes with field expiries: the minimum expiry of type 24 */
  private minExpire = 0;
  /** bytes of a raw string still to skip (the rest of the element being read) */
  private skipLeft = 0;
  private readonly members = new MemberSet();
  private readonly stream: StreamProgress = { live: 0, last: undefined, deleted: 0 };

  /** the file is a "VALKEY" one (type 22 is Valkey's hash with field expiries) */
  private valkey = false;

  /** starts the value of RDB type `type` of the record of `key` at absolute offset `offset` */
  start(type: number, key: Buffer, offset: number, valkey = false): void {
    this.type = type;
    this.valkey = valkey;
    this.minExpire = 0;
    this.key = key;
    this.offset = offset;
    this.expireAtMs = NaN;
    this.idle = -1;
    this.freq = -1;
    this.phase = Phase.Start;
    this.n = 0;
    this.i = 0;
    this.total = 0;
    this.skipLeft = 0;
    this.members.forget();
    this.stream.nodes = 0;
    this.stream.live = 0;
    this.stream.last = undefined;
    this.stream.deleted = 0;
  }

  /**
   * Reads on from r.pos: true once the value has ended; false when it stopped at an element boundary
   * at or past `limit` (or inside a long string at the end of the buffer). Throws NEED_MORE inside an
   * element, with c.itemStart at the last boundary.
   */
  run(r: ByteReader, limit: number, c: Commit): boolean {
    try {
      return this.runValue(r, limit, c);
    } finally {
      // the queued members are positions in r.buf, which the parser replaces between calls
      this.members.flush(r);
    }
  }

  private runValue(r: ByteReader, limit: number, c: Commit): boolean {
    if (this.skipLeft > 0) {
      if (!this.skip(r, limit, c)) return false;
      this.skipped();
      c.itemStart = r.pos;
    }
    switch (this.type) {
      case TYPE.STRING:
        return this.phase === Phase.Done || this.skipStr(r, limit, c, -1);
      case TYPE.LIST:
        return this.list(r, limit, c);
      case TYPE.SET:
        return this.set(r, limit, c);
      case TYPE.ZSET:
      case TYPE.ZSET_2:
        return this.zset(r, limit, c, this.type === TYPE.ZSET_2);
      case TYPE.HASH:
      case TYPE.HASH_METADATA_PRE_GA:
      case TYPE.HASH_METADATA:
        return this.hash(r, limit, c);
      case TYPE.LIST_QUICKLIST:
      case TYPE.LIST_QUICKLIST_2:
        return this.quicklist(r, limit, c, this.type === TYPE.LIST_QUICKLIST_2);
      case TYPE.STREAM_LISTPACKS:
        return this.streamValue(r, limit, c, 1);
      case TYPE.STREAM_LISTPACKS_2:
        return this.streamValue(r, limit, c, 2);
      case TYPE.STREAM_LISTPACKS_3:
        return this.streamValue(r, limit, c, 3);
      case TYPE.MODULE_2:
        return this.module(r, limit, c);
      default:
        throw new Error(`ValueCursor: type ${this.type} is not read element by element`);
    }
  }

  /** the element a completed skip belonged to is done */
  private skipped(): void {
    switch (this.type) {
      case TYPE.STRING:
        this.phase = Phase.Done;
        break;
      case TYPE.HASH:
      case TYPE.HASH_METADATA_PRE_GA:
      case TYPE.HASH_METADATA:
        this.hashValueDone();
        break;
      case TYPE.LIST_QUICKLIST_2:
        this.total++;
        this.i++;
        break;
      case TYPE.MODULE_2:
        break;
      default:
        this.i++;
    }
  }

  private begin(r: ByteReader, what: string, c: Commit): void {
    this.countAt = r.base + r.pos;
    this.n = count(r, what);
    this.phase = Phase.Elements;
    c.itemStart = r.pos;
  }

  private list(r: ByteReader, limit: number, c: Commit): boolean {
    if (this.phase === Phase.Start) this.begin(r, 'list', c);
    while (this.i < this.n) {
      if (r.pos >= limit) return false;
      if (!this.skipStr(r, limit, c, -1)) return false;
      this.i++;
      c.itemStart = r.pos;
    }
    return true;
  }

  private set(r: ByteReader, limit: number, c: Commit): boolean {
    if (this.phase === Phase.Start) {
      this.begin(r, 'set', c);
      this.members.reset(this.n);
    }
    while (this.i < this.n) {
      if (r.pos >= limit) return false;
      r.str();
      this.members.insert(r);
      this.i++;
      c.itemStart = r.pos;
    }
    this.members.noDuplicates(r, 'set has the member');
    return true;
  }

  private zset(r: ByteReader, limit: number, c: Commit, binary: boolean): boolean {
    if (this.phase === Phase.Start) {
      this.begin(r, 'sorted set', c);
      this.members.reset(this.n);
    }
    while (this.i < this.n) {
      if (r.pos >= limit) return false;
      r.str();
      const at = r.pos;
      const score = readScore(r, binary);
      if (Number.isNaN(score)) r.fail(`sorted set member ${show(r.lastKey())} has a score that is not a number`, at);
      this.members.insert(r);
      this.i++;
      c.itemStart = r.pos;
    }
    this.members.noDuplicates(r, 'sorted set has the member');
    return true;
  }

  /**
   * Types 4, 22 and 24 (Redis: a ttl length before each field, 24 after a minimum expiry) and
   * Valkey's 22 (an 8-byte expiry after each value); hash-expiry.ts reads the same whole.
   */
  private hash(r: ByteReader, limit: number, c: Commit): boolean {
    const valkey = this.valkey && this.type === TYPE.HASH_METADATA_PRE_GA;
    const ttls = !valkey && this.type !== TYPE.HASH;
    if (this.phase === Phase.Start) {
      if (this.type === TYPE.HASH_METADATA) this.minExpire = readMinExpire(r);
      this.begin(r, 'hash', c);
      this.members.reset(this.n);
    }
    while (this.i < this.n) {
      if (r.pos >= limit) return false;
      if (this.phase === Phase.Elements) {
        if (ttls) {
          const at = r.pos;
          expiryFromTtl(r, r.len(), this.minExpire, this.type === TYPE.HASH_METADATA, at);
        }
        r.str();
        this.members.insert(r);
        this.phase = Phase.HashValue;
        c.itemStart = r.pos;
        if (r.pos >= limit) return false;
      }
      if (this.phase === Phase.HashValue) {
        if (!this.skipStr(r, limit, c, -1)) return false;
        this.hashValueDone();
        c.itemStart = r.pos;
        if (r.pos >= limit && valkey) return false;
      }
      if ((this.phase as Phase) === Phase.HashExpiry) {
        readValkeyExpiry(r);
        this.phase = Phase.Elements;
        this.i++;
        c.itemStart = r.pos;
      }
    }
    this.members.noDuplicates(r, 'hash has the field');
    return true;
  }

  /** a hash's value has been read: its expiry (Valkey) or the next field comes next */
  private hashValueDone(): void {
    if (this.type === TYPE.HASH_METADATA_PRE_GA && this.valkey) this.phase = Phase.HashExpiry;
    else {
      this.phase = Phase.Elements;
      this.i++;
    }
  }

  private quicklist(r: ByteReader, limit: number, c: Commit, version2: boolean): boolean {
    if (this.phase === Phase.Start) this.begin(r, 'quicklist', c);
    while (this.i < this.n) {
      if (r.pos >= limit) return false;
      const i = this.i;
      if (version2 && readContainer(r, i) === 1) {
        if (!this.skipStr(r, limit, c, i)) return false;
        this.total++;
      } else this.total += readPackedNode(r, i, version2, undefined);
      this.i = i + 1;
      c.itemStart = r.pos;
    }
    if (this.total === 0) r.fail(`quicklist of ${this.n} nodes holds no elements`, this.countAt - r.base);
    return true;
  }

  private streamValue(r: ByteReader, limit: number, c: Commit, version: StreamVersion): boolean {
    if (this.phase === Phase.Start) {
      this.n = r.len();
      this.phase = Phase.Elements;
      c.itemStart = r.pos;
    }
    while (this.i < this.n) {
      if (r.pos >= limit) return false;
      readStreamNode(r, this.i, this.stream, undefined);
      this.i++;
      c.itemStart = r.pos;
    }
    // the length, the IDs and the groups (with their PELs) are read as one piece
    if (r.pos >= limit) return false;
    readStreamEnd(r, version, this.stream, undefined);
    return true;
  }

  private module(r: ByteReader, limit: number, c: Commit): boolean {
    if (this.phase === Phase.Start) {
      r.lenBig();
      this.phase = Phase.Elements;
      c.itemStart = r.pos;
    }
    for (;;) {
      if (r.pos >= limit) return false;
      const at = r.pos;
      const opcode = r.len();
      if (opcode === 0) return true;
      if (opcode === 5) {
        if (!this.skipStr(r, limit, c, -1)) return false;
      } else readModuleField(r, opcode, at);
      c.itemStart = r.pos;
    }
  }

  /**
   * A string whose contents nobody needs, checked as r.skipStr() checks it: true when read; false
   * when only its start was there (the rest is skipped as it arrives, see skipLeft). `plainNode` >= 0:
   * the string is that PLAIN quicklist node, which must not be empty.
   */
  private skipStr(r: ByteReader, limit: number, c: Commit, plainNode: number): boolean {
    const at = r.pos;
    if (at >= r.end) r.more(1);
    if (r.buf[at]! >= 0xc0) {
      // integer or LZF: small, or compressed and checked whole
      r.skipStr();
      return true;
    }
    const n = r.len();
    if (n === 0 && plainNode >= 0) r.fail(`quicklist PLAIN node ${plainNode} is empty`, at);
    const end = r.pos + n;
    if (end <= r.end) {
      r.pos = end;
      return true;
    }
    if (n > r.maxLength) r.fail(`string of ${n} bytes is larger than the ${r.maxLength}-byte limit`, at);
    if (n <= SKIP_FROM) r.more(n);
    this.skipLeft = end - r.end;
    return this.skipRest(r, limit, c);
  }

  /** skips what is buffered of the string under way: true once it has all gone by */
  private skip(r: ByteReader, limit: number, c: Commit): boolean {
    if (r.pos + this.skipLeft <= r.end) {
      r.pos += this.skipLeft;
      this.skipLeft = 0;
      return true;
    }
    this.skipLeft -= r.end - r.pos;
    return this.skipRest(r, limit, c);
  }

  private skipRest(r: ByteReader, limit: number, c: Commit): false {
    r.pos = r.end;
    c.itemStart = r.pos;
    if (r.pos >= limit) return false;
    // the input has ended (limit is infinite then)
    return r.more(this.skipLeft);
  }
}
