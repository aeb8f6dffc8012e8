/**
 * Verifying a stored backup end to end in one streaming pass: SHA-256 of the stored bytes against the
 * manifest, then decryption (authenticated chunk by chunk), decompression, and a full structural parse
 * with the RDB's CRC-64, and the key counts against the manifest. Damage is reported with its offset.
 */
import { existsSync, statSync } from 'node:fs';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NeuralLogRedisError, UsageError } from '../errors.js';
import { rdbVerifier, type RdbSummary } from '../rdb/index.js';
import { GcPacer } from '../runtime/gc-pacer.js';
import { openPlainRdb, sha256OfFile, storedLayers, wrongKeyReason } from './layers.js';
import { readManifest, type Manifest } from './manifest.js';
import { manifestPathFor } from './naming.js';

export interface VerifyOptions {
  encryptionKey?: Buffer;
  onProgress?: (storedBytesRead: number, totalStoredBytes: number) => void;
}

export interface VerifyResult {
  file: string;
  ok: boolean;
  manifest?: Manifest;
  /** undefined when there is no manifest to compare with */
  sha256Matches?: boolean;
  summary?: RdbSummary;
  problems: string[];
}

export async function verifyBackup(file: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  if (!existsSync(file)) throw new UsageError(`the backup ${file} does not exist`);
  const manifestPath = manifestPathFor(file);
  const manifest = existsSync(manifestPath) ? readManifest(manifestPath) : undefined;
  const layers = storedLayers(file, manifest, options.encryptionKey);
  const result: VerifyResult = { file, ok: false, manifest, problems: [] };
  const wrongKey = wrongKeyReason(manifest, options.encryptionKey);
  if (wrongKey) {
    result.problems.push(wrongKey);
    return result;
  }
  const total = statSync(file).size;
  // The stored file's SHA-256 is read concurrently with the RDB check (a second read of the same
  // file, from the page cache), so the decompressing program can read the file by name.
  const rdbTotal = manifest?.rdb.bytes;
  // The stored file's SHA-256 is computed by a second reader of the file, concurrently with the RDB
  // check (by `openssl` on the other core when installed; see sha256OfFile).
  let storedRead = 0;
  const shaPromise = sha256OfFile(file, rdbTotal ? undefined : (n) => options.onProgress?.((storedRead += n), total));
  shaPromise.catch(() => undefined);
  const verifier = rdbVerifier({ source: file });
  const pacer = new GcPacer();
  let rdbRead = 0;
  const progressTap = new Transform({
    transform(chunk: Buffer, _e, done: TransformCallback) {
      rdbRead += chunk.length;
      pacer.passed(chunk.length);
      if (rdbTotal) options.onProgress?.(Math.min(total, Math.round((rdbRead / rdbTotal) * total)), total);
      done(null, chunk);
    },
  });
  const sink = new Writable({ write: (_c, _e, done) => done() });
  try {
    await pipeline(openPlainRdb(file, layers, options.encryptionKey), progressTap, verifier, sink);
    result.summary = verifier.summary();
  } catch (error) {
    result.problems.push(describeDamage(error, layers.compression, rdbRead));
  }
  let sha256: string | undefined;
  try {
    sha256 = await shaPromise;
  } catch (error) {
    result.problems.push(`cannot read it: ${(error as Error).message}`);
  }
  if (manifest) {
    result.sha256Matches = sha256 === manifest.stored.sha256;
    if (!result.sha256Matches) result.problems.unshift(`its SHA-256 differs from the manifest's: the file was changed after the backup was taken`);
    if (total !== manifest.stored.bytes) result.problems.push(`it has ${total} bytes; the manifest says ${manifest.stored.bytes}`);
    const s = result.summary;
    if (s) {
      if (s.checksum.computed !== manifest.rdb.crc64) result.problems.push(`its RDB CRC-64 is ${s.checksum.computed}; the manifest says ${manifest.rdb.crc64}`);
      for (const [db, counts] of Object.entries(manifest.keyspace.databases)) {
        const got = s.databases[db];
        if (!got || got.keys !== counts.keys) result.problems.push(`database ${db} holds ${got?.keys ?? 0} keys; the manifest says ${counts.keys}`);
      }
    }
  }
  if (result.summary && !result.summary.checksum.verified && !result.summary.checksum.disabled) result.problems.push('its RDB checksum does not match');
  result.ok = result.problems.length === 0 && result.summary !== undefined;
  return result;
}

function describeDamage(error: unknown, compression: string, rdbRead: number): string {
  if (error instanceof NeuralLogRedisError) {
    if (error.code === 'E_GZIP' || error.code === 'E_ZSTD') return `the ${compression} stream is damaged (it stopped after ${rdbRead} bytes of RDB): ${error.message}`;
    if (error.code === 'E_RDB_FORMAT') return `${error.message}${compression === 'none' ? '' : ' (offset in the decompressed RDB)'}`;
    return error.message;
  }
  const e = error as NodeJS.ErrnoException;
  if (e?.code?.startsWith('Z_') || /incorrect header|invalid|unexpected end/i.test(e?.message ?? '')) {
    return `the ${compression} stream is damaged (it stopped after ${rdbRead} bytes of RDB): ${e.message}`;
  }
  return `cannot read it: ${e?.message ?? String(error)}`;
}
