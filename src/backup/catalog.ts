/**
 * The backups in a directory, and which of them a retention policy keeps. Planning is pure; deleting
 * is the caller's edge.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { readManifest, type Manifest } from './manifest.js';
import { fsyncDirectory } from './publish.js';
import { manifestPathFor, parseBackupFileName } from './naming.js';
import { isBackupSetName, readSetManifest, type BackupSetManifest } from './set-manifest.js';
import { parseSetDirectoryName } from './set-write.js';

export interface CatalogEntry {
  file: string;
  path: string;
  /** when the backup was taken (from the manifest, else the file name) */
  takenAt: Date;
  storedBytes: number;
  manifest?: Manifest;
  /** a cluster backup set (a directory of shard backups): its set.json */
  set?: BackupSetManifest;
  /** why the entry cannot be trusted (no manifest, unreadable manifest, not verified) */
  problem?: string;
}

function dateFromTimestamp(ts: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})?Z$/.exec(ts)!;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? +m[7] : 0));
}

export function listBackups(dir: string): CatalogEntry[] {
  if (!existsSync(dir)) throw new UsageError(`the backup directory ${dir} does not exist`);
  const entries: CatalogEntry[] = [];
  for (const name of readdirSync(dir)) {
    if (isBackupSetName(name)) {
      const set = setEntry(dir, name);
      if (set) entries.push(set);
      continue;
    }
    const parsed = parseBackupFileName(name);
    if (!parsed) continue;
    const path = join(dir, name);
    const entry: CatalogEntry = { file: name, path, takenAt: dateFromTimestamp(parsed.timestamp), storedBytes: statSync(path).size };
    const manifestPath = manifestPathFor(path);
    if (!existsSync(manifestPath)) entry.problem = 'no manifest (incomplete or not made by neurallog-redis)';
    else {
      try {
        entry.manifest = readManifest(manifestPath);
        entry.takenAt = new Date(entry.manifest.createdAt);
        if (!entry.manifest.verified) entry.problem = 'not verified';
        else if (entry.manifest.stored.bytes !== entry.storedBytes)
          entry.problem = `size ${entry.storedBytes} differs from the manifest's ${entry.manifest.stored.bytes}`;
      } catch (error) {
        entry.problem = (error as Error).message;
      }
    }
    entries.push(entry);
  }
  return entries.sort((a, b) => a.takenAt.getTime() - b.takenAt.getTime() || a.file.localeCompare(b.file));
}

/** A set directory's entry: its set.json, the shards' stored bytes; a problem when a shard is missing or resized. */
function setEntry(dir: string, name: string): CatalogEntry | undefined {
  const timestamp = parseSetDirectoryName(name);
  const path = join(dir, name);
  if (!timestamp || !statSync(path).isDirectory()) return undefined;
  const entry: CatalogEntry = { file: name, path, takenAt: dateFromTimestamp(timestamp), storedBytes: 0 };
  try {
    entry.set = readSetManifest(path);
    entry.takenAt = new Date(entry.set.createdAt);
    for (const shard of entry.set.shards) {
      const file = join(path, shard.file);
      const bytes = existsSync(file) ? statSync(file).size : undefined;
      entry.storedBytes += bytes ?? 0;
      if (bytes === undefined) entry.problem ??= `${shard.file} is missing`;
      else if (bytes !== shard.storedBytes) entry.problem ??= `${shard.file}: size ${bytes} differs from the set's ${shard.storedBytes}`;
    }
    if (!entry.set.verified) entry.problem ??= 'not verified';
  } catch (error) {
    entry.problem = (error as Error).message;
  }
  return entry;
}

export interface RetentionPolicy {
  keepLast?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
}

export interface PrunePlan {
  keep: Array<{ entry: CatalogEntry; reasons: string[] }>;
  remove: CatalogEntry[];
  /** entries left alone because they cannot be judged (no or bad manifest) */
  untouched: CatalogEntry[];
}

function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = new Date(Date.UTC(t.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((t.getTime() - yearStart.getTime()) / 86400000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

const BUCKETS = {
  daily: (d: Date) => d.toISOString().slice(0, 10),
  weekly: isoWeek,
  monthly: (d: Date) => d.toISOString().slice(0, 7),
} as const;

/**
 * Keeps the newest `keepLast`, and the newest backup of each of the `daily` / `weekly` / `monthly`
 * most recent days / weeks / months that have one. The newest verified backup is always kept.
 */
export function planPrune(entries: readonly CatalogEntry[], policy: RetentionPolicy): PrunePlan {
  const { keepLast = 0, daily = 0, weekly = 0, monthly = 0 } = policy;
  if (keepLast + daily + weekly + monthly <= 0) throw new UsageError('say what to keep: --keep-last N and/or --daily N, --weekly N, --monthly N');
  const judged = entries.filter((e) => (e.manifest || e.set) && !e.problem);
  const untouched = entries.filter((e) => !judged.includes(e));
  const newestFirst = [...judged].reverse();
  const reasons = new Map<CatalogEntry, string[]>();
  const mark = (e: CatalogEntry, why: string) => reasons.set(e, [...(reasons.get(e) ?? []), why]);
  newestFirst.slice(0, keepLast).forEach((e, i) => mark(e, `last ${i + 1}`));
  for (const [kind, limit] of [
    ['daily', daily],
    ['weekly', weekly],
    ['monthly', monthly],
  ] as const) {
    const seen = new Set<string>();
    for (const e of newestFirst) {
      const bucket = BUCKETS[kind](e.takenAt);
      if (seen.has(bucket)) continue;
      if (seen.size >= limit) break;
      seen.add(bucket);
      mark(e, `${kind} ${bucket}`);
    }
  }
  if (newestFirst[0]) mark(newestFirst[0], 'newest verified');
  return {
    keep: newestFirst.filter((e) => reasons.has(e)).map((entry) => ({ entry, reasons: reasons.get(entry)! })),
    remove: newestFirst.filter((e) => !reasons.has(e)),
    untouched,
  };
}

/** Deletes the backups a plan removes (file first, then its manifest). */
export function applyPrune(dir: string, plan: PrunePlan): void {
  for (const entry of plan.remove) {
    if (entry.set) {
      rmSync(entry.path, { recursive: true, force: true });
      continue;
    }
    rmSync(entry.path, { force: true });
    rmSync(manifestPathFor(entry.path), { force: true });
  }
  if (plan.remove.length > 0) fsyncDirectory(dir);
}
