/**
 * Reading a program's standard output at full speed, for a consumer that parses as fast as the
 * program writes (`backups verify` reading `zstd -d` or `igzip -d`).
 *
 * Node reads a child's stdout through a socket pair in reads of at most 64 KiB, each allocating a
 * buffer and passing through the stream machinery (a cost per read that adds up over a large RDB:
 * docs/benchmarks.md), and a program that writes in 1 MiB blocks (igzip) stops working while each
 * block trickles through.
 * Here the program writes into a FIFO instead, whose capacity is raised to 1 MiB (Linux
 * F_SETPIPE_SZ, set by a one-line `perl` wrapper: perl-base is part of every Debian system; without
 * it the FIFO keeps its 64 KiB), and the read end is read straight into one reused 1 MiB buffer
 * (`net.Socket`'s `onread`): far fewer reads and no allocation per read.
 *
 * The FIFO is made in a private directory (mode 0700) and unlinked before the program starts; only
 * this process and the program hold it. Where any of this is unavailable (not Linux, no `mkfifo`),
 * `readProgramOutput` returns undefined and the caller reads the program the ordinary way.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NeuralLogRedisError, type ErrorCode } from '../errors.js';
import { findOnPath } from './executables.js';

export interface ProgramOutputOptions {
  program: string;
  args: string[];
  /** error code of the NeuralLogRedisError for a failed program */
  errorCode: ErrorCode;
  /**
   * Called with each piece of output, a view into a buffer that is reused as soon as the callback
   * returns: copy what must be kept. A throw stops the program and fails the read with that error.
   */
  onChunk(chunk: Buffer): void;
}

const BUFFER_BYTES = 1 << 20;
const F_SETPIPE_SZ = 1031;
/** grows the pipe on its stdout (failure is not fatal: the pipe keeps its size), then becomes the program */
const GROW_PIPE = `fcntl(STDOUT, ${F_SETPIPE_SZ}, ${BUFFER_BYTES}); exec { $ARGV[0] } @ARGV; print STDERR "cannot run $ARGV[0]: $!\\n"; exit 127;`;

/**
 * How a program ended, as a promise: resolved when it exited with status 0 (its stdio closed), else
 * rejected with a NeuralLogRedisError naming the program, its exit status or signal and the last line
 * it wrote to stderr (which the child must have as a pipe), or why it could not start.
 */
export function programExit(child: ChildProcess, program: string, errorCode: ErrorCode): Promise<void> {
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise<void>((resolve, reject) => {
    child.on('error', (error) => reject(new NeuralLogRedisError(errorCode, `cannot run ${program}: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      // igzip names its input "(null)" when it reads stdin
      const last =
        stderr
          .trim()
          .split('\n')
          .pop()
          ?.replace(/Error \(null\)/, 'error: the input')
          .replace(/\(null\)/g, 'the input') ?? '';
      reject(new NeuralLogRedisError(errorCode, code !== null ? `${program} failed (exit ${code}): ${last}` : `${program} was killed (${signal})`));
    });
  });
}

/** Both ends of a new FIFO, already unlinked; undefined when one cannot be made here (no writable temp directory, no FIFOs). */
function openFifo(): { readFd: number; writeFd: number } | undefined {
  let dir: string | undefined;
  let readFd: number | undefined;
  try {
    dir = mkdtempSync(join(tmpdir(), 'nlr-fifo-'));
    const fifo = join(dir, 'out');
    if (spawnSync('mkfifo', ['-m', '600', fifo]).status !== 0) return undefined;
    // the read end first (non-blocking, so opening it does not wait for a writer), then the write end
    readFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    return { readFd, writeFd: openSync(fifo, constants.O_WRONLY) };
  } catch {
    if (readFd !== undefined) closeSync(readFd);
    return undefined;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the program and streams its stdout to `onChunk`; resolves once the program has exited with
 * status 0 and all its output was delivered. Undefined when the fast path is unavailable here.
 */
export function readProgramOutput(options: ProgramOutputOptions): Promise<void> | undefined {
  if (process.platform !== 'linux' || process.env.NEURALLOG_REDIS_FIFO === 'off' || !findOnPath('mkfifo')) return undefined;
  const fds = openFifo();
  if (!fds) return undefined;
  const { readFd, writeFd } = fds;
  const perl = findOnPath('perl');
  let child: ChildProcess;
  try {
    child = perl
      ? spawn(perl, ['-e', GROW_PIPE, options.program, ...options.args], { stdio: ['ignore', writeFd, 'pipe'] })
      : spawn(options.program, options.args, { stdio: ['ignore', writeFd, 'pipe'] });
  } catch (error) {
    closeSync(readFd);
    throw error;
  } finally {
    closeSync(writeFd);
  }

  return new Promise<void>((resolve, reject) => {
    let outputEnded: () => void;
    const ended = new Promise<void>((r) => (outputEnded = r));
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      socket.destroy();
      reject(error);
    };
    Promise.all([ended, programExit(child, options.program, options.errorCode)]).then(() => {
      if (!failed) resolve();
    }, fail);
    // `onread` is accepted by the constructor as by socket.connect() (Node >= 18.x); @types/node 20
    // lists it only for connect()
    const socket = new Socket({
      fd: readFd,
      readable: true,
      writable: false,
      onread: {
        buffer: Buffer.allocUnsafeSlow(BUFFER_BYTES),
        callback: (bytes: number, buffer: Uint8Array) => {
          if (failed) return false;
          try {
            options.onChunk(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
          } catch (error) {
            fail(error as Error);
            return false;
          }
          return true;
        },
      },
    } as ConstructorParameters<typeof Socket>[0]);
    socket.on('end', () => outputEnded());
    socket.on('error', (error) => fail(new NeuralLogRedisError(options.errorCode, `cannot read ${options.program}'s output: ${error.message}`)));
  });
}
