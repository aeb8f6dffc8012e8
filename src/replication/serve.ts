/**
 * A "fake master" for restores: a TCP listener that speaks just enough of the replication protocol
 * for one redis-server, told `REPLICAOF <host> <port>`, to take an RDB from us with a full
 * resynchronisation and load it with its own loader:
 *
 *   replica: PING, [AUTH], REPLCONF listening-port / capa ..., PSYNC <id> <offset>  (or SYNC)
 *   us:      +PONG, +OK, +OK ..., +FULLRESYNC <replid> <offset>, then $<len>\r\n + exactly len RDB bytes
 *
 * then a PING every second, as a master does, so the replica's link stays up until it is told
 * `REPLICAOF NO ONE`. Its `REPLCONF ACK`s are read and ignored.
 *
 * Safety: the last chunk of the RDB is held back until the source stream has ended without error and
 * produced exactly `rdbBytes` bytes. If the source fails (a bad CRC found by a verifying stream, a read
 * error), the replica's socket is destroyed with bytes still missing, and a replica that loads from
 * disk (repl-diskless-load disabled, the default) discards the partial transfer and keeps its data.
 * Only the first PSYNC/SYNC gets the RDB: the listener then stops accepting connections, so a replica
 * that reconnects after a failure gets "connection refused" (one quiet retry a second, measured on
 * 7.0.15) instead of a second transfer. (Answering its PSYNC with an error instead makes 7.0.15
 * reconnect in a busy loop, thousands of log lines a second.)
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ConnectionError } from '../errors.js';
import { encodeCommand, encodeError, encodeSimpleString, RespDecoder, type RespReply } from '../resp/index.js';

export interface ReplicaInfo {
  /** the replica's address and port as we see them */
  address: string;
  port: number;
  /** from REPLCONF listening-port, when sent */
  listeningPort?: number;
  /** from REPLCONF capa (eof, psync2) */
  capabilities: string[];
  /** how it asked: PSYNC (answered +FULLRESYNC) or the old SYNC */
  command: 'PSYNC' | 'SYNC';
}

export interface ServeOptions {
  /** a fresh stream of the RDB bytes; called once, when the replica asks for them */
  rdb: () => Readable;
  /** exactly how many bytes that stream gives (announced as `$<len>`) */
  rdbBytes: number;
  /** listen address, default 127.0.0.1 */
  host?: string;
  /** listen port, default 0 (a free port chosen by the system) */
  port?: number;
  /** the replication ID announced with +FULLRESYNC; default 40 random hex digits */
  replId?: string;
  /** the offset announced with +FULLRESYNC; default 0 */
  replOffset?: number;
  /** interval of the PINGs that keep the link up after the transfer; default 1000 ms */
  pingIntervalMs?: number;
  onReplicaConnected?(replica: ReplicaInfo): void;
  /** RDB bytes written to the replica's socket so far */
  onTransferProgress?(bytes: number): void;
}

export interface FakeMaster {
  port: number;
  host: string;
  replId: string;
  /** resolves when every RDB byte was written to the replica's socket; rejects if the transfer failed */
  transferred: Promise<void>;
  /** stops listening and drops every connection (the replica then sees its master link go down) */
  close(): Promise<void>;
}

const PING = encodeCommand(['PING']);

/** What the listener's connections share. */
interface Listener {
  readonly options: ServeOptions;
  readonly replId: string;
  readonly replOffset: number;
  readonly sockets: Set<Socket>;
  /** a replica has asked for the RDB (only the first one gets it) */
  claimed: boolean;
  closed: boolean;
  pingTimer?: NodeJS.Timeout;
  /** settles `transferred` (the first call wins) */
  finish(error?: Error): void;
  /** stops accepting connections (those open stay) */
  stopListening(): Promise<void>;
}

/** One replica's connection. */
interface ReplicaConnection {
  readonly socket: Socket;
  readonly replica: ReplicaInfo;
  /** the RDB is on its way: what the replica sends now (REPLCONF ACK) is not answered */
  streaming: boolean;
}

export async function serveRdbAsMaster(options: ServeOptions): Promise<FakeMaster> {
  if (!Number.isSafeInteger(options.rdbBytes) || options.rdbBytes < 0) throw new RangeError(`rdbBytes must be a byte count, not ${options.rdbBytes}`);
  const host = options.host ?? '127.0.0.1';
  const replId = options.replId ?? randomBytes(20).toString('hex');
  if (!/^[0-9a-f]{40}$/.test(replId)) throw new RangeError('replId must be 40 lowercase hex digits');
  let settle!: { resolve(): void; reject(error: Error): void };
  const transferred = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  transferred.catch(() => {}); // a caller that never awaits it must not crash the process
  let settled = false;
  let listenerStopped: Promise<void> | undefined;
  const listener: Listener = {
    options,
    replId,
    replOffset: options.replOffset ?? 0,
    sockets: new Set<Socket>(),
    claimed: false,
    closed: false,
    finish: (error) => {
      if (settled) return;
      settled = true;
      if (error) settle.reject(error);
      else settle.resolve();
    },
    stopListening: () => (listenerStopped ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
  const server: Server = createServer((socket) => acceptReplica(listener, socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new ConnectionError(`cannot listen on ${host}:${options.port ?? 0} for the restore: ${error.message}`, 'E_LISTEN', error)),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { port, host, replId, transferred, close: () => closeListener(listener) };
}

/** Stops listening and drops every connection; a transfer not finished by then fails. */
async function closeListener(l: Listener): Promise<void> {
  if (l.closed) return;
  l.closed = true;
  if (l.pingTimer) clearInterval(l.pingTimer);
  l.finish(new ConnectionError('the restore listener was closed before the RDB transfer completed', 'E_RESTORE_ABORTED'));
  const stopped = l.stopListening();
  for (const socket of l.sockets) socket.destroy();
  await stopped;
}

function acceptReplica(l: Listener, socket: Socket): void {
  if (l.closed) {
    socket.destroy();
    return;
  }
  l.sockets.add(socket);
  socket.setNoDelay(true);
  const conn: ReplicaConnection = {
    socket,
    replica: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0, capabilities: [], command: 'PSYNC' },
    streaming: false,
  };
  const decoder = new RespDecoder((reply) => answer(l, conn, commandWords(reply)), { inlineCommands: true, maxBulkBytes: 1 << 20 });
  socket.on('data', (chunk: Buffer) => {
    try {
      decoder.write(chunk);
    } catch {
      socket.destroy();
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => l.sockets.delete(socket));
}

/** Answers one command of the replica's handshake, as a master would. */
function answer(l: Listener, conn: ReplicaConnection, args: string[]): void {
  const { socket, replica } = conn;
  const name = args[0]?.toUpperCase();
  if (conn.streaming) return; // REPLCONF ACK <offset> and the like: a master does not answer them
  if (name === 'PING') socket.write(encodeSimpleString('PONG'));
  else if (name === 'AUTH') socket.write(encodeSimpleString('OK'));
  else if (name === 'REPLCONF') {
    const sub = args[1]?.toLowerCase();
    if (sub === 'ack' || sub === 'getack') return;
    for (let i = 1; i + 1 < args.length; i += 2) {
      const key = args[i]!.toLowerCase();
      if (key === 'listening-port') replica.listeningPort = Number(args[i + 1]);
      else if (key === 'capa') replica.capabilities.push(args[i + 1]!.toLowerCase());
    }
    socket.write(encodeSimpleString('OK'));
  } else if (name === 'PSYNC' || name === 'SYNC') startTransfer(l, conn, name);
  else socket.write(encodeError(`ERR unknown command '${args[0] ?? ''}': this listener only serves a restore to a replica`));
}

/** PSYNC/SYNC: the first one gets the RDB, then PINGs that keep its link up; the listener stops accepting. */
function startTransfer(l: Listener, conn: ReplicaConnection, name: 'PSYNC' | 'SYNC'): void {
  const { socket, replica } = conn;
  if (l.claimed) {
    socket.write(encodeError('ERR this restore listener serves one replica once; the transfer was already made or failed'));
    return;
  }
  l.claimed = true;
  conn.streaming = true;
  void l.stopListening();
  replica.command = name;
  l.options.onReplicaConnected?.({ ...replica, capabilities: [...replica.capabilities] });
  if (name === 'PSYNC') socket.write(encodeSimpleString(`FULLRESYNC ${l.replId} ${l.replOffset}`));
  sendRdb(socket, l.options).then(
    () => {
      l.finish();
      l.pingTimer = setInterval(() => {
        if (!socket.destroyed) socket.write(PING);
      }, l.options.pingIntervalMs ?? 1000);
      l.pingTimer.unref();
    },
    (error: Error) => {
      socket.destroy();
      l.finish(error);
    },
  );
}

/** `$<len>\r\n` and the RDB, the last chunk held back until the source ended well. */
async function sendRdb(socket: Socket, options: ServeOptions): Promise<void> {
  const { rdbBytes } = options;
  const source = options.rdb();
  let held: Buffer | undefined;
  let seen = 0;
  let written = 0;
  try {
    await write(socket, Buffer.from(`$${rdbBytes}\r\n`));
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      seen += bytes.length;
      if (seen > rdbBytes)
        throw new ConnectionError(`the RDB stream gave more than the ${rdbBytes} bytes announced to the replica; nothing was completed`, 'E_RESTORE_SOURCE');
      if (held) {
        await write(socket, held);
        written += held.length;
        options.onTransferProgress?.(written);
      }
      held = bytes;
    }
  } catch (error) {
    source.destroy();
    throw error;
  }
  if (seen !== rdbBytes)
    throw new ConnectionError(
      `the RDB stream ended after ${seen} of the ${rdbBytes} bytes announced to the replica; nothing was completed`,
      'E_RESTORE_SOURCE',
    );
  if (held) {
    await write(socket, held, true);
    written += held.length;
    options.onTransferProgress?.(written);
  }
}

/** Writes with backpressure; `flushed` waits until the bytes left Node for the kernel. */
function write(socket: Socket, bytes: Buffer, flushed = false): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (socket.destroyed) {
      reject(replicaGone());
      return;
    }
    const onClose = (): void => reject(replicaGone());
    socket.once('close', onClose);
    const done = (): void => {
      socket.removeListener('close', onClose);
      socket.removeListener('drain', done);
      resolve();
    };
    const ok = socket.write(bytes, flushed ? (error) => (error ? reject(replicaGone()) : done()) : undefined);
    if (flushed) return;
    if (ok) done();
    else socket.once('drain', done);
  });
}

function replicaGone(): ConnectionError {
  return new ConnectionError('the replica closed the connection during the RDB transfer', 'E_REPLICA_GONE');
}

function commandWords(reply: RespReply): string[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((item) => (Buffer.isBuffer(item) ? item.toString('utf8') : String(item)));
}
