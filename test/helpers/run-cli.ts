/**
 * Runs the CLI as a child process: `runCli` without blocking the test's event loop (servers the test
 * runs in-process keep answering), `runCliSync` blocking, for tests whose servers live in other
 * processes; `cliCommand` for tests that spawn it themselves.
 *
 * Which CLI: the built one (bin/neurallog-redis -> dist/bundle, what users run) when dist/bundle is
 * no older than anything under src/ and the other build inputs (BUILD_INPUTS), as after `npm test`'s
 * build; else the sources through tsx, so a test run after an edit never tests stale code. tsx costs
 * 0.3-0.8 s a run (its loader, module by module: `doctor` 1.19 s against 0.42 s).
 * NEURALLOG_TEST_CLI=source forces the sources; `cliScriptEnv` passes the choice on to
 * test/helpers/cli.sh, which scripts under test run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const BIN = join(REPO_ROOT, 'bin', 'neurallog-redis');
const BUNDLE = join(REPO_ROOT, 'dist', 'bundle', 'main.js');
/** tsx resolved here, so that a run from another working directory still finds it */
const TSX = import.meta.resolve('tsx');

/** the newest modification time under `dir` (ms): of its files and folders (a deleted file changes its folder's) */
function newestUnder(dir: string): number {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** what the bundle is built from besides src/: a change to any of them makes it stale too */
const BUILD_INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/bundle-cli.mjs'];

/** true when dist/bundle is at least as new as src/ and the other build inputs */
function bundleIsFresh(): boolean {
  if (!existsSync(BUNDLE)) return false;
  const inputs = BUILD_INPUTS.map((name) => join(REPO_ROOT, name)).filter((path) => existsSync(path));
  const newest = Math.max(newestUnder(join(REPO_ROOT, 'src')), ...inputs.map((path) => statSync(path).mtimeMs));
  return statSync(BUNDLE).mtimeMs >= newest;
}

let chosen: { command: string; args: string[] } | undefined;

/** The CLI to spawn: `command` with `args` before the CLI's own arguments. */
export function cliCommand(): { command: string; args: string[] } {
  if (chosen) return chosen;
  const built = process.env.NEURALLOG_TEST_CLI !== 'source' && bundleIsFresh();
  if (!built && process.env.NEURALLOG_TEST_CLI !== 'source')
    process.stderr.write('the CLI runs from src/ through tsx: dist/bundle is missing or older than src/ (`npm run build` makes tests run it)\n');
  chosen = built ? { command: BIN, args: [] } : { command: process.execPath, args: ['--import', TSX, SOURCE] };
  return chosen;
}

/** `spawn(...cliArgv(args), options)`: the CLI to spawn and its whole argument list */
export function cliArgv(...args: string[]): [string, string[]] {
  const cli = cliCommand();
  return [cli.command, [...cli.args, ...args]];
}

/** The environment for test/helpers/cli.sh (scripts under test call it as their CLI): this choice. */
export function cliScriptEnv(): NodeJS.ProcessEnv {
  return { NEURALLOG_REDIS_CLI: join(REPO_ROOT, 'test', 'helpers', 'cli.sh'), NEURALLOG_TEST_CLI: cliCommand().command === BIN ? 'built' : 'source' };
}

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
  const child = spawn(...cliArgv(...args), {
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
  const r = spawnSync(...cliArgv(...args), {
    cwd: options.cwd,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, ...options.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, out: `${r.stdout}${r.stderr}`, seconds: (Date.now() - started) / 1000 };
}
