/**
 * One pull connection's trip from RESP handshake replies to raw payload bytes (see pull.ts):
 * commands and their replies first, then SYNC's keepalives and payload header, then the payload,
 * delivered to a Readable with backpressure and checked for completeness when the link closes.
 */
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { formatRedisUrl, type Endpoint } from '../connect/url.js';
import { ConnectionError } from '../errors.js';
import { encodeCommand, RespDecoder, RespError, type RespReply } from '../resp/index.js';
import type { PullOptions } from './pull-options.js';
import { describeRefusal } from './refusals.js';

const MARK_BYTES = 40;
const MAX_HEADER_LINE = 1024;
/** after the EOF mark arrived, how long to wait for an rdb-only server to close before ending anyway */
const CLOSE_GRACE_MS = 2000;
const STREAM_HIGH_WATER_MARK = 256 << 10;
/**
 * Payload bytes are copied into blocks of this size, each pushed once full but for its last 40 bytes
 * (they may be the EOF mark), which start the next block. The socket reads ~16 KiB at a time (the
 * server writes what its fork produced in 16 KiB pieces): one block is one trip through the consumer's
 * pipeline (parser, compressor, hash, file) instead of ~16, and reads into one reused buffer allocate
 * nothing (see connect/raw-socket.ts).
 */
const BLOCK_BYTES = 256 << 10;
const EMPTY = Buffer.alloc(0);

type Phase = 'handshake' | 'preamble' | 'payload' | 'done';

export interface Header {
  mode: 'diskless' | 'disk';
  declaredBytes?: number;
  keepalives: number;
  waitedMs: number;
  stream: Readable;
}

/** One connection's trip from handshake replies to raw payload bytes. */
export class SyncLink {
  readonly #socket: Socket;
  readonly #endpoint: Endpoint;
  readonly #options: PullOptions;
  readonly #where: string;
  #phase: Phase = 'handshake';
  #step = 'connect';
  /** whoever waits for the next reply (handshake) or for the payload header (after SYNC) */
  /** `reply` returns false while a batch still waits for more replies */
  #waiter: { reject(error: Error): void; reply?(reply: RespReply): boolean; header?(header: Header): void } | undefined;
  readonly #decoder: RespDecoder;
  #socketError: Error | undefined;
  /** why the link failed, for commands issued after it did */
  #failure: Error | undefined;
  // preamble
  #keepalives = 0;
  #line: Buffer[] = [];
  #lineBytes = 0;
  #syncSentAt = 0;
  #rdbOnly = true;
  // payload
  #stream: Readable | undefined;
  #mode: 'diskless' | 'disk' = 'diskless';
  #remaining = 0;
  #mark: Buffer = Buffer.alloc(0);
  /** payload bytes received and not yet pushed: block[0, used) (diskless: the last 40 may be the EOF mark) */
  #block: Buffer = EMPTY;
  #used = 0;
  #received = 0;
  #markAtEnd = false;
  /** the consumer's complete RDB, in bytes (rdbComplete), if it has told */
  #rdbBytes = -1;
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, endpoint: Endpoint, options: PullOptions) {
    this.#socket = socket;
    this.#endpoint = endpoint;
    this.#options = options;
    this.#where = formatRedisUrl(endpoint);
    this.#decoder = new RespDecoder((reply) => {
      const waiter = this.#waiter;
      if (!waiter?.reply) return this.#fail(this.protocol('the server sent a reply nobody asked for'));
      if (waiter.reply(reply)) this.#waiter = undefined;
    });
    socket.setTimeout(options.idleTimeoutMs ?? 60_000);
    socket.on('timeout', () => {
      if (socket.isPaused()) return; // the consumer is behind, not the server
      const ms = options.idleTimeoutMs ?? 60_000;
      const seconds = ms >= 10_000 ? Math.round(ms / 1000) : ms / 1000;
      this.#fail(new ConnectionError(`${this.#where} sent nothing for ${seconds} s during ${this.#stepText()}; the pull was given up`, 'E_PULL_TIMEOUT'));
    });
    socket.on('error', (error) => (this.#socketError ??= error));
    socket.on('close', () => this.#onClose());
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  readonly #onAbort = (): void => {
    this.#fail(this.#options.signal?.reason instanceof Error ? this.#options.signal.reason : new ConnectionError('the pull was cancelled', 'E_ABORTED'));
  };

  /**
   * The socket's bytes (openRawSocket's reader): `transient` ones are valid only during the call, so
   * whatever is kept is copied.
   */
  receive(chunk: Buffer, transient: boolean): void {
    try {
      this.#onData(chunk, transient);
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  /**
   * Sends commands in one write and waits for all their replies, in order (errors come back as
   * RespError values): one round trip instead of one per command. `step` names each command in
   * messages about a silence or a close while its reply is awaited.
   */
  commands(batch: Array<{ args: string[]; step: string }>): Promise<RespReply[]> {
    this.#step = batch[0]!.step;
    return new Promise<RespReply[]>((resolve, reject) => {
      if (this.#failure || this.#phase === 'done') return reject(this.#failure ?? new ConnectionError('the connection is closed', 'E_CONNECT'));
      const replies: RespReply[] = [];
      this.#waiter = {
        // a server that refuses and closes at once (protected mode's -DENIED, a full server's
        // max clients) ends the batch early: its refusal says more than the close
        reject: (error) => {
          const refused = replies.findIndex((r) => r instanceof RespError);
          reject(refused < 0 ? error : describeRefusal(replies[refused] as RespError, batch[refused]!.step, this.#endpoint));
        },
        reply: (reply) => {
          replies.push(reply);
          if (replies.length < batch.length) {
            this.#step = batch[replies.length]!.step;
            return false;
          }
          resolve(replies);
          return true;
        },
      };
      this.#socket.write(Buffer.concat(batch.map((c) => encodeCommand(c.args))));
    });
  }

  /** An error reply becomes a ConnectionError that names the fix. */
  check(reply: RespReply, step: string): RespReply {
    if (reply instanceof RespError) throw describeRefusal(reply, step, this.#endpoint);
    return reply;
  }

  expectOk(reply: RespReply, step: string): void {
    if (this.check(reply, step) !== 'OK') throw this.protocol(`${step} answered ${describeReply(reply)} instead of OK`);
  }

  protocol(message: string): ConnectionError {
    return new ConnectionError(`${this.#where} does not speak the replication protocol as expected: ${message}`, 'E_PROTOCOL');
  }

  /** Sends SYNC; resolves once the payload header arrived. */
  sync(rdbOnly: boolean): Promise<Header> {
    return new Promise<Header>((resolve, reject) => {
      if (this.#failure || this.#phase === 'done') return reject(this.#failure ?? new ConnectionError('the connection is closed', 'E_CONNECT'));
      if (!this.#decoder.idle) return reject(this.protocol('unexpected bytes after the handshake replies'));
      this.#rdbOnly = rdbOnly;
      this.#step = 'SYNC';
      this.#phase = 'preamble';
      this.#syncSentAt = Date.now();
      this.#waiter = { reject, header: resolve };
      this.#socket.write(encodeCommand(['SYNC']));
    });
  }

  destroy(): void {
    this.#phase = 'done';
    this.#clearGrace();
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#socket.destroy();
  }

  #onData(chunk: Buffer, transient: boolean): void {
    switch (this.#phase) {
      case 'handshake':
        this.#decoder.write(transient ? Buffer.from(chunk) : chunk);
        return;
      case 'preamble':
        this.#onPreamble(transient ? Buffer.from(chunk) : chunk);
        return;
      case 'payload':
        this.#onPayload(chunk);
        return;
      default:
    }
  }

  #onPreamble(chunk: Buffer): void {
    let pos = 0;
    // onWaiting may abort the pull: nothing after that is read
    while (pos < chunk.length && this.#lineBytes === 0 && chunk[pos] === 0x0a && !this.#failure) {
      pos++;
      this.#keepalives++;
      this.#options.onWaiting?.(this.#keepalives);
    }
    if (pos === chunk.length || this.#failure) return;
    const lf = chunk.indexOf(0x0a, pos);
    const piece = chunk.subarray(pos, lf < 0 ? chunk.length : lf + 1);
    this.#line.push(piece);
    this.#lineBytes += piece.length;
    if (lf < 0) {
      if (this.#lineBytes > MAX_HEADER_LINE) throw this.protocol('the answer to SYNC is not a payload header');
      return;
    }
    const line = Buffer.concat(this.#line)
      .toString('latin1')
      .replace(/\r?\n$/, '');
    this.#line = [];
    this.#lineBytes = 0;
    this.#startPayload(line);
    const rest = chunk.subarray(lf + 1);
    if (rest.length > 0) this.#onPayload(rest);
  }

  #startPayload(line: string): void {
    if (line.startsWith('-')) throw describeRefusal(new RespError(line.slice(1)), 'SYNC', this.#endpoint);
    let declaredBytes: number | undefined;
    if (line.startsWith('$EOF:')) {
      const mark = Buffer.from(line.slice(5), 'latin1');
      if (mark.length !== MARK_BYTES) throw this.protocol(`the EOF mark in "${line.slice(0, 60)}" is not ${MARK_BYTES} bytes`);
      this.#mode = 'diskless';
      this.#mark = mark;
    } else if (/^\$\d+$/.test(line)) {
      declaredBytes = Number(line.slice(1));
      this.#mode = 'disk';
      this.#remaining = declaredBytes;
    } else {
      throw this.protocol(`SYNC answered "${line.slice(0, 60)}" instead of a payload header ($<length> or $EOF:<mark>)`);
    }
    this.#phase = 'payload';
    this.#step = 'the RDB transfer';
    this.#stream = new Readable({
      highWaterMark: STREAM_HIGH_WATER_MARK,
      read: () => {
        if (this.#phase === 'payload' && this.#socket.isPaused()) this.#socket.resume();
      },
      destroy: (error, callback) => {
        if (this.#phase !== 'done') this.destroy();
        callback(error);
      },
    });
    const waiter = this.#waiter;
    this.#waiter = undefined;
    const header: Header = { mode: this.#mode, declaredBytes, keepalives: this.#keepalives, waitedMs: Date.now() - this.#syncSentAt, stream: this.#stream };
    waiter?.header?.(header);
    if (this.#mode === 'disk' && this.#remaining === 0) this.#finish();
  }

  #onPayload(chunk: Buffer): void {
    if (this.#mode === 'disk') {
      const take = Math.min(chunk.length, this.#remaining);
      this.#remaining -= take;
      this.#received += take;
      this.#append(take === chunk.length ? chunk : chunk.subarray(0, take), 0);
      if (this.#remaining === 0) this.#finish();
      return;
    }
    // diskless: the last 40 bytes may be the EOF mark
    this.#received += chunk.length;
    this.#clearGrace();
    this.#markAtEnd = false;
    this.#append(chunk, MARK_BYTES);
    const used = this.#used;
    if (used >= MARK_BYTES && this.#block.subarray(used - MARK_BYTES, used).equals(this.#mark)) {
      if (!this.#rdbOnly) return this.#finish();
      // an rdb-only server closes once it has reaped its fork, 50-100 ms after the mark; waiting for
      // that rules out a mark-like sequence inside the data that happened to end a read. So does the
      // consumer's parser finding the RDB's end (its EOF opcode and checksum) exactly before the
      // mark (rdbComplete), which ends the pull at once: the bytes before the mark go to it now
      this.#pushBlock(MARK_BYTES);
      this.#markAtEnd = true;
      if (this.#rdbBytes === this.#received - MARK_BYTES) return this.#finish();
      this.#graceTimer = setTimeout(() => this.#finish(), CLOSE_GRACE_MS);
      this.#graceTimer.unref();
    }
  }

  /**
   * The consumer has read a whole RDB of `rdbBytes` bytes, its EOF opcode and checksum verified:
   * when the payload's EOF mark follows exactly there, the pull ends now rather than when the server
   * closes the link.
   */
  rdbComplete(rdbBytes: number): void {
    this.#rdbBytes = rdbBytes;
    if (this.#phase === 'payload' && this.#mode === 'diskless' && this.#markAtEnd && rdbBytes === this.#received - MARK_BYTES) this.#finish();
  }

  /** copies `bytes` into blocks; a full block is pushed but for its last `carry` bytes, which start the next */
  #append(bytes: Buffer, carry: number): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.#used === this.#block.length) this.#pushBlock(carry);
      const n = Math.min(bytes.length - at, this.#block.length - this.#used);
      bytes.copy(this.#block, this.#used, at, at + n);
      this.#used += n;
      at += n;
    }
  }

  /** pushes the block but for its last `keep` bytes (they start a new block, or with `last`, are dropped) */
  #pushBlock(keep: number, last = false): void {
    const full = this.#block;
    const kept = Math.min(keep, this.#used);
    const out = full.subarray(0, this.#used - kept);
    if (last) {
      this.#block = EMPTY;
      this.#used = 0;
    } else {
      this.#block = Buffer.allocUnsafe(BLOCK_BYTES);
      full.copy(this.#block, 0, this.#used - kept, this.#used);
      this.#used = kept;
    }
    if (out.length > 0 && !this.#stream!.push(out)) this.#socket.pause();
  }

  #finish(): void {
    if (this.#phase !== 'payload') return;
    this.#phase = 'done';
    this.#clearGrace();
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    // the rest of the payload; in diskless mode without its EOF mark
    this.#pushBlock(this.#mode === 'diskless' ? MARK_BYTES : 0, true);
    this.#stream!.push(null);
    this.#socket.destroy();
  }

  #onClose(): void {
    this.#clearGrace();
    if (this.#phase === 'done') return;
    if (this.#phase === 'payload' && this.#mode === 'diskless' && this.#markAtEnd) return this.#finish();
    const cause = this.#socketError;
    const why = cause ? ` (${cause.message})` : '';
    if (this.#phase === 'payload') {
      const got = this.#mode === 'disk' ? this.#received : Math.max(0, this.#received - MARK_BYTES);
      const lack =
        this.#mode === 'disk'
          ? `after ${got} of the ${got + this.#remaining} RDB bytes it announced`
          : `after ${this.#received} bytes of a diskless RDB, before its end-of-file mark`;
      this.#fail(
        new ConnectionError(
          `the connection to ${this.#where} closed ${lack}${why}: the copy is incomplete and must not be used. The server may have stopped or restarted, or dropped the link itself (its log says why: client-output-buffer-limit, repl-timeout, a failed fork)`,
          'E_PULL_TRUNCATED',
          cause,
        ),
      );
      return;
    }
    const during =
      this.#phase === 'preamble' ? 'while it prepared the RDB (see the server log: a failed fork or BGSAVE closes the link)' : `during ${this.#stepText()}`;
    this.#fail(new ConnectionError(`${this.#where} closed the connection ${during}${why}`, this.#phase === 'preamble' ? 'E_SYNC_REFUSED' : 'E_CONNECT', cause));
  }

  #fail(error: Error): void {
    if (this.#phase === 'done') return;
    this.#failure = error;
    const payload = this.#phase === 'payload';
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.destroy();
    if (payload) this.#stream?.destroy(error);
    else waiter?.reject(error);
  }

  #clearGrace(): void {
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
  }

  #stepText(): string {
    return this.#step === 'connect' ? 'the handshake' : this.#step;
  }
}

function describeReply(reply: RespReply): string {
  if (Buffer.isBuffer(reply)) return `a ${reply.length}-byte string`;
  if (Array.isArray(reply)) return `an array of ${reply.length}`;
  return JSON.stringify(typeof reply === 'bigint' ? String(reply) : reply);
}
