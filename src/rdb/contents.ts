/**
 * What an RDB holds, item by item: the header ("REDIS" and 4 digits, or Valkey 9.0's "VALKEY" and 3),
 * keys with their values and the expiry / idle / freq opcodes before them, and the other opcodes
 * (SELECTDB, RESIZEDB, AUX, MODULE_AUX, FUNCTION2, the pre-GA FUNCTION, SLOT_INFO, Valkey's
 * SLOT_IMPORT, EOF). Keeps the counts of the summary and calls the caller's callbacks.
 * header.ts reads the header and the cluster opcodes, meta-items.ts AUX, MODULE_AUX and functions.
 * RdbStreamParser (parser.ts) feeds it complete buffers and deals with chunks and the CRC.
 */
import { CallbackFailure, NEED_MORE, type RdbWarning } from './errors.js';
import { MetaItems } from './meta-items.js';
import { readHeader, readSlotImport, readSlotInfo } from './header.js';
import { ValueCursor } from './incremental.js';
import { ValuePieces, withPieces } from './value-pieces.js';
import { ByteReader, STR_RAW } from './reader.js';
import { plainString } from './plain-string.js';
import {
  KINDS,
  KIND_OF_TYPE,
  MODIFIER_NAMES,
  OP,
  OPCODE_NAMES,
  TYPE,
  type RdbDatabaseSummary,
  type RdbKeyRecord,
  type RdbKind,
  type RdbLeanParserOptions,
  type RdbParserOptions,
  type RdbSummary,
} from './types.js';
import { readValue, unknownTypeMessage } from './value.js';

/** warnings kept whole in the summary (the rest are counted) */
const WARNINGS_KEPT = 100;

/** types whose values incremental.ts can read element by element */
const ELEMENTWISE = new Uint8Array(256);
for (const t of [
  TYPE.STRING,
  TYPE.LIST,
  TYPE.SET,
  TYPE.ZSET,
  TYPE.HASH,
  TYPE.ZSET_2,
  TYPE.MODULE_2,
  TYPE.LIST_QUICKLIST,
  TYPE.STREAM_LISTPACKS,
  TYPE.LIST_QUICKLIST_2,
  TYPE.STREAM_LISTPACKS_2,
  TYPE.STREAM_LISTPACKS_3,
  TYPE.HASH_METADATA_PRE_GA,
  TYPE.HASH_METADATA,
])
  ELEMENTWISE[t] = 1;

/** with rawValues 'none', values longer than this are read element by element when they are not all there */
const ELEMENTWISE_ABOVE = 64 * 1024;
/**
 * with rawValues 'all', values longer than this are read element by element when they are not all
 * there, their bytes kept as the pieces they arrived in (RdbRecord.valueParts) instead of being
 * joined and read again each time more arrives
 */
const PIECES_ABOVE = 256 * 1024;

const EMPTY = Buffer.alloc(0);

export class RdbContents {
  private readonly options: RdbParserOptions | RdbLeanParserOptions;
  private readonly onRecord: ((record: RdbKeyRecord) => void) | undefined;
  /**
   * A value of an ELEMENTWISE type longer than this, found incomplete, is read on element by element
   * (-1: never, rawValues 'all'); records carry values of at most `valuesUpTo` bytes.
   */
  private readonly elementwiseAbove: number;
  private readonly valuesUpTo: number;
  /** the value being read element by element, with its record */
  readonly cursor = new ValueCursor();
  /** true while a value is read element by element (cursor) */
  open = false;
  /**
   * After NEED_MORE inside a value that may yet be read element by element: the absolute offset of
   * its record, and how many bytes of it the parser should gather at most before trying again.
   */
  retryItem = -1;
  retryBytes = 0;
  /** rawValues 'all': the open value's bytes read so far (undefined otherwise; the parser keeps them as it moves on) */
  readonly pieces: ValuePieces | undefined;
  version = 0;
  headerText = '';
  private readonly warnings: RdbWarning[] = [];
  private warningCount = 0;
  private db = 0;
  private dbStats: RdbDatabaseSummary;
  private readonly databases = new Map<number, RdbDatabaseSummary>();
  private readonly typeCounts = new Float64Array(256);
  private readonly meta: MetaItems;
  /** keys read so far */
  keysRead = 0;
  /** where the item being read started (in the reader's buffer) */
  itemStart = 0;

  constructor(options: RdbParserOptions | RdbLeanParserOptions) {
    this.options = options;
    this.meta = new MetaItems(options);
    // records without `value` only reach callbacks typed for them (RdbLeanParserOptions)
    this.onRecord = options.onRecord as ((record: RdbKeyRecord) => void) | undefined;
    const raw = options.rawValues ?? (options.onRecord ? 'all' : 'none');
    // switch well before the parser would refuse to buffer more (maxRecordBytes)
    const bufferable = Math.floor((options.maxRecordBytes ?? Infinity) / 2);
    this.pieces = raw === 'all' ? new ValuePieces() : undefined;
    if (raw === 'all') {
      this.elementwiseAbove = Math.min(PIECES_ABOVE, bufferable);
      this.valuesUpTo = Infinity;
    } else if (raw === 'none') {
      this.elementwiseAbove = Math.min(ELEMENTWISE_ABOVE, bufferable);
      this.valuesUpTo = -1;
    } else {
      const max = raw.maxBytes;
      if (!(max >= 0)) throw new RangeError(`rawValues.maxBytes must be a number >= 0, not ${max}`);
      this.elementwiseAbove = Math.min(max, bufferable);
      this.valuesUpTo = this.elementwiseAbove;
    }
    this.dbStats = this.selectDb(0);
  }

  /** records a warning (see RdbParserOptions.strict) and passes it to onWarning */
  warn(warning: RdbWarning): void {
    this.warningCount++;
    if (this.warnings.length < WARNINGS_KEPT) this.warnings.push(warning);
    const onWarning = this.options.onWarning;
    if (onWarning) this.callback(() => onWarning(warning));
  }

  /** the summary of what has been read, with `checksum` and the trailing bytes given by the parser */
  summary(bytes: number, checksum: RdbSummary['checksum'], trailingBytes: number): RdbSummary {
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
    return {
      version: this.version,
      header: this.headerText,
      warnings: [...this.warnings],
      warningCount: this.warningCount,
      trailingBytes,
      bytes,
      aux: { ...this.meta.aux },
      databases,
      kinds,
      types,
      functions: this.meta.functions,
      moduleAux: this.meta.moduleAux,
      checksum,
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

  /** the 9-byte header (header.ts) */
  header(r: ByteReader, source: string | undefined): void {
    const { version, text } = readHeader(r, source);
    this.version = version;
    this.headerText = text;
  }

  /**
   * Reads items (the parser's hot loop, kept apart from its rare paths) until the position reaches
   * `limit` (false) or the EOF opcode has been read (true). itemStart tracks the item under way.
   */
  readItems(r: ByteReader, limit: number): boolean {
    if (this.open && !this.readOpenValue(r, limit)) return false;
    for (;;) {
      const start = r.pos;
      this.itemStart = start;
      if (start >= limit) return false;
      if (plainString(r)) {
        this.dbStats.keys++;
        this.typeCounts[0]!++;
        this.keysRead++;
        if (this.onRecord) this.plainRecord(r, start);
      } else if (this.item(r, limit)) return true;
      else if (this.open) return false;
    }
  }

  /**
   * Reads one item; returns true when it was the EOF opcode. A value read element by element may
   * stop at `limit` (see readOpenValue): then `open` stays true.
   */
  item(r: ByteReader, limit: number): boolean {
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
    if (kind === undefined || (op >= 23 && op <= 25 && r.valkey)) {
      if (op < OP.SLOT_IMPORT) r.fail(unknownTypeMessage(op, r.valkey), r.pos - 1);
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
    if (this.elementwiseAbove >= 0 && ELEMENTWISE[op] === 1) {
      try {
        readValue(r, op, false);
      } catch (error) {
        if (error !== NEED_MORE) throw error;
        if (r.end - valueStart <= this.elementwiseAbove) {
          // retry with the whole value once it is there, or element by element once it is long
          this.retryItem = r.base + start;
          this.retryBytes = valueStart - start + this.elementwiseAbove + 1;
          throw error;
        }
        this.openValue(r, op, start, valueStart, expireAtMs, idle, freq);
        this.readOpenValue(r, limit);
        return false;
      }
    } else readValue(r, op, false);
    this.counted(op, expireAtMs);
    const onRecord = this.onRecord;
    if (onRecord) {
      const buf = r.buf;
      const key = r.keyBuf ?? Buffer.from(buf.buffer, buf.byteOffset + r.keyS, r.keyE - r.keyS);
      const length = r.pos - valueStart;
      const offset = r.base + start;
      const record: RdbKeyRecord =
        length <= this.valuesUpTo
          ? { db: this.db, key, type: op, kind, value: Buffer.from(buf.buffer, buf.byteOffset + valueStart, length), offset }
          : { db: this.db, key, type: op, kind, offset };
      this.deliver(onRecord, record, expireAtMs, idle, freq);
    }
    r.keyS = -1;
    r.keyBuf = undefined;
    return false;
  }

  private counted(type: number, expireAtMs: number): void {
    const stats = this.dbStats;
    stats.keys++;
    if (!Number.isNaN(expireAtMs)) stats.expires++;
    this.typeCounts[type]!++;
    this.keysRead++;
  }

  private deliver(onRecord: (record: RdbKeyRecord) => void, record: RdbKeyRecord, expireAtMs: number, idle: number, freq: number): void {
    if (!Number.isNaN(expireAtMs)) record.expireAtMs = expireAtMs;
    if (idle !== -1) record.idleSeconds = idle;
    if (freq !== -1) record.lfuFreq = freq;
    try {
      onRecord(record);
    } catch (error) {
      throw new CallbackFailure(error);
    }
  }

  /**
   * Switches the record starting at `start` to reading its value element by element from
   * `valueStart`: the key (copied) and the opcodes before it are done with.
   */
  private openValue(r: ByteReader, type: number, start: number, valueStart: number, expireAtMs: number, idle: number, freq: number): void {
    const cursor = this.cursor;
    cursor.start(type, Buffer.from(r.currentKey()!), r.base + start, r.valkey);
    cursor.expireAtMs = expireAtMs;
    cursor.idle = idle;
    cursor.freq = freq;
    this.open = true;
    r.keyBuf = cursor.key;
    r.keyS = -1;
    r.untrack();
    r.pos = valueStart;
    this.itemStart = valueStart;
    if (this.pieces) this.pieces.from = valueStart;
  }

  /** reads on in the open value: true once it (and its record) are done; false when it stopped at `limit` */
  private readOpenValue(r: ByteReader, limit: number): boolean {
    const cursor = this.cursor;
    r.keyBuf = cursor.key;
    if (!cursor.run(r, limit, this)) return false;
    this.pieces?.keep(r.buf, r.pos);
    this.open = false;
    const type = cursor.type;
    this.counted(type, cursor.expireAtMs);
    const onRecord = this.onRecord;
    const pieces = this.pieces?.take();
    if (onRecord) {
      const record: RdbKeyRecord = { db: this.db, key: cursor.key, type, kind: KIND_OF_TYPE[type]!, offset: cursor.offset };
      if (pieces) withPieces(record, pieces);
      this.deliver(onRecord, record, cursor.expireAtMs, cursor.idle, cursor.freq);
    }
    cursor.key = EMPTY;
    r.keyBuf = undefined;
    r.keyS = -1;
    return true;
  }

  /** the record of a plain string read by plainString() from `start` */
  private plainRecord(r: ByteReader, start: number): void {
    const buf = r.buf;
    const keyStart = start + 2;
    const valueStart = keyStart + buf[start + 1]!;
    const key = Buffer.from(buf.buffer, buf.byteOffset + keyStart, valueStart - keyStart);
    const length = r.pos - valueStart;
    const offset = r.base + start;
    const record: RdbKeyRecord =
      length <= this.valuesUpTo
        ? { db: this.db, key, type: 0, kind: 'string', value: Buffer.from(buf.buffer, buf.byteOffset + valueStart, length), offset }
        : { db: this.db, key, type: 0, kind: 'string', offset };
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
      case OP.SLOT_INFO:
        readSlotInfo(r, at);
        return false;
      case OP.SLOT_IMPORT:
        readSlotImport(r, at);
        return false;
      case OP.RESIZEDB: {
        const keys = r.len();
        const expires = r.len();
        this.dbStats.resizeHint = { keys, expires };
        return false;
      }
      case OP.AUX:
      case OP.MODULE_AUX:
      case OP.FUNCTION2:
      case OP.FUNCTION_PRE_GA:
        this.meta.read(r, op, at);
        return false;
      default:
        return r.fail(`unknown opcode 0x${op.toString(16)}`, at);
    }
  }
}
