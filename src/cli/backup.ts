/** `backup`: flags -> takeBackup (once, or on a schedule) -> the stored file's path and a summary. */
import type { RetentionPolicy } from '../backup/catalog.js';
import { readKeyFile } from '../backup/encryption.js';
import { lowerPriority } from '../backup/niceness.js';
import { backupOrigin, describeOrigin } from '../backup/origin.js';
import { runEvery } from '../backup/schedule.js';
import { takeBackup, type BackupResult, type BackupSource } from '../backup/take.js';
import { resolveTarget } from '../discover/index.js';
import { topologyFromOptions, type TopologyTarget } from '../connect/topology-target.js';
import { UsageError } from '../errors.js';
import type { BackupFlags } from './backup-flags.js';
import { parseCount } from './flags.js';
import { onInterrupt } from './interrupt.js';
import { printJson, printResult, say } from './output.js';
import { progressLine } from './progress.js';
import { retentionFrom } from './retention.js';

export { waitOrAbort } from '../backup/schedule.js';
export type { BackupFlags };

/** --nice: 0 to 19. */
function parseNice(text: string): number {
  const nice = parseCount('--nice', text);
  if (nice > 19) throw new UsageError(`--nice takes 0 to 19, not ${nice}`);
  return nice;
}

/** Lowers this process's priority to the niceness `text` gives (never raises it). */
export function applyNiceness(text: string | undefined): void {
  lowerPriority(parseNice(text ?? '10'));
}

/** What to back up: one server (or a file), or a topology (Sentinel, cluster). */
type Plan = { kind: 'single'; source: BackupSource } | { kind: 'topology'; target: TopologyTarget };

async function planFrom(flags: BackupFlags): Promise<Plan> {
  const given = [flags.url, flags.dir, flags.fromFile, flags.sentinel, flags.cluster].filter((v) => v !== undefined).length;
  if (given !== 1)
    throw new UsageError(
      'say what to back up with exactly one of --url URL, --dir DIR (a deployment made by `up`), --sentinel HOST:PORT,... --master-name NAME, --cluster HOST:PORT,... or --from-file RDB',
    );
  if (flags.fromFile) return { kind: 'single', source: { kind: 'file', path: flags.fromFile } };
  const target = topologyFromOptions({ ...flags, dir: flags.dir }, 'backup');
  if (flags.fromMaster && target?.kind !== 'sentinel')
    throw new UsageError('--from-master goes with a Sentinel topology (--sentinel or a --dir made by `up --topology sentinel`)');
  if (flags.fromReplicas && target?.kind !== 'cluster')
    throw new UsageError('--from-replicas goes with a cluster (--cluster or a --dir made by `up --topology cluster`)');
  if (target) return { kind: 'topology', target };
  return {
    kind: 'single',
    source: { kind: 'replication', endpoint: await resolveTarget({ url: flags.url, dir: flags.dir, passwordFile: flags.passwordFile }, 'backup') },
  };
}

/** One backup of a topology: through Sentinel (a replica's), or a cluster's set; printed. */
async function topologyOnce(flags: BackupFlags, target: TopologyTarget, key: Buffer | undefined, signal?: AbortSignal): Promise<void> {
  const { takeClusterBackup, takeSentinelBackup } = await import('../backup/topology-backup.js');
  const common = { toDir: flags.to, compression: flags.compress, encryptionKey: key, signal };
  if (target.kind === 'sentinel') {
    const result = await takeSentinelBackup(target, {
      ...common,
      allowMaster: flags.fromMaster === true,
      onChoice: (c) => {
        if (!flags.json)
          say(
            `Pulling from the ${c.role} ${c.address.host}:${c.address.port}${c.lagBytes !== undefined ? ` (${c.lagBytes} bytes behind)` : ''}${c.note ? `: ${c.note}` : ''}.`,
          );
      },
    });
    if (flags.json) printJson({ path: result.path, manifestPath: result.manifestPath, manifest: result.manifest, pulledFrom: result.pulledFrom });
    else report(flags, result);
    return;
  }
  const set = await takeClusterBackup(target, { ...common, fromReplicas: flags.fromReplicas === true });
  if (flags.json) {
    printJson({ path: set.path, set: set.manifest, shards: set.shards.map((s) => ({ path: s.result.path, from: s.choice })) });
    return;
  }
  printResult(set.path);
  say(
    `Cluster backup set verified: ${set.manifest.keys} keys in ${set.manifest.shards.length} shards (${set.manifest.shards
      .map((s) => `${s.file}: ${s.keys} keys from the ${s.role} ${s.address}, slots ${s.slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}`)
      .join('; ')}) in ${set.manifest.durationSeconds.toFixed(1)}s.`,
  );
}

async function backupOnce(flags: BackupFlags, source: BackupSource, key: Buffer | undefined, signal?: AbortSignal): Promise<BackupResult> {
  const progress = progressLine();
  try {
    return await takeBackup({
      source,
      toDir: flags.to,
      compression: flags.compress,
      encryptionKey: key,
      signal,
      watchServerSave: process.stderr.isTTY === true,
      onWaiting: () => progress.update({ bytes: 0, elapsedMs: 0, label: 'waiting for the server to start the snapshot' }),
      onStart: ({ transfer }) => {
        if (transfer === 'disk' && !flags.json)
          say('Note: the server uses disk-based replication (repl-diskless-sync no), so it wrote a fresh dump.rdb for this backup, as a BGSAVE would.');
      },
      onProgress: (p) => progress.update({ bytes: p.rdbBytes, totalBytes: p.totalBytes, keys: p.keys, totalKeys: p.totalKeys, elapsedMs: p.elapsedMs }),
    });
  } finally {
    progress.done();
  }
}

function report(flags: BackupFlags, result: BackupResult): void {
  if (flags.json) {
    printJson({ path: result.path, manifestPath: result.manifestPath, manifest: result.manifest });
    return;
  }
  printResult(result.path);
  const m = result.manifest;
  say(
    `Backup verified: ${m.keyspace.keys} keys in ${Object.keys(m.keyspace.databases).length} database(s), from ${describeOrigin(backupOrigin(m))}, ${(m.rdb.bytes / 1e6).toFixed(1)} MB (CRC ${m.rdb.crc64}), stored ${(m.stored.bytes / 1e6).toFixed(1)} MB ${m.stored.compression}${m.stored.encryption ? ' encrypted' : ''} in ${m.durationSeconds.toFixed(1)}s.`,
  );
}

/** (the catalog reads manifests, whose schema library a backup without retention never loads) */
async function prune(flags: BackupFlags, policy: RetentionPolicy): Promise<void> {
  const { applyPrune, listBackups, planPrune } = await import('../backup/catalog.js');
  const plan = planPrune(listBackups(flags.to), policy);
  applyPrune(flags.to, plan);
  if (plan.remove.length > 0 && !flags.json) say(`Pruned ${plan.remove.length} old backup(s); kept ${plan.keep.length}.`);
}

/** A policy that keeps nothing is a mistake in the flags, found before any backup is taken. */
function checkRetention(policy: RetentionPolicy | undefined): void {
  if (policy && Object.values(policy).every((n) => !n)) {
    throw new UsageError(
      'the retention flags keep nothing (every count is 0): give --keep-last N, --daily N, --weekly N or --monthly N with N of 1 or more, or leave them out to keep every backup',
    );
  }
}

export async function backupCommand(flags: BackupFlags): Promise<number> {
  // every flag is checked before any work (a pull, a published file); commander has checked --to,
  // --compress, --every and the retention counts
  const policy = retentionFrom(flags);
  checkRetention(policy);
  const nice = parseNice(flags.nice);
  if (flags.every !== undefined && flags.fromFile !== undefined)
    throw new UsageError('--every repeats backups of a live server; it does not go with --from-file');
  const key = flags.encryptKeyFile ? readKeyFile(flags.encryptKeyFile) : undefined;
  const plan = await planFrom(flags);
  lowerPriority(nice);
  const once = async (signal?: AbortSignal) => {
    if (plan.kind === 'topology') await topologyOnce(flags, plan.target, key, signal);
    else report(flags, await backupOnce(flags, plan.source, key, signal));
    if (policy) await prune(flags, policy);
  };
  if (flags.every === undefined) {
    await once();
    return 0;
  }
  return (await backupEvery(flags, flags.every, policy !== undefined, once)) ? 0 : 1;
}

/** `--every`: backups until Ctrl-C or SIGTERM; whether the last one succeeded. */
async function backupEvery(
  flags: BackupFlags,
  every: { text: string; seconds: number },
  pruning: boolean,
  once: (signal: AbortSignal) => Promise<void>,
): Promise<boolean> {
  if (!pruning)
    say(
      `Warning: no retention policy (--keep-last N, --daily N, --weekly N, --monthly N): every backup is kept, one more every ${every.text}, until the disk of ${flags.to} is full.`,
    );
  const interrupt = onInterrupt(() => say('Stopping: the backup in progress (if any) is abandoned and nothing of it is published.'));
  try {
    if (!flags.json) say(`Taking a backup every ${every.text} into ${flags.to}${pruning ? ', pruning as configured' : ''}; Ctrl-C stops.`);
    return await runEvery({
      intervalMs: every.seconds * 1000,
      signal: interrupt.signal,
      run: once,
      onFailure: (error) => say(`neurallog-redis: backup failed: ${(error as Error).message}; trying again at the next interval.`),
    });
  } finally {
    interrupt.dispose();
  }
}
