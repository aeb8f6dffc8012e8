/**
 * What an RDB holds, item by item: the header, keys with their values and the expiry / idle / freq
 * opcodes before them, and the other opcodes (SELECTDB, RESIZEDB, AUX, MODULE_AUX, FUNCTION2, the
 * pre-GA FUNCTION, EOF). Keeps the counts of the summary and calls the caller's callbacks.
 * RdbStreamParser (parser.ts) feeds it complete buffers and deals with chunks and the CRC.
 */
import { ByteReader, STR_LZF, STR_RAW } from './reader.js';
import { readModuleFields, moduleTypeName } from './module.js';
import {
  KINDS, KIND_OF_TYPE, OP, RDB_MAX_VERSION, type RdbDatabaseSummary, type RdbKind, type RdbParserOptions, type RdbRecord,
  type RdbSummary,
} from './types.js';
import { readValue, unknownTypeMessage } from './value.js';

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

/** sentinel wrapper: an exception thrown by a caller's callback, passed through unchanged */
export class CallbackFailure {
  constructor(readonly error: unknown) {}
}

export class RdbContents {
  private readonly options: RdbParserOptions;
  private readonly onRecord: ((record: RdbRecord) => void) | undefined;
  version = 0;
  private db = 0;
  private dbStats: RdbDatabaseSummary;
  private readonly databases = new Map<number, RdbDatabaseSummary>();
  private readonly typeCounts = new Float64Array(256);
  private readonly aux: Record<string, string> = {};
  private functions = 0;
  private moduleAux = 0;
  /** keys read so far */
  keysRead = 0;
  /** where the item being read started (in the reader's buffer) */
  itemStart = 0;

  constructor(options: RdbParserOptions) {
    this.options = options;
    this.onRecord = options.onRecord;
    this.dbStats = this.selectDb(0);
  }

  /** the summary of what has been read, with `checksum` given by the parser */
  summary(bytes: number, checksum: RdbSummary['checksum']): RdbSummary {
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
      bytes,
      aux: { ...this.aux },
      databases,
      kinds,
      types,
      functions: this.functions,
      moduleAux: this.moduleAux,
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

  /** the 9-byte header: `REDIS` and a 4-digit version */
  header(r: ByteReader): void {
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
  }


  /**
   * Reads items (the parser's hot loop, kept apart from its rare paths) until the position reaches
   * `limit` (false) or the EOF opcode has been read (true). itemStart tracks the item under way.
   */
  readItems(r: ByteReader, limit: number): boolean {
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

  /** reads one item; returns true when it was the EOF opcode */
  item(r: ByteReader): boolean {
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
    const onRecord = this.onRecord;
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
