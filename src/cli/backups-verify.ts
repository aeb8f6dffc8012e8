/**
 * `backups verify FILE`, as it starts: the file's SHA-256 needs only its name, so where openssl hashes
 * it (on the other core) it starts before the verifier's modules load, and is done by the time the
 * parse is under way. A verify that ends before it needs the digest (a missing key, a bad manifest)
 * stops it. This module imports little, so that the hash starts early.
 */
import type { BackupsVerifyFlags } from './backup-flags.js';
import { startDigest } from './early-digest.js';

export async function backupsVerifyStart(file: string, flags: BackupsVerifyFlags): Promise<number> {
  const early = startDigest(file, { manifestOnly: false });
  try {
    return await (await import('./backups.js')).backupsVerifyCommand(file, flags, early.sha256);
  } finally {
    early.stop();
  }
}
