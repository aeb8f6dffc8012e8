/**
 * `restore FILE`, as it starts: the stored file's SHA-256 is already under way (early-digest.ts), so
 * only the restore's own modules load here. A restore that ends before it needs the digest stops it.
 */
import { restoreDigest } from './early-digest.js';
import type { RestoreFlags } from './restore-flags.js';

export async function restoreStart(file: string | undefined, flags: RestoreFlags): Promise<number> {
  const early = file !== undefined && !flags.abort ? restoreDigest(file) : undefined;
  try {
    return await (await import('./restore.js')).restoreCommand(file, flags, early?.sha256);
  } finally {
    early?.stop();
  }
}
