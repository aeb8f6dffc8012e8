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

export async function openTopologyConnection(target: TopologyTarget, options: { connectTimeoutMs?: number } = {}): Promise<TopologyConnection> {
  const loaded = await import('@redis/client');
  const ms = options.connectTimeoutMs ?? DEFAULT_CONNECT_MS;
  const socket = {
    connectTimeout: ms,
    reconnectStrategy: (retries: number) => (retries > 20 ? new Error('gave up reconnecting') : Math.min(retries * 100, 1000)),
  };
  const where =
    target.kind === 'sentinel'
      ? `the Sentinels ${target.sentinels.map((s) => `${s.host}:${s.port}`).join(',')} (master "${target.masterName}")`
      : `the cluster seeds ${target.seeds.map((s) => `${s.host}:${s.port}`).join(',')}`;
  let connection: TopologyConnection;
  if (target.kind === 'sentinel') {
    const create = loaded.createSentinel ?? loaded.default.createSentinel;
    connection = {
      kind: 'sentinel',
      client: create({
        name: target.masterName,
        sentinelRootNodes: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
        nodeClientOptions: { username: target.credentials.username, password: target.credentials.password, socket },
        sentinelClientOptions: { password: target.sentinelCredentials.password, socket },
      }),
    };
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
