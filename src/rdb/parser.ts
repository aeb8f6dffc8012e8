/**
 * A push-based streaming RDB reader: write() chunks of any size (down to one byte), end() for the
 * summary. Records come out through callbacks as soon as their last byte arrives.
 *
 * Parsing is synchronous over a buffer. When an item (an opcode with its data, or a key with its
 * value and the expiry/idle/freq opcodes before it) is incomplete, the reader keeps the item's bytes
 * and retries only once the buffered bytes have at least doubled (or reached the size the item is
 * known to need, or the stream ended), so re-reading stays amortised linear. Memory is bounded by
 * the largest item, not by the file. The CRC-64 covers each byte once, as items complete.
 */
import { BlobError, NEED_MORE, RdbFormatError } from './errors.js';
import { crc64Hex, crc64Init, crc64Update, type Crc64State } from './crc64.js';
import { readModuleFields, moduleTypeName } from './module.js';
import { ByteReader, STR_LZF, STR_RAW } from './reader.js';
import {
  KINDS, KIND_OF_TYPE, OP, RDB_MAX_VERSION, type RdbDatabaseSummary, type RdbKind, type RdbParserOptions, type RdbRecord,
  type RdbSummary,
} from './types.js';
import { readValue, unknownTypeMessage } from './value.js';

const enum State {
  Header,
  Body,
  Checksum,
  Done,
  Failed,
}

const MODIFIER_NAMES: Record<number, string> = {
  [OP.EXPIRETIME_MS]: 'EXPIRETIME_MS',
  [OP.EXPIRETIME]: 'EXPIRETIME',
  [OP.IDLE]: 'IDLE',
  [OP.FREQ]: 'FREQ',
};

const OPCODE_NAMES: Record<number, string> = {
  [OP.FUNCTION_PRE_GA]: 'FUNCTION',
  [OP.FUNCTION2]: 'FUNCTION2',
  [OP.MODULE_AUX]: 'MODULE_AUX',
  [OP.AUX]: 'AUX',
  [OP.RESIZEDB]: 'RESIZEDB',
  [OP.SELECTDB]: 'SELECTDB',
  [OP.EOF]: 'EOF',
};

/** a chunk at least this long after an unfinished item is bridged rather than copied */
const BRIDGE_MIN = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** sentinel wrapper: an exception thrown by a caller's callback, passed through unchanged */
class CallbackFailure {
  constructor(readonly error: unknown) {}
}

export class RdbStreamParser {
  private readonly options: RdbParserOptions;
  private readonly source: string | undefined;
  private readonly maxRecordBytes: number;
  private state = State.Header;
  private error: unknown;

  /** bytes not yet consumed, starting at absolute offset `base` */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private retryAt = 0;
  /** where the item being read started (in the current buffer) */
  private itemStart = 0;
  /** bytes the unfinished item was known to need when it stopped */
  private needHint = 0;
  private base = 0;
  private readonly reader: ByteReader;
  private partialKey: Buffer | undefined;

  private readonly crc: Crc64State = crc64Init();
  private version = 0;
  private db = 0;
  private dbStats: RdbDatabaseSummary;
  private readonly databases = new Map<number, RdbDatabaseSummary>();
  private readonly typeCounts = new Float64Array(256);
  private readonly aux: Record<string, string> = {};
  private functions = 0;
  private moduleAux = 0;
  private storedChecksum = '';
  private totalBytes = 0;

  constructor(options: RdbParserOptions = {}) {
    this.options = options;
    this.source = options.source;
    this.maxRecordBytes = options.maxRecordBytes ?? 2 ** 32;
    this.onRecord = options.onRecord;
    this.reader = new ByteReader(Buffer.alloc(0), 0, 0, 0, this.source, this.maxRecordBytes);
    this.dbStats = this.selectDb(0);
  }

  private readonly onRecord: ((record: RdbRecord) => void) | undefined;
  /** keys read so far (a cheap progress counter: no onRecord needed) */
  keysRead = 0;

  /** true once the EOF opcode (and checksum) have been read */
  get finished(): boolean {
    return this.state === State.Done;
  }

  /** bytes accepted so far */
  get position(): number {
    return this.base + this.pendingBytes;
  }

  /**
   * Feeds the next bytes. The parser takes the chunk over (records' key and value are views into it,
   * and an unfinished item stays a view until it completes): do not modify a chunk once written.
   * Throws RdbFormatError at the first anomaly; every later call throws it again.
   */
  write(chunk: Buffer): void {
    if (this.state === State.Failed) throw this.error;
    if (chunk.length === 0) return;
    if (this.state === State.Done) {
      this.failWith(new RdbFormatError(`${chunk.length}+ bytes follow the end of the RDB (its checksum ends at byte ${this.totalBytes})`, { source: this.source, offset: this.totalBytes }));
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.retryAt) {
      if (this.pendingBytes > this.maxRecordBytes) {
        this.failWith(new RdbFormatError(`the item starting here is larger than the ${this.maxRecordBytes}-byte limit (maxRecordBytes)`, { source: this.source, offset: this.base }));
      }
      return;
    }
    this.run(false);
  }

  /** Declares the input complete: throws RdbFormatError if it is truncated, otherwise the summary. */
  end(): RdbSummary {
    if (this.state === State.Failed) throw this.error;
    if (this.state !== State.Done) this.run(true);
    return this.summary();
  }

  summary(): RdbSummary {
    const kinds = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<RdbKind, number>;
    const types: Record<string, number> = {};
    for (let t = 0; t < 256; t++) {
      const n = this.typeCounts[t]!;
      if (n === 0) continue;
      types[String(t)] = n;
      kinds[KIND_OF_TYPE[t]!] += n;
    }
    const databases: Record<string, RdbDatabaseSummary> = {};
    for (const [db, stats] of [...this.databases.entries()].sort((a, b) => a[0] - b[0])) {
      if (stats.keys === 0 && stats.resizeHint === undefined) continue;
      databases[String(db)] = { ...stats, ...(stats.resizeHint ? { resizeHint: { ...stats.resizeHint } } : {}) };
    }
    const computed = crc64Hex(this.crc);
    const disabled = this.storedChecksum === '' || /^0+$/.test(this.storedChecksum);
    return {
      version: this.version,
      bytes: this.totalBytes,
      aux: { ...this.aux },
      databases,
      kinds,
      types,
      functions: this.functions,
      moduleAux: this.moduleAux,
      checksum: {
        stored: this.storedChecksum,
        computed,
        verified: this.state === State.Done && !disabled && this.storedChecksum === computed,
        disabled,
      },
    };
  }

  private selectDb(db: number): RdbDatabaseSummary {
    let stats = this.databases.get(db);
    if (!stats) {
      stats = { keys: 0, expires: 0 };
      this.databases.set(db, stats);
    }
    this.db = db;
    this.dbStats = stats;
    return stats;
  }

  private failWith(error: unknown): never {
    this.state = State.Failed;
    this.error = error;
    this.pending = [];
    this.pendingBytes = 0;
    throw error;
  }

  /**
   * Parses the pending bytes. When a small unfinished item is followed by a large chunk, the item is
   * finished in a small "bridge" buffer (the item's bytes and the chunk's first bytes) and parsing
   * then moves into the chunk itself, so large chunks are never copied.
   */
  private run(final: boolean, bridging = true): void {
    const pending = this.pending;
    const last = pending[pending.length - 1] ?? EMPTY;
    const head = this.pendingBytes - last.length;
    let tail: Buffer | undefined;
    let buf: Buffer;
    if (bridging && pending.length > 1 && last.length >= BRIDGE_MIN + 2 * head) {
      const prefix = Math.max(BRIDGE_MIN, 2 * head, this.needHint);
      if (prefix < last.length) {
        tail = last;
        pending[pending.length - 1] = last.subarray(0, prefix);
        buf = Buffer.concat(pending, head + prefix);
      } else buf = Buffer.concat(pending, this.pendingBytes);
    } else buf = pending.length === 1 ? last : Buffer.concat(pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const r = this.reader;
    r.reset(buf, 0, buf.length, this.base);
    let committed = 0;
    let crcDone = 0;
    try {
      while (this.state !== State.Done) {
        committed = r.pos;
        this.itemStart = committed;
        if (tail && committed >= head) {
          // the bridged item is done: continue inside the chunk itself
          crc64Update(this.crc, buf, crcDone, committed);
          this.base += head;
          committed -= head;
          crcDone = committed;
          buf = tail;
          tail = undefined;
          r.reset(buf, committed, buf.length, this.base);
          this.itemStart = committed;
        }
        if (this.state === State.Body) {
          if (this.items(r, tail ? head : final ? Infinity : buf.length)) {
            // the EOF opcode: the checksum covers everything through it
            crc64Update(this.crc, buf, crcDone, r.pos);
            crcDone = r.pos;
            this.state = this.version >= 5 ? State.Checksum : State.Done;
            if (this.state === State.Done) this.totalBytes = this.base + r.pos;
          } else if (!tail) r.more(1);
        } else {
          if (committed === buf.length && !final) r.more(1);
          if (this.state === State.Header) this.header(r);
          else this.checksum(r);
        }
      }
      committed = r.pos;
      if (tail) {
        // the RDB ended inside the bridge; whatever follows in the chunk is trailing garbage
        this.base += committed;
        this.failWith(new RdbFormatError(`${head + tail.length - committed} bytes follow the end of the RDB (its checksum ends at byte ${this.base})`, { source: this.source, offset: this.base }));
      }
      if (committed < buf.length) {
        r.fail(`${buf.length - committed} bytes follow the end of the RDB (its checksum ends at byte ${this.base + committed})`, committed);
      }
      this.base += committed;
    } catch (error) {
      if (error === NEED_MORE) {
        committed = this.itemStart;
        crc64Update(this.crc, buf, crcDone, committed);
        if (tail) {
          // the item is longer than the bridge: start again from it, copying the chunk this time
          this.base += committed;
          this.pending = [buf.subarray(committed, head), tail];
          this.pendingBytes = head - committed + tail.length;
          this.run(final, false);
          return;
        }
        this.keepRest(buf, committed, r, final);
        return;
      }
      if (this.state === State.Failed) throw error;
      this.failWith(this.convert(error, r));
    }
  }

  /**
   * Reads items (the hot loop, kept apart from the rare paths of run()) until the position reaches
   * `limit` (false) or the EOF opcode has been read (true). this.itemStart tracks the item under way.
   */
  private items(r: ByteReader, limit: number): boolean {
    for (;;) {
      const start = r.pos;
      this.itemStart = start;
      if (start >= limit) return false;
      if (plainString(r)) {
        this.dbStats.keys++;
        this.typeCounts[0]!++;
        this.keysRead++;
        if (this.onRecord) this.plainRecord(r, start);
      } else if (this.item(r)) return true;
    }
  }

  private keepRest(buf: Buffer, committed: number, r: ByteReader, final: boolean): void {
    const restLength = buf.length - committed;
    const key = r.currentKey();
    this.partialKey = key ? Buffer.from(key) : undefined;
    const need = r.needEnd - committed;
    this.base += committed;
    if (final) this.failWith(this.truncated(restLength, need));
    // a view, not a copy: write() takes over the chunks it is given
    if (restLength > 0) this.pending = [buf.subarray(committed)];
    this.pendingBytes = restLength;
    // retry once the bytes have doubled, or reached what the item needs or (within reason) is projected to need
    const guess = Math.min(r.guessEnd - committed, 8 * restLength);
    this.retryAt = Math.max(2 * restLength, need, guess, restLength + 1);
    this.needHint = need;
    if (this.retryAt > this.maxRecordBytes && need > this.maxRecordBytes) {
      this.failWith(new RdbFormatError(`the item starting here needs ${need} bytes, more than the ${this.maxRecordBytes}-byte limit (maxRecordBytes)`, { source: this.source, offset: this.base, key: this.partialKey }));
    }
  }

  private truncated(restLength: number, need: number): RdbFormatError {
    const end = this.base + restLength;
    const place = { source: this.source, offset: end, key: this.partialKey };
    if (this.state === State.Header) return new RdbFormatError(`truncated: the file has ${end} bytes, fewer than the 9-byte header`, place);
    if (this.state === State.Checksum) return new RdbFormatError(`truncated: the file ends inside the 8-byte checksum after the EOF opcode (${restLength} of 8 bytes)`, place);
    if (restLength === 0) return new RdbFormatError('truncated: the file ends without the EOF opcode (0xFF)', place);
    const what = this.partialKey ? 'record' : 'item';
    return new RdbFormatError(`truncated: the file ends inside the ${what} starting at byte ${this.base}, which needs at least ${need} bytes (has ${restLength})`, place);
  }

  private convert(error: unknown, r: ByteReader): unknown {
    if (error instanceof CallbackFailure) return error.error;
    if (error instanceof RdbFormatError) return error;
    const detail = error instanceof BlobError ? error.message : `internal error while reading (${(error as Error)?.message ?? String(error)})`;
    return new RdbFormatError(detail, { source: this.source, offset: r.base + r.pos, key: r.currentKey() }, error);
  }

  private header(r: ByteReader): void {
    r.need(9);
    const buf = r.buf;
    const magic = buf.toString('latin1', 0, 5);
    if (magic !== 'REDIS') r.fail(`not an RDB file: it starts with ${JSON.stringify(buf.toString('latin1', 0, 9))}, not "REDIS" and a 4-digit version`, 0);
    const digits = buf.toString('latin1', 5, 9);
    if (!/^[0-9]{4}$/.test(digits)) r.fail(`RDB version "${digits}" is not 4 digits`, 5);
    const version = Number(digits);
    if (version < 1) r.fail(`RDB version ${version} does not exist`, 5);
    if (version > RDB_MAX_VERSION) r.fail(`RDB version ${version} is newer than Redis 7.0 reads (it reads versions 1 to ${RDB_MAX_VERSION})`, 5);
    this.version = version;
    r.pos = 9;
    this.state = State.Body;
  }

  private checksum(r: ByteReader): void {
    const at = r.pos;
    r.need(8);
    const stored = r.buf.readBigUInt64LE(at).toString(16).padStart(16, '0');
    this.storedChecksum = stored;
    const computed = crc64Hex(this.crc);
    if (stored !== '0000000000000000' && stored !== computed) {
      r.fail(`checksum mismatch: the file stores CRC-64 ${stored} but its bytes give ${computed}`, at);
    }
    r.pos = at + 8;
    this.totalBytes = this.base + r.pos;
    this.state = State.Done;
  }

  /** reads one item; returns true when it was the EOF opcode */
  private item(r: ByteReader): boolean {
    const start = r.pos;
    let op = r.u8();
    let expireAtMs = NaN;
    let idle = -1;
    let freq = -1;
    let modifiers = false;
    while (op === OP.EXPIRETIME_MS || op === OP.EXPIRETIME || op === OP.IDLE || op === OP.FREQ) {
      const at = r.pos - 1;
      if (op === OP.EXPIRETIME_MS || op === OP.EXPIRETIME) {
        if (!Number.isNaN(expireAtMs)) r.fail('a second expiry opcode for the same key', at);
        expireAtMs = op === OP.EXPIRETIME_MS ? r.i64() : r.i32() * 1000;
      } else if (op === OP.IDLE) {
        if (idle !== -1) r.fail('a second IDLE opcode for the same key', at);
        idle = r.len();
      } else {
        if (freq !== -1) r.fail('a second FREQ opcode for the same key', at);
        freq = r.u8();
      }
      modifiers = true;
      op = r.u8();
    }
    const kind = KIND_OF_TYPE[op];
    if (kind === undefined) {
      if (op < OP.FUNCTION2) r.fail(unknownTypeMessage(op), r.pos - 1);
      if (modifiers) r.fail(`opcode ${OPCODE_NAMES[op]} follows ${MODIFIER_NAMES[r.buf[start]!]}, which must be followed by a key`, r.pos - 1);
      return this.opcode(r, op);
    }
    // a key and its value
    r.str();
    if (r.sEnc === STR_RAW) {
      r.keyS = r.sStart;
      r.keyE = r.sEnd;
    } else r.keyBuf = r.lastBuf();
    const valueStart = r.pos;
    readValue(r, op, false);
    const stats = this.dbStats;
    stats.keys++;
    if (!Number.isNaN(expireAtMs)) stats.expires++;
    this.typeCounts[op]!++;
    this.keysRead++;
    const onRecord = this.options.onRecord;
    if (onRecord) {
      const buf = r.buf;
      const record: RdbRecord = {
        db: this.db,
        key: r.keyBuf ?? Buffer.from(buf.buffer, buf.byteOffset + r.keyS, r.keyE - r.keyS),
        type: op,
        kind,
        value: Buffer.from(buf.buffer, buf.byteOffset + valueStart, r.pos - valueStart),
        offset: r.base + start,
      };
      if (!Number.isNaN(expireAtMs)) record.expireAtMs = expireAtMs;
      if (idle !== -1) record.idleSeconds = idle;
      if (freq !== -1) record.lfuFreq = freq;
      try {
        onRecord(record);
      } catch (error) {
        throw new CallbackFailure(error);
      }
    }
    r.keyS = -1;
    r.keyBuf = undefined;
    return false;
  }

  /** the record of a plain string read by plainString() from `start` */
  private plainRecord(r: ByteReader, start: number): void {
    const buf = r.buf;
    const keyStart = start + 2;
    const valueStart = keyStart + buf[start + 1]!;
    const record: RdbRecord = {
      db: this.db,
      key: Buffer.from(buf.buffer, buf.byteOffset + keyStart, valueStart - keyStart),
      type: 0,
      kind: 'string',
      value: Buffer.from(buf.buffer, buf.byteOffset + valueStart, r.pos - valueStart),
      offset: r.base + start,
    };
    try {
      this.onRecord!(record);
    } catch (error) {
      throw new CallbackFailure(error);
    }
  }

  private callback(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      throw new CallbackFailure(error);
    }
  }

  private opcode(r: ByteReader, op: number): boolean {
    const at = r.pos - 1;
    switch (op) {
      case OP.EOF:
        return true;
      case OP.SELECTDB: {
        const db = r.len();
        if (db > 0x7fffffff) r.fail(`SELECTDB ${db} is beyond any database number`, at);
        this.selectDb(db);
        return false;
      }
      case OP.RESIZEDB: {
        const keys = r.len();
        const expires = r.len();
        this.dbStats.resizeHint = { keys, expires };
        return false;
      }
      case OP.AUX: {
        const key = r.strBuf().toString('latin1');
        const value = r.strBuf();
        this.aux[key] = value.toString('utf8');
        const onAux = this.options.onAux;
        if (onAux) this.callback(() => onAux(key, value));
        return false;
      }
      case OP.MODULE_AUX: {
        const moduleId = r.lenBig();
        const whenAt = r.pos;
        const whenOpcode = r.len();
        if (whenOpcode !== 2) r.fail(`MODULE_AUX "when" field has opcode ${whenOpcode}, not 2 (unsigned)`, whenAt);
        const when = r.len();
        const fieldsStart = r.pos;
        readModuleFields(r);
        this.moduleAux++;
        const onModuleAux = this.options.onModuleAux;
        if (onModuleAux) {
          const aux = {
            moduleId,
            moduleName: moduleTypeName(moduleId),
            encodingVersion: Number(moduleId & 1023n),
            when,
            bytes: r.buf.subarray(fieldsStart, r.pos),
            offset: r.base + at,
          };
          this.callback(() => onModuleAux(aux));
        }
        return false;
      }
      case OP.FUNCTION2: {
        r.str();
        this.functions++;
        const onFunction = this.options.onFunction;
        if (onFunction) {
          const code = r.lastBuf();
          this.callback(() => onFunction(code, r.base + at));
        } else if (r.sEnc === STR_LZF) r.checkLzf();
        return false;
      }
      case OP.FUNCTION_PRE_GA: {
        // 7.0 release candidates: name, engine, has-description, [description], code
        const name = r.strBuf();
        const engine = r.strBuf();
        if (r.len() !== 0) r.skipStr();
        const body = r.strBuf();
        this.functions++;
        const onFunction = this.options.onFunction;
        if (onFunction) {
          const code = Buffer.concat([Buffer.from(`#!${engine.toString('latin1')} name=${name.toString('latin1')}\n`, 'latin1'), body]);
          this.callback(() => onFunction(code, r.base + at));
        }
        return false;
      }
      default:
        return r.fail(`unknown opcode 0x${op.toString(16)}`, at);
    }
  }
}

/**
 * The commonest record, a string key (up to 63 bytes, raw) with a raw or integer-encoded string
 * value and no expiry, read in one small function that the JIT optimises early. Anything else (or
 * a record cut by the end of the buffer) returns false and goes the general way.
 */
function plainString(r: ByteReader): boolean {
  const buf = r.buf;
  const end = r.end;
  let q = r.pos;
  if (q + 3 > end || buf[q] !== 0) return false;
  const k = buf[q + 1]!;
  if (k >= 0x40) return false;
  q += 2 + k;
  if (q >= end) return false;
  const v = buf[q]!;
  if (v < 0x40) q += 1 + v;
  else if (v < 0x80) {
    if (q + 1 >= end) return false;
    q += 2 + (((v & 0x3f) << 8) | buf[q + 1]!);
  } else if (v === 0xc0) q += 2;
  else if (v === 0xc1) q += 3;
  else if (v === 0xc2) q += 5;
  else return false;
  if (q > end) return false;
  r.pos = q;
  return true;
}
