/**
 * One value of any type Redis 7.0 reads, by its type byte: validated, and decoded to plain JS when
 * asked. `decodeValue` applies it to a value's raw bytes (the `value` of an RdbRecord, or the middle
 * of a DUMP payload).
 */
import { NEED_MORE, RdbFormatError } from './errors.js';
import {
  readHash, readHashBlob, readIntsetBlob, readList, readListZiplist, readQuicklist, readSet, readZset, readZsetBlob,
} from './collections.js';
import { readModule } from './module.js';
import { ByteReader } from './reader.js';
import { readStream } from './stream.js';
import { TYPE, type DecodedValue } from './types.js';

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
      return wrap('stream', readStream(r, false, decode));
    case TYPE.HASH_LISTPACK:
      return wrap('hash', readHashBlob(r, 'listpack', decode));
    case TYPE.ZSET_LISTPACK:
      return wrap('zset', readZsetBlob(r, 'listpack', decode));
    case TYPE.LIST_QUICKLIST_2:
      return wrap('list', readQuicklist(r, true, decode));
    case TYPE.STREAM_LISTPACKS_2:
      return wrap('stream', readStream(r, true, decode));
    default:
      return r.fail(unknownTypeMessage(type));
  }
}

export function unknownTypeMessage(type: number): string {
  if (type === TYPE.MODULE_PRE_GA) return 'value of type 6 (MODULE, the pre-GA module format) is not supported: Redis 7.0 writes MODULE_2 (7)';
  if (type >= 20 && type <= 25) return `value type ${type} comes from Redis 7.2 or later; Redis 7.0 cannot load it`;
  return `unknown value type ${type}`;
}

function wrap<K extends DecodedValue['kind']>(kind: K, value: Extract<DecodedValue, { kind: K }>['value'] | undefined): DecodedValue | undefined {
  return value === undefined ? undefined : ({ kind, value } as DecodedValue);
}

/**
 * Decodes the raw bytes of one value of RDB type `type` (what follows the key in an RDB, or a DUMP
 * payload without its type byte, version and CRC). Throws RdbFormatError (offsets relative to
 * `value`) on any anomaly, including trailing bytes.
 */
export function decodeValue(type: number, value: Buffer, options: { source?: string } = {}): DecodedValue {
  const source = options.source ?? 'value';
  const r = new ByteReader(value, 0, value.length, 0, source, Number.MAX_SAFE_INTEGER);
  try {
    const decoded = readValue(r, type, true)!;
    if (r.pos !== value.length) r.fail(`${value.length - r.pos} bytes follow the end of the value`);
    return decoded;
  } catch (error) {
    if (error === NEED_MORE) throw new RdbFormatError(`value is truncated: it ends at byte ${value.length} but needs at least ${r.needEnd}`, { source, offset: value.length });
    if (error instanceof RdbFormatError) throw error;
    throw new RdbFormatError(`could not decode the value (${(error as Error)?.message ?? String(error)})`, { source, offset: r.pos }, error);
  }
}
