/**
 * The SHA-256 of a stored file, which needs nothing but its name. It has a module of its own, with
 * few imports, so that `backups verify` can start it before the verifier's modules have loaded (it
 * then runs on the other core while they load: see cli/main.ts).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, statSync } from 'node:fs';
import { findOnPath } from '../host/executables.js';
import { GcPacer } from '../host/gc-pacer.js';

const READ_CHUNK = 1 << 20;

/**
 * SHA-256 (hex) of a whole file. Where `openssl` is installed it hashes the file in its own process
 * (SHA extensions, ~1.4 GB/s here, and on another core than a parse running at the same time);
 * otherwise, or with NEURALLOG_REDIS_SHA=node, it is read here in 1 MiB chunks. `onBytes` sees the
 * progress of the in-process reader only.
 */
export async function sha256OfFile(file: string, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<string> {
  // a device or a pipe may never end (and opening a FIFO blocks until a writer comes): only files
  if (!statSync(file).isFile()) throw new Error(`${file} is not a regular file`);
  if (hashesElsewhere()) return sha256ByOpenssl(file, signal);
  const hash = createHash('sha256');
  const pacer = new GcPacer();
  for await (const chunk of createReadStream(file, { highWaterMark: READ_CHUNK })) {
    hash.update(chunk as Buffer);
    pacer.passed((chunk as Buffer).length);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

/** `signal` stops the hashing (openssl is killed and the promise rejects) */
function sha256ByOpenssl(file: string, signal?: AbortSignal): Promise<string> {
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
      child = spawn('openssl', ['dgst', '-sha256', '-r'], { stdio: [fd, 'pipe', 'pipe'], signal });
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

/** true when sha256OfFile hashes in a process of its own (it reports no progress then) */
export function hashesElsewhere(): boolean {
  return process.env.NEURALLOG_REDIS_SHA !== 'node' && findOnPath('openssl') !== undefined;
}
