/**
 * What the RESP2 decoder yields: replies, error replies (values, not thrown), and the error thrown
 * for a byte stream that is not RESP.
 */
import { RespProtocolError } from '../errors.js';

export type RespReply = string | number | bigint | Buffer | null | RespError | RespReply[];

/** An error reply (`-ERR ...`). `kind` is its first word (ERR, WRONGPASS, NOPERM, LOADING, ...). */
export class RespError {
  readonly kind: string;
  constructor(readonly message: string) {
    this.kind = /^[A-Z]+(?=\s|$)/.exec(message)?.[0] ?? 'ERR';
  }
  toString(): string {
    return this.message;
  }
}

export function isRespError(value: unknown): value is RespError {
  return value instanceof RespError;
}

export { RespProtocolError };
