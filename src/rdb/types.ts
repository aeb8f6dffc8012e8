/**
 * Constants of the RDB format (Redis up to RDB 12, Valkey's RDB 80; versions.ts has the versions) and
 * the public shapes of the reader. Type and opcode numbers: Redis `src/rdb.h` at 7.4.0 (types 20-25,
 * SLOT_INFO) and Valkey `src/rdb.h` at 9.0 (RDB_TYPE_HASH_2 = 22, SLOT_IMPORT = 243).
 */
import type { RdbWarning } from './errors.js';

export { RDB_MAX_VALKEY_VERSION as RDB_MAX_VERSION } from './versions.js';

export const OP = {
  /** Valkey 9.0 (VALKEY header only): a slot import under way: job name, range count, ranges */
  SLOT_IMPORT: 0xf3,
  /** Redis 7.4 (cluster mode): slot id, keys and expires in it, three lengths; Valkey loads it too */
  SLOT_INFO: 0xf4,
  FUNCTION_PRE_GA: 0xf6,
  FUNCTION2: 0xf5,
  MODULE_AUX: 0xf7,
  IDLE: 0xf8,
  FREQ: 0xf9,
  AUX: 0xfa,
  RESIZEDB: 0xfb,
  EXPIRETIME_MS: 0xfc,
  EXPIRETIME: 0xfd,
  SELECTDB: 0xfe,
  EOF: 0xff,
} as const;

/** the key modifiers' opcodes by name, for messages */
export const MODIFIER_NAMES: Record<number, string> = {
  [OP.EXPIRETIME_MS]: 'EXPIRETIME_MS',
  [OP.EXPIRETIME]: 'EXPIRETIME',
  [OP.IDLE]: 'IDLE',
  [OP.FREQ]: 'FREQ',
};

/** the other opcodes by name, for messages */
export const OPCODE_NAMES: Record<number, string> = {
  [OP.SLOT_IMPORT]: 'SLOT_IMPORT',
  [OP.SLOT_INFO]: 'SLOT_INFO',
  [OP.FUNCTION_PRE_GA]: 'FUNCTION',
  [OP.FUNCTION2]: 'FUNCTION2',
  [OP.MODULE_AUX]: 'MODULE_AUX',
  [OP.AUX]: 'AUX',
  [OP.RESIZEDB]: 'RESIZEDB',
  [OP.SELECTDB]: 'SELECTDB',
  [OP.EOF]: 'EOF',
};

export const TYPE = {
  STRING: 0,
  LIST: 1,
  SET: 2,
  ZSET: 3,
  HASH: 4,
  ZSET_2: 5,
  MODULE_PRE_GA: 6,
  MODULE_2: 7,
  HASH_ZIPMAP: 9,
  LIST_ZIPLIST: 10,
  SET_INTSET: 11,
  ZSET_ZIPLIST: 12,
  HASH_ZIPLIST: 13,
  LIST_QUICKLIST: 14,
  STREAM_LISTPACKS: 15,
  HASH_LISTPACK: 16,
  ZSET_LISTPACK: 17,
  LIST_QUICKLIST_2: 18,
  STREAM_LISTPACKS_2: 19,
  /** Redis 7.2 (RDB 11) */
  SET_LISTPACK: 20,
  /** Redis 7.2 (RDB 11): type 19 with each consumer's active time */
  STREAM_LISTPACKS_3: 21,
  /**
   * In "REDIS" files, Redis 7.4 release candidates: a hash with field expiries, absolute. In
   * "VALKEY" files this number is Valkey 9.0's RDB_TYPE_HASH_2 (see VALKEY_HASH_2).
   */
  HASH_METADATA_PRE_GA: 22,
  /** Redis 7.4 release candidates: listpack of field, value, expiry triplets */
  HASH_LISTPACK_EX_PRE_GA: 23,
  /** Redis 7.4: minimum expiry, then fields with expiries relative to it */
  HASH_METADATA: 24,
  /** Redis 7.4: minimum expiry, then a listpack of field, value, expiry triplets */
  HASH_LISTPACK_EX: 25,
} as const;

/** Valkey 9.0's hash with field expiries: count, then field, value, 8-byte expiry (-1: none) */
export const VALKEY_HASH_2 = 22;

export type RdbKind = 'string' | 'list' | 'set' | 'zset' | 'hash' | 'stream' | 'module';

export const KINDS: readonly RdbKind[] = ['string', 'list', 'set', 'zset', 'hash', 'stream', 'module'];

/** kind of each value type byte (undefined: not a value type; in "VALKEY" files 23-25 are not either) */
export const KIND_OF_TYPE: ReadonlyArray<RdbKind | undefined> = (() => {
  const k: Array<RdbKind | undefined> = new Array(256).fill(undefined);
  k[TYPE.STRING] = 'string';
  for (const t of [TYPE.LIST, TYPE.LIST_ZIPLIST, TYPE.LIST_QUICKLIST, TYPE.LIST_QUICKLIST_2]) k[t] = 'list';
  for (const t of [TYPE.SET, TYPE.SET_INTSET, TYPE.SET_LISTPACK]) k[t] = 'set';
  for (const t of [TYPE.ZSET, TYPE.ZSET_2, TYPE.ZSET_ZIPLIST, TYPE.ZSET_LISTPACK]) k[t] = 'zset';
  for (const t of [
    TYPE.HASH,
    TYPE.HASH_ZIPMAP,
    TYPE.HASH_ZIPLIST,
    TYPE.HASH_LISTPACK,
    TYPE.HASH_METADATA_PRE_GA,
    TYPE.HASH_LISTPACK_EX_PRE_GA,
    TYPE.HASH_METADATA,
    TYPE.HASH_LISTPACK_EX,
  ])
    k[t] = 'hash';
  for (const t of [TYPE.STREAM_LISTPACKS, TYPE.STREAM_LISTPACKS_2, TYPE.STREAM_LISTPACKS_3]) k[t] = 'stream';
  k[TYPE.MODULE_2] = 'module';
  return k;
})();

export interface RdbRecord {
  db: number;
  key: Buffer;
  /** the RDB value type byte */
  type: number;
  kind: RdbKind;
  /**
   * The value's bytes exactly as in the file, after the key: `[type][value][u16 LE rdb version][crc64
   * LE]` is a RESTORE payload. A view into the bytes given to write(); copy it to keep it past the
   * caller's reuse of those buffers.
   */
  value: Buffer;
  /**
   * The same bytes as `value`, when they arrived in pieces (a value over 256 KiB that was not whole
   * in one write()): views of the written chunks, in order. `value` joins them into one buffer the
   * first time it is read; a consumer that can use the pieces one after another (a socket write)
   * skips that copy.
   */
  valueParts?: readonly Buffer[];
  /** absolute expiry, Unix milliseconds */
  expireAtMs?: number;
  idleSeconds?: number;
  lfuFreq?: number;
  /** byte offset of the record's first byte (its expiry, idle or freq opcode if any) */
  offset: number;
}

/**
 * A record from a parser whose `rawValues` is 'none' or `{ maxBytes }`: everything an RdbRecord
 * says, but `value` only when the value has at most `maxBytes` bytes (never with 'none'). A value
 * without its bytes has been validated all the same, usually element by element as it arrived.
 */
export interface RdbKeyRecord extends Omit<RdbRecord, 'value'> {
  value?: Buffer;
}

/**
 * Which records need their value's raw bytes:
 * - 'all': every one (RdbRecord.value). The parser holds each value whole until it has been
 *   validated, so memory grows with the largest value in the file. A value over 256 KiB that is not
 *   complete in the bytes at hand is validated element by element as it arrives (as with 'none'),
 *   its bytes kept as the pieces they came in (RdbRecord.valueParts), never copied or read twice.
 * - 'none': none. Values are validated element by element as their bytes arrive (strings, lists,
 *   sets, sorted sets and hashes in their hashtable/skiplist/linked encodings one element at a time,
 *   quicklists and streams one node at a time, module values one field at a time) once they are
 *   larger than 64 KiB and not already complete in the bytes at hand; what the parser keeps is then
 *   bounded by the largest element or node (a listpack, ziplist, intset or LZF string is still held
 *   whole: Redis keeps those small) plus, for sets, sorted sets and hashes, a 64-bit fingerprint per
 *   member for the duplicate-member check (at most 16 bytes per member).
 * - `{ maxBytes }`: values of at most maxBytes bytes are delivered whole (RdbKeyRecord.value); larger
 *   ones are validated element by element as with 'none' and delivered without `value`.
 * With maxRecordBytes set, 64 KiB and maxBytes are capped at half of it.
 */
export type RdbRawValues = 'all' | 'none' | { maxBytes: number };

export interface RdbModuleAux {
  /** the 64-bit module type id: 54 bits of name, 10 bits of encoding version */
  moduleId: bigint;
  /** the 9-character module type name encoded in the id */
  moduleName: string;
  encodingVersion: number;
  /** REDISMODULE_AUX_BEFORE_RDB (1) or AFTER_RDB (2) */
  when: number;
  /** the module's fields, raw, through the closing EOF field */
  bytes: Buffer;
  offset: number;
}

interface RdbParserCommonOptions {
  /** file name (or label) used in error messages */
  source?: string;
  /** the library source of a FUNCTION2 opcode (pre-GA FUNCTION opcodes are converted to the same form) */
  onFunction?: (libraryCode: Buffer, offset: number) => void;
  onAux?: (key: string, value: Buffer) => void;
  onModuleAux?: (aux: RdbModuleAux) => void;
  /**
   * true: everything the servers load but that is not as they write it is damage (a stream whose
   * declared length differs from its entries, bytes after the checksum). false (the default): those
   * are warnings (onWarning, RdbSummary.warnings), as Redis loads such files.
   */
  strict?: boolean;
  onWarning?: (warning: RdbWarning) => void;
  /**
   * Largest record (key, value and its opcodes) the reader will buffer, in bytes; a declared length
   * beyond it is reported as corruption instead of waiting for that many bytes. Default: the largest
   * Buffer Node can allocate.
   */
  maxRecordBytes?: number;
}

/**
 * Options of a parser whose records carry their values' raw bytes. Without onRecord nobody needs
 * them, and the parser reads as with `rawValues: 'none'` (constant memory within large values).
 */
export interface RdbParserOptions extends RdbParserCommonOptions {
  /** 'all' (the default when onRecord is given): see RdbRawValues */
  rawValues?: 'all';
  onRecord?: (record: RdbRecord) => void;
}

/** Options of a parser whose records need not carry their values (see RdbRawValues). */
export interface RdbLeanParserOptions extends RdbParserCommonOptions {
  rawValues: 'none' | { maxBytes: number };
  onRecord?: (record: RdbKeyRecord) => void;
}

export interface RdbDatabaseSummary {
  keys: number;
  expires: number;
  /** the RESIZEDB hint written by the server (sizes of its main and expires dictionaries) */
  resizeHint?: { keys: number; expires: number };
}

export interface RdbSummary {
  version: number;
  /** the 9-byte header, "REDIS0012" or "VALKEY080" */
  header: string;
  /** what a strict reader would have refused (the first 100; warningCount counts them all) */
  warnings: RdbWarning[];
  warningCount: number;
  /** bytes after the checksum (an AOF's RDB preamble is followed by its commands); 0 when none */
  trailingBytes: number;
  /** bytes read, through the checksum */
  bytes: number;
  aux: Record<string, string>;
  databases: Record<string, RdbDatabaseSummary>;
  kinds: Record<RdbKind, number>;
  types: Record<string, number>;
  functions: number;
  moduleAux: number;
  checksum: {
    /** 16 hex digits as stored (little-endian bytes read as a number), '' when the version has none */
    stored: string;
    computed: string;
    verified: boolean;
    /** true when the stored checksum is 0 (saved with `rdbchecksum no`) or the version predates checksums */
    disabled: boolean;
  };
}

export interface DecodedStreamEntry {
  /** `<ms>-<seq>` */
  id: string;
  fields: Array<[Buffer, Buffer]>;
}

export interface DecodedStreamPending {
  id: string;
  deliveryTimeMs: number;
  deliveryCount: number;
  /** the consumer owning the entry (every entry of a group's PEL has one) */
  consumer: Buffer;
}

export interface DecodedStreamConsumer {
  name: Buffer;
  seenTimeMs: number;
  /** RDB type 21 only */
  activeTimeMs?: number;
  /** ids of the pending entries owned by this consumer, in order */
  pending: string[];
}

export interface DecodedStreamGroup {
  name: Buffer;
  lastId: string;
  /** entries_read (RDB type 19); undefined for type 15 */
  entriesRead?: number;
  pending: DecodedStreamPending[];
  consumers: DecodedStreamConsumer[];
}

export interface DecodedStream {
  /** live (not deleted) entries, in id order */
  entries: DecodedStreamEntry[];
  /** entries flagged deleted but still inside the listpacks */
  deletedInListpacks: number;
  length: number;
  lastId: string;
  /** RDB type 19 only */
  firstId?: string;
  maxDeletedId?: string;
  entriesAdded?: number;
  groups: DecodedStreamGroup[];
}

export interface DecodedModule {
  moduleId: bigint;
  moduleName: string;
  encodingVersion: number;
  /** the module's fields, raw, through the closing EOF field */
  bytes: Buffer;
}

export type DecodedValue =
  | { kind: 'string'; value: Buffer }
  | { kind: 'list'; value: Buffer[] }
  | { kind: 'set'; value: Buffer[] }
  | { kind: 'zset'; value: Array<[Buffer, number]> }
  | {
      kind: 'hash';
      value: Array<[Buffer, Buffer]>;
      /** types 22-25 (and Valkey's 22): each field's absolute expiry in Unix ms, undefined where it has none */
      fieldExpireAtMs?: Array<number | undefined>;
    }
  | { kind: 'stream'; value: DecodedStream }
  | { kind: 'module'; value: DecodedModule };
