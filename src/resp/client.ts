/**
 * A request/reply RESP2 client for the few commands a short command sends (a slot map, INFO, a
 * Sentinel's view): one socket, commands answered in order as whole replies, each within a deadline.
 * node-redis does this too, but loading it costs a CLI 0.15-0.35 s of start (its command tables and
 * the collections they set off: docs/benchmarks.md), which a backup of a small cluster notices.
 *
 * `sendCommand` maps replies as node-redis does under RESP2 (bulk strings as UTF-8 text, integers as
 * numbers, error replies rejected with the server's text), so lookups written for either read alike;
 * `call` hands the decoder's replies over as they are (bulk strings as Buffers, errors as values).
 */
import type { Socket } from 'node:net';
import { describeConnectError, HandshakeTimeout, notRedisServer } from '../connect/client.js';
import { openRawSocket } from '../connect/raw-socket.js';
import type { Endpoint } from '../connect/url.js';
import { ConnectionError } from '../errors.js';
import { RespDecoder } from './decode.js';
import { encodeCommand, type CommandArg } from './encode.js';
import { RespError, RespProtocolError, type RespReply } from './reply.js';
import { endSocket } from './end-socket.js';

export interface RespClientOptions {
  /** deadline for the connect, and then for the handshake (AUTH, SELECT, PING; default 10 s) */
  connectTimeoutMs?: number;
  /** deadline of each command from when it is sent (default 30 s); past it the connection is closed */
  commandTimeoutMs?: number;
  /** CLIENT SETNAME, so that the connection is seen for what it is in CLIENT LIST */
  name?: string;
}

/** An error reply, rejected by `sendCommand`: its message is the server's text ("NOPERM ..."). */
export class RespReplyError extends Error {
  readonly kind: string;
  constructor(reply: RespError) {
    super(reply.message);
    this.kind = reply.kind;
  }
}

interface Waiter {
  resolve(reply: RespReply): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class RespClient {
  readonly #socket: Socket;
  readonly #where: string;
  readonly #commandMs: number;
  readonly #waiting: Waiter[] = [];
  readonly #decoder = new RespDecoder((reply) => this.#onReply(reply));
  #failure: Error | undefined;

  private constructor(socket: Socket, where: string, commandMs: number) {
    this.#socket = socket;
    this.#where = where;
    this.#commandMs = commandMs;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new ConnectionError(`${where} closed the connection`, 'E_CLOSED')));
  }

  /** Connects and logs in (AUTH with the endpoint's user and password, SELECT, else PING); refusals read as connect/'s errors. */
  static async open(endpoint: Endpoint, options: RespClientOptions = {}): Promise<RespClient> {
    const connectMs = options.connectTimeoutMs ?? 10_000;
    const started = Date.now();
    const socket = await openRawSocket(endpoint, connectMs);
    const client = new RespClient(socket, `${endpoint.host}:${endpoint.port}`, options.commandTimeoutMs ?? 30_000);
    const handshake: string[][] = [];
    if (endpoint.password !== undefined) handshake.push(endpoint.username ? ['AUTH', endpoint.username, endpoint.password] : ['AUTH', endpoint.password]);
    if (options.name) handshake.push(['CLIENT', 'SETNAME', options.name]);
    if (endpoint.db) handshake.push(['SELECT', String(endpoint.db)]);
    // without a password, PING finds out a server that wants one (NOAUTH) and a port that is not Redis;
    // with one, AUTH has proved both (a user may lack +ping)
    if (handshake.length === 0) handshake.push(['PING']);
    try {
      // sent together, answered in one round trip; the first refusal is the one to report
      const left = Math.max(1, connectMs - (Date.now() - started));
      const replies = await Promise.all(handshake.map((args) => client.#send(args, left, () => new HandshakeTimeout(connectMs))));
      const refused = replies.find((reply) => reply instanceof RespError);
      if (refused) throw new Error(refused.message);
    } catch (error) {
      client.destroy();
      // bytes that are not RESP, or a peer that hung up: an inline PING shows what answered (HTTP, SSH, ...)
      if (error instanceof RespProtocolError || (error instanceof ConnectionError && error.code === 'E_CLOSED'))
        throw (await notRedisServer(endpoint, error)) ?? describeConnectError(error, endpoint);
      throw describeConnectError(error, endpoint);
    }
    return client;
  }

  /** Connected, and no command has failed the connection (a deadline passed, the peer closed). */
  get isOpen(): boolean {
    return this.#failure === undefined && !this.#socket.destroyed;
  }

  /** One command; its reply as the decoder gives it (an error reply is a RespError value, not thrown). */
  call(args: readonly CommandArg[]): Promise<RespReply> {
    return this.#send(args, this.#commandMs, () => this.#late());
  }

  /** One command, its reply as node-redis gives it under RESP2; an error reply rejects (RespReplyError). */
  async sendCommand<T = unknown>(args: readonly CommandArg[]): Promise<T> {
    return plainReply(await this.call(args), false) as T;
  }

  /** One command, bulk strings kept as bytes (DUMP payloads); an error reply rejects (RespReplyError). */
  async sendBinary<T = unknown>(args: readonly CommandArg[]): Promise<T> {
    return plainReply(await this.call(args), true) as T;
  }

  /** INFO [section], as text. */
  async info(section?: string): Promise<string> {
    return String(await this.sendCommand(section ? ['INFO', section] : ['INFO']));
  }

  /** Ends the connection after what was sent (destroyed if it lingers 1 s). */
  close(): Promise<void> {
    this.#failure ??= new ConnectionError('the connection was closed', 'E_CLOSED');
    return endSocket(this.#socket);
  }

  destroy(): void {
    this.#fail(new ConnectionError('the connection was closed', 'E_CLOSED'));
    this.#socket.destroy();
  }

  #send(args: readonly CommandArg[], ms: number, late: () => Error): Promise<RespReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<RespReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        // the replies after this one would be out of step: the connection is done
        const error = late();
        this.#fail(error);
        this.#socket.destroy();
      }, ms);
      this.#waiting.push({ resolve, reject, timer });
      this.#socket.write(encodeCommand(args));
    });
  }

  #late(): ConnectionError {
    const ms = this.#commandMs;
    return new ConnectionError(`no answer from ${this.#where} within ${ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`}`, 'E_TIMEOUT');
  }

  #receive(chunk: Buffer): void {
    try {
      this.#decoder.write(chunk);
    } catch (error) {
      this.#fail(error as Error);
      this.#socket.destroy();
    }
  }

  #onReply(reply: RespReply): void {
    const waiter = this.#waiting.shift();
    if (!waiter) {
      this.#fail(new ConnectionError(`${this.#where} sent a reply nobody asked for`, 'E_PROTOCOL'));
      this.#socket.destroy();
      return;
    }
    clearTimeout(waiter.timer);
    waiter.resolve(reply);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const w of this.#waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(error);
    }
  }
}

/**
 * A reply with its error replies thrown (nested ones too) and big integers as numbers; bulk strings as
 * UTF-8 text (as node-redis maps RESP2) or, with `bytes`, as they came (Buffers).
 */
function plainReply(reply: RespReply, bytes: boolean): unknown {
  if (reply instanceof RespError) throw new RespReplyError(reply);
  if (typeof reply === 'bigint') return Number(reply);
  if (Array.isArray(reply)) return reply.map((item) => plainReply(item, bytes));
  return !bytes && Buffer.isBuffer(reply) ? reply.toString('utf8') : reply;
}
