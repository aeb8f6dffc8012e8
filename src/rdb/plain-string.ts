import type { ByteReader } from './reader.js';

/**
 * The commonest record, a string key (up to 63 bytes, raw) with a raw or integer-encoded string
 * value and no expiry, read in one small function that the JIT optimises early. Anything else (or
 * a record cut by the end of the buffer) returns false and goes the general way.
 */
export function plainString(r: ByteReader): boolean {
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
