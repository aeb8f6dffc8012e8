/**
 * What the RESP2 decoder yields: replies, error replies (values, not thrown), and the error thrown
 * for a byte stream that is not RESP.
 */
import { NeuralLogRedisError } from '../errors.js';

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

/** A byte stream that is not RESP. Carries the offset (from the first byte ever written). */
export class RespProtocolError extends NeuralLogRedisError {
  constructor(message: string, offset: number) {
    super('E_PROTOCOL', `RESP protocol error at byte ${offset}: ${message}`, { place: { offset } });
  }
}

