import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import type { RetentionPolicy } from '../backup/catalog.js';
import { readKeyFile } from '../backup/encryption.js';
import type { Compression } from '../backup/naming.js';
import { backupOrigin, describeOrigin } from '../backup/origin.js';
import { takeBackup, type BackupResult, type BackupSource } from '../backup/take.js';
import { closeConnection, openConnection, parseInfo } from '../connect/client.js';
import { resolveTarget } from '../connect/target.js';
import type { Endpoint } from '../connect/url.js';
import { parseDurationSeconds } from '../config/units.js';
import { UsageError } from '../errors.js';
import { printJson, printResult, say } from './output.js';
import { progressLine } from './progress.js';
import { parseCount, retentionFrom } from './retention.js';

export interface BackupFlags {
  url?: string;
  dir?: string;
  passwordFile?: string;
  fromFile?: string;
  to: string;
  compress: string;
  encryptKeyFile?: string;
  every?: string;
  keepLast?: string;
  daily?: string;
  weekly?: string;
  monthly?: string;
  json?: boolean;
  nice?: string;
}

/**
 * Lowers the scheduling priority of this process, never raises it. On Linux a priority belongs to a
 * thread: every thread running now (libuv's pool, V8's helpers) is lowered, and threads and helper
 * programs started later inherit it.
 */
export function applyNiceness(text: string | undefined): void {
  const nice = parseCount('--nice', text ?? '10')!;
  if (nice > 19) throw new UsageError(`--nice takes 0 to 19, not ${nice}`);
  let threads: number[] = [];
  try {
    threads = readdirSync('/proc/self/task').map(Number).filter((tid) => tid > 0 && tid !== process.pid);
  } catch {
    // no /proc: the main thread only
  }
  for (const tid of [0, ...threads]) {
    try {
      if (nice > getPriority(tid)) setPriority(tid, nice);
    } catch {
      // not permitted here (some containers), or the thread has ended: leave it as it is
    }
  }
}

async function sourceFrom(flags: BackupFlags): Promise<BackupSource> {
  const given = [flags.url, flags.dir, flags.fromFile].filter((v) => v !== undefined).length;
  if (given !== 1) throw new UsageError('say what to back up with exactly one of --url URL, --dir DIR (a deployment made by `up`) or --from-file RDB');
  if (flags.fromFile) return { kind: 'file', path: flags.fromFile };
  return { kind: 'replication', endpoint: await resolveTarget({ url: flags.url, dir: flags.dir, passwordFile: flags.passwordFile }, 'backup') };
}

/** Polls the server's own save progress (INFO persistence) so the progress line can estimate keys left. */
function watchServerProgress(endpoint: Endpoint): { totalKeys(): number | undefined; stop(): Promise<void> } {
  let total: number | undefined;
  let stopped = false;
  const loop = (async () => {
    const client = await openConnection(endpoint).catch(() => undefined);
    if (!client) return;
    try {
      while (!stopped) {
        const info = parseInfo(String(await client.sendCommand(['INFO', 'persistence'])));
        const t = Number(info.current_save_keys_total);
        if (t > 0) total = t;
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch {
      // progress is best effort
    } finally {
      await closeConnection(client);
    }
  })();
  return {
    totalKeys: () => total,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

async function backupOnce(flags: BackupFlags, source: BackupSource, compression: Compression, key: Buffer | undefined, signal?: AbortSignal): Promise<BackupResult> {
  const progress = progressLine();
  const watch = source.kind === 'replication' && process.stderr.isTTY ? watchServerProgress(source.endpoint) : undefined;
  try {
    const result = await takeBackup({
      source,
      toDir: flags.to,
      compression,
      encryptionKey: key,
      signal,
      onWaiting: () => progress.update({ bytes: 0, elapsedMs: 0, label: 'waiting for the server to start the snapshot' }),
      onStart: ({ transfer }) => {
        if (transfer === 'disk' && !flags.json) say('Note: the server uses disk-based replication (repl-diskless-sync no), so it wrote a fresh dump.rdb for this backup, as a BGSAVE would.');
      },
      onProgress: (p) => progress.update({ bytes: p.rdbBytes, totalBytes: p.totalBytes, keys: p.keys, totalKeys: watch?.totalKeys(), elapsedMs: p.elapsedMs }),
    });
    return result;
  } finally {
    progress.done();
    await watch?.stop();
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
    throw new UsageError('the retention flags keep nothing (every count is 0): give --keep-last N, --daily N, --weekly N or --monthly N with N of 1 or more, or leave them out to keep every backup');
  }
}

/** Waits `ms`, or less when `signal` aborts; its abort listener goes with it (one per interval would pile up). */
export function waitOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export async function backupCommand(flags: BackupFlags): Promise<number> {
  // every flag is checked before any work (a pull, a published file)
  const compression = flags.compress as Compression;
  if (!['gzip', 'zstd', 'none'].includes(compression)) throw new UsageError(`--compress takes gzip, zstd or none, not "${flags.compress}"`);
  const policy = retentionFrom(flags);
  checkRetention(policy);
  const nice = parseCount('--nice', flags.nice ?? '10')!;
  if (nice > 19) throw new UsageError(`--nice takes 0 to 19, not ${nice}`);
  const interval = flags.every === undefined ? undefined : parseDurationSeconds(flags.every);
  if (flags.every !== undefined && !interval) throw new UsageError(`--every takes a duration such as 30s, 15m, 1h or 1d, not "${flags.every}"`);
  if (flags.every !== undefined && flags.fromFile !== undefined) throw new UsageError('--every repeats backups of a live server; it does not go with --from-file');
  const key = flags.encryptKeyFile ? readKeyFile(flags.encryptKeyFile) : undefined;
  const source = await sourceFrom(flags);
  applyNiceness(flags.nice);
  if (!interval) {
    report(flags, await backupOnce(flags, source, compression, key));
    if (policy) await prune(flags, policy);
    return 0;
  }
  if (!policy) {
    say(`Warning: no retention policy (--keep-last N, --daily N, --weekly N, --monthly N): every backup is kept, one more every ${flags.every}, until the disk of ${flags.to} is full.`);
  }
  const controller = new AbortController();
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    say('Stopping: the backup in progress (if any) is abandoned and nothing of it is published.');
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let lastOk = true;
  if (!flags.json) say(`Taking a backup every ${flags.every} into ${flags.to}${policy ? ', pruning as configured' : ''}; Ctrl-C stops.`);
  while (!stopping) {
    const started = Date.now();
    try {
      report(flags, await backupOnce(flags, source, compression, key, controller.signal));
      if (policy) await prune(flags, policy);
      lastOk = true;
    } catch (error) {
      if (stopping) break;
      lastOk = false;
      say(`neurallog-redis: backup failed: ${(error as Error).message}; trying again at the next interval.`);
    }
    const wait = Math.max(0, interval * 1000 - (Date.now() - started));
    await waitOrAbort(wait, controller.signal);
  }
  return lastOk ? 0 : 1;
}
