/**
 * Compression layers, each a Duplex stream with backpressure:
 *   - gzip (default): the standard gzip format at a fast level. Written and read by Debian's `igzip`
 *     (package `isal`, Intel's ISA-L) when it is installed: 6x faster than zlib at compressing this
 *     data and 4x faster at decompressing it (docs/benchmarks.md); otherwise by node:zlib, compressing
 *     1 MiB blocks in parallel on libuv's thread pool. Both read what either wrote.
 *   - zstd through Debian's `zstd` program (`--compress zstd`);
 *   - none.
 * `NEURALLOG_REDIS_GZIP=zlib` forces node:zlib (tests use it to keep both paths honest).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Duplex, PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { createRequire } from 'node:module';
import { findOnPath } from '../host/executables.js';
import { programExit } from '../host/program-output.js';
import { MissingToolError, type ErrorCode } from '../errors.js';
import type { Compression } from './naming.js';

export function requireCompressionTool(compression: Compression): void {
  if (compression === 'zstd' && !findOnPath('zstd')) {
    throw new MissingToolError('zstd', 'Install it with `sudo apt-get install zstd`, or use --compress gzip (the default).');
  }
}

/** which program does gzip here: `igzip` when installed (and not overridden), else node:zlib */
export function gzipEngine(): 'igzip' | 'zlib' {
  if (process.env.NEURALLOG_REDIS_GZIP === 'zlib') return 'zlib';
  return findOnPath('igzip') ? 'igzip' : 'zlib';
}

/** An external filter program (stdin -> stdout) as a Duplex; a non-zero exit fails the stream with its last stderr line. */
function filterProcess(program: string, args: string[], code: ErrorCode): Duplex {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const output = supervisedOutput(child, program, code);
  const duplex = Duplex.from({ writable: child.stdin, readable: output });
  output.on('error', (error) => duplex.destroy(error));
  duplex.on('close', () => output.destroy());
  return duplex;
}

/**
 * A program's stdout as a stream that ends only once the program has also exited with status 0: a
 * non-zero exit, a signal or a failure to start fails it with the program's last stderr line (a
 * program may write its last bytes and only then find its input damaged). Destroying the stream
 * kills the program.
 */
function supervisedOutput(child: ChildProcess, program: string, code: ErrorCode): Readable {
  const out = new PassThrough({ highWaterMark: 256 << 10 });
  child.stdout!.pipe(out, { end: false });
  // 'close' comes after the child's stdout has ended, so every byte is in `out` by then
  programExit(child, program, code).then(
    () => out.destroyed || out.end(),
    (error: Error) => out.destroy(error),
  );
  out.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return out;
}

const BLOCK = 1 << 20;
// node:zlib (~11 ms of a start) only where igzip does not do gzip here
const zlib = (): typeof import('node:zlib') => createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib');

/**
 * gzip on every core through node:zlib: the input is cut into 1 MiB blocks, each compressed as its
 * own gzip member on libuv's thread pool, and the members are written in order. Concatenated members
 * are a valid gzip file (RFC 1952 §2.2): `gunzip`, `igzip`, `zcat` and node:zlib read them as one
 * stream. Memory is bounded by the blocks in flight.
 */
export function createParallelGzip(level = 1, parallel = Math.max(2, availableParallelism())): Transform {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const inFlight: Array<Promise<Buffer>> = [];
  const compressBlock = (block: Buffer) =>
    new Promise<Buffer>((resolve, reject) => zlib().gzip(block, { level }, (error, out) => (error ? reject(error) : resolve(out))));
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
      return gzipEngine() === 'igzip' ? filterProcess('igzip', ['-1', '-c', '-'], 'E_GZIP') : createParallelGzip(1);
    case 'zstd':
      requireCompressionTool('zstd');
      return filterProcess('zstd', ['-q', '-1', '-T0', '-c', '-'], 'E_ZSTD');
    case 'none':
      return new PassThrough();
  }
}

export function createDecompressStream(compression: Compression): Duplex {
  switch (compression) {
    case 'gzip':
      return gzipEngine() === 'igzip' ? filterProcess('igzip', ['-d', '-c', '-'], 'E_GZIP') : zlib().createGunzip({ chunkSize: 256 * 1024 });
    case 'zstd':
      requireCompressionTool('zstd');
      return filterProcess('zstd', ['-q', '-d', '-c', '-'], 'E_ZSTD');
    case 'none':
      return new PassThrough();
  }
}

/**
 * The command that decompresses a stored file by name to its stdout (igzip or zstd), or undefined
 * when gzip is done by node:zlib here (or the file is not compressed).
 */
export function decompressFileCommand(compression: Compression, file: string): { program: string; args: string[]; errorCode: ErrorCode } | undefined {
  // an absolute path: a name that starts with '-' is not taken for an option
  if (compression === 'gzip' && gzipEngine() === 'igzip') return { program: 'igzip', args: ['-d', '-c', resolve(file)], errorCode: 'E_GZIP' };
  if (compression === 'zstd') {
    requireCompressionTool('zstd');
    return { program: 'zstd', args: ['-q', '-d', '-c', resolve(file)], errorCode: 'E_ZSTD' };
  }
  return undefined;
}

/** The plain bytes of a compressed file as a stream, from decompressFileCommand's program. */
export function decompressFileProcess(compression: Compression, file: string): Readable | undefined {
  const command = decompressFileCommand(compression, file);
  if (!command) return undefined;
  const child = spawn(command.program, command.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return supervisedOutput(child, command.program, command.errorCode);
}
