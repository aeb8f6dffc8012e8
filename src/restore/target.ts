/**
 * What a restore needs to know about its target before it changes anything: role, cluster mode,
 * whether a Sentinel watches it, versions, databases, memory, persistence. Refusals name the way to go.
 */
import { parseInfo, parseKeyspace, type RedisConnection } from '../connect/client.js';
import { RestoreFailedError, RestorePermissionError, RestoreRefusedError } from '../errors.js';
export { RestoreFailedError, RestorePermissionError, RestoreRefusedError };
import { targetEngineFromInfo, type TargetEngine } from './compatibility.js';

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

/** The value of a one-parameter CONFIG GET (undefined: the server has no such parameter). */
const onlyValue = (reply: Record<string, string>): string | undefined => Object.values(reply)[0];

export async function readTargetFacts(client: RedisConnection): Promise<TargetFacts> {
  const info = parseInfo(await inspectCommand('INFO', () => client.info('everything')));
  const databases = onlyValue(await inspectCommand('CONFIG GET', () => client.configGet('databases')));
  const disklessLoad = onlyValue(await inspectCommand('CONFIG GET', () => client.configGet('repl-diskless-load')));
  const numsub = await inspectCommand('PUBSUB NUMSUB', () => client.pubSubNumSub(SENTINEL_HELLO));
  const clients = await inspectCommand('CLIENT LIST', () => client.clientList());
  // a Sentinel names its connections sentinel-<id>-cmd / -pubsub (the text once matched, lib-name too)
  const sentinelWatched = (numsub[SENTINEL_HELLO] ?? 0) > 0 || clients.some((c) => c.name?.startsWith('sentinel-') || c.libName?.startsWith('sentinel-'));
  // Valkey 9's rdb-version-check (strict/relaxed); other servers answer with an empty list
  const versionCheck = onlyValue(await inspectCommand('CONFIG GET', () => client.configGet('rdb-version-check')));
  return {
    info,
    engine: targetEngineFromInfo(info, versionCheck),
    role: info.role ?? 'unknown',
    clusterEnabled: info.cluster_enabled === '1',
    sentinelWatched,
    databases: Number(databases ?? 16),
    maxmemory: Number(info.maxmemory ?? 0),
    usedMemory: Number(info.used_memory ?? 0),
    totalSystemMemory: Number(info.total_system_memory ?? 0),
    aofEnabled: info.aof_enabled === '1',
    keysPerDb: keysPerDb(info),
    replDisklessLoad: disklessLoad ?? 'disabled',
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
