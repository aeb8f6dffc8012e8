/**
 * Compression layers: gzip through node:zlib at a fast level (default), zstd through Debian's `zstd`
 * program when installed, or none. Each is a Duplex stream with backpressure.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Duplex, PassThrough, Transform, type TransformCallback } from 'node:stream';
import { createGunzip, gzip } from 'node:zlib';
import { findOnPath } from '../runtime/executables.js';
import { MissingToolError, NeuralLogRedisError } from '../errors.js';
import type { Compression } from './naming.js';

export function requireCompressionTool(compression: Compression): void {
  if (compression === 'zstd' && !findOnPath('zstd')) {
    throw new MissingToolError('zstd', 'Install it with `sudo apt-get install zstd`, or use --compress gzip (the default).');
  }
}

function zstdProcess(args: string[]): Duplex {
  const child = spawn('zstd', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.on('exit', (code, signal) => {
    if (code !== 0 && code !== null) duplex.destroy(new NeuralLogRedisError('E_ZSTD', `zstd failed (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`));
    else if (signal && !duplex.destroyed) duplex.destroy(new NeuralLogRedisError('E_ZSTD', `zstd was killed (${signal})`));
  });
  duplex.on('close', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return duplex;
}

const BLOCK = 1 << 20;

/**
 * gzip on every core: the input is cut into 1 MiB blocks, each compressed as its own gzip member on
 * libuv's thread pool, and the members are written in order. Concatenated members are a valid gzip
 * file (RFC 1952 §2.2): `gunzip`, `zcat` and node:zlib read them as one stream. Memory is bounded by
 * the blocks in flight.
 */
export function createParallelGzip(level = 1, parallel = Math.max(2, availableParallelism())): Transform {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const inFlight: Array<Promise<Buffer>> = [];
  const compressBlock = (block: Buffer) =>
    new Promise<Buffer>((resolve, reject) => gzip(block, { level }, (error, out) => (error ? reject(error) : resolve(out))));
  async function drainTo(stream: Transform, limit: number): Promise<void> {
    while (inFlight.length > limit) stream.push(await inFlight.shift()!);
  }
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < BLOCK) return done();
      const block = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      inFlight.push(compressBlock(block));
      drainTo(this, parallel - 1).then(() => done(), done);
    },
    flush(done: TransformCallback) {
      if (pendingBytes > 0 || inFlight.length === 0) inFlight.push(compressBlock(Buffer.concat(pending, pendingBytes)));
      pending = [];
      drainTo(this, 0).then(() => done(), done);
    },
  });
}

export function createCompressStream(compression: Compression): Duplex {
  switch (compression) {
    case 'gzip':
      return createParallelGzip(1);
    case 'zstd':
      requireCompressionTool('zstd');
      return zstdProcess(['-q', '-1', '-T0', '-c', '-']);
    case 'none':
      return new PassThrough();
  }
}

export function createDecompressStream(compression: Compression): Duplex {
  switch (compression) {
    case 'gzip':
      return createGunzip({ chunkSize: 256 * 1024 });
    case 'zstd':
      requireCompressionTool('zstd');
      return zstdProcess(['-q', '-d', '-c', '-']);
    case 'none':
      return new PassThrough();
  }
}
