/**
 * How a stored backup is read back: which layers it has (from its manifest, else its file name), the
 * check that an encrypted one was given its own key, and the streams that turn its bytes back into a
 * plain RDB. Used by `backups verify` and by restore.
 */
import { UsageError } from '../errors.js';
import { createDecompressStream } from './compression.js';
import { createDecryptStream, keyId } from './encryption.js';
import type { Manifest } from './manifest.js';
import { layersFromName, type Compression } from './naming.js';

export interface StoredLayers {
  compression: Compression;
  encrypted: boolean;
}

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

/** Fresh streams that turn the stored bytes into the plain RDB: decryption (if any), decompression. */
export function toPlainRdb(layers: StoredLayers, key: Buffer | undefined): NodeJS.ReadWriteStream[] {
  const stages: NodeJS.ReadWriteStream[] = [];
  if (layers.encrypted) stages.push(createDecryptStream(key!));
  stages.push(createDecompressStream(layers.compression));
  return stages;
}
