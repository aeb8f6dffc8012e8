/**
 * Errors of the RDB reader. Every anomaly in an RDB reaches callers as an RdbFormatError carrying the
 * absolute byte offset; the internal signals below never leave this folder.
 */
import { NeuralLogRedisError } from '../errors.js';

export interface RdbErrorPlace {
  /** file name (or another label) used in the message */
  source?: string;
  /** absolute byte offset in the RDB where the problem was found */
  offset: number;
  /** the key being read, when known */
  key?: Buffer;
}

/** An RDB (or a single RESTORE-style value) is malformed, truncated or fails its checksum. */
export class RdbFormatError extends NeuralLogRedisError {
  readonly offset: number;
  readonly key: Buffer | undefined;
  /** the message without its place prefix */
  readonly detail: string;

  constructor(detail: string, place: RdbErrorPlace, cause?: unknown) {
    const source = place.source ?? 'RDB';
    const keyPart = place.key === undefined ? '' : `key ${displayKey(place.key)}: `;
    super('E_RDB_FORMAT', `${source} at byte ${place.offset}: ${keyPart}${detail}`, {
      place: { file: place.source, offset: place.offset },
      exitCode: 1,
      cause,
    });
    this.offset = place.offset;
    this.key = place.key;
    this.detail = detail;
  }
}

/**
 * A well-formed header of an RDB version this reader does not know (newer than it, or a Valkey
 * format after 9.0's): not damage. `rdbVersion`, `header` ("REDIS0013") and `writtenBy` say what the
 * file is.
 */
export class RdbUnsupportedError extends NeuralLogRedisError {
  readonly rdbVersion: number;
  readonly header: string;
  readonly writtenBy: string;
  readonly offset: number;
  /** the message without the file name */
  readonly detail: string;

  constructor(rdbVersion: number, header: string, writtenBy: string, reads: string, place: { source?: string; offset: number }) {
    const detail = `not supported (RDB ${rdbVersion}, written by ${writtenBy}): its header is "${header}"; this version of neurallog-redis reads ${reads}`;
    super('E_RDB_UNSUPPORTED', `${place.source ?? 'RDB'}: ${detail}`, { place: { file: place.source, offset: place.offset }, exitCode: 2 });
    this.detail = detail;
    this.rdbVersion = rdbVersion;
    this.header = header;
    this.writtenBy = writtenBy;
    this.offset = place.offset;
  }
}

/**
 * Something the strict reader calls damage but the servers load (see RdbParserOptions.strict): a
 * stream whose declared length differs from its entries, bytes after the checksum.
 */
export interface RdbWarning {
  code: 'stream-length' | 'trailing-bytes';
  /** absolute byte offset */
  offset: number;
  key?: Buffer;
  /** the message, with its place: "dump.rdb at byte 1234: key \"s\": ..." */
  message: string;
}

/** Quotes a key for a message: printable ASCII as is, other bytes as \xNN, long keys shortened. */
export function displayKey(key: Buffer, max = 80): string {
  let out = '"';
  const n = Math.min(key.length, max);
  for (let i = 0; i < n; i++) {
    const c = key[i]!;
    if (c === 0x22 || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += '\\x' + c.toString(16).padStart(2, '0');
  }
  out += '"';
  if (key.length > max) out += `... (${key.length} bytes)`;
  return out;
}

/**
 * Thrown by the byte reader when the buffered bytes end before the item being read does.
 * A singleton, not an Error: it is control flow (wait for more bytes), cheap to throw.
 */
export const NEED_MORE: { readonly needMore: true } = Object.freeze({ needMore: true });

/**
 * A problem inside a blob (listpack, ziplist, intset, zipmap, LZF data) found by a decoder that
 * only sees the blob. `at` is the offset inside the blob; the caller turns it into a file offset.
 */
export class BlobError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
    this.name = 'BlobError';
  }
}

/** sentinel wrapper: an exception thrown by a caller's callback, passed through unchanged */
export class CallbackFailure {
  constructor(readonly error: unknown) {}
}
