/**
 * Opening a connection with the official client (node-redis) and turning its failures into errors
 * that say what to do. Connections never retry silently: a command-line tool should fail fast.
 */
import type { createClient } from 'redis';
import { ConnectionError } from '../errors.js';
import { formatRedisUrl, type Endpoint } from './url.js';

export type RedisConnection = ReturnType<typeof createClient>;

export interface ConnectOptions {
  connectTimeoutMs?: number;
  /** node-redis client name, visible in CLIENT LIST */
  name?: string;
}

export async function openConnection(endpoint: Endpoint, options: ConnectOptions = {}): Promise<RedisConnection> {
  // loaded on first use: the client's command table is large, and commands that never connect
  // through it (backups list/verify, render, lint) should not pay for it in start time and memory
  const { createClient: create } = await import('redis');
  const client = create({
    socket: {
      host: endpoint.host,
      port: endpoint.port,
      tls: endpoint.tls,
      connectTimeout: options.connectTimeoutMs ?? 5000,
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
  try {
    await client.connect();
    // a server that wants a password we did not give answers the first command with NOAUTH
    if (endpoint.password === undefined) await client.sendCommand(['PING']);
  } catch (error) {
    try {
      client.destroy();
    } catch {
      // never opened
    }
    throw describeConnectError(error ?? firstError, endpoint);
  }
  return client;
}

export function describeConnectError(error: unknown, endpoint: Endpoint): ConnectionError {
  const where = formatRedisUrl(endpoint);
  const message = (error as Error)?.message ?? String(error);
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ECONNREFUSED') return new ConnectionError(`nothing accepts connections at ${where} (connection refused); is Redis running there?`, 'E_UNREACHABLE', error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new ConnectionError(`the host "${endpoint.host}" cannot be resolved`, 'E_UNREACHABLE', error);
  if (/timeout/i.test(message)) return new ConnectionError(`no answer from ${where} within the connect timeout`, 'E_UNREACHABLE', error);
  if (/WRONGPASS|invalid username-password/i.test(message)) {
    return new ConnectionError(`authentication failed at ${where} for user "${endpoint.username ?? 'default'}": wrong user name or password`, 'E_AUTH', error);
  }
  if (/NOAUTH/i.test(message)) return new ConnectionError(`${where} requires authentication; give a user and password (--password-file, NEURALLOG_REDIS_PASSWORD) or use --dir`, 'E_AUTH', error);
  if (/DENIED/i.test(message)) return new ConnectionError(`${where} refused the connection in protected mode: it has no password for its default user and only accepts loopback clients`, 'E_DENIED', error);
  if (/NOPERM/i.test(message)) return new ConnectionError(`user "${endpoint.username ?? 'default'}" lacks a permission at ${where}: ${message}`, 'E_NOPERM', error);
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
