/**
 * What a restore needs to know about its target before it changes anything: role, cluster mode,
 * whether a Sentinel watches it, versions, databases, memory, persistence. Refusals name the way to go.
 */
import { parseInfo, parseKeyspace } from '../connect/client.js';
import { RestoreFailedError, RestorePermissionError, RestoreRefusedError } from '../errors.js';
export { RestoreFailedError, RestorePermissionError, RestoreRefusedError };
import { targetEngineFromInfo, type TargetEngine } from './compatibility.js';

/**
 * What a restore asks of its target's connection. resp/'s RespClient (a replace: it never loads
 * node-redis, whose start cost a small restore notices) and node-redis's client (merge, plan) both
 * answer: replies mapped as node-redis maps RESP2 (bulk strings as text), error replies rejected.
 */
export interface TargetCommands {
  sendCommand<T = unknown>(args: string[]): Promise<T>;
  readonly isOpen: boolean;
}

export interface TargetFacts {
  info: Record<string, string>;
  /** engine, its own version (never Valkey's redis_version), and the newest RDB version it loads */
  engine: TargetEngine;
  role: string;
  clusterEnabled: boolean;
  sentinelWatched: boolean;
  databases: number;
  maxmemory: number;
  usedMemory: number;
  /** the host's memory as the server sees it (INFO memory total_system_memory); 0 when unknown */
  totalSystemMemory: number;
  aofEnabled: boolean;
  keysPerDb: Record<string, number>;
  replDisklessLoad: string;
  loading: boolean;
}

/**
 * A command a restore needs to inspect the target (`what` names it, e.g. `CONFIG GET`); NOPERM
 * becomes a plain message naming the user to use.
 */
export async function inspectCommand<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const message = (error as Error)?.message ?? '';
    if (/^NOPERM/.test(message)) {
      throw new RestorePermissionError(
        `the user given for the target may not run ${what} (${message.split('\n')[0]}); a restore needs an administrative user: with --dir it logs in as \`admin\`, with --url give redis://admin@HOST:PORT and --password-file. Nothing was changed`,
        error,
      );
    }
    throw error;
  }
}

export function keysPerDb(info: Record<string, string>): Record<string, number> {
  return Object.fromEntries([...parseKeyspace(info)].map(([db, keys]) => [String(db), keys]));
}

const SENTINEL_HELLO = '__sentinel__:hello';

/** The value of a one-parameter CONFIG GET, a flat [name, value] list (undefined: the server has no such parameter). */
const onlyValue = (reply: unknown): string | undefined => (Array.isArray(reply) && reply.length >= 2 ? String(reply[1]) : undefined);

/** A CLIENT LIST line's `field=value` (values have no spaces). */
const clientField = (line: string, field: string): string | undefined => new RegExp(`(?:^| )${field}=(\\S*)`).exec(line)?.[1];

export async function readTargetFacts(client: TargetCommands): Promise<TargetFacts> {
  const ask = <T>(what: string, args: string[]) => inspectCommand(what, () => client.sendCommand<T>(args));
  // sent together: the replies come back in one round trip
  const [infoText, databases, disklessLoad, numsub, clients, versionCheck] = await Promise.all([
    ask<string>('INFO', ['INFO', 'everything']),
    ask<unknown>('CONFIG GET', ['CONFIG', 'GET', 'databases']),
    ask<unknown>('CONFIG GET', ['CONFIG', 'GET', 'repl-diskless-load']),
    ask<unknown[]>('PUBSUB NUMSUB', ['PUBSUB', 'NUMSUB', SENTINEL_HELLO]),
    ask<string>('CLIENT LIST', ['CLIENT', 'LIST']),
    // Valkey 9's rdb-version-check (strict/relaxed); other servers answer with an empty list
    ask<unknown>('CONFIG GET', ['CONFIG', 'GET', 'rdb-version-check']),
  ]);
  const info = parseInfo(String(infoText));
  // a Sentinel names its connections sentinel-<id>-cmd / -pubsub (the text once matched, lib-name too)
  const sentinelWatched =
    Number(numsub[1] ?? 0) > 0 ||
    String(clients)
      .split('\n')
      .some((line) => clientField(line, 'name')?.startsWith('sentinel-') || clientField(line, 'lib-name')?.startsWith('sentinel-'));
  return {
    info,
    engine: targetEngineFromInfo(info, onlyValue(versionCheck)),
    role: info.role ?? 'unknown',
    clusterEnabled: info.cluster_enabled === '1',
    sentinelWatched,
    databases: Number(onlyValue(databases) ?? 16),
    maxmemory: Number(info.maxmemory ?? 0),
    usedMemory: Number(info.used_memory ?? 0),
    totalSystemMemory: Number(info.total_system_memory ?? 0),
    aofEnabled: info.aof_enabled === '1',
    keysPerDb: keysPerDb(info),
    replDisklessLoad: onlyValue(disklessLoad) ?? 'disabled',
    loading: info.loading === '1',
  };
}

/** Refusals that apply to a replace restore (the target becomes a replica of the CLI for a moment). */
export function replaceRefusals(t: TargetFacts): string[] {
  const refusals: string[] = [];
  if (t.role !== 'master') {
    refusals.push(`the target is a replica (of ${t.info.master_host}:${t.info.master_port}); restore its master instead, and the replicas follow`);
  }
  if (t.clusterEnabled) refusals.push('the target is a cluster node, and cluster nodes refuse REPLICAOF; use --mode merge, which routes keys to their slots');
  if (t.sentinelWatched) {
    refusals.push(
      'a Sentinel watches the target: while it is briefly a replica the Sentinel would fail over and the old replicas would wipe the restored node; use --mode merge, or remove it from Sentinel (SENTINEL REMOVE) for the restore',
    );
  }
  if (t.replDisklessLoad === 'on-empty-db' || t.replDisklessLoad === 'swapdb' || t.replDisklessLoad === 'disabled') {
    // all three keep the old data until the new RDB is complete
  } else {
    refusals.push(
      `the target loads replication data straight into memory (repl-diskless-load ${t.replDisklessLoad}): a failed transfer would leave it empty; set repl-diskless-load disabled for the restore`,
    );
  }
  if (t.loading) refusals.push('the target is still loading its data; wait until it serves');
  return refusals;
}
