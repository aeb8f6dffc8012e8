/**
 * Verifying a stored backup end to end in one streaming pass: SHA-256 of the stored bytes against the
 * manifest, then decryption (authenticated chunk by chunk), decompression, and a full structural parse
 * with the RDB's CRC-64, and the key counts against the manifest. Damage is reported with its offset;
 * what the servers load although they never write it (a stream whose length disagrees with its
 * entries, bytes after the checksum) is a warning with its offset, damage with `strict`; an RDB
 * version newer than the reader knows is "unsupported", not damage.
 */
import { existsSync, statSync } from 'node:fs';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NeuralLogRedisError, UsageError } from '../errors.js';
import { RdbStreamParser, RdbUnsupportedError, rdbVerifier, type RdbSummary } from '../rdb/index.js';
import { GcPacer } from '../host/gc-pacer.js';
import { readProgramOutput } from '../host/program-output.js';
import { decompressFileCommand } from './compression.js';
import { sha256OfFile } from './file-digest.js';
import { openPlainRdb, storedLayers, wrongKeyReason, type StoredLayers } from './layers.js';
import { readManifest, type Manifest } from './manifest.js';
import { manifestPathFor } from './naming.js';

export interface VerifyOptions {
  encryptionKey?: Buffer;
  onProgress?: (storedBytesRead: number, totalStoredBytes: number) => void;
  /** the file's SHA-256 (sha256OfFile), when the caller started it early */
  sha256?: Promise<string>;
  /** what the servers load but never write is damage, not a warning (RdbParserOptions.strict) */
  strict?: boolean;
}

/**
 * ok: verified; warnings: verified, with warnings (what a strict verify calls damage); damaged: a
 * problem; unsupported: an RDB version this reader does not know (and no other problem).
 */
export type VerifyStatus = 'ok' | 'warnings' | 'damaged' | 'unsupported';

export interface VerifyResult {
  file: string;
  ok: boolean;
  manifest?: Manifest;
  /** undefined when there is no manifest to compare with */
  sha256Matches?: boolean;
  summary?: RdbSummary;
  problems: string[];
  status: VerifyStatus;
  /** messages with their byte offsets (offsets in the decompressed RDB) */
  warnings: string[];
  /** the reader does not know this RDB version: what the file is (message: "not supported (RDB 13, written by Redis 8.6): ...") */
  unsupported?: { rdbVersion: number; header: string; writtenBy: string; message: string };
}

export async function verifyBackup(file: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  if (!existsSync(file)) throw new UsageError(`the backup ${file} does not exist`);
  refuseUnlessRegularFile(file);
  const manifestPath = manifestPathFor(file);
  const manifest = existsSync(manifestPath) ? readManifest(manifestPath) : undefined;
  const layers = storedLayers(file, manifest, options.encryptionKey);
  const result: VerifyResult = { file, ok: false, manifest, problems: [], status: 'damaged', warnings: [] };
  const wrongKey = wrongKeyReason(manifest, options.encryptionKey);
  // a wrong key says nothing about the file: the same answer as restore's, exit 2, not DAMAGED
  if (wrongKey) throw new UsageError(`${file}: ${wrongKey}; nothing was checked`, 'E_WRONG_KEY');
  const total = statSync(file).size;
  const rdbTotal = manifest?.rdb.bytes;
  // The stored file's SHA-256 is computed by a second reader of the file, concurrently with the RDB
  // check (by `openssl` on the other core when installed; see sha256OfFile).
  let storedRead = 0;
  const shaPromise = options.sha256 ?? sha256OfFile(file, rdbTotal ? undefined : (n) => options.onProgress?.((storedRead += n), total));
  shaPromise.catch(() => undefined);
  const pacer = new GcPacer(4 << 20);
  let rdbRead = 0;
  const passed = (n: number) => {
    rdbRead += n;
    pacer.passed(n);
    if (rdbTotal) options.onProgress?.(Math.min(total, Math.round((rdbRead / rdbTotal) * total)), total);
  };
  try {
    result.summary = await parsePlainRdb(file, layers, options.encryptionKey, passed, options.strict === true);
    const inRdb = layers.compression !== 'none' ? ' (offset in the decompressed RDB)' : '';
    result.warnings = result.summary.warnings.map((w) => w.message + inRdb);
    const more = result.summary.warningCount - result.summary.warnings.length;
    if (more > 0) result.warnings.push(`and ${more} more warnings like these`);
  } catch (error) {
    if (error instanceof RdbUnsupportedError) {
      result.unsupported = { rdbVersion: error.rdbVersion, header: error.header, writtenBy: error.writtenBy, message: error.detail };
    } else result.problems.push(describeDamage(error, layers.compression, rdbRead));
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
  result.status = result.problems.length > 0 ? 'damaged' : result.unsupported ? 'unsupported' : result.warnings.length > 0 ? 'warnings' : 'ok';
  return result;
}

/**
 * A backup is a regular file: a device (/dev/zero, /dev/urandom), a pipe or a socket may never end,
 * and is read twice (its SHA-256 beside the parse), so it is refused before any reading starts.
 */
function refuseUnlessRegularFile(file: string): void {
  const stat = statSync(file);
  if (stat.isFile()) return;
  const what = stat.isDirectory()
    ? 'a directory'
    : stat.isCharacterDevice()
      ? 'a character device'
      : stat.isBlockDevice()
        ? 'a block device'
        : stat.isFIFO()
          ? 'a pipe (FIFO)'
          : stat.isSocket()
            ? 'a socket'
            : 'not a regular file';
  throw new UsageError(
    `${file} is ${what}, not a backup file: give the path of a stored backup or an .rdb file (a pipe or device may never end, and a backup is read twice)`,
    'E_NOT_A_FILE',
  );
}

/**
 * Parses the plain RDB inside a stored file. An unencrypted compressed file is read straight from its
 * decompressor through a wide FIFO into one reused buffer (host/program-output.ts); everything
 * else through the stream layers.
 */
async function parsePlainRdb(file: string, layers: StoredLayers, key: Buffer | undefined, passed: (n: number) => void, strict: boolean): Promise<RdbSummary> {
  const command = layers.encrypted ? undefined : decompressFileCommand(layers.compression, file);
  if (command) {
    const parser = new RdbStreamParser({ source: file, strict });
    const done = readProgramOutput({
      ...command,
      onChunk: (chunk) => {
        passed(chunk.length);
        parser.write(chunk, true);
      },
    });
    if (done) {
      await done;
      return parser.end();
    }
  }
  const verifier = rdbVerifier({ source: file, strict });
  const tap = new Transform({
    transform(chunk: Buffer, _e, done: TransformCallback) {
      passed(chunk.length);
      done(null, chunk);
    },
  });
  const sink = new Writable({ write: (_c, _e, done) => done() });
  await pipeline(openPlainRdb(file, layers, key), tap, verifier, sink);
  return verifier.summary();
}

function describeDamage(error: unknown, compression: string, rdbRead: number): string {
  const e = error as NodeJS.ErrnoException;
  // igzip and zstd fail with E_GZIP / E_ZSTD, node:zlib with Z_* codes or its own messages
  const decompressor =
    error instanceof NeuralLogRedisError
      ? error.code === 'E_GZIP' || error.code === 'E_ZSTD'
      : e?.code?.startsWith('Z_') || /incorrect header|invalid|unexpected end/i.test(e?.message ?? '');
  if (decompressor) return `the ${compression} stream is damaged (it stopped after ${rdbRead} bytes of RDB): ${e.message}`;
  if (error instanceof NeuralLogRedisError)
    return error.code === 'E_RDB_FORMAT' && compression !== 'none' ? `${error.message} (offset in the decompressed RDB)` : error.message;
  return `cannot read it: ${e?.message ?? String(error)}`;
}
