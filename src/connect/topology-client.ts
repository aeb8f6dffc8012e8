/**
 * A client for a topology through the official client's own support: node-redis's `createSentinel`
 * (follows the master the Sentinels name, through failovers) and `createCluster` (routes by slot,
 * follows MOVED/ASK, refreshes its slot map). For commands that run ordinary commands against a
 * topology; backups and restores use their own paths (topology-target.ts). The connect has a deadline.
 */
import type { createCluster, createSentinel } from '@redis/client';
import { ConnectionError } from '../errors.js';
import { withDeadline, type TopologyTarget } from './topology-target.js';

export type SentinelConnection = ReturnType<typeof createSentinel>;
export type ClusterConnection = ReturnType<typeof createCluster>;
export type TopologyConnection = { kind: 'sentinel'; client: SentinelConnection } | { kind: 'cluster'; client: ClusterConnection };

const DEFAULT_CONNECT_MS = 10_000;
/** one node's TCP connect (a Sentinel or data node that does not accept is passed over after this) */
const NODE_CONNECT_MS = 2000;
const RECONNECT_TRIES = 5;

/**
 * The socket options every node client gets: a connect deadline and a short reconnect budget (5
 * tries, 1.5 s). node-redis's default retries for ever; its Sentinel client awaits the connect of the
 * master it opens (sentinel/index.js `transform`), so a master killed while the client connects to it
 * stalled every command with no error. Giving up instead makes the Sentinel client ask the Sentinels
 * again a second later (a master client that gave up is not "ready", so it is opened anew).
 */
function nodeSocket(connectTimeoutMs: number) {
  return {
    connectTimeout: Math.min(connectTimeoutMs, NODE_CONNECT_MS),
    reconnectStrategy: (retries: number) => (retries >= RECONNECT_TRIES ? new Error('gave up reconnecting') : (retries + 1) * 100),
  };
}

/**
 * node-redis's Sentinel client configured as a NeuralLog-style app should use it (not connected):
 * the data nodes' user and password, the Sentinels' own password (without it every Sentinel question
 * fails with NOAUTH and the client never learns of a failover), no `scanInterval` (the client already
 * re-asks the Sentinels on their pub/sub events and whenever its master link drops). Measured in
 * docs/ha.md: after kill -9 of the master, commands wait (neither fail nor get lost) and resume on
 * the promoted replica once a Sentinel names it, rounded up to the client's fixed 1 s re-ask period.
 * Write through the client's methods (`set`, `sendCommand(false, [...])`), not `use()` per command:
 * each `use()` builds a client object (40-140 ms measured).
 */
export function createSentinelClient(
  create: typeof createSentinel,
  target: Extract<TopologyTarget, { kind: 'sentinel' }>,
  options: { connectTimeoutMs?: number } = {},
): SentinelConnection {
  const socket = nodeSocket(options.connectTimeoutMs ?? DEFAULT_CONNECT_MS);
  return create({
    name: target.masterName,
    sentinelRootNodes: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
    nodeClientOptions: { username: target.credentials.username, password: target.credentials.password, socket },
    sentinelClientOptions: {
      username: target.sentinelCredentials.username,
      password: target.sentinelCredentials.password,
      socket: { connectTimeout: socket.connectTimeout },
    },
    masterPoolSize: 1,
  });
}

export async function openTopologyConnection(target: TopologyTarget, options: { connectTimeoutMs?: number } = {}): Promise<TopologyConnection> {
  const loaded = await import('@redis/client');
  const ms = options.connectTimeoutMs ?? DEFAULT_CONNECT_MS;
  const socket = nodeSocket(ms);
  const where =
    target.kind === 'sentinel'
      ? `the Sentinels ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')} (master "${target.masterName}")`
      : `the cluster seeds ${target.seeds.map((s) => `${s.host}:${s.port}`).join(',')}`;
  let connection: TopologyConnection;
  if (target.kind === 'sentinel') {
    connection = { kind: 'sentinel', client: createSentinelClient(loaded.createSentinel ?? loaded.default.createSentinel, target, { connectTimeoutMs: ms }) };
  } else {
    const create = loaded.createCluster ?? loaded.default.createCluster;
    connection = {
      kind: 'cluster',
      client: create({
        rootNodes: target.seeds.map((s) => ({ socket: { host: s.host, port: s.port } })),
        defaults: { username: target.credentials.username, password: target.credentials.password, socket },
      }),
    };
  }
  let firstError: unknown;
  connection.client.on('error', (error: unknown) => (firstError ??= error));
  try {
    await withDeadline(connection.client.connect() as Promise<unknown>, ms, where);
  } catch (error) {
    try {
      void connection.client.destroy();
    } catch {
      // never opened
    }
    const cause = firstError ?? error;
    throw new ConnectionError(`cannot connect through ${where}: ${(cause as Error)?.message ?? String(cause)}`, 'E_CONNECT', cause);
  }
  return connection;
}

export async function closeTopologyConnection(connection: TopologyConnection): Promise<void> {
  try {
    await connection.client.close();
  } catch {
    try {
      void connection.client.destroy();
    } catch {
      // already closed
    }
  }
}
