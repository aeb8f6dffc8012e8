/**
 * One admin connection for `config diff` and `config apply`: every command under a deadline, and a
 * server's refusal (NOPERM, an unknown command) turned into an error that says what to do.
 */
import { closeConnection, openConnection, type RedisConnection } from '../connect/client.js';
import { formatRedisUrl, type Endpoint } from '../connect/url.js';
import { ConnectionError } from '../errors.js';

export const COMMAND_DEADLINE_MS = 10_000;

export interface Session {
  endpoint: Endpoint;
  /** the user the session is logged in as ("default" without AUTH) */
  user: string;
  send(args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

/** Sends one command; a reply slower than `ms` is an E_TIMEOUT error (the connection is closed by the caller). */
async function sendWithin(client: RedisConnection, args: string[], ms: number, endpoint: Endpoint): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConnectionError(`${formatRedisUrl(endpoint)} did not answer ${args[0]} ${args[1] ?? ''} within ${ms / 1000} s`, 'E_TIMEOUT')),
      ms,
    );
  });
  try {
    return await Promise.race([client.sendCommand(args), expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function closeWithin(client: RedisConnection, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), ms);
  });
  try {
    if ((await Promise.race([closeConnection(client).then(() => 'closed' as const), expired])) === 'expired') client.destroy();
  } finally {
    clearTimeout(timer);
  }
}

export async function openSession(endpoint: Endpoint, connectTimeoutMs = COMMAND_DEADLINE_MS): Promise<Session> {
  // no client name: CLIENT SETNAME needs a right that a read-only user may lack, and would hide the real refusal
  const client = await openConnection(endpoint, { connectTimeoutMs });
  return {
    endpoint,
    user: endpoint.username ?? 'default',
    send: (args) => sendWithin(client, args, COMMAND_DEADLINE_MS, endpoint),
    // a graceful close waits for the replies still due: a server that stopped answering gets 2 s
    close: () => closeWithin(client, 2000),
  };
}

/** A refusal the comparison cannot go on without (NOPERM above all) as an error that exits 2. */
export function couldNotRead(error: unknown, what: string, session: Session): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const message = (error as Error)?.message ?? String(error);
  if (/NOPERM|no permissions/i.test(message))
    return new ConnectionError(
      `user "${session.user}" may not run ${what} at ${formatRedisUrl(session.endpoint)}: config diff and apply need an administrator (--dir uses the deployment's admin user; with --url give one with +@admin)`,
      'E_NOPERM',
      error,
    );
  return new ConnectionError(`${what} failed at ${formatRedisUrl(session.endpoint)}: ${message}`, 'E_CONNECT', error);
}
