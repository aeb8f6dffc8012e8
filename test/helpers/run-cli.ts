/**
 * Runs the CLI from source (through tsx) as a child process: `runCli` without blocking the test's
 * event loop (servers the test runs in-process keep answering), `runCliSync` blocking, for tests
 * whose servers live in other processes. Every test file runs the CLI through these two.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** tsx resolved here, so that a run from another working directory still finds it */
const TSX = import.meta.resolve('tsx');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** added to this process's environment */
  env?: NodeJS.ProcessEnv;
  /** working directory (default: runCli the repository, runCliSync this process's) */
  cwd?: string;
  /** killed after this long (runCliSync: code null) */
  timeoutMs?: number;
}

export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ? { ...process.env, ...options.env } : process.env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  try {
    const [code] = (await once(child, 'close')) as [number];
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

export interface CliSyncRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr */
  out: string;
  /** wall time of the run */
  seconds: number;
}

export function runCliSync(args: readonly string[], options: CliOptions = {}): CliSyncRun {
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: options.cwd,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, ...options.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, out: `${r.stdout}${r.stderr}`, seconds: (Date.now() - started) / 1000 };
}
