/**
 * Intset (RDB type 11): u32 LE encoding (2, 4 or 8 bytes per integer), u32 LE count, the integers
 * little-endian, strictly increasing. Redis never writes an empty one.
 */
import { BlobError } from './errors.js';

/** Checks an intset; returns the number of members, or the members as decimal text when `collect`. */
export function readIntset(blob: Buffer, collect: Buffer[] | undefined): number {
  if (blob.length < 8) throw new BlobError(`intset of ${blob.length} bytes is shorter than its 8-byte header`, 0);
  const width = blob.readUInt32LE(0);
  if (width !== 2 && width !== 4 && width !== 8) throw new BlobError(`intset encoding ${width} is not 2, 4 or 8`, 0);
  const count = blob.readUInt32LE(4);
  if (8 + count * width !== blob.length) {
    throw new BlobError(`intset declares ${count} members of ${width} bytes (${8 + count * width} bytes in all) but holds ${blob.length} bytes`, 4);
  }
  if (count === 0) throw new BlobError('intset is empty', 4);
  if (width === 8) {
    let prev = blob.readBigInt64LE(8);
    if (collect) collect.push(Buffer.from(prev.toString(), 'latin1'));
    for (let i = 1; i < count; i++) {
      const v = blob.readBigInt64LE(8 + i * 8);
      if (v <= prev) throw new BlobError(`intset member ${i} (${v}) is not greater than the one before (${prev})`, 8 + i * 8);
      if (collect) collect.push(Buffer.from(v.toString(), 'latin1'));
      prev = v;
    }
  } else {
    let prev = width === 2 ? int16(blob, 8) : int32(blob, 8);
    if (collect) collect.push(Buffer.from(String(prev), 'latin1'));
    for (let i = 1; i < count; i++) {
      const at = 8 + i * width;
      const v = width === 2 ? int16(blob, at) : int32(blob, at);
      if (v <= prev) throw new BlobError(`intset member ${i} (${v}) is not greater than the one before (${prev})`, at);
      if (collect) collect.push(Buffer.from(String(v), 'latin1'));
      prev = v;
    }
  }
  return count;
}

const int16 = (b: Buffer, at: number): number => ((b[at]! | (b[at + 1]! << 8)) << 16) >> 16;
const int32 = (b: Buffer, at: number): number => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
