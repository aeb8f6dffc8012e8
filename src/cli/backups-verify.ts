/**
 * `backups verify FILE`, as it starts: the file's SHA-256 needs only its name, so where openssl hashes
 * it (on the other core) it starts before the verifier's modules load, and is done by the time the
 * parse is under way. A verify that ends before it needs the digest (a missing key, a bad manifest)
 * stops it. This module imports little, so that the hash starts early.
 */
import { existsSync, statSync } from 'node:fs';
import { hashesElsewhere, sha256OfFile } from '../backup/file-digest.js';
import type { BackupsVerifyFlags } from './backup-flags.js';

export async function backupsVerifyStart(file: string, flags: BackupsVerifyFlags): Promise<number> {
  const early = new AbortController();
  const sha256 = hashesElsewhere() && existsSync(file) && !statSync(file).isDirectory() ? sha256OfFile(file, undefined, early.signal) : undefined;
  sha256?.catch(() => undefined);
  try {
    return await (await import('./backups.js')).backupsVerifyCommand(file, flags, sha256);
  } finally {
    early.abort();
  }
}
