/**
 * Backup file names: `redis-backup-<UTC timestamp>.rdb[.gz|.zst][.enc]`, with the manifest beside it
 * as `<file>.manifest.json`. Temporary and lock files start with a dot, so listings never show them.
 */
export type Compression = 'gzip' | 'zstd' | 'none';

export const COMPRESSION_SUFFIX: Record<Compression, string> = { gzip: '.gz', zstd: '.zst', none: '' };
export const ENCRYPTED_SUFFIX = '.enc';
export const MANIFEST_SUFFIX = '.manifest.json';
export const LOCK_NAME = '.neurallog-backup.lock';

const NAME = /^redis-backup-(\d{8}T\d{6}(?:\d{3})?Z)(?:-(\d+))?\.rdb(\.gz|\.zst)?(\.enc)?$/;

/** `20261126T012233Z` for a date (UTC, second precision). */
export function timestampFor(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

export function backupFileName(date: Date, compression: Compression, encrypted: boolean, sequence = 0): string {
  return `redis-backup-${timestampFor(date)}${sequence ? `-${sequence}` : ''}.rdb${COMPRESSION_SUFFIX[compression]}${encrypted ? ENCRYPTED_SUFFIX : ''}`;
}

export interface ParsedBackupName {
  timestamp: string;
  compression: Compression;
  encrypted: boolean;
}

export function parseBackupFileName(name: string): ParsedBackupName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  return { timestamp: m[1]!, compression: m[3] === '.gz' ? 'gzip' : m[3] === '.zst' ? 'zstd' : 'none', encrypted: m[4] !== undefined };
}

/** What a stored file's name says about how to read it (`.rdb`, `.rdb.gz`, `.rdb.zst`, `+ .enc`). */
export function layersFromName(name: string): { compression: Compression; encrypted: boolean } {
  const encrypted = name.endsWith(ENCRYPTED_SUFFIX);
  const base = encrypted ? name.slice(0, -ENCRYPTED_SUFFIX.length) : name;
  const compression: Compression = base.endsWith('.gz') ? 'gzip' : base.endsWith('.zst') ? 'zstd' : 'none';
  return { compression, encrypted };
}

export function manifestPathFor(file: string): string {
  return `${file}${MANIFEST_SUFFIX}`;
}
