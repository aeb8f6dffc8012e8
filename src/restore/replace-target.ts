/**
 * A replace restore's dealings with its target outside the waits: the address it reaches the CLI at,
 * making it a master again, and what it is after a failure (read afresh, never guessed).
 */
import { connect as netConnect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
// connect's own files, not its index (which brings the deployment schema: docs/architecture.md)
import type { Endpoint } from '../connect/url.js';
import { RespClient } from '../resp/client.js';
import { infoWithin, isLoading, withinMs } from './poll-info.js';
import { keysPerDb, RestoreFailedError, type TargetCommands } from './target.js';

/** a command that changes the target's role or settings */
export const COMMAND_WITHIN_MS = 10_000;

/** The local address of a connection to the target: an address the target can route back to. */
export function localAddressTowards(endpoint: Endpoint): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: endpoint.host, port: endpoint.port, timeout: COMMAND_WITHIN_MS });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new RestoreFailedError(`no answer from ${endpoint.host}:${endpoint.port} within ${COMMAND_WITHIN_MS / 1000} s`, 'E_UNREACHABLE'));
    });
    socket.once('connect', () => {
      const address = socket.localAddress ?? '127.0.0.1';
      socket.destroy();
      resolve(address.replace(/^::ffff:/, ''));
    });
    socket.once('error', reject);
  });
}

/** `REPLICAOF NO ONE`. */
export function replicaOfNoOne(client: TargetCommands): Promise<unknown> {
  return client.sendCommand(['REPLICAOF', 'NO', 'ONE']);
}

/**
 * `REPLICAOF NO ONE` after a failed transfer. A target that was loading asynchronously (swapdb)
 * answers -LOADING until it has dropped the partial load and swapped its old data back: retried for
 * up to 30 s. Best effort: the caller then reads the target's state and reports it.
 */
export async function promoteBack(client: TargetCommands): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until && client.isOpen) {
    try {
      await withinMs(replicaOfNoOne(client), 5000);
      return;
    } catch (error) {
      if (!/LOADING/.test((error as Error)?.message ?? '')) return;
      await delay(100);
    }
  }
}

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * What the target is now, read afresh over a new connection (the old one may be gone): its role,
 * whether it loads, its keys against before. Used to end every failed restore with the truth.
 */
export async function describeTargetNow(endpoint: Endpoint, keysBefore: Record<string, number>): Promise<string> {
  let client: RespClient;
  try {
    client = await RespClient.open(endpoint, { name: 'neurallog-redis-restore-check', connectTimeoutMs: 5000, commandTimeoutMs: 10_000 });
  } catch (error) {
    return `the target does not answer now (${(error as Error).message.split('\n')[0]}): it may have exited (see its log); once it runs again, check its data`;
  }
  try {
    const i = await infoWithin(client, 'everything', 5000);
    if (!i) return 'the target accepts connections but did not answer INFO within 5 s; check it';
    const now = keysPerDb(i);
    const same = Object.keys({ ...now, ...keysBefore }).every((db) => (now[db] ?? 0) === (keysBefore[db] ?? 0));
    const role = i.role === 'master' ? 'a writable master' : `still a replica of ${i.master_host}:${i.master_port} (run restore --abort)`;
    return `the target is now ${role}${isLoading(i) ? ', still loading' : ''}, holding ${sum(now)} keys${same ? ', the same number in each database as before the restore' : ''} (it held ${sum(keysBefore)} before)`;
  } finally {
    client.destroy();
  }
}
