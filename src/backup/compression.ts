/**
 * Compression layers: gzip through node:zlib at a fast level (default), zstd through Debian's `zstd`
 * program when installed, or none. Each is a Duplex stream with backpressure.
 */
import { spawn } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
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

export function createCompressStream(compression: Compression): Duplex {
  switch (compression) {
    case 'gzip':
      return createGzip({ level: 1, chunkSize: 256 * 1024 });
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
