/**
 * The shallow mode of the RESP2 decoder (see `RespDecoder.shallow`): each complete top-level reply is
 * reported as its type byte and one number, and an error's text, without building anything: simple
 * strings are skipped, integers and lengths are read digit by digit, bulk bodies are stepped over
 * (never buffered, whatever their size), and the elements of arrays are only counted. A pipeline that
 * needs reply counts, errors and small integers (RESTORE's +OK, RENAMENX's :0) costs no allocation
 * per reply.
 *
 * Chunks may be transient (a socket's reused read buffer): nothing is kept from one chunk to the next
 * but counters and, for an error line split across chunks, a copy of its bytes.
 */
import { RespProtocolError } from './reply.js';

/**
 * One top-level reply: `type` is its first byte (0x2b `+`, 0x2d `-`, 0x3a `:`, 0x24 `$`, 0x2a `*`);
 * `n` is the integer of `:`, the length of `$` or the element count of `*` (-1 for nil), 0 otherwise
 * (integers beyond 2^53 lose precision); `error` is the text of a `-` reply.
 */
export type ShallowHandler = (type: number, n: number, error: string | undefined) => void;

const CR = 13;
const LF = 10;
const PLUS = 0x2b;
const MINUS = 0x2d;
const COLON = 0x3a;
const DOLLAR = 0x24;
const STAR = 0x2a;

const enum State {
  Type,
  Line,
  Bulk,
  BulkCr,
  BulkLf,
}

export class ShallowScanner {
  readonly #onReply: ShallowHandler;
  readonly #maxBulk: number;
  #state = State.Type;
  #type = 0;
  /** absolute offset of the current line's type byte */
  #lineStart = 0;
  /** bytes before the current chunk */
  #base = 0;
  #prev = 0;
  #num = 0;
  #digits = 0;
  #neg = false;
  #bad = false;
  #errorParts: Buffer[] = [];
  #bulkLeft = 0;
  #bulkLength = 0;
  /** elements still expected by each open array, innermost last */
  readonly #stack: number[] = [];
  /** the count of the open top-level array */
  #topCount = 0;

  constructor(onReply: ShallowHandler, maxBulk: number) {
    this.#onReply = onReply;
    this.#maxBulk = maxBulk;
  }

  get idle(): boolean {
    return this.#state === State.Type && this.#stack.length === 0;
  }

  write(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.#state) {
        case State.Type:
          i = this.#startLine(chunk, i);
          break;
        case State.Line:
          i = this.#type === MINUS ? this.#errorLine(chunk, i) : this.#type === PLUS ? this.#statusLine(chunk, i) : this.#numberLine(chunk, i);
          break;
        case State.Bulk: {
          const take = Math.min(this.#bulkLeft, n - i);
          i += take;
          this.#bulkLeft -= take;
          if (this.#bulkLeft === 0) this.#state = State.BulkCr;
          break;
        }
        case State.BulkCr:
          if (chunk[i] !== CR) throw new RespProtocolError('a bulk string does not end with CRLF', this.#base + i);
          i++;
          this.#state = State.BulkLf;
          break;
        case State.BulkLf:
          if (chunk[i] !== LF) throw new RespProtocolError('a bulk string does not end with CRLF', this.#base + i);
          i++;
          this.#state = State.Type;
          this.#value(DOLLAR, this.#bulkLength, undefined);
          break;
      }
    }
    this.#base += n;
  }

  #startLine(chunk: Uint8Array, i: number): number {
    const t = chunk[i]!;
    if (t !== PLUS && t !== MINUS && t !== COLON && t !== DOLLAR && t !== STAR) {
      throw new RespProtocolError(`unexpected byte 0x${t.toString(16).padStart(2, '0')} where a reply type (+ - : $ *) was expected`, this.#base + i);
    }
    this.#type = t;
    this.#lineStart = this.#base + i;
    this.#state = State.Line;
    this.#prev = t;
    this.#num = 0;
    this.#digits = 0;
    this.#neg = false;
    this.#bad = false;
    return i + 1;
  }

  /** `+...`: skipped to its LF */
  #statusLine(chunk: Uint8Array, i: number): number {
    const n = chunk.length;
    let prev = this.#prev;
    while (i < n) {
      const b = chunk[i++]!;
      if (b === LF) {
        if (prev !== CR) throw new RespProtocolError('a line does not end with CRLF', this.#base + i - 1);
        this.#state = State.Type;
        this.#value(PLUS, 0, undefined);
        return i;
      }
      prev = b;
    }
    this.#prev = prev;
    return i;
  }

  /** `-...`: its text is kept (copied: the chunk may be reused) */
  #errorLine(chunk: Uint8Array, i: number): number {
    const lf = indexOfLf(chunk, i);
    const end = lf < 0 ? chunk.length : lf;
    if (end > i) this.#errorParts.push(Buffer.from(chunk.subarray(i, end)));
    if (lf < 0) {
      if (this.#base + end - this.#lineStart > this.#maxBulk) throw new RespProtocolError('a line is longer than the limit', this.#lineStart);
      return end;
    }
    const line = Buffer.concat(this.#errorParts);
    this.#errorParts = [];
    if (line[line.length - 1] !== CR) throw new RespProtocolError('a line does not end with CRLF', this.#base + lf);
    this.#state = State.Type;
    this.#value(MINUS, 0, line.toString('utf8', 0, line.length - 1));
    return lf + 1;
  }

  /** `:`, `$` or `*`: a decimal integer, read as it comes */
  #numberLine(chunk: Uint8Array, i: number): number {
    const n = chunk.length;
    while (i < n) {
      const b = chunk[i++]!;
      if (b >= 0x30 && b <= 0x39 && this.#prev !== CR) {
        this.#num = this.#num * 10 + (b - 0x30);
        this.#digits++;
      } else if (b === MINUS && this.#prev === this.#type) this.#neg = true;
      else if (b === LF) {
        if (this.#prev !== CR) throw new RespProtocolError('a line does not end with CRLF', this.#base + i - 1);
        this.#state = State.Type;
        this.#endNumber();
        return i;
      } else if (b !== CR || this.#prev === CR) this.#bad = true;
      this.#prev = b;
    }
    return i;
  }

  #endNumber(): void {
    const at = this.#lineStart;
    if (this.#bad || this.#digits === 0) throw new RespProtocolError('a line that should hold an integer does not', at);
    const value = this.#neg ? -this.#num : this.#num;
    if (this.#type === COLON) return this.#value(COLON, value, undefined);
    if (value < -1) throw new RespProtocolError(`${value} is not a valid length`, at);
    if (this.#type === DOLLAR) {
      if (value === -1) return this.#value(DOLLAR, -1, undefined);
      if (value > this.#maxBulk) throw new RespProtocolError(`a bulk string of ${value} bytes is larger than the limit`, at);
      this.#bulkLeft = value;
      this.#bulkLength = value;
      this.#state = value === 0 ? State.BulkCr : State.Bulk;
      return;
    }
    if (value <= 0) return this.#value(STAR, value, undefined);
    if (this.#stack.length === 0) this.#topCount = value;
    this.#stack.push(value);
  }

  /** a complete value: a top-level reply, or one more element of the innermost open array */
  #value(type: number, n: number, error: string | undefined): void {
    const stack = this.#stack;
    if (stack.length === 0) {
      this.#onReply(type, n, error);
      return;
    }
    for (;;) {
      const left = --stack[stack.length - 1]!;
      if (left > 0) return;
      stack.pop();
      if (stack.length === 0) {
        this.#onReply(STAR, this.#topCount, undefined);
        return;
      }
    }
  }
}

function indexOfLf(chunk: Uint8Array, from: number): number {
  return chunk.indexOf(LF, from);
}
