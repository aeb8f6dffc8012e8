/**
 * Counts the replies in a stream of RESP bytes without building them: loadgen only needs to know how
 * many commands were answered and the first error. Works across chunk boundaries (it is fed the
 * socket's chunks as they come) and understands RESP2 and RESP3 framing, nested aggregates included.
 */
import { NeuralLogRedisError } from '../errors.js';

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);
const enum State {
  Type,
  Line,
  Bulk,
}

export interface ReplyError {
  /** 0-based index of the reply (= of the command) that failed */
  index: number;
  message: string;
}

/** A line without its CRLF. */
function lineText(line: Buffer): string {
  return line.toString('utf8', 0, line.length >= 2 && line[line.length - 2] === CR ? line.length - 2 : line.length - 1);
}

export class ReplyCounter {
  /** complete top-level replies seen */
  replies = 0;
  errors = 0;
  firstError: ReplyError | undefined;
  #state = State.Type;
  #type = 0;
  /** the current line when it is needed (lengths, errors) and split over chunks */
  #line: Buffer[] = [];
  #bulkLeft = 0;
  /** elements still expected by each open aggregate */
  readonly #stack: number[] = [];

  feed(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#state === State.Bulk) {
        const take = Math.min(this.#bulkLeft, n - i);
        i += take;
        this.#bulkLeft -= take;
        if (this.#bulkLeft === 0) {
          this.#state = State.Type;
          if (this.#type === 0x21 /* ! blob error */) this.#error('blob error');
          this.#complete();
        }
        continue;
      }
      if (this.#state === State.Type) {
        this.#type = chunk[i++]!;
        this.#state = State.Line;
        continue;
      }
      const nl = chunk.indexOf(LF, i);
      const end = nl === -1 ? n : nl + 1;
      if (this.#needsLine()) this.#line.push(chunk.subarray(i, end));
      i = end;
      if (nl !== -1) this.#onLine();
    }
  }

  /** Whether the line's content matters (not for +OK or :1, the bulk of the replies). */
  #needsLine(): boolean {
    const t = this.#type;
    return t !== 0x2b /* + */ && t !== 0x3a /* : */;
  }

  #onLine(): void {
    const parts = this.#line;
    const line = parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (parts.length > 0) this.#line = [];
    this.#state = State.Type;
    switch (this.#type) {
      case 0x2b: // + simple string
      case 0x3a: // : integer
      case 0x5f: // _ null
      case 0x2c: // , double
      case 0x23: // # boolean
      case 0x28: // ( big number
        return this.#complete();
      case 0x2d: // - error
        this.#error(lineText(line));
        return this.#complete();
      case 0x24: // $ bulk string
      case 0x3d: // = verbatim string
      case 0x21: {
        // ! blob error
        const length = Number(lineText(line));
        if (length < 0) return this.#complete();
        this.#bulkLeft = length + 2;
        this.#state = State.Bulk;
        return;
      }
      case 0x2a: // * array
      case 0x7e: // ~ set
      case 0x3e: // > push
      case 0x25: {
        // % map
        const count = Number(lineText(line)) * (this.#type === 0x25 ? 2 : 1);
        if (!(count > 0)) return this.#complete();
        this.#stack.push(count);
        return;
      }
      default:
        throw new NeuralLogRedisError('E_PROTOCOL', `the server sent bytes that are not RESP (type byte 0x${this.#type.toString(16)})`);
    }
  }

  #error(message: string): void {
    if (this.#stack.length > 0) return; // an element of an aggregate, not a failed command
    this.errors++;
    this.firstError ??= { index: this.replies, message };
  }

  #complete(): void {
    const stack = this.#stack;
    while (stack.length > 0) {
      const left = --stack[stack.length - 1]!;
      if (left > 0) return;
      stack.pop();
    }
    this.replies++;
  }
}
