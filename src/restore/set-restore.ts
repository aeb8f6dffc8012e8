/**
 * Restoring a cluster backup set onto any topology: every key goes to the master that serves its hash
 * slot (CRC16 of the key or its {hash tag}) in the TARGET's slot map, whatever the number of masters,
 * or to a single server. The writing is the merge restore's (pipelined RESTORE ... ABSTTL of the raw
 * value bytes, merge*.ts), once per pair (shard file, target master) with a key filter for that
 * master's slots; masters are written concurrently, each pair in turn.
 *
 * Progress is recorded per pair in a file beside the set (`.restore-<target>.json`): a pair done is
 * skipped by the next run, a pair stopped part-way resumes after its last confirmed item. A pair
 * stopped by MOVED or ASK (slots moved while restoring) asks the cluster for its slot map again and
 * plans that shard file's remaining keys anew.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../backup/publish.js';
import { readSetManifest, slotProblems, type BackupSetManifest } from '../backup/set-manifest.js';
import type { Manifest } from '../backup/manifest.js';
import { CLUSTER_SLOTS, keySlot, slotOwners } from '../connect/hash-slot.js';
import { endpointOf, type TopologyTarget } from '../connect/topology-target.js';
import { askCluster, type ClusterShard } from '../discover/index.js';
import { formatRedisUrl, type Endpoint } from '../connect/url.js';
import { BackupIntegrityError, RestoreFailedError, UsageError } from '../errors.js';
import { mergeRestore, MergeInterruptedError, type ConflictPolicy, type MergeResult } from './merge.js';
import { openRestoreSource, type RestoreSource } from './source.js';

export type SetTarget = { kind: 'single'; endpoint: Endpoint } | Extract<TopologyTarget, { kind: 'cluster' }>;

export interface SetRestoreOptions {
  setDir: string;
  /** the set to restore instead of the directory's set.json (a single backup as a one-shard set: singleFileSet) */
  set?: BackupSetManifest;
  target: SetTarget;
  encryptionKey?: Buffer;
  onConflict?: ConflictPolicy;
  /** where progress is kept (default: `.restore-<target>.json` in the set's directory) */
  progressFile?: string;
  signal?: AbortSignal;
  /** after each pair, and as the merge reports it */
  onPair?: (event: { file: string; node: string; state: 'start' | 'done' | 'skipped'; written?: number }) => void | Promise<void>;
  /** attempts to re-plan after MOVED/ASK before giving up (default 10) */
  maxReplans?: number;
}

export interface SetRestoreResult {
  target: string;
  masters: number;
  pairs: Array<{ file: string; node: string; written: number; skipped: boolean }>;
  written: number;
  /** keys that existed (written by this restore before a re-plan, or already there with `skip`) */
  skipped: number;
  expired: number;
  replans: number;
  progressFile: string;
  notes: string[];
}

interface Progress {
  target: string;
  /** `<file>@<node>`: done, or the items completed */
  pairs: Record<string, { done: boolean; resumeAfter: number }>;
  /** per file: the least item every pair of it has completed (kept across a re-plan) */
  floor: Record<string, number>;
}

interface Master {
  /** node id, or host:port of a single server */
  id: string;
  endpoint: Endpoint;
  /** slot -> whether this master serves it (undefined: every slot, a single server) */
  serves?: Uint8Array;
}

const MOVED = /\b(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

export async function restoreSet(options: SetRestoreOptions): Promise<SetRestoreResult> {
  const set = options.set ?? readSetManifest(options.setDir);
  const problems = slotProblems(set.shards);
  if (problems.length > 0) throw new BackupIntegrityError(`the set ${options.setDir} is not whole: ${problems.join('; ')}; nothing was restored`);
  const sources = await openShards(options.setDir, set, options.encryptionKey);
  let masters = await targetMasters(options.target);
  const targetName = targetKey(options.target, masters);
  const prefix = options.set ? `.restore-${options.set.shards[0]!.file}` : '.restore';
  const progressFile = options.progressFile ?? join(options.setDir, `${prefix}-${targetName}.json`);
  const progress = readProgress(progressFile, targetName);
  const result: SetRestoreResult = {
    target: targetName,
    masters: masters.length,
    pairs: [],
    written: 0,
    skipped: 0,
    expired: 0,
    replans: 0,
    progressFile,
    notes: [],
  };
  let onConflict = options.onConflict ?? 'fail';
  for (;;) {
    const moved = await runPairs(set, sources, masters, progress, progressFile, onConflict, options, result);
    if (!moved) break;
    if (++result.replans > (options.maxReplans ?? 10) || options.target.kind === 'single') throw movedError(moved, progressFile);
    replanFromFloors(progress);
    writeFileAtomic(progressFile, `${JSON.stringify(progress)}\n`, 0o600);
    // a migration in progress answers ASK until it ends: wait a little longer each time
    await new Promise((r) => setTimeout(r, Math.min(2000, 250 * result.replans)));
    masters = await targetMasters(options.target);
    if (onConflict === 'fail') {
      onConflict = 'skip';
      result.notes.push('slots moved during the restore; keys already written by it are skipped on the re-plan (--on-conflict skip)');
    }
  }
  return result;
}

/**
 * After slots moved, a file's pairs no longer split its keys as they did: every file with a pair not
 * done starts again, under the new map, from the least item all of its unfinished pairs completed
 * (keys before it were written by every pair; a key past it may be written twice, which `skip` or
 * `replace` absorbs). Files whose pairs are all done were written whole; their keys moved with their slots.
 */
function replanFromFloors(progress: Progress): void {
  const byFile = new Map<string, Array<[string, { done: boolean; resumeAfter: number }]>>();
  for (const entry of Object.entries(progress.pairs)) {
    const file = entry[0].slice(0, entry[0].lastIndexOf('@'));
    byFile.set(file, [...(byFile.get(file) ?? []), entry]);
  }
  for (const [file, pairs] of byFile) {
    const open = pairs.filter(([, v]) => !v.done);
    if (open.length === 0) continue;
    progress.floor[file] = Math.min(...open.map(([, v]) => v.resumeAfter));
    for (const [key] of pairs) delete progress.pairs[key];
  }
}

function movedError(error: MergeInterruptedError, progressFile: string): Error {
  return new RestoreFailedError(
    `the cluster kept moving slots while the set was restored (the last answer: ${error.stop.message}); a slot migration may still be running. The progress is kept in ${progressFile}: run the same restore again once it has ended`,
    'E_RESTORE_INTERRUPTED',
    error,
  );
}

async function openShards(setDir: string, set: BackupSetManifest, encryptionKey: Buffer | undefined): Promise<Map<string, RestoreSource>> {
  const sources = new Map<string, RestoreSource>();
  for (const shard of set.shards) {
    const source = await openRestoreSource(join(setDir, shard.file), { encryptionKey });
    if (source.manifest?.stored.sha256 !== shard.sha256)
      throw new BackupIntegrityError(`${shard.file} is not the file the set recorded (its SHA-256 differs from set.json's); nothing was restored`);
    sources.set(shard.file, source);
  }
  return sources;
}

async function targetMasters(target: SetTarget): Promise<Master[]> {
  if (target.kind === 'single') return [{ id: `${target.endpoint.host}:${target.endpoint.port}`, endpoint: target.endpoint }];
  const shards: ClusterShard[] = await askCluster(target.seeds, target.credentials);
  const owners = slotOwners(shards.map((s) => s.slots));
  return shards.map((shard, i) => {
    const serves = new Uint8Array(CLUSTER_SLOTS);
    for (let slot = 0; slot < CLUSTER_SLOTS; slot++) serves[slot] = owners[slot] === i ? 1 : 0;
    return { id: shard.id, endpoint: endpointOf(shard.master, target.credentials), serves };
  });
}

function targetKey(target: SetTarget, masters: Master[]): string {
  const text =
    target.kind === 'single'
      ? `single:${masters[0]!.id}`
      : `cluster:${masters
          .map((m) => m.id)
          .sort()
          .join(',')}`;
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function readProgress(path: string, target: string): Progress {
  if (existsSync(path)) {
    try {
      const data = JSON.parse(readFileSync(path, 'utf8')) as Progress;
      if (data.target === target && data.pairs && data.floor) return data;
    } catch {
      // unreadable: start over (RESTORE refuses nothing twice in skip/replace; fail mode checks first)
    }
  }
  return { target, pairs: {}, floor: {} };
}

/** Whether a shard file holds any slot the master serves (its keys can only be in its own slots). */
function overlaps(shard: BackupSetManifest['shards'][number], master: Master): boolean {
  if (!master.serves) return true;
  return shard.slots.some(([from, to]) => master.serves!.subarray(from, to + 1).includes(1));
}

/**
 * Runs every pair not yet done; masters concurrently, each master's pairs in turn. Returns the
 * MOVED/ASK stop that asks for a re-plan, if one came; other errors propagate (progress saved).
 */
async function runPairs(
  set: BackupSetManifest,
  sources: Map<string, RestoreSource>,
  masters: Master[],
  progress: Progress,
  progressFile: string,
  onConflict: ConflictPolicy,
  options: SetRestoreOptions,
  result: SetRestoreResult,
): Promise<MergeInterruptedError | undefined> {
  const save = () => writeFileAtomic(progressFile, `${JSON.stringify(progress)}\n`, 0o600);
  let moved: MergeInterruptedError | undefined;
  const stopAll = new AbortController();
  const onAbort = () => stopAll.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const perMaster = async (master: Master): Promise<void> => {
    for (const shard of set.shards) {
      if (!overlaps(shard, master) || stopAll.signal.aborted) continue;
      const pairKey = `${shard.file}@${master.id}`;
      const node = formatRedisUrl({ ...master.endpoint, password: undefined });
      const state = (progress.pairs[pairKey] ??= { done: false, resumeAfter: progress.floor[shard.file] ?? 0 });
      if (state.done) {
        result.pairs.push({ file: shard.file, node, written: 0, skipped: true });
        await options.onPair?.({ file: shard.file, node, state: 'skipped' });
        continue;
      }
      await options.onPair?.({ file: shard.file, node, state: 'start' });
      let merged: MergeResult;
      try {
        merged = await mergeRestore({
          source: sources.get(shard.file)!,
          endpoint: master.endpoint,
          onConflict,
          resumeAfter: state.resumeAfter,
          valueEncoding: master.serves ? 'restore' : 'auto',
          keyFilter: master.serves ? (key) => master.serves![keySlot(key)] === 1 : undefined,
          clusterNode: master.serves !== undefined,
          signal: stopAll.signal,
        });
      } catch (error) {
        if (error instanceof MergeInterruptedError) {
          state.resumeAfter = error.stop.resumeAfter;
          // confirmed before the stop (what came after it was undone, or is rewritten by the resume)
          result.written += error.stop.written;
          if (MOVED.test(error.stop.message)) moved ??= error;
        }
        save();
        if (moved === error) continue;
        stopAll.abort(error);
        throw error;
      }
      state.done = true;
      save();
      result.written += merged.written;
      result.expired += merged.expired;
      result.skipped += merged.skipped;
      result.pairs.push({ file: shard.file, node, written: merged.written, skipped: false });
      await options.onPair?.({ file: shard.file, node, state: 'done', written: merged.written });
    }
  };
  try {
    const settled = await Promise.allSettled(masters.map(perMaster));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  return moved;
}

/**
 * A single backup (with its manifest) as a set of one shard holding every slot, so that it restores
 * onto a cluster key by key like a set: a standalone server's data moved into a cluster. A cluster
 * has database 0 only, so keys in other databases are refused before anything is written.
 */
export function singleFileSet(file: string, manifest: Manifest | undefined): BackupSetManifest {
  if (!manifest)
    throw new UsageError(
      `${file} has no manifest beside it; onto a cluster only a backup taken by \`neurallog-redis backup\` restores (take one, or restore it onto a single server)`,
    );
  const others = Object.entries(manifest.keyspace.databases).filter(([db, d]) => db !== '0' && d.keys > 0);
  if (others.length > 0)
    throw new UsageError(
      `${file} holds keys in database ${others.map(([db]) => db).join(', ')}, and a cluster has database 0 only; restore those onto a single server (--db-map moves databases there); nothing was written`,
    );
  return {
    format: 1,
    kind: 'cluster',
    tool: manifest.tool,
    createdAt: manifest.createdAt,
    durationSeconds: manifest.durationSeconds,
    seeds: [],
    shards: [
      {
        file: basename(file),
        nodeId: 'standalone',
        address: manifest.source.address ?? '',
        role: 'master',
        slots: [[0, CLUSTER_SLOTS - 1]],
        engine: manifest.origin?.engine,
        version: manifest.origin?.version,
        rdbVersion: manifest.rdb.version,
        keys: manifest.keyspace.keys,
        storedBytes: manifest.stored.bytes,
        sha256: manifest.stored.sha256,
      },
    ],
    keys: manifest.keyspace.keys,
    verified: manifest.verified,
  };
}

/** A usage check for the CLI: a set restores with --mode merge semantics only. */
export function requireSetMode(mode: string | undefined): void {
  if (mode !== undefined && mode !== 'merge')
    throw new UsageError(`a cluster backup set restores key by key (--mode merge); --mode ${mode} does not apply to a set`);
}
