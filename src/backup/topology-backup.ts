/**
 * Backups of topologies. Through Sentinel: one backup pulled from the master's healthiest replica.
 * Of a cluster: every shard pulled concurrently (from its master, or from a healthy replica of it),
 * each stored and verified as a single backup is, into one set directory published whole with a
 * manifest of each shard's slot ranges and node (set-manifest.ts). One shard failing fails the set:
 * the others are stopped and nothing is published.
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { endpointOf, type TopologyTarget } from '../connect/topology-target.js';
import { askCluster, askSentinels, type ClusterShard } from '../discover/index.js';
import { formatRedisUrl } from '../connect/url.js';
import { ConnectionError, NeuralLogRedisError, UsageError } from '../errors.js';
import { requireCompressionTool } from './compression.js';
import { fsyncDirectory, lockDirectory } from './publish.js';
import { chooseSource, replicaHealth, type SourceChoice } from './replica-choice.js';
import { SET_FORMAT, SET_MANIFEST, setDirectoryName, writeSetManifest } from './set-write.js';
import type { BackupSetManifest } from './set-manifest.js';
import { takeBackup, type BackupProgress, type BackupResult, type TakeBackupOptions } from './take.js';

type Common = Pick<TakeBackupOptions, 'toDir' | 'compression' | 'encryptionKey' | 'signal' | 'now'>;

export interface SentinelBackupResult extends BackupResult {
  pulledFrom: SourceChoice;
}

/** A backup through Sentinel: the master's healthy replica least behind (the master only when allowed or alone). */
export async function takeSentinelBackup(
  target: Extract<TopologyTarget, { kind: 'sentinel' }>,
  options: Common & { allowMaster?: boolean; onProgress?: (p: BackupProgress) => void; onChoice?: (c: SourceChoice) => void },
): Promise<SentinelBackupResult> {
  const view = await askSentinels(target);
  const candidates = view.replicas.filter((r) => !r.flags.some((f) => ['s_down', 'o_down', 'disconnected'].includes(f)));
  const health = await replicaHealth(view.master, candidates.length > 0 ? candidates.map((r) => r.address) : [], target.credentials);
  // replicas the Sentinel itself sees as down count as unhealthy, not as absent
  const down = view.replicas
    .filter((r) => !candidates.includes(r))
    .map((r) => ({ address: r.address, linkUp: false, offset: 0, problem: `Sentinel flags it ${r.flags.join(',')}` }));
  const choice = chooseSource(view.master, [...health, ...down], options.allowMaster === true);
  if ('refused' in choice) throw new ConnectionError(choice.refused, 'E_NO_HEALTHY_REPLICA');
  options.onChoice?.(choice);
  const result = await takeBackup({
    ...options,
    source: { kind: 'replication', endpoint: endpointOf(choice.address, target.credentials) },
  });
  return { ...result, pulledFrom: choice };
}

export interface ClusterBackupResult {
  path: string;
  manifest: BackupSetManifest;
  shards: Array<{ shard: ClusterShard; choice: SourceChoice; result: BackupResult }>;
}

export interface ClusterBackupOptions extends Common {
  /** pull each shard from a healthy replica where it has one (default: from its master) */
  fromReplicas?: boolean;
  onProgress?: (shard: number, p: BackupProgress) => void;
}

/** A backup set of every shard of a cluster, pulled concurrently. */
export async function takeClusterBackup(target: Extract<TopologyTarget, { kind: 'cluster' }>, options: ClusterBackupOptions): Promise<ClusterBackupResult> {
  requireCompressionTool(options.compression);
  const started = Date.now();
  const shards = await askCluster(target.seeds, target.credentials);
  const choices = await Promise.all(shards.map((s) => shardSource(s, target, options.fromReplicas === true)));
  const dir = resolve(options.toDir);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new UsageError(`cannot create the backup directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const lock = lockDirectory(dir);
  const createdAt = (options.now ?? (() => new Date()))();
  const finalPath = chooseSetPath(dir, createdAt);
  const temp = join(dir, `.${basename(finalPath)}.${process.pid}.tmp`);
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    mkdirSync(temp, { mode: 0o700 });
    const ext = `.rdb${options.compression === 'gzip' ? '.gz' : options.compression === 'zstd' ? '.zst' : ''}${options.encryptionKey ? '.enc' : ''}`;
    const results = await Promise.all(
      shards.map((shard, i) =>
        takeBackup({
          source: { kind: 'replication', endpoint: endpointOf(choices[i]!.address, target.credentials) },
          toDir: temp,
          compression: options.compression,
          encryptionKey: options.encryptionKey,
          now: () => createdAt,
          fileName: `shard-${i}${ext}`,
          lock: false,
          signal: abort.signal,
          onProgress: options.onProgress ? (p) => options.onProgress!(i, p) : undefined,
        }).catch((error: unknown) => {
          abort.abort(error);
          throw shardError(error, shard, i);
        }),
      ),
    );
    const manifest = setManifest(target, shards, choices, results, createdAt, started);
    writeSetManifest(join(temp, SET_MANIFEST), manifest);
    renameSync(temp, finalPath);
    fsyncDirectory(dir);
    const published = results.map((r) => ({ ...r, path: join(finalPath, basename(r.path)), manifestPath: join(finalPath, basename(r.manifestPath)) }));
    return { path: finalPath, manifest, shards: shards.map((shard, i) => ({ shard, choice: choices[i]!, result: published[i]! })) };
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
    rmSync(temp, { recursive: true, force: true });
    lock.release();
  }
}

async function shardSource(shard: ClusterShard, target: Extract<TopologyTarget, { kind: 'cluster' }>, fromReplicas: boolean): Promise<SourceChoice> {
  if (!fromReplicas || shard.replicas.length === 0) return { address: shard.master, role: 'master' };
  const health = await replicaHealth(
    shard.master,
    shard.replicas.map((r) => r.address),
    target.credentials,
  );
  const choice = chooseSource(shard.master, health, true);
  return 'refused' in choice ? { address: shard.master, role: 'master' } : choice;
}

function chooseSetPath(dir: string, date: Date): string {
  for (let sequence = 0; ; sequence++) {
    const candidate = join(dir, setDirectoryName(date, sequence));
    if (!existsSync(candidate)) return candidate;
  }
}

function shardError(error: unknown, shard: ClusterShard, index: number): unknown {
  if (!(error instanceof NeuralLogRedisError) || error.code === 'E_ABORTED') return error;
  const where = `${shard.master.host}:${shard.master.port}`;
  return new NeuralLogRedisError(
    error.code,
    `shard ${index} (${where}, slots ${shard.slots.map(([a, b]) => `${a}-${b}`).join(',')}): ${error.message}; no set was published`,
    {
      cause: error,
      exitCode: error.exitCode,
    },
  );
}

function setManifest(
  target: Extract<TopologyTarget, { kind: 'cluster' }>,
  shards: ClusterShard[],
  choices: SourceChoice[],
  results: BackupResult[],
  createdAt: Date,
  started: number,
): BackupSetManifest {
  return {
    format: SET_FORMAT,
    kind: 'cluster',
    tool: 'neurallog-redis',
    createdAt: createdAt.toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    seeds: target.seeds.map((s) => `${s.host}:${s.port}`),
    shards: shards.map((shard, i) => {
      const m = results[i]!.manifest;
      const choice = choices[i]!;
      return {
        file: basename(results[i]!.path),
        nodeId: shard.id,
        address: formatRedisUrl({ host: choice.address.host, port: choice.address.port, tls: false, db: 0 }),
        role: choice.role,
        slots: shard.slots.map(([a, b]) => [a, b] as [number, number]),
        engine: m.origin?.engine,
        version: m.origin?.version,
        rdbVersion: m.rdb.version,
        keys: m.keyspace.keys,
        storedBytes: m.stored.bytes,
        sha256: m.stored.sha256,
      };
    }),
    keys: results.reduce((n, r) => n + r.manifest.keyspace.keys, 0),
    verified: true,
  };
}
