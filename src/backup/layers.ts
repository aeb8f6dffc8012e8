/**
 * How a stored backup is read back: which layers it has (from its manifest, else its file name), the
 * check that an encrypted one was given its own key, and the streams that turn its bytes back into a
 * plain RDB. Used by `backups verify` and by restore.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../errors.js';
import { createDecompressStream, decompressFileProcess } from './compression.js';
import { createDecryptStream, keyId } from './encryption.js';
import type { Manifest } from './manifest.js';
import { layersFromName, type Compression } from './naming.js';

export interface StoredLayers {
  compression: Compression;
  encrypted: boolean;
}

const READ_CHUNK = 1 << 20;

/** The layers of a stored file; an encrypted one without a key is a usage error. */
export function storedLayers(file: string, manifest: Manifest | undefined, key: Buffer | undefined): StoredLayers {
  const layers = manifest ? { compression: manifest.stored.compression, encrypted: manifest.stored.encryption !== null } : layersFromName(file);
  if (layers.encrypted && !key) throw new UsageError(`${file} is encrypted; give its key with --encrypt-key-file`);
  return layers;
}

/** Why the given key is not this backup's (by the key id its manifest records), or undefined. */
export function wrongKeyReason(manifest: Manifest | undefined, key: Buffer | undefined): string | undefined {
  const recorded = manifest?.stored.encryption?.keyId;
  if (!recorded || !key || recorded === keyId(key)) return undefined;
  return `the key given is not the one this backup was encrypted with (key id ${keyId(key)}, backup ${recorded})`;
}

/**
 * A fresh stream of the plain RDB inside a stored file. An unencrypted compressed file is handed to
 * the decompressing program by name (`igzip -d` or `zstd -d` read it themselves: no copy through this
 * process, and the program's reading overlaps our parsing); otherwise the file is read here and passed
 * through the layers.
 */
export function openPlainRdb(file: string, layers: StoredLayers, key: Buffer | undefined): Readable {
  if (!layers.encrypted) {
    if (layers.compression === 'none') return createReadStream(file, { highWaterMark: READ_CHUNK });
    const direct = decompressFileProcess(layers.compression, file);
    if (direct) return direct;
  }
  // decryption (if any), then decompression
  const stages: NodeJS.ReadWriteStream[] = layers.encrypted ? [createDecryptStream(key!)] : [];
  stages.push(createDecompressStream(layers.compression));
  const out = stages[stages.length - 1] as unknown as Readable;
  (pipeline as (...s: unknown[]) => Promise<void>)(createReadStream(file, { highWaterMark: READ_CHUNK }), ...stages).catch((error: unknown) =>
    out.destroy(error as Error),
  );
  return out;
}
