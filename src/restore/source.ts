/**
 * Opening a backup for restore: the stored file's SHA-256 is checked against its manifest first (one
 * fast pass, before anything on a target changes), then the file can be opened any number of times as
 * a stream of plain RDB bytes (decrypted and decompressed as the manifest or the file name says).
 */
import { existsSync, statSync } from 'node:fs';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
// the backup modules a restore needs, not backup/index (which brings taking and pruning too)
import { backupOrigin, originFromRdb, type BackupOrigin } from '../backup/origin.js';
import { manifestPathFor, type Compression } from '../backup/naming.js';
import { readManifest, type Manifest } from '../backup/manifest.js';
import { openPlainRdb, storedLayers, wrongKeyReason } from '../backup/layers.js';
import { sha256OfFile } from '../backup/file-digest.js';
import { BackupIntegrityError, UsageError } from '../errors.js';
export { BackupIntegrityError };
import { rdbVerifier } from '../rdb/index.js';
import { readRdbHead } from './rdb-head.js';

export interface RestoreSource {
  file: string;
  manifest?: Manifest;
  compression: Compression;
  encrypted: boolean;
  storedBytes: number;
  /** plain RDB bytes, when known without reading (manifest, or an uncompressed file) */
  rdbBytes?: number;
  /** a fresh stream of the plain RDB bytes */
  open(): Readable;
  /**
   * settles once the stored file's SHA-256 has been checked against its manifest (rejects with
   * BackupIntegrityError when it differs); already settled unless opened with `deferDigestCheck`
   */
  digestChecked: Promise<void>;
}

/**
 * `deferDigestCheck`: the SHA-256 runs (in openssl, on another core) while the caller goes on with
 * what changes nothing (connecting, checking the target), and the caller awaits `digestChecked`
 * before its first change.
 */
export async function openRestoreSource(
  file: string,
  options: { encryptionKey?: Buffer; deferDigestCheck?: boolean; /** the file's SHA-256, already started */ sha256?: Promise<string> } = {},
): Promise<RestoreSource> {
  if (!existsSync(file)) throw new UsageError(`the backup ${file} does not exist`);
  const manifestPath = manifestPathFor(file);
  const manifest = existsSync(manifestPath) ? readManifest(manifestPath) : undefined;
  const layers = storedLayers(file, manifest, options.encryptionKey);
  const wrongKey = wrongKeyReason(manifest, options.encryptionKey);
  if (wrongKey) throw new UsageError(`${file}: ${wrongKey}`);
  const storedBytes = statSync(file).size;
  let digestChecked = Promise.resolve();
  if (manifest) {
    if (storedBytes !== manifest.stored.bytes)
      throw new BackupIntegrityError(
        `${file} has ${storedBytes} bytes but its manifest says ${manifest.stored.bytes}: it was changed or truncated after the backup; nothing was restored`,
      );
    const expected = manifest.stored.sha256;
    digestChecked = (options.sha256 ?? sha256OfFile(file)).then((sha) => {
      if (sha !== expected)
        throw new BackupIntegrityError(`${file}'s SHA-256 differs from its manifest: it was changed after the backup; nothing was restored`);
    });
    if (options.deferDigestCheck) digestChecked.catch(() => undefined);
    else await digestChecked;
  }
  const rdbBytes = manifest?.rdb.bytes ?? (layers.compression === 'none' && !layers.encrypted ? storedBytes : undefined);
  return {
    file,
    manifest,
    compression: layers.compression,
    encrypted: layers.encrypted,
    storedBytes,
    rdbBytes,
    open: () => openPlainRdb(file, layers, options.encryptionKey),
    digestChecked,
  };
}

/** Counts the plain RDB bytes of a source whose size is not recorded (one decompressing pass). */
export async function measureRdbBytes(source: RestoreSource): Promise<number> {
  if (source.rdbBytes !== undefined) return source.rdbBytes;
  let n = 0;
  for await (const chunk of source.open()) n += (chunk as Buffer).length;
  source.rdbBytes = n;
  return n;
}

/**
 * Which engine, release and RDB version the backup comes from, before any target is touched: its
 * manifest's origin (older manifests: Redis of their redisVersion), or, without a manifest, the RDB's
 * own header and aux fields.
 */
export async function sourceOrigin(source: RestoreSource): Promise<BackupOrigin> {
  if (source.manifest) return backupOrigin(source.manifest);
  const head = await readRdbHead(source.open());
  if (!head)
    throw new BackupIntegrityError(
      `${source.file} does not start with an RDB header (REDIS00NN or VALKEYNNN): it is not an RDB file, or it is damaged; nothing was restored`,
    );
  return originFromRdb(head.rdbVersion, head.aux);
}

/**
 * Keys per RDB value type of the backup: from its manifest when recorded, else by one parse of the
 * whole file (a damaged file fails here, before any target changes).
 */
export async function sourceValueTypes(source: RestoreSource): Promise<Record<string, number>> {
  const recorded = source.manifest?.keyspace.types;
  if (recorded) return recorded;
  const verifier = rdbVerifier({ source: source.file, rawValues: 'none' });
  await pipeline(source.open(), verifier, new Writable({ write: (_chunk, _encoding, done) => done() }));
  return { ...verifier.summary().types };
}
