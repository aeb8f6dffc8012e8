/**
 * Opening a connection with the official client (node-redis) and turning its failures into errors
 * that say what to do. Connections never retry silently: a command-line tool should fail fast.
 */
import type { createClient } from '@redis/client';
import { connect as netConnect } from 'node:net';
import { ConnectionError } from '../errors.js';
import { formatRedisUrl, type Endpoint } from './url.js';

export type RedisConnection = ReturnType<typeof createClient>;

export interface ConnectOptions {
  /**
   * deadline for the whole handshake: TCP (and TLS) connect, HELLO/AUTH/SELECT, and the first PING
   * (default 10 s). A port that accepts and never answers ends here, not never.
   */
  connectTimeoutMs?: number;
  /** node-redis client name, visible in CLIENT LIST */
  name?: string;
}

export async function openConnection(endpoint: Endpoint, options: ConnectOptions = {}): Promise<RedisConnection> {
  // loaded on first use: the client's command table is large, and commands that never connect
  // through it (backups list/verify, render, lint) should not pay for it in start time and memory
  // (the client is CommonJS: in the bundle its exports arrive only as the default export, through
  // tsx only as named exports, under plain node as both)
  const loaded = await import('@redis/client');
  const create = loaded.createClient ?? loaded.default.createClient;
  const client = create({
    socket: {
      host: endpoint.host,
      port: endpoint.port,
      tls: endpoint.tls,
      // our own deadline (below) covers the whole handshake and fires first (its timer starts first);
      // the socket's own ends the TCP connect right after: node-redis's destroy() cannot reach a socket
      // still connecting, which would then finish, AUTH and stay open (it kept `up --topology` alive)
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_HANDSHAKE_MS,
      reconnectStrategy: false,
    },
    username: endpoint.username,
    password: endpoint.password,
    database: endpoint.db || undefined,
    disableClientInfo: true,
    name: options.name,
  } as Parameters<typeof createClient>[0]);
  let firstError: unknown;
  client.on('error', (error: unknown) => {
    firstError ??= error;
  });
  const deadlineMs = options.connectTimeoutMs ?? DEFAULT_HANDSHAKE_MS;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HandshakeTimeout(deadlineMs)), deadlineMs);
  });
  const handshake = (async () => {
    await client.connect();
    // a server that wants a password we did not give answers the first command with NOAUTH, and
    // a port that is not Redis is found out here; with a password, AUTH has already proved both
    // (a user may lack +ping: the guide's `readonly` user has only +@read)
    if (endpoint.password === undefined) await client.sendCommand(['PING']);
  })();
  try {
    await Promise.race([handshake, expired]);
  } catch (error) {
    clearTimeout(timer);
    // and should a socket still appear after the deadline, it does not keep this process alive
    client.unref();
    destroyQuietly(client);
    handshake.catch(() => undefined);
    const cause = firstError !== undefined && !(error instanceof HandshakeTimeout) && isProtocolError(firstError) ? firstError : (error ?? firstError);
    // a peer that closed on us or sent garbage may be another protocol's server: look at its first bytes
    if (!endpoint.tls && (isProtocolError(cause) || /socket closed unexpectedly/i.test((cause as Error)?.message ?? ''))) {
      const greeting = await firstBytes(endpoint, 2000);
      if (greeting !== undefined && !looksLikeResp(greeting)) throw notRedis(endpoint, greeting, cause);
    }
    throw describeConnectError(cause, endpoint);
  } finally {
    clearTimeout(timer);
  }
  return client;
}

function destroyQuietly(client: { destroy(): void }): void {
  try {
    client.destroy();
  } catch {
    // not open (yet, or any more)
  }
}

/**
 * For a connection of our own (raw sockets, e.g. replication) that met bytes it could not decode:
 * an inline PING shows what answered. The error to raise when that is not a Redis server, else undefined.
 */
export async function notRedisServer(endpoint: Endpoint, cause: unknown): Promise<ConnectionError | undefined> {
  if (endpoint.tls) return undefined;
  const greeting = await firstBytes(endpoint, 2000);
  return greeting !== undefined && !looksLikeResp(greeting) ? notRedis(endpoint, greeting, cause) : undefined;
}

/** What a peer sends back first to an inline PING, within `ms` (undefined: nothing, or no connection). */
function firstBytes(endpoint: Endpoint, ms: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: endpoint.host, port: endpoint.port });
    const done = (bytes?: Buffer): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(bytes);
    };
    const timer = setTimeout(() => done(), ms);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk: Buffer) => done(chunk));
    socket.once('error', () => done());
    socket.once('close', () => done());
  });
}

/** RESP replies start with one of these type bytes. */
function looksLikeResp(bytes: Buffer): boolean {
  return bytes.length > 0 && '+-:$*%_,#!=(>~|'.includes(String.fromCharCode(bytes[0]!));
}

function notRedis(endpoint: Endpoint, greeting: Buffer, cause: unknown): ConnectionError {
  const text = greeting.subarray(0, 64).toString('latin1');
  const what = /^HTTP\//.test(text) ? 'an HTTP server' : /^SSH-/.test(text) ? 'an SSH server' : 'something that does not speak the Redis protocol';
  const printable = text.split(/\r?\n/)[0]!.replace(/[^\x20-\x7e]/g, '.');
  return new ConnectionError(
    `${endpoint.host}:${endpoint.port} is not a Redis server: ${what} answered ("${printable}"); check the host and port`,
    'E_NOT_REDIS',
    cause,
  );
}

const DEFAULT_HANDSHAKE_MS = 10_000;

/** The handshake did not finish by its deadline (the server accepted and then said nothing). */
export class HandshakeTimeout extends Error {
  constructor(readonly ms: number) {
    super(`handshake timeout after ${ms} ms`);
  }
}

function isProtocolError(error: unknown): boolean {
  return /protocol error|reply type byte|unknown resp type|unexpected.*(reply|response)/i.test((error as Error)?.message ?? '');
}

/** Errors that mean the peer spoke something other than TLS where TLS was asked for. */
function isTlsFailure(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  const message = (error as Error)?.message ?? '';
  return (
    /^ERR_SSL_|^ERR_TLS_|CERT|UNABLE_TO_VERIFY|SELF_SIGNED|DEPTH_ZERO/.test(code) ||
    /wrong version number|ssl3_get_record|tls|certificate|handshake/i.test(message)
  );
}

export function describeConnectError(error: unknown, endpoint: Endpoint): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const where = formatRedisUrl(endpoint);
  const message = (error as Error)?.message ?? String(error);
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ECONNREFUSED')
    return new ConnectionError(`nothing accepts connections at ${where} (connection refused); is Redis running there?`, 'E_UNREACHABLE', error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ConnectionError(`the host "${endpoint.host}" cannot be resolved`, 'E_UNREACHABLE', error);
  if (error instanceof HandshakeTimeout) {
    const hint = endpoint.tls
      ? ' (if it is a plain, non-TLS Redis, use redis:// instead of rediss://)'
      : ' (something accepted the connection but did not answer as Redis would)';
    return new ConnectionError(`no answer from ${endpoint.host}:${endpoint.port} within ${Math.round(error.ms / 1000)} s${hint}`, 'E_TIMEOUT', error);
  }
  if (endpoint.tls && isTlsFailure(error)) {
    const reason = /wrong version number|packet length|ssl3_get_record/i.test(message)
      ? 'the port answers without TLS: use redis://'
      : message.split('\n')[0]!.replace(/^[0-9A-F]+:error:[0-9A-F]+:SSL routines:/, '');
    return new ConnectionError(`TLS handshake failed with ${where}: ${reason}${code ? ` (${code})` : ''}`, 'E_TLS', error);
  }
  if (isProtocolError(error))
    return new ConnectionError(
      `${endpoint.host}:${endpoint.port} is not a Redis server: its reply is not the Redis protocol (${message})`,
      'E_NOT_REDIS',
      error,
    );
  if (/timeout/i.test(message)) return new ConnectionError(`no answer from ${where} within the connect timeout`, 'E_UNREACHABLE', error);
  if (/WRONGPASS|invalid username-password/i.test(message)) {
    return new ConnectionError(`authentication failed at ${where} for user "${endpoint.username ?? 'default'}": wrong user name or password`, 'E_AUTH', error);
  }
  if (/NOAUTH/i.test(message))
    return new ConnectionError(
      `${where} requires authentication; give a user and password (--password-file, NEURALLOG_REDIS_PASSWORD) or use --dir`,
      'E_AUTH',
      error,
    );
  if (/DENIED/i.test(message))
    return new ConnectionError(
      `${where} refused the connection in protected mode: it has no password for its default user and only accepts loopback clients`,
      'E_DENIED',
      error,
    );
  if (/NOPERM/i.test(message))
    return new ConnectionError(`user "${endpoint.username ?? 'default'}" lacks a permission at ${where}: ${message}`, 'E_NOPERM', error);
  return new ConnectionError(`cannot connect to ${where}: ${message}`, 'E_CONNECT', error);
}

/** Closes a connection, ignoring a socket that is already gone. */
export async function closeConnection(client: RedisConnection): Promise<void> {
  try {
    await client.close();
  } catch {
    try {
      client.destroy();
    } catch {
      // already closed
    }
  }
}

/** Parses `INFO` text into a flat map of field -> value. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * INFO keyspace's lines (`db0:keys=12,expires=0,avg_ttl=0`) from parsed INFO fields: database number
 * -> keys, in INFO's order. Databases INFO leaves out (the empty ones) are absent.
 */
export function parseKeyspace(info: Record<string, string>): Map<number, number> {
  const keyspace = new Map<number, number>();
  for (const [name, value] of Object.entries(info)) {
    const db = /^db(\d+)$/.exec(name);
    if (db) keyspace.set(Number(db[1]), Number(/(?:^|,)keys=(\d+)/.exec(value)?.[1] ?? 0));
  }
  return keyspace;
}
