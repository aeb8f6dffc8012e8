/**
 * `restore FILE`, as it starts: the stored file's SHA-256 against its manifest is the first thing a
 * restore waits for (0.17 s for 174 MB in openssl), and it needs only the file's name, so where openssl
 * hashes it (on the other core) it starts here, before the restore's modules load (about 0.1 s of a
 * default restore's start: docs/benchmarks.md). A restore that ends before it needs the digest stops it.
 * This module imports little, so that the hash starts early.
 */
import { existsSync, statSync } from 'node:fs';
import { hashesElsewhere, sha256OfFile } from '../backup/file-digest.js';
import { manifestPathFor } from '../backup/naming.js';
import type { RestoreFlags } from './restore-flags.js';

export async function restoreStart(file: string | undefined, flags: RestoreFlags): Promise<number> {
  const early = new AbortController();
  const hashed =
    file !== undefined && !flags.abort && hashesElsewhere() && existsSync(manifestPathFor(file)) && statSync(file, { throwIfNoEntry: false })?.isFile();
  const sha256 = hashed ? sha256OfFile(file, undefined, early.signal) : undefined;
  sha256?.catch(() => undefined);
  try {
    return await (await import('./restore.js')).restoreCommand(file, flags, sha256);
  } finally {
    early.abort();
  }
}
