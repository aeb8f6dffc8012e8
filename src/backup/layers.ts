/**
 * How a stored backup is read back: which layers it has (from its manifest, else its file name), the
 * check that an encrypted one was given its own key, and the streams that turn its bytes back into a
 * plain RDB. Used by `backups verify` and by restore.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../errors.js';
import { findOnPath } from '../runtime/executables.js';
import { GcPacer } from '../runtime/gc-pacer.js';
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

/** Fresh streams that turn the stored bytes into the plain RDB: decryption (if any), decompression. */
function toPlainRdb(layers: StoredLayers, key: Buffer | undefined): NodeJS.ReadWriteStream[] {
  const stages: NodeJS.ReadWriteStream[] = [];
  if (layers.encrypted) stages.push(createDecryptStream(key!));
  stages.push(createDecompressStream(layers.compression));
  return stages;
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
  const stages = toPlainRdb(layers, key);
  const out = stages[stages.length - 1] as unknown as Readable;
  (pipeline as (...s: unknown[]) => Promise<void>)(createReadStream(file, { highWaterMark: READ_CHUNK }), ...stages).catch((error: unknown) => out.destroy(error as Error));
  return out;
}

/**
 * SHA-256 (hex) of a whole file. Where `openssl` is installed it hashes the file in its own process
 * (SHA extensions, ~1.4 GB/s here, and on another core than a parse running at the same time);
 * otherwise, or with NEURALLOG_REDIS_SHA=node, it is read here in 1 MiB chunks. `onBytes` sees the
 * progress of the in-process reader only.
 */
export async function sha256OfFile(file: string, onBytes?: (n: number) => void): Promise<string> {
  if (process.env.NEURALLOG_REDIS_SHA !== 'node' && findOnPath('openssl')) return sha256ByOpenssl(file);
  const hash = createHash('sha256');
  const pacer = new GcPacer();
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK })) {
    hash.update(chunk as Buffer);
    pacer.passed((chunk as Buffer).length);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

function sha256ByOpenssl(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // the file as openssl's stdin: no file name on its command line or in its output, whatever the
    // name holds (a leading '-', a newline)
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (error) {
      reject(error);
      return;
    }
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('openssl', ['dgst', '-sha256', '-r'], { stdio: [fd, 'pipe', 'pipe'] });
    } finally {
      closeSync(fd);
    }
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString('latin1')));
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const hex = /^([0-9a-f]{64}) /.exec(out)?.[1];
      if (code === 0 && hex) resolve(hex);
      else reject(new Error(`openssl could not hash ${file}: ${err.trim().split('\n')[0] || `exit ${code}`}`));
    });
  });
}
