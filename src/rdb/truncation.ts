/** What the parser says when the input ends before the RDB does: where it ended, and inside what. */
import { RdbFormatError } from './errors.js';

export interface Truncation {
  /** the part of the file the parser was in */
  where: 'header' | 'checksum' | 'body';
  source: string | undefined;
  /** absolute offset of the unfinished item's first byte */
  base: number;
  /** bytes of it that arrived */
  restLength: number;
  /** bytes it was known to need, from `base` */
  need: number;
  /** the key of the unfinished record, when known */
  key: Buffer | undefined;
  /** inside a value read element by element: its record's first byte */
  openRecordAt: number | undefined;
}

export function truncatedError(t: Truncation): RdbFormatError {
  const end = t.base + t.restLength;
  const place = { source: t.source, offset: end, key: t.key };
  if (t.where === 'header') return new RdbFormatError(`truncated: the file has ${end} bytes, fewer than the 9-byte header`, place);
  if (t.where === 'checksum')
    return new RdbFormatError(`truncated: the file ends inside the 8-byte checksum after the EOF opcode (${t.restLength} of 8 bytes)`, place);
  const start = t.openRecordAt;
  if (start !== undefined) {
    // inside a value read element by element: measured from the start of its record
    return new RdbFormatError(
      `truncated: the file ends inside the record starting at byte ${start}, which needs at least ${t.base + t.need - start} bytes (has ${end - start})`,
      place,
    );
  }
  if (t.restLength === 0) return new RdbFormatError('truncated: the file ends without the EOF opcode (0xFF)', place);
  const what = t.key ? 'record' : 'item';
  return new RdbFormatError(
    `truncated: the file ends inside the ${what} starting at byte ${t.base}, which needs at least ${t.need} bytes (has ${t.restLength})`,
    place,
  );
}
