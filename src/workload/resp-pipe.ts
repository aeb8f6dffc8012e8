/**
 * A raw pipelined connection for bulk writes, the way `redis-cli --pipe` works: commands are encoded
 * as RESP straight into large socket writes, and replies are counted, not built. The official client
 * costs a promise, a queue node and a socket write per command, which caps a single Node process well
 * below what redis-server can absorb; bulk loading is the one job that needs this instead.
 *
 * Memory stays flat: the caller bounds the unanswered commands (`settle`), writes wait for `drain`.
 */
import type { Socket } from 'node:net';
import { describeConnectError, openRawSocket, type Endpoint } from '../connect/index.js';
import { ConnectionError } from '../errors.js';
import { ReplyCounter, type ReplyError } from './reply-counter.js';
import { respCommand } from './resp-text.js';

/** Encoded bytes are handed to the socket in chunks of about this many characters. */
const CHUNK_CHARS = 64 * 1024;

export interface RespPipeOptions {
  /** deadline for the TCP/TLS connect and then for the AUTH/SELECT/PING handshake (default 10 s) */
  connectTimeoutMs?: number;
  /** how long a wait for replies may see no progress at all before the load fails (default 60 s) */
  replyTimeoutMs?: number;
}

export class RespPipe {
  /** commands sent (or buffered for sending) */
  sent = 0;
  readonly #socket: Socket;
  readonly #counter = new ReplyCounter();
  #chunk = '';
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  readonly #where: string;
  #replyTimeoutMs: number;

  private constructor(socket: Socket, where: string, replyTimeoutMs: number) {
    this.#socket = socket;
    this.#where = where;
    this.#replyTimeoutMs = replyTimeoutMs;
    socket.on('data', (data: Buffer) => {
      try {
        this.#counter.feed(data);
      } catch (error) {
        this.#fail(error as Error);
      }
      this.#notify();
    });
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new ConnectionError('the server closed the connection during the load', 'E_CLOSED')));
    socket.on('drain', () => {
      if (this.#chunk !== '') this.#write();
      this.#notify();
    });
  }

  /** Connects, authenticates and selects the endpoint's database; PING proves it all worked. */
  static async open(endpoint: Endpoint, options: RespPipeOptions = {}): Promise<RespPipe> {
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const socket = await openRawSocket(endpoint, connectTimeoutMs);
    const pipe = new RespPipe(socket, `${endpoint.host}:${endpoint.port}`, connectTimeoutMs);
    const handshake: string[][] = [];
    if (endpoint.password !== undefined) {
      handshake.push(endpoint.username ? ['AUTH', endpoint.username, endpoint.password] : ['AUTH', endpoint.password]);
    }
    if (endpoint.db) handshake.push(['SELECT', String(endpoint.db)]);
    handshake.push(['PING']);
    try {
      for (const args of handshake) pipe.send(args);
      await pipe.settle(0);
    } catch (error) {
      socket.destroy();
      throw describeConnectError(error, endpoint);
    }
    pipe.sent = 0;
    pipe.#counter.replies = 0;
    pipe.#replyTimeoutMs = options.replyTimeoutMs ?? 60_000;
    return pipe;
  }

  /** Replies received so far. */
  get answered(): number {
    return this.#counter.replies;
  }

  get firstError(): ReplyError | undefined {
    return this.#counter.firstError;
  }

  /** Encodes one command into the outgoing buffer. */
  send(args: readonly string[]): void {
    this.sendEncoded(respCommand(args), 1);
  }

  /** Adds `commands` commands already encoded as RESP to the outgoing buffer. */
  sendEncoded(text: string, commands: number): void {
    this.#chunk += text;
    this.sent += commands;
    // while the socket is full, text waits here (bounded by the caller's settle) rather than in
    // the socket's own queue
    if (this.#chunk.length >= CHUNK_CHARS && !this.#socket.writableNeedDrain) this.#write();
  }

  /**
   * Sends what is buffered, then waits until at most `maxUnanswered` commands await a reply (and the
   * socket has room). Throws the first error reply, or the connection's failure.
   */
  async settle(maxUnanswered: number): Promise<void> {
    for (;;) {
      if (this.#counter.firstError) throw new Error(this.#counter.firstError.message);
      if (this.#failure) throw this.#failure;
      if (this.#chunk !== '' && !this.#socket.writableNeedDrain) this.#write();
      if (this.sent - this.#counter.replies <= maxUnanswered && !this.#socket.writableNeedDrain) return;
      // every wake is progress (a reply, room in the socket, a failure); a wait with none ends here
      let timer: NodeJS.Timeout | undefined;
      const progressed = await new Promise<boolean>((resolve) => {
        this.#wake = () => resolve(true);
        timer = setTimeout(() => resolve(false), this.#replyTimeoutMs);
      });
      clearTimeout(timer);
      if (!progressed) {
        this.#wake = undefined;
        const seconds = Math.round(this.#replyTimeoutMs / 1000);
        this.#fail(new ConnectionError(`no answer from ${this.#where} within ${seconds} s (${plural(this.sent - this.#counter.replies, 'command')} unanswered)`, 'E_TIMEOUT'));
      }
    }
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    this.#failure ??= new ConnectionError('the connection was closed', 'E_CLOSED');
    if (socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  #write(): void {
    this.#socket.write(this.#chunk);
    this.#chunk = '';
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
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
