/**
 * Counts the replies in a stream of RESP2 bytes without building them (the decoder's shallow mode),
 * keeps the first error reply with its index, and hands each reply on (`onReply`) with its index.
 * Errors inside arrays are elements, not failed commands: they are not counted.
 */
import { RespDecoder } from './decode.js';

export interface ReplyError {
  /** 0-based index of the reply (= of the command) that failed */
  index: number;
  message: string;
}

/** the type byte of an error reply */
export const ERROR_REPLY = 0x2d;

export type CountedReply = (index: number, type: number, n: number, error: string | undefined) => void;

export class ReplyCounter {
  /** complete top-level replies seen */
  replies = 0;
  errors = 0;
  firstError: ReplyError | undefined;
  readonly #decoder: RespDecoder;

  constructor(onReply?: CountedReply) {
    this.#decoder = RespDecoder.shallow((type, n, error) => {
      const index = this.replies++;
      if (type === ERROR_REPLY) {
        this.errors++;
        this.firstError ??= { index, message: error! };
      }
      onReply?.(index, type, n, error);
    });
  }

  /** Bytes as they arrive, in any chunking (the chunk may be reused once this returns). */
  feed(chunk: Buffer): void {
    this.#decoder.write(chunk);
  }

  /** Forgets what was counted (the handshake's replies). */
  reset(): void {
    this.replies = 0;
    this.errors = 0;
    this.firstError = undefined;
  }
}
