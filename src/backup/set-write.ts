/**
 * Backup sets' names and writing their manifest, apart from set-manifest.ts (its zod schema) so that
 * taking a set does not load the schema library.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './publish.js';
import { timestampFor } from './naming.js';

export const SET_FORMAT = 1;
export const SET_MANIFEST = 'set.json';
export const SET_SUFFIX = '.set';

/** `redis-cluster-<timestamp>[-<n>].set` */
export function setDirectoryName(date: Date, sequence = 0): string {
  return `redis-cluster-${timestampFor(date)}${sequence ? `-${sequence}` : ''}${SET_SUFFIX}`;
}

/** The timestamp of a set's directory name, or undefined when it is not one. */
export function parseSetDirectoryName(name: string): string | undefined {
  return /^redis-cluster-(\d{8}T\d{6}Z)(?:-\d+)?\.set$/.exec(name)?.[1];
}

export function writeSetManifest(path: string, manifest: { format: typeof SET_FORMAT }): void {
  writeFileAtomic(path, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Whether `path` is a backup set's directory (has set.json). */
export function isBackupSet(path: string): boolean {
  try {
    return statSync(path).isDirectory() && existsSync(join(path, SET_MANIFEST));
  } catch {
    return false;
  }
}
