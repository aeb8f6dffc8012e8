/**
 * Hashes whose fields carry their own expiry (hash field expiration), read whole. The layouts:
 *
 * Redis 7.4 (`src/rdb.c` rdbSaveObject and rdbLoadObject at tag 7.4.0; the same at 8.0-m01):
 * - HASH_METADATA (24): minExpire (8 bytes LE, ms), count, then per field `ttl` (a length), field,
 *   value. ttl 0: no expiry; otherwise the field expires at ttl + minExpire - 1. minExpire above
 *   EB_EXPIRE_TIME_INVALID (2^48) and expiries above EB_EXPIRE_TIME_MAX (2^48 - 1) are corrupt.
 * - HASH_METADATA_PRE_GA (22, 7.4 release candidates): the same without minExpire; ttl is absolute.
 * - HASH_LISTPACK_EX (25): minExpire (0 when no field has an expiry; not checked by Redis), then a
 *   listpack of field, value, expireAt triplets: expireAt an integer, 0 (none) or at most 2^48 - 1,
 *   the fields with an expiry first and in ascending order (rdb.c _lpEntryValidation, tuple_len 3).
 * - HASH_LISTPACK_EX_PRE_GA (23): the listpack alone.
 *
 * Valkey 9.0 (`src/rdb.c` rdbLoadObject, RDB_TYPE_HASH_2, which is 22 in "VALKEY" files): count,
 * then per field: field, value, expiry (8 bytes LE, ms; -1: none; below -1 is refused).
 */
import { BlobError } from './errors.js';
import { blobFailure, count, openBlob, show } from './collections.js';
import { ListpackReader } from './listpack.js';
import type { ByteReader } from './reader.js';
import type { DecodedValue } from './types.js';

/** EB_EXPIRE_TIME_MAX (Redis src/ebuckets.h) */
export const HFE_MAX = 2 ** 48 - 1;
const HFE_INVALID = 2 ** 48;

type HashValue = Extract<DecodedValue, { kind: 'hash' }>;

/** the 8-byte minimum expiry of types 24 and 25 */
export function readMinExpire(r: ByteReader): number {
  const at = r.pos;
  const min = r.i64();
  if (min < 0 || min > HFE_INVALID) r.fail(`hash field expiry minimum ${min} is outside 0..2^48`, at);
  return min;
}

/** the expiry of one field of type 22 (Redis) or 24 from its ttl; 0: none */
export function expiryFromTtl(r: ByteReader, ttl: number, minExpire: number, relative: boolean, at: number): number {
  if (ttl === 0) return 0;
  const expireAt = relative ? ttl + minExpire - 1 : ttl;
  if (expireAt > HFE_MAX) r.fail(`hash field expiry ${expireAt} is beyond the largest (2^48 - 1 ms)`, at);
  return expireAt;
}

/** Redis types 22 (relative false) and 24 (relative true) */
export function readHashMetadata(r: ByteReader, relative: boolean, decode: boolean): HashValue | undefined {
  const minExpire = relative ? readMinExpire(r) : 0;
  const n = count(r, 'hash');
  const seen = r.members;
  seen.reset(r.buf);
  r.track(r.pos, n);
  const out: Array<[Buffer, Buffer]> | undefined = decode ? [] : undefined;
  const expiries: Array<number | undefined> = [];
  for (let i = 0; i < n; i++) {
    r.progDone = i;
    const ttlAt = r.pos;
    const expireAt = expiryFromTtl(r, r.len(), minExpire, relative, ttlAt);
    r.str();
    r.addLastTo(seen);
    if (out) {
      const field = r.lastBuf();
      out.push([field, r.strBuf()]);
      expiries.push(expireAt === 0 ? undefined : expireAt);
    } else r.skipStr();
  }
  r.untrack();
  const d = seen.findDuplicate();
  if (d >= 0) r.fail(`hash has the field ${show(seen.text(d))} twice`, seen.place(d));
  return out ? { kind: 'hash', value: out, fieldExpireAtMs: expiries } : undefined;
}

/** Redis types 23 (withMin false) and 25 (withMin true) */
export function readHashListpackEx(r: ByteReader, withMin: boolean, decode: boolean): HashValue | undefined {
  if (withMin) readMinExpire(r);
  const blob = openBlob(r, decode);
  try {
    return readTriplets(blob, decode, r);
  } catch (error) {
    throw blobFailure(r, 'hash listpack with field expiries', blob, error);
  }
}

function readTriplets(blob: Buffer, decode: boolean, r: ByteReader): HashValue | undefined {
  const it = new ListpackReader(blob);
  const seen = r.members;
  seen.reset(blob);
  const out: Array<[Buffer, Buffer]> | undefined = decode ? [] : undefined;
  const expiries: Array<number | undefined> = [];
  let last = -1;
  while (it.next()) {
    const at = it.at;
    if (it.isStr) seen.add(it.sStart, it.sEnd, at);
    else seen.addInteger(it.big ?? it.num, at);
    const field = out ? it.buf() : undefined;
    if (!it.next()) throw new BlobError(`holds ${it.count} elements, not field, value and expiry triplets: the field at offset ${at} has no value`, at);
    const value = out ? it.buf() : undefined;
    if (!it.next()) throw new BlobError(`holds ${it.count} elements, not field, value and expiry triplets: the field at offset ${at} has no expiry`, at);
    const expireAt = it.int('field expiry');
    if (expireAt < 0 || expireAt > HFE_MAX) throw new BlobError(`field expiry ${expireAt} at offset ${it.at} is outside 0..2^48-1`, it.at);
    // fields with an expiry come first, in ascending order (Redis keeps them so and checks it)
    if (expireAt !== 0 && (last === 0 || expireAt < last))
      throw new BlobError(`field expiry ${expireAt} at offset ${it.at} is out of order after ${last === 0 ? 'a field without one' : last}`, it.at);
    last = expireAt;
    if (out) {
      out.push([field!, value!]);
      expiries.push(expireAt === 0 ? undefined : expireAt);
    }
  }
  if (seen.size === 0) throw new BlobError('is empty (Redis never writes an empty collection)', 0);
  const d = seen.findDuplicate();
  if (d >= 0) throw new BlobError(`field ${show(seen.text(d))} at offset ${seen.place(d)} appears twice`, seen.place(d));
  return out ? { kind: 'hash', value: out, fieldExpireAtMs: expiries } : undefined;
}

/** one field expiry of Valkey's RDB_TYPE_HASH_2: -1 (none) or a time (0 is a time, long past) */
export function readValkeyExpiry(r: ByteReader): number {
  const at = r.pos;
  const expiry = r.i64();
  if (expiry < -1) r.fail(`hash field expiry ${expiry} is below -1 (Valkey writes -1 for none)`, at);
  return expiry;
}

/** Valkey 9.0's RDB_TYPE_HASH_2 */
export function readValkeyHash2(r: ByteReader, decode: boolean): HashValue | undefined {
  const n = count(r, 'hash');
  const seen = r.members;
  seen.reset(r.buf);
  r.track(r.pos, n);
  const out: Array<[Buffer, Buffer]> | undefined = decode ? [] : undefined;
  const expiries: Array<number | undefined> = [];
  for (let i = 0; i < n; i++) {
    r.progDone = i;
    r.str();
    r.addLastTo(seen);
    if (out) {
      const field = r.lastBuf();
      out.push([field, r.strBuf()]);
    } else r.skipStr();
    const expireAt = readValkeyExpiry(r);
    if (out) expiries.push(expireAt === -1 ? undefined : expireAt);
  }
  r.untrack();
  const d = seen.findDuplicate();
  if (d >= 0) r.fail(`hash has the field ${show(seen.text(d))} twice`, seen.place(d));
  return out ? { kind: 'hash', value: out, fieldExpireAtMs: expiries } : undefined;
}
