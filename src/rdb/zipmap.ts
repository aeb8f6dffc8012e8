/**
 * Zipmap (RDB type 9, hashes written by Redis 2.x): 1-byte count (254 = unknown), then per pair a
 * field length (1 byte below 254, else 0xFE + u32 LE), the field, a value length, one "free" byte,
 * the value and that many free bytes; 0xFF ends it. Checked like Redis's deep validation: bounds,
 * count, no duplicate fields, not empty.
 */
import { BlobError } from './errors.js';

export function readZipmap(zm: Buffer, collect: Array<[Buffer, Buffer]> | undefined): number {
  const size = zm.length;
  if (size < 2) throw new BlobError(`zipmap of ${size} bytes is too short`, 0);
  if (zm[size - 1] !== 0xff) throw new BlobError('zipmap does not end with the 0xFF terminator', size - 1);
  const last = size - 1;
  const fields = new Set<string>();
  let p = 1;
  let count = 0;
  const length = (at: number): [number, number] => {
    const b = zm[at]!;
    if (b < 254) return [b, 1];
    if (at + 5 > last) throw new BlobError(`zipmap length at offset ${at} is cut off`, at);
    return [zm.readUInt32LE(at + 1), 5];
  };
  while (zm[p] !== 0xff) {
    const entryAt = p;
    const [flen, fs] = length(p);
    p += fs;
    const fStart = p;
    p += flen;
    if (p > last) throw new BlobError(`zipmap field at offset ${entryAt} runs past the end`, entryAt);
    const [vlen, vs] = length(p);
    p += vs;
    if (p > last) throw new BlobError(`zipmap value at offset ${entryAt} runs past the end`, entryAt);
    const free = zm[p++]!;
    const vStart = p;
    p += vlen + free;
    if (p > last) throw new BlobError(`zipmap value at offset ${entryAt} runs past the end`, entryAt);
    const field = zm.toString('latin1', fStart, fStart + flen);
    if (fields.has(field)) throw new BlobError(`zipmap has the field "${field}" twice`, entryAt);
    fields.add(field);
    if (collect) collect.push([zm.subarray(fStart, fStart + flen), zm.subarray(vStart, vStart + vlen)]);
    count++;
  }
  if (count === 0) throw new BlobError('zipmap is empty', 0);
  if (zm[0] !== 254 && zm[0] !== count) throw new BlobError(`zipmap declares ${zm[0]} pairs but holds ${count}`, 0);
  return count;
}
