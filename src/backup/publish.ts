/**
 * Publishing files atomically into a backup directory: write a dot-prefixed temporary file, fsync it,
 * rename it to its final name, fsync the directory. A lock file keeps two writers apart; temporary and
 * lock files are removed on failure, so no file ever appears under a final name half written.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { RuntimeError } from '../errors.js';
import { takeLock } from '../host/file-lock.js';
import { LOCK_NAME } from './naming.js';

export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function temporaryPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.${process.pid}.tmp`);
}

/** fsyncs `temp`, renames it to `finalPath`, fsyncs the directory. */
export function publishFile(temp: string, finalPath: string): void {
  fsyncFile(temp);
  renameSync(temp, finalPath);
  fsyncDirectory(dirname(finalPath));
}

/** Writes a small file atomically (manifests). */
export function writeFileAtomic(path: string, content: string, mode = 0o644): void {
  const temp = temporaryPathFor(path);
  const fd = openSync(temp, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temp, path);
  fsyncDirectory(dirname(path));
}

export interface DirectoryLock {
  path: string;
  release(): void;
}

/**
 * Takes the backup directory's lock (host/file-lock: two takers can never both hold it, even when
 * both find the same dead holder); a lock left by a process that no longer runs is taken over.
 */
export function lockDirectory(dir: string): DirectoryLock {
  const path = join(dir, LOCK_NAME);
  return takeLock(path, {
    purpose: 'backup',
    busy: (holder) =>
      new RuntimeError(
        `another backup (pid ${holder.pid}) is writing into ${dir}; wait for it, or remove ${path} if that process is not a backup`,
        'E_BACKUP_LOCKED',
      ),
  });
}
