/**
 * A push-based RESP2 decoder: feed it bytes as they arrive (`write`), in chunks of any size, down to
 * one byte at a time; it calls `onReply` once per complete top-level reply. It keeps only the bytes
 * of the reply in progress, so a reply split across any number of chunks costs no re-scanning of what
 * was already consumed beyond the current line.
 *
 * Replies: simple strings (`string`), errors (`RespError`, a value, not thrown), integers (`number`,
 * or `bigint` beyond 2^53), bulk strings (`Buffer`), arrays, and null (`$-1` / `*-1`).
 *
 * With `inlineCommands`, a top-level line that does not start with a RESP type byte is read the way
 * redis-server reads inline commands (`PING\r\n`): split on spaces into an array of Buffers. Servers
 * we emulate (the fake master) need that; clients never do.
 */
import { RespError, RespProtocolError, type RespReply } from './reply.js';
import { ShallowScanner, type ShallowHandler } from './shallow.js';

export { RespError, RespProtocolError, isRespError, type RespReply } from './reply.js';
export type { ShallowHandler } from './shallow.js';

export interface RespDecoderOptions {
  /** accept redis-server style inline commands at the top level (servers only; not in shallow mode) */
  inlineCommands?: boolean;
  /** largest bulk string or line accepted, in bytes (default 512 MB, Redis's proto-max-bulk-len) */
  maxBulkBytes?: number;
}

const DEFAULT_MAX_BULK = 512 * 1024 * 1024;

interface Frame {
  items: RespReply[];
  remaining: number;
}

const CR = 13;
const LF = 10;

export class RespDecoder {
  readonly #onReply: (reply: RespReply) => void;
  readonly #inline: boolean;
  readonly #maxBulk: number;
  /** unconsumed bytes, in arrival order (joined only when a line or a bulk body can complete) */
  #parts: Buffer[] = [];
  #partsBytes = 0;
  /** bytes consumed before the first unconsumed byte */
  #consumed = 0;
  /** open arrays, innermost last */
  readonly #stack: Frame[] = [];
  /** when reading a bulk body: its length (without the CRLF) */
  #bulkLength = -1;
  /** set in shallow mode, which takes every write */
  #shallow: ShallowScanner | undefined;

  constructor(onReply: (reply: RespReply) => void, options: RespDecoderOptions = {}) {
    this.#onReply = onReply;
    this.#inline = options.inlineCommands ?? false;
    this.#maxBulk = options.maxBulkBytes ?? DEFAULT_MAX_BULK;
  }

  /**
   * The counting/shallow mode: `onReply(type, n, error)` once per top-level reply, nothing built
   * (see shallow.ts). Chunks may be transient (reused by the caller after `write` returns).
   */
  static shallow(onReply: ShallowHandler, options: Omit<RespDecoderOptions, 'inlineCommands'> = {}): RespDecoder {
    const decoder = new RespDecoder(() => undefined, options);
    decoder.#shallow = new ShallowScanner(onReply, decoder.#maxBulk);
    return decoder;
  }

  /** bytes received but not yet part of a complete reply */
  get bufferedBytes(): number {
    return this.#partsBytes;
  }

  /** true between replies: nothing half-read */
  get idle(): boolean {
    if (this.#shallow) return this.#shallow.idle;
    return this.#partsBytes === 0 && this.#stack.length === 0 && this.#bulkLength < 0;
  }

  write(chunk: Buffer): void {
    if (this.#shallow) return this.#shallow.write(chunk);
    if (chunk.length === 0) return;
    this.#parts.push(chunk);
    this.#partsBytes += chunk.length;
    // a bulk body arriving in pieces is collected, not re-joined on every piece
    if (this.#bulkLength >= 0 && this.#partsBytes < this.#bulkLength + 2) return;
    const buf = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#partsBytes);
    let pos = 0;
    for (;;) {
      if (this.#bulkLength >= 0) {
        const end = pos + this.#bulkLength;
        if (buf.length < end + 2) break;
        if (buf[end] !== CR || buf[end + 1] !== LF) throw new RespProtocolError('a bulk string does not end with CRLF', this.#consumed + end);
        const body = Buffer.from(buf.subarray(pos, end));
        this.#bulkLength = -1;
        pos = end + 2;
        this.#emit(body);
        continue;
      }
      if (pos >= buf.length) break;
      const lineEnd = buf.indexOf(LF, pos);
      if (lineEnd < 0) {
        if (buf.length - pos > this.#maxBulk) throw new RespProtocolError('a line is longer than the limit', this.#consumed + pos);
        break;
      }
      const type = buf[pos]!;
      const isRespType = type === 0x2b || type === 0x2d || type === 0x3a || type === 0x24 || type === 0x2a;
      if (!isRespType) {
        if (!(this.#inline && this.#stack.length === 0)) {
          throw new RespProtocolError(
            `unexpected byte 0x${type.toString(16).padStart(2, '0')} where a reply type (+ - : $ *) was expected`,
            this.#consumed + pos,
          );
        }
        const text = buf.subarray(pos, lineEnd > pos && buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd).toString('latin1');
        pos = lineEnd + 1;
        const words = text.split(' ').filter((w) => w !== '');
        if (words.length > 0) this.#onReply(words.map((w) => Buffer.from(w, 'latin1')));
        continue;
      }
      if (lineEnd === pos || buf[lineEnd - 1] !== CR) throw new RespProtocolError('a line does not end with CRLF', this.#consumed + lineEnd);
      const line = buf.subarray(pos + 1, lineEnd - 1);
      const lineStart = pos;
      pos = lineEnd + 1;
      switch (type) {
        case 0x2b: // +
          this.#emit(line.toString('utf8'));
          break;
        case 0x2d: // -
          this.#emit(new RespError(line.toString('utf8')));
          break;
        case 0x3a: // :
          this.#emit(parseInteger(line, this.#consumed + lineStart));
          break;
        case 0x24: {
          // $
          const length = toLength(parseInteger(line, this.#consumed + lineStart), this.#consumed + lineStart);
          if (length < 0) this.#emit(null);
          else if (length > this.#maxBulk) throw new RespProtocolError(`a bulk string of ${length} bytes is larger than the limit`, this.#consumed + lineStart);
          else this.#bulkLength = length;
          break;
        }
        default: {
          // *
          const count = toLength(parseInteger(line, this.#consumed + lineStart), this.#consumed + lineStart);
          if (count < 0) this.#emit(null);
          else if (count === 0) this.#emit([]);
          else this.#stack.push({ items: [], remaining: count });
        }
      }
    }
    this.#consumed += pos;
    this.#parts = pos === buf.length ? [] : [buf.subarray(pos)];
    this.#partsBytes = buf.length - pos;
  }

  #emit(value: RespReply): void {
    let reply = value;
    for (;;) {
      const frame = this.#stack.at(-1);
      if (!frame) {
        this.#onReply(reply);
        return;
      }
      frame.items.push(reply);
      if (--frame.remaining > 0) return;
      this.#stack.pop();
      reply = frame.items;
    }
  }
}

function parseInteger(line: Buffer, offset: number): number | bigint {
  const text = line.toString('latin1');
  if (!/^-?\d+$/.test(text)) throw new RespProtocolError(`"${text.slice(0, 40)}" is not an integer`, offset);
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

function toLength(value: number | bigint, offset: number): number {
  if (typeof value === 'bigint' || value < -1) throw new RespProtocolError(`${value} is not a valid length`, offset);
  return value;
}
