/**
 * RESP2 command encoding: every command is an array of bulk strings, the form servers and replicas
 * both accept. Arguments may be text (encoded as UTF-8) or raw bytes.
 *
 * Three shapes of the same encoding: `encodeCommand` (one Buffer, for a handshake or a test),
 * `encodeCommandText` / `bulkText` (a JS string, for text-only workloads that are built by string
 * concatenation and handed to the socket whole), and `CommandEncoder` (commands written straight into
 * large reused buffers, what the pipelined writer uses for binary payloads).
 */

export type CommandArg = string | Buffer;

const CR = 13;
const LF = 10;
const CRLF = Buffer.from('\r\n');

/** `*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per argument, as one buffer. */
export function encodeCommand(args: readonly CommandArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** `$<bytes>\r\n<text>\r\n` as a string (the length counts UTF-8 bytes). */
export function bulkText(text: string): string {
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
}

/** `bulkText` for text known to be ASCII (ids, digits, fixed key names): its length is its byte count. */
export function asciiBulkText(text: string): string {
  return `$${text.length}\r\n${text}\r\n`;
}

/** `*<n>\r\n` */
export function arrayHeaderText(n: number): string {
  return `*${n}\r\n`;
}

/** The same bytes as `encodeCommand`, as a string. */
export function encodeCommandText(args: readonly string[]): string {
  let text = arrayHeaderText(args.length);
  for (const arg of args) text += bulkText(arg);
  return text;
}

/** `$<length>\r\n<text>\r\n` as bytes, for arguments sent over and over (command names, options). */
export function encodeBulk(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF]);
}

/** `+<text>\r\n`; the text must not contain CR or LF. */
export function encodeSimpleString(text: string): Buffer {
  if (/[\r\n]/.test(text)) throw new RangeError('a RESP simple string cannot contain CR or LF');
  return Buffer.from(`+${text}\r\n`);
}

/** `-<text>\r\n`; line breaks in the text become spaces. */
export function encodeError(text: string): Buffer {
  return Buffer.from(`-${text.replace(/[\r\n]+/g, ' ')}\r\n`);
}

/**
 * Where a CommandEncoder hands its bytes: whole commands, in order. With `release`, the bytes are a
 * buffer of the encoder's own: the sink calls `release()` once it no longer needs them (a socket:
 * when the write has completed), and the encoder may then reuse the buffer.
 */
export type EncodedSink = (bytes: Uint8Array, release?: () => void) => void;

/** spare buffers an encoder keeps for reuse */
const SPARES = 4;

/** the size of the buffers commands are encoded into */
export const ENCODER_CHUNK = 256 * 1024;

/**
 * Encodes commands into large buffers and hands them to `sink` in pieces that end between commands
 * (a value larger than a buffer is handed on by reference, not copied). `begin(argc)`, then one
 * `arg*` call per argument, then `end()`, which returns the command's size in bytes.
 */
export class CommandEncoder {
  readonly #sink: EncodedSink;
  readonly #spares: Buffer[] = [];
  #out: Buffer = Buffer.allocUnsafe(ENCODER_CHUNK);
  #outLen = 0;
  #commandStart = 0;
  /** bytes of the current command already handed to the sink */
  #handed = 0;

  constructor(sink: EncodedSink) {
    this.#sink = sink;
  }

  /** bytes encoded and not yet handed to the sink */
  get buffered(): number {
    return this.#outLen;
  }

  command(args: readonly CommandArg[]): number {
    this.begin(args.length);
    for (const a of args) this.arg(a);
    return this.end();
  }

  /** Starts a command of `argc` arguments. */
  begin(argc: number): void {
    this.#commandStart = this.#outLen;
    this.#handed = 0;
    this.#header(0x2a, argc);
  }

  arg(a: CommandArg): void {
    if (typeof a !== 'string') return this.#bytes(a);
    const n = a.length < 64 && isAscii(a) ? a.length : Buffer.byteLength(a);
    this.#header(0x24, n);
    this.#reserve(n + 2);
    this.#outLen += this.#out.write(a, this.#outLen, n === a.length ? 'latin1' : 'utf8');
    this.#out[this.#outLen++] = CR;
    this.#out[this.#outLen++] = LF;
  }

  /** An argument already encoded as a bulk string (see encodeBulk). */
  argEncoded(encoded: Uint8Array): void {
    this.#reserve(encoded.length);
    this.#out.set(encoded, this.#outLen);
    this.#outLen += encoded.length;
  }

  /** An integer argument, written without building a string. */
  argInt(n: number): void {
    if (!Number.isSafeInteger(n)) return this.arg(String(n));
    let digits = 1;
    for (let x = Math.abs(n); x >= 10; x = Math.floor(x / 10)) digits++;
    const length = digits + (n < 0 ? 1 : 0);
    this.#header(0x24, length);
    this.#reserve(length + 2);
    this.#digits(n, length);
    this.#out[this.#outLen++] = CR;
    this.#out[this.#outLen++] = LF;
  }

  /** One bulk argument made of several pieces (e.g. a payload's head, value and tail). */
  argParts(parts: readonly Uint8Array[], length: number): void {
    this.#header(0x24, length);
    if (length > ENCODER_CHUNK / 2) {
      // a large value: hand on what is encoded, then the pieces themselves (no copy)
      this.#handed += this.#outLen - this.#commandStart + length;
      this.flush();
      for (const p of parts) this.#sink(p);
      this.#reserve(2);
      this.#out[this.#outLen++] = CR;
      this.#out[this.#outLen++] = LF;
      return;
    }
    this.#reserve(length + 2);
    for (const p of parts) {
      this.#out.set(p, this.#outLen);
      this.#outLen += p.length;
    }
    this.#out[this.#outLen++] = CR;
    this.#out[this.#outLen++] = LF;
  }

  /** one bulk argument of raw bytes (no array of pieces to allocate) */
  #bytes(a: Uint8Array): void {
    if (a.length > ENCODER_CHUNK / 2) return this.argParts([a], a.length);
    this.#header(0x24, a.length);
    this.#reserve(a.length + 2);
    this.#out.set(a, this.#outLen);
    this.#outLen += a.length;
    this.#out[this.#outLen++] = CR;
    this.#out[this.#outLen++] = LF;
  }

  /** Ends the command; returns its size in bytes. Hands on the buffer once it is half full. */
  end(): number {
    const bytes = this.#outLen - this.#commandStart + this.#handed;
    this.#handed = 0;
    this.#commandStart = this.#outLen;
    if (this.#outLen >= ENCODER_CHUNK / 2) this.flush();
    return bytes;
  }

  /** Hands on every encoded byte (between commands only). */
  flush(): void {
    if (this.#outLen === 0) return;
    this.#handOn(this.#out, this.#outLen);
    this.#out = this.#spares.pop() ?? Buffer.allocUnsafe(ENCODER_CHUNK);
    this.#outLen = 0;
    this.#commandStart = 0;
  }

  /** the first `length` bytes of `buffer`, which is no longer written to; it comes back once released */
  #handOn(buffer: Buffer, length: number): void {
    const release = buffer.length === ENCODER_CHUNK ? () => void (this.#spares.length < SPARES && this.#spares.push(buffer)) : undefined;
    this.#sink(buffer.subarray(0, length), release);
  }

  /** `*<n>\r\n` or `$<n>\r\n` */
  #header(type: number, n: number): void {
    this.#reserve(24);
    this.#out[this.#outLen++] = type;
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    this.#digits(n, digits);
    this.#out[this.#outLen++] = CR;
    this.#out[this.#outLen++] = LF;
  }

  /** writes the `length` characters of integer n (room reserved by the caller) */
  #digits(n: number, length: number): void {
    const out = this.#out;
    let at = this.#outLen + length - 1;
    let x = Math.abs(n);
    do {
      out[at--] = 0x30 + (x % 10);
      x = Math.floor(x / 10);
    } while (x > 0);
    if (n < 0) out[at] = 0x2d;
    this.#outLen += length;
  }

  /** room for n more bytes: whole commands are handed on, the current one moves to a new buffer */
  #reserve(n: number): void {
    if (this.#outLen + n <= this.#out.length) return;
    const keep = this.#outLen - this.#commandStart;
    const next = keep + n <= ENCODER_CHUNK ? (this.#spares.pop() ?? Buffer.allocUnsafe(ENCODER_CHUNK)) : Buffer.allocUnsafe(keep + n);
    this.#out.copy(next, 0, this.#commandStart, this.#outLen);
    if (this.#commandStart > 0) this.#handOn(this.#out, this.#commandStart);
    this.#out = next;
    this.#outLen = keep;
    this.#commandStart = 0;
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}
