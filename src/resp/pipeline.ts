/**
 * One pipelined RESP2 writer over a socket, the way `redis-cli --pipe` works: commands are encoded
 * straight into large socket writes (binary arguments through `CommandEncoder`, pre-encoded text as
 * strings), and replies are read by the decoder's shallow mode: counted, errors kept, each handed to
 * `onReply` with the caller's tag, in order, without building reply objects. The official client
 * costs a promise and a queue node per command, which caps a single Node process far below what
 * redis-server absorbs.
 *
 * Backpressure: the caller waits in `settle(maxCommands, maxBytes)` until the unanswered commands
 * (and their bytes: all the socket and the server's buffers can hold for us) are within its bounds
 * and the socket has drained (`write()` returned false until 'drain'). One command larger than the
 * byte bound does not count against it once it is the oldest unanswered one: the bound then holds
 * for the commands behind it. A wait ends early at a
 * deadline or an abort signal (`settle` returns false), and fails when it sees no progress at all for
 * `stallTimeoutMs`.
 */
import type { Socket } from 'node:net';
import { ConnectionError, NeuralLogRedisError } from '../errors.js';
import { ReplyCounter, type ReplyError } from './counter.js';
import { CommandEncoder, ENCODER_CHUNK, type CommandArg } from './encode.js';
import { endSocket } from './end-socket.js';

/** A reply, shallow (see `RespDecoder.shallow`): its type byte, its number, an error's text. */
export type ReplyHandler<T> = (tag: T, type: number, n: number, error: string | undefined) => void;

export interface PipelineOptions<T> {
  onReply?: ReplyHandler<T>;
  /** a wait that sees no progress (no reply, no drain) for this long fails with E_TIMEOUT */
  stallTimeoutMs?: number;
  /** the server, for messages ("127.0.0.1:6380") */
  where?: string;
  /** the caller feeds `receive` itself (a socket read into a reused buffer), instead of 'data' events */
  externalReads?: boolean;
}

/** When a wait gives up without failing: the signal fired, or the deadline (ms since the epoch) passed. */
export interface Until {
  signal?: AbortSignal;
  deadline?: number;
}

/** pre-encoded text is handed to the socket once this many characters wait */
const TEXT_CHUNK = 64 * 1024;
const NO_TAG = Symbol('no tag');

export class RespPipeline<T> {
  onReply: ReplyHandler<T> | undefined;
  readonly #socket: Socket;
  readonly #counter: ReplyCounter;
  readonly #encoder: CommandEncoder;
  readonly #stallMs: number | undefined;
  readonly #where: string;
  #text = '';
  /** per unit of commands (one tagged command, or a block of text): where it ends, in commands and bytes */
  #unitEnds: number[] = [];
  #unitBytes: number[] = [];
  #unitTags: Array<T | typeof NO_TAG> = [];
  #head = 0;
  #sent = 0;
  #sentBytes = 0;
  #answeredBytes = 0;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  /** while held (see hold()), the bytes for the socket, in order */
  #held: Array<{ bytes: Uint8Array | string; release?: () => void }> | undefined;

  constructor(socket: Socket, options: PipelineOptions<T> = {}) {
    this.#socket = socket;
    this.onReply = options.onReply;
    this.#stallMs = options.stallTimeoutMs;
    this.#where = options.where ?? 'the server';
    this.#counter = new ReplyCounter((_index, type, n, error) => this.#reply(type, n, error));
    this.#encoder = new CommandEncoder((bytes, release) => this.#write(bytes, release));
    if (!options.externalReads) socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new ConnectionError(`${this.#where} closed the connection`, 'E_CLOSED')));
    socket.on('drain', () => this.#notify());
  }

  /** Commands sent (or buffered for sending), and answered. */
  get sent(): number {
    return this.#sent;
  }
  get answered(): number {
    return this.#counter.replies;
  }
  get inFlight(): number {
    return this.#sent - this.#counter.replies;
  }
  /** error replies so far, and the first */
  get errors(): number {
    return this.#counter.errors;
  }
  get firstError(): ReplyError | undefined {
    return this.#counter.firstError;
  }
  /** bytes of the unanswered commands (text counts its characters) */
  get bytesInFlight(): number {
    return this.#sentBytes - this.#answeredBytes;
  }
  /** The connection's failure (socket error, close, protocol error, stall), if any. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * Holds every byte back from the socket until release(): commands can be prepared (and counted
   * against the bounds of settle, which then waits for the release) before it is certain that they
   * may be sent; destroy() drops them unsent.
   */
  hold(): void {
    this.#held ??= [];
  }

  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** Hands what was held to the socket, in order, and lets writes through from now on. */
  release(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    if (this.#failure) return;
    for (const { bytes, release } of held) this.#write(bytes, release);
    this.#notify();
  }

  /** Bytes from the server (any chunking; the chunk may be reused once this returns). */
  receive(chunk: Buffer): void {
    try {
      this.#counter.feed(chunk);
    } catch (error) {
      this.#fail(error as Error);
      this.#socket.destroy();
    }
    this.#notify();
  }

  /** Encodes one command. */
  send(args: readonly CommandArg[], tag: T): void {
    this.begin(args.length);
    for (const a of args) this.#encoder.arg(a);
    this.end(tag);
  }

  /** Starts a command of `argc` arguments; then arg*() for each, then end(tag). */
  begin(argc: number): void {
    if (this.#text !== '') this.#flushText();
    this.#encoder.begin(argc);
  }
  arg(a: CommandArg): void {
    this.#encoder.arg(a);
  }
  /** an argument already encoded as a bulk string (`encodeBulk`) */
  argEncoded(encoded: Uint8Array): void {
    this.#encoder.argEncoded(encoded);
  }
  argInt(n: number): void {
    this.#encoder.argInt(n);
  }
  /** one bulk argument of several pieces; large ones go to the socket without a copy */
  argParts(parts: readonly Uint8Array[], length: number): void {
    this.#encoder.argParts(parts, length);
  }
  end(tag: T): void {
    this.#unit(1, this.#encoder.end(), tag);
  }

  /** `commands` commands already encoded as RESP text (the caller vouches for the count). */
  sendText(text: string, commands: number, tag: T): void {
    if (this.#encoder.buffered > 0) this.#encoder.flush();
    this.#text += text;
    this.#unit(commands, text.length, tag);
    if (this.#text.length >= TEXT_CHUNK) this.#flushText();
  }

  /**
   * Sends what is buffered, then waits until at most `maxCommands` commands (and `maxBytes` of them)
   * await a reply and the socket has drained. Throws the connection's failure. Returns false when
   * `until` ended the wait first.
   */
  async settle(maxCommands: number, maxBytes = Number.MAX_SAFE_INTEGER, until: Until = {}): Promise<boolean> {
    if (this.#failure) throw this.#failure;
    // within the bounds, a part-filled buffer may wait for more commands (fewer, larger writes)
    if (maxCommands > 0 && this.#encoder.buffered + this.#text.length < ENCODER_CHUNK / 4 && this.#within(maxCommands, maxBytes)) return true;
    this.flush();
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (this.#within(maxCommands, maxBytes)) return true;
      if (until.signal?.aborted || (until.deadline !== undefined && Date.now() >= until.deadline)) return false;
      if (!(await this.#progress(until))) this.#fail(this.#noAnswer(this.#stallMs!));
    }
  }

  /** Hands every buffered byte to the socket. */
  flush(): void {
    if (this.#text !== '') this.#flushText();
    else this.#encoder.flush();
  }

  /**
   * Sends `commands` and waits for their replies (for at most `timeoutMs`); throws the first error
   * reply, and then forgets them: counts start at zero, and `onReply` never sees them.
   */
  async handshake(commands: readonly (readonly CommandArg[])[], timeoutMs: number): Promise<void> {
    for (const args of commands) {
      this.begin(args.length);
      for (const a of args) this.#encoder.arg(a);
      this.#unit(1, this.#encoder.end(), NO_TAG);
    }
    if (!(await this.settle(0, undefined, { deadline: Date.now() + timeoutMs }))) throw this.#noAnswer(timeoutMs);
    if (this.firstError) throw new Error(this.firstError.message);
    this.#sent = this.#sentBytes = this.#answeredBytes = 0;
    this.#counter.reset();
    this.#unitEnds = [];
    this.#unitBytes = [];
    this.#unitTags = [];
    this.#head = 0;
  }

  /** Ends the connection after what was written (the socket is destroyed if it lingers). */
  close(): Promise<void> {
    this.#failure ??= new ConnectionError('the connection was closed', 'E_CLOSED');
    this.#held = undefined;
    return endSocket(this.#socket);
  }

  destroy(): void {
    this.#failure ??= new ConnectionError('the connection was closed', 'E_CLOSED');
    this.#held = undefined;
    this.#socket.destroy();
  }

  #write(bytes: Uint8Array | string, release?: () => void): void {
    if (this.#held) this.#held.push({ bytes, release });
    else if (release) this.#socket.write(bytes, () => release());
    else this.#socket.write(bytes);
  }

  #noAnswer(ms: number): ConnectionError {
    const n = this.inFlight;
    return new ConnectionError(`no answer from ${this.#where} within ${Math.round(ms / 1000)} s (${n} command${n === 1 ? '' : 's'} unanswered)`, 'E_TIMEOUT');
  }

  #within(maxCommands: number, maxBytes: number): boolean {
    const inFlight = this.#sent - this.#counter.replies;
    if (inFlight > maxCommands || (this.#socket.writableNeedDrain && !this.#held)) return false;
    const bytes = this.#sentBytes - this.#answeredBytes;
    if (bytes <= maxBytes || inFlight === 0) return true;
    // the oldest unanswered command alone larger than the bound (a large value the server is still
    // reading or loading): the commands behind it are held to the bound, so the client goes on
    // preparing them instead of idling until the large one is answered
    const oldest = this.#unitBytes[this.#head]! - this.#answeredBytes;
    return oldest > maxBytes && bytes - oldest <= maxBytes;
  }

  /** waits for a reply, a drain or a failure (true), the end of `until` (true), or a stall (false) */
  #progress(until: Until): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const { signal, deadline } = until;
      const done = (progressed: boolean) => {
        clearTimeout(deadlineTimer);
        clearTimeout(stallTimer);
        signal?.removeEventListener('abort', wake);
        this.#wake = undefined;
        resolve(progressed);
      };
      const wake = () => done(true);
      const deadlineTimer = deadline === undefined ? undefined : setTimeout(wake, Math.max(0, deadline - Date.now()));
      // held commands cannot be answered: no stall until they are released
      const stallTimer = this.#stallMs === undefined || this.#held ? undefined : setTimeout(() => done(false), this.#stallMs);
      signal?.addEventListener('abort', wake, { once: true });
      this.#wake = wake;
    });
  }

  #unit(commands: number, bytes: number, tag: T | typeof NO_TAG): void {
    this.#sent += commands;
    this.#sentBytes += bytes;
    this.#unitEnds.push(this.#sent);
    this.#unitBytes.push(this.#sentBytes);
    this.#unitTags.push(tag);
  }

  #flushText(): void {
    this.#write(this.#text);
    this.#text = '';
  }

  #reply(type: number, n: number, error: string | undefined): void {
    const head = this.#head;
    if (head >= this.#unitEnds.length) throw new NeuralLogRedisError('E_PROTOCOL', `${this.#where} sent a reply to a command that was not sent`);
    const tag = this.#unitTags[head]!;
    if (this.#counter.replies === this.#unitEnds[head]) {
      this.#answeredBytes = this.#unitBytes[head]!;
      this.#head = head + 1;
      if (this.#head > 4096 && this.#head * 2 > this.#unitEnds.length) this.#compact();
    }
    if (tag !== NO_TAG) this.onReply?.(tag, type, n, error);
  }

  #compact(): void {
    const head = this.#head;
    this.#unitEnds = this.#unitEnds.slice(head);
    this.#unitBytes = this.#unitBytes.slice(head);
    this.#unitTags = this.#unitTags.slice(head);
    this.#head = 0;
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#notify();
  }

  #notify(): void {
    this.#wake?.();
  }
}
