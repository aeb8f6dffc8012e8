/**
 * Errors of the RDB reader. Every anomaly in an RDB reaches callers as an RdbFormatError carrying the
 * absolute byte offset; the internal signals below never leave this folder.
 */
import { displayKey, RdbFormatError, RdbUnsupportedError, type RdbErrorPlace } from '../errors.js';

// the two errors that leave this folder are defined with every other error class, in ../errors.ts
export { displayKey, RdbFormatError, RdbUnsupportedError, type RdbErrorPlace };

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

/**
 * What a failure while reading becomes for the parser's caller: a callback's own error unchanged, an
 * RDB error as it is, anything else (a blob decoder's finding, a bug) an RdbFormatError at `place`.
 */
export function toCallerError(error: unknown, place: RdbErrorPlace): unknown {
  if (error instanceof CallbackFailure) return error.error;
  if (error instanceof RdbFormatError || error instanceof RdbUnsupportedError) return error;
  const detail = error instanceof BlobError ? error.message : `internal error while reading (${(error as Error)?.message ?? String(error)})`;
  return new RdbFormatError(detail, place, error);
}

/**
 * The runtime refused to join an unfinished item's bytes into one buffer (over Node's largest buffer,
 * 4 GiB, or out of memory): the file may be sound, but this process cannot check it.
 */
export function joinRefused(error: unknown, bytes: number, place: RdbErrorPlace): RdbFormatError {
  const why = (error as Error)?.message ?? String(error);
  return new RdbFormatError(`the item starting here needs ${bytes} bytes held at once, more than this process could allocate (${why})`, place, error);
}
