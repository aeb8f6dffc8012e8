/**
 * One value of any type Redis (to RDB 12) and Valkey (to RDB 80) read, by its type byte: validated,
 * and decoded to plain JS when asked. `decodeValue` applies it to a value's raw bytes (the `value` of
 * an RdbRecord, or the middle of a DUMP payload).
 */
import { NEED_MORE, RdbFormatError } from './errors.js';
import {
  readHash,
  readHashBlob,
  readIntsetBlob,
  readList,
  readListZiplist,
  readQuicklist,
  readSet,
  readSetListpack,
  readZset,
  readZsetBlob,
} from './collections.js';
import { readHashListpackEx, readHashMetadata, readValkeyHash2 } from './hash-expiry.js';
import { readModule } from './module.js';
import { ByteReader } from './reader.js';
import { readStream } from './stream.js';
import { TYPE, type DecodedValue } from './types.js';
import { RDB_VALKEY_FIRST } from './versions.js';

/** Reads (and with `decode`, returns) the value of type `type` at the reader's position. */
export function readValue(r: ByteReader, type: number, decode: boolean): DecodedValue | undefined {
  switch (type) {
    case TYPE.STRING:
      if (decode) return { kind: 'string', value: r.strBuf() };
      r.skipStr();
      return undefined;
    case TYPE.LIST:
      return wrap('list', readList(r, decode));
    case TYPE.SET:
      return wrap('set', readSet(r, decode));
    case TYPE.ZSET:
      return wrap('zset', readZset(r, false, decode));
    case TYPE.HASH:
      return wrap('hash', readHash(r, decode));
    case TYPE.ZSET_2:
      return wrap('zset', readZset(r, true, decode));
    case TYPE.MODULE_2:
      return wrap('module', readModule(r, decode));
    case TYPE.HASH_ZIPMAP:
      return wrap('hash', readHashBlob(r, 'zipmap', decode));
    case TYPE.LIST_ZIPLIST:
      return wrap('list', readListZiplist(r, decode));
    case TYPE.SET_INTSET:
      return wrap('set', readIntsetBlob(r, decode));
    case TYPE.ZSET_ZIPLIST:
      return wrap('zset', readZsetBlob(r, 'ziplist', decode));
    case TYPE.HASH_ZIPLIST:
      return wrap('hash', readHashBlob(r, 'ziplist', decode));
    case TYPE.LIST_QUICKLIST:
      return wrap('list', readQuicklist(r, false, decode));
    case TYPE.STREAM_LISTPACKS:
      return wrap('stream', readStream(r, 1, decode));
    case TYPE.HASH_LISTPACK:
      return wrap('hash', readHashBlob(r, 'listpack', decode));
    case TYPE.ZSET_LISTPACK:
      return wrap('zset', readZsetBlob(r, 'listpack', decode));
    case TYPE.LIST_QUICKLIST_2:
      return wrap('list', readQuicklist(r, true, decode));
    case TYPE.STREAM_LISTPACKS_2:
      return wrap('stream', readStream(r, 2, decode));
    case TYPE.SET_LISTPACK:
      return wrap('set', readSetListpack(r, decode));
    case TYPE.STREAM_LISTPACKS_3:
      return wrap('stream', readStream(r, 3, decode));
    case TYPE.HASH_METADATA_PRE_GA:
      return r.valkey ? readValkeyHash2(r, decode) : readHashMetadata(r, false, decode);
    case TYPE.HASH_LISTPACK_EX_PRE_GA:
    case TYPE.HASH_METADATA:
    case TYPE.HASH_LISTPACK_EX:
      if (r.valkey) return r.fail(unknownTypeMessage(type, true));
      return type === TYPE.HASH_METADATA ? readHashMetadata(r, true, decode) : readHashListpackEx(r, type === TYPE.HASH_LISTPACK_EX, decode);
    default:
      return r.fail(unknownTypeMessage(type, r.valkey));
  }
}

export function unknownTypeMessage(type: number, valkey: boolean): string {
  if (type === TYPE.MODULE_PRE_GA) return 'value of type 6 (MODULE, the pre-GA module format) is not supported: servers since Redis 4.0 write MODULE_2 (7)';
  if (valkey && type >= 23 && type <= 25)
    return `value type ${type} is Redis's (hash field expiry), which a "VALKEY" file cannot hold (Valkey 9.0's own is 22)`;
  return `unknown value type ${type}`;
}

function wrap<K extends DecodedValue['kind']>(kind: K, value: Extract<DecodedValue, { kind: K }>['value'] | undefined): DecodedValue | undefined {
  return value === undefined ? undefined : ({ kind, value } as DecodedValue);
}

/**
 * Decodes the raw bytes of one value of RDB type `type` (what follows the key in an RDB, or a DUMP
 * payload without its type byte, version and CRC). `rdbVersion` 80 or more: a Valkey value (type 22
 * is Valkey's hash with field expiries); `strict`: a stream's length must match its entries. Throws RdbFormatError (offsets relative to
 * `value`) on any anomaly, including trailing bytes.
 */
export function decodeValue(type: number, value: Buffer, options: { source?: string; rdbVersion?: number; strict?: boolean } = {}): DecodedValue {
  const source = options.source ?? 'value';
  const r = new ByteReader(value, 0, value.length, 0, source, Number.MAX_SAFE_INTEGER);
  r.valkey = (options.rdbVersion ?? 0) >= RDB_VALKEY_FIRST;
  r.strict = options.strict === true;
  try {
    const decoded = readValue(r, type, true)!;
    if (r.pos !== value.length) r.fail(`${value.length - r.pos} bytes follow the end of the value`);
    return decoded;
  } catch (error) {
    if (error === NEED_MORE)
      throw new RdbFormatError(`value is truncated: it ends at byte ${value.length} but needs at least ${r.needEnd}`, { source, offset: value.length });
    if (error instanceof RdbFormatError) throw error;
    throw new RdbFormatError(`could not decode the value (${(error as Error)?.message ?? String(error)})`, { source, offset: r.pos }, error);
  }
}
