/**
 * The stored file's SHA-256, which a restore waits for before anything else (0.17 s for 174 MB in
 * openssl) and which needs only the file's name. It starts as early as the command line allows:
 * bin/neurallog-redis starts it, before the CLI's modules load, when the command line reads `restore
 * FILE ...`; restore-start.ts takes it for that same file, or starts it itself; backups-verify.ts
 * starts one the same way. This module imports little, so that the hash starts early
 * (docs/benchmarks.md, "Session 9").
 */
import { existsSync, statSync } from 'node:fs';
import { hashesElsewhere, sha256OfFile } from '../backup/file-digest.js';
import { manifestPathFor } from '../backup/naming.js';

export interface EarlyDigest {
  sha256: Promise<string> | undefined;
  /** stops the hash (openssl) when the restore ends before it needs it */
  stop(): void;
}

let prefetched: { file: string; digest: EarlyDigest } | undefined;

/**
 * Starts hashing `file` where openssl hashes it on another core (a regular file only); with
 * `manifestOnly`, only when a manifest beside it gives a digest to check it against.
 */
export function startDigest(file: string, options: { manifestOnly: boolean }): EarlyDigest {
  const stopping = new AbortController();
  const hashed =
    hashesElsewhere() && (!options.manifestOnly || existsSync(manifestPathFor(file))) && statSync(file, { throwIfNoEntry: false })?.isFile() === true;
  const sha256 = hashed ? sha256OfFile(file, undefined, stopping.signal) : undefined;
  sha256?.catch(() => undefined);
  return { sha256, stop: () => stopping.abort() };
}

/**
 * For bin/neurallog-redis: `restore FILE ...`, its file argument hashed before the modules load (the
 * hash started, or undefined when the command line is not of that form).
 */
export function prefetchRestoreDigest(argv: readonly string[]): EarlyDigest | undefined {
  const [command, file] = argv;
  if (command !== 'restore' || file === undefined || file.startsWith('-')) return undefined;
  try {
    prefetched = { file, digest: startDigest(file, { manifestOnly: true }) };
    return prefetched.digest;
  } catch {
    // the restore itself reports what is wrong with the file
    return undefined;
  }
}

/** The SHA-256 of the file a restore was given: the one bin started for it, or one started now. */
export function restoreDigest(file: string): EarlyDigest {
  const early = prefetched?.file === file ? prefetched.digest : undefined;
  if (prefetched) {
    if (!early) prefetched.digest.stop();
    prefetched = undefined;
  }
  return early ?? startDigest(file, { manifestOnly: true });
}
