/**
 * A raw pipelined RESP2 connection for restores: commands of binary arguments are encoded straight
 * into large socket writes, each with a caller's tag; replies are parsed just enough to hand each tag
 * its outcome (status, error text, integer, nil), in order. The official client costs a promise and a
 * queue node per command, which caps a restore far below what redis-server absorbs.
 *
 * Memory stays bounded: the caller waits in `settle(maxCommands, maxBytes)` until the unanswered
 * commands (and their bytes, which is all the socket can hold for us) are below its limits.
 */
import type { Socket } from 'node:net';
import { describeConnectError, openRawSocket, type Endpoint } from '../connect/index.js';
import { ConnectionError, NeuralLogRedisError } from '../errors.js';

export type Arg = string | Buffer;

export interface Reply {
  /** '+' status, '-' error, ':' integer, '$' bulk, '*' array; nil is '$' or '*' with `nil` */
  type: '+' | '-' | ':' | '$' | '*';
  /** status or error text, integer digits, or a bulk string's text (when it is under 4 KiB) */
  text: string;
  nil: boolean;
}

const CR = 13;
const LF = 10;
const CRLF = Buffer.from('\r\n');
const OUT_CHUNK = 256 * 1024;
const MAX_KEPT_BULK = 4096;

interface Pending<T> {
  tag: T;
  bytes: number;
}

export class RestorePipe<T> {
  readonly #socket: Socket;
  readonly #onReply: (tag: T, reply: Reply) => void;
  readonly #queue: Array<Pending<T> | undefined> = [];
  #head = 0;
  #bytesInFlight = 0;
  #out: Buffer = Buffer.allocUnsafe(OUT_CHUNK);
  #outLen = 0;
  #commandStart = 0;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  /** bytes of the current command already handed to the socket */
  #socketBytes = 0;
  // reply parser state
  #line: Buffer[] = [];
  #bulkLeft = -1;
  #bulk: Buffer[] = [];
  #bulkKeep = false;
  #stack: number[] = [];
  #top: Reply | undefined;

  private constructor(socket: Socket, onReply: (tag: T, reply: Reply) => void) {
    this.#socket = socket;
    this.#onReply = onReply;
    socket.on('data', (data: Buffer) => {
      try {
        this.#feed(data);
      } catch (error) {
        this.#fail(error as Error);
        socket.destroy();
      }
      this.#notify();
    });
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new ConnectionError('the target closed the connection', 'E_CLOSED')));
    socket.on('drain', () => this.#notify());
  }

  /**
   * Connects and authenticates (and selects `endpoint.db`); the handshake's replies are checked here,
   * not passed to `onReply`.
   */
  static async open<T>(endpoint: Endpoint, onReply: (tag: T, reply: Reply) => void, options: { connectTimeoutMs?: number; name?: string } = {}): Promise<RestorePipe<T>> {
    const socket = await openRawSocket(endpoint, options.connectTimeoutMs ?? 5000);
    let handshakeError: string | undefined;
    const handshake = new RestorePipe<T | '__handshake__'>(socket, (tag, reply) => {
      if (tag === '__handshake__') {
        if (reply.type === '-') handshakeError ??= reply.text;
      } else onReply(tag as T, reply);
    });
    try {
      if (endpoint.password !== undefined) handshake.send(endpoint.username ? ['AUTH', endpoint.username, endpoint.password] : ['AUTH', endpoint.password], '__handshake__');
      if (options.name) handshake.send(['CLIENT', 'SETNAME', options.name], '__handshake__');
      if (endpoint.db) handshake.send(['SELECT', String(endpoint.db)], '__handshake__');
      handshake.send(['PING'], '__handshake__');
      await handshake.settle(0);
      if (handshakeError) throw new Error(handshakeError);
    } catch (error) {
      socket.destroy();
      throw describeConnectError(error, endpoint);
    }
    return handshake as RestorePipe<T>;
  }

  get inFlight(): number {
    return this.#queue.length - this.#head;
  }

  get bytesInFlight(): number {
    return this.#bytesInFlight;
  }

  /** The connection's failure (socket error, close, protocol error), if any. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Encodes one command into the outgoing buffer. */
  send(args: readonly Arg[], tag: T): void {
    this.begin(args.length);
    for (const a of args) this.arg(a);
    this.end(tag);
  }

  /** Starts a command of `argc` arguments; then arg()/argParts() for each, then end(tag). */
  begin(argc: number): void {
    this.#commandStart = this.#outLen;
    this.#header(0x2a, argc);
  }

  arg(a: Arg): void {
    if (typeof a === 'string') {
      const n = Buffer.byteLength(a);
      this.#header(0x24, n);
      this.#reserve(n + 2);
      this.#outLen += this.#out.write(a, this.#outLen, 'utf8');
      this.#out[this.#outLen++] = CR;
      this.#out[this.#outLen++] = LF;
    } else this.argParts([a], a.length);
  }

  /** An argument already encoded as a bulk string (see encodeArg), e.g. a command name. */
  argEncoded(encoded: Buffer): void {
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

  /** One bulk argument made of several buffers (e.g. a payload's head, value and tail). */
  argParts(parts: readonly Uint8Array[], length: number): void {
    this.#header(0x24, length);
    if (length > OUT_CHUNK) {
      // a large value: hand the socket what is buffered, then the parts themselves (no copy)
      this.#socketBytes += this.#outLen - this.#commandStart + length;
      this.#flushBuffer();
      for (const p of parts) this.#socket.write(p);
      this.#ascii('\r\n');
      return;
    }
    this.#reserve(length + 2);
    for (const p of parts) {
      this.#out.set(p, this.#outLen);
      this.#outLen += p.length;
    }
    this.#outLen += CRLF.copy(this.#out, this.#outLen);
  }

  end(tag: T): void {
    const bytes = this.#outLen - this.#commandStart + this.#socketBytes;
    this.#socketBytes = 0;
    this.#queue.push({ tag, bytes });
    this.#bytesInFlight += bytes;
    if (this.#outLen >= OUT_CHUNK / 2) this.#flushBuffer();
  }

  /**
   * Sends what is buffered, then waits until at most `maxCommands` commands (and `maxBytes` of them)
   * await a reply and the socket has room. Throws the connection's failure. Returns early (false)
   * when `until` says so: the abort signal fired, or the deadline passed.
   */
  async settle(maxCommands: number, maxBytes = Number.MAX_SAFE_INTEGER, until: { signal?: AbortSignal; deadline?: number } = {}): Promise<boolean> {
    if (this.#failure) throw this.#failure;
    const within = () => this.inFlight <= maxCommands && (this.#bytesInFlight <= maxBytes || this.inFlight === 0) && !this.#socket.writableNeedDrain;
    // within the limits, a part-filled buffer may wait for more commands (fewer, larger writes)
    if (maxCommands > 0 && this.#outLen < OUT_CHUNK / 4 && within()) return true;
    this.#flushBuffer();
    const { signal, deadline } = until;
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (within()) return true;
      if (signal?.aborted || (deadline !== undefined && Date.now() >= deadline)) return false;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        const timer = deadline === undefined ? undefined : setTimeout(wake, Math.max(0, deadline - Date.now()));
        signal?.addEventListener('abort', wake, { once: true });
        this.#wake = wake;
      });
    }
  }

  close(): void {
    this.#failure ??= new ConnectionError('the connection was closed', 'E_CLOSED');
    if (!this.#socket.destroyed) {
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), 1000).unref();
    }
  }

  destroy(): void {
    this.#failure ??= new ConnectionError('the connection was closed', 'E_CLOSED');
    this.#socket.destroy();
  }

  #ascii(text: string): void {
    this.#reserve(text.length);
    this.#outLen += this.#out.write(text, this.#outLen, 'latin1');
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

  #reserve(n: number): void {
    if (this.#outLen + n <= this.#out.length) return;
    const keep = this.#outLen - this.#commandStart;
    const next = Buffer.allocUnsafe(Math.max(OUT_CHUNK, keep + n));
    // flush whole commands; keep the current command's start in the new buffer
    if (this.#commandStart > 0) this.#socket.write(this.#out.subarray(0, this.#commandStart));
    this.#out.copy(next, 0, this.#commandStart, this.#outLen);
    this.#out = next;
    this.#outLen = keep;
    this.#commandStart = 0;
  }

  #flushBuffer(): void {
    if (this.#outLen === 0) return;
    this.#socket.write(this.#out.subarray(0, this.#outLen));
    this.#out = Buffer.allocUnsafe(OUT_CHUNK);
    this.#outLen = 0;
    this.#commandStart = 0;
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #feed(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#bulkLeft >= 0) {
        const take = Math.min(this.#bulkLeft, n - i);
        if (this.#bulkKeep && take > 0) this.#bulk.push(chunk.subarray(i, i + take));
        i += take;
        this.#bulkLeft -= take;
        if (this.#bulkLeft === 0) {
          this.#bulkLeft = -1;
          const data = this.#bulkKeep ? Buffer.concat(this.#bulk) : undefined;
          this.#bulk = [];
          // strip the CRLF the length included
          this.#value({ type: '$', text: data ? data.toString('utf8', 0, data.length - 2) : '', nil: false });
        }
        continue;
      }
      const nl = chunk.indexOf(LF, i);
      const end = nl === -1 ? n : nl + 1;
      this.#line.push(chunk.subarray(i, end));
      i = end;
      if (nl === -1) break;
      const parts = this.#line;
      this.#line = [];
      const line = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      this.#onLine(line);
    }
  }

  #onLine(line: Buffer): void {
    const type = line[0]!;
    const textEnd = line.length >= 2 && line[line.length - 2] === CR ? line.length - 2 : line.length - 1;
    const text = line.toString('utf8', 1, textEnd);
    switch (type) {
      case 0x2b: // +
        return this.#value({ type: '+', text, nil: false });
      case 0x2d: // -
        return this.#value({ type: '-', text, nil: false });
      case 0x3a: // :
        return this.#value({ type: ':', text, nil: false });
      case 0x24: {
        // $
        const length = Number(text);
        if (length < 0) return this.#value({ type: '$', text: '', nil: true });
        this.#bulkLeft = length + 2;
        this.#bulkKeep = length < MAX_KEPT_BULK && this.#stack.length === 0;
        return;
      }
      case 0x2a: {
        // *
        const count = Number(text);
        if (count < 0) return this.#value({ type: '*', text: '', nil: true });
        if (count === 0) return this.#value({ type: '*', text: '0', nil: false });
        if (this.#stack.length === 0) this.#top = { type: '*', text: String(count), nil: false };
        this.#stack.push(count);
        return;
      }
      default:
        throw new NeuralLogRedisError('E_PROTOCOL', `the target sent bytes that are not RESP2 (type byte 0x${type.toString(16)})`);
    }
  }

  #value(reply: Reply): void {
    const stack = this.#stack;
    while (stack.length > 0) {
      const left = --stack[stack.length - 1]!;
      if (left > 0) return;
      stack.pop();
      if (stack.length === 0) {
        reply = this.#top!;
        this.#top = undefined;
      }
    }
    const pending = this.#queue[this.#head];
    if (!pending) throw new NeuralLogRedisError('E_PROTOCOL', 'the target sent a reply to a command we did not send');
    this.#queue[this.#head++] = undefined;
    this.#bytesInFlight -= pending.bytes;
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    this.#onReply(pending.tag, reply);
  }
}

/** `$<length>\r\n<text>\r\n`, for arguments sent over and over (command names, options). */
export function encodeArg(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF]);
}
