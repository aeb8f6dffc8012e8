/**
 * Running the Sentinel and Cluster renders' pieces on loopback: the rendered ConfigMap and Secret laid
 * out as files, each role's rendered start script run by sh with its paths and addresses pointing at
 * this machine, and the rendered server command started with the engine's own binary. Every process
 * started here joins a group the caller stops with `stopAll` (in finally), and is killed at exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Deployment } from '../../src/config/schema.js';
import { kubernetesObjects, type Manifest } from '../../src/render/index.js';
import type { TestEngine } from './engines.js';

export interface Proc {
  pid: number;
  child: ChildProcess;
  exited: Promise<void>;
  log: string;
}

/** every process started here, for the exit handler; each trial keeps its own group to stop */
const running = new Set<Proc>();

export function startProcess(program: string, args: string[], cwd: string, log: string, group: Set<Proc>): Proc {
  const fd = openSync(log, 'a', 0o600);
  const child = spawn(program, args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const proc: Proc = { pid: child.pid!, child, log, exited: new Promise((resolve) => child.once('exit', () => resolve())) };
  running.add(proc);
  group.add(proc);
  void proc.exited.then(() => {
    running.delete(proc);
    group.delete(proc);
  });
  return proc;
}

export async function kill(proc: Proc): Promise<void> {
  try {
    process.kill(proc.pid, 'SIGKILL');
  } catch {
    // gone already
  }
  await proc.exited;
}

/** SIGTERM (Redis shuts down saving) and wait for the exit */
export async function stop(proc: Proc): Promise<void> {
  try {
    process.kill(proc.pid, 'SIGTERM');
  } catch {
    // gone already
  }
  await proc.exited;
}

export async function stopAll(group: Set<Proc>): Promise<void> {
  await Promise.all([...group].map(kill));
}
process.once('exit', () => {
  for (const p of running)
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
});

/** The rendered ConfigMap's files and the Secret's keys, decoded. */
export function renderedFiles(d: Deployment, secrets: Record<string, string>): { config: Record<string, string>; secret: Record<string, string> } {
  const objects = kubernetesObjects(d, secrets).map((o) => o.manifest);
  const find = (kind: string) => objects.find((o) => o.kind === kind) as Manifest & { data: Record<string, string> };
  const secret = Object.fromEntries(Object.entries(find('Secret').data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  return { config: { ...find('ConfigMap').data }, secret };
}

export function writeFiles(dir: string, files: Record<string, string>, mode = 0o600): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content, { mode });
}

/** PATH with the engine's CLI first (valkey-cli for Valkey: the scripts call the image's CLI by name). */
export function scriptEnv(engine: TestEngine, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const cliDir = dirname(engine.cli);
  return { PATH: `${cliDir}:${process.env.PATH ?? ''}`, ...extra };
}

/** Runs a rendered start script with sh; returns its output, throws with it on failure. */
export async function runScript(script: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`script exited ${code}:\n${out}`));
    });
  });
}

/** One CLI call as `user` (password through REDISCLI_AUTH), raw output without the trailing newline; async, so trials run side by side. */
export async function cli(engine: TestEngine, port: number, user: string, password: string, ...args: string[]): Promise<string> {
  return await new Promise((resolve) => {
    const child = spawn(engine.cli, ['--user', user, '-h', '127.0.0.1', '-p', String(port), ...args], {
      env: { ...process.env, REDISCLI_AUTH: password },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out.replace(/\n$/, ''));
    });
  });
}

/** Polls `check` every 100 ms until it returns true; throws `what` (and the logs) at the deadline. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000, logs: string[] = []): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) {
      const tails = logs.filter(existsSync).map((l) => `--- ${l}\n${readFileSync(l, 'utf8').split('\n').slice(-15).join('\n')}`);
      throw new Error(`${what} (after ${timeoutMs} ms)\n${tails.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
