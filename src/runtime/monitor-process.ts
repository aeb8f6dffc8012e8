/**
 * The monitor `up` starts next to the server (issue 14: "started by `up` by default"): a detached
 * `neurallog-redis monitor --dir DIR` process, its output in monitor.log, its pid and address in
 * monitor.json. It lives as long as the server it watches (`--exit-with PID`; for a Sentinel or Cluster
 * topology, as long as any of its processes: `--exit-with PID,PID,...`), `down` stops it, and a
 * pid in monitor.json counts as ours only while that process is a monitor of this directory.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { DeploymentPaths } from '../connect/index.js';
import { commandLine, isAlive, sleep, waitFor } from '../host/index.js';
import { freePort, portInUse } from './ports.js';

export const DEFAULT_MONITOR_LISTEN = '127.0.0.1:9121';

export interface MonitorProcess {
  pid: number;
  /** http://host:port */
  url: string;
  startedAt: string;
  /** the server pid it exits with (a topology: every node's pid; it exits when none runs) */
  watching: number | number[];
}

export interface StartMonitorOptions {
  /** how to run this CLI: the node executable, its flags and the entry script */
  cli: readonly string[];
  /** host:port; default 127.0.0.1:9121, or a free port when that one is taken */
  listen?: string;
  /** the server's pid, or every process of a topology (it exits when none of them runs) */
  serverPid: number | readonly number[];
  timeoutMs?: number;
}

export interface StartedMonitor extends MonitorProcess {
  /** set when the default port was taken and another was chosen */
  note?: string;
}

const statePath = (paths: DeploymentPaths) => join(paths.root, 'monitor.json');
export const monitorLogPath = (paths: DeploymentPaths) => join(paths.root, 'monitor.log');

/** The monitor of this directory that runs now, if any (a stale monitor.json is ignored). */
export function runningMonitor(paths: DeploymentPaths): MonitorProcess | undefined {
  let state: MonitorProcess;
  try {
    state = JSON.parse(readFileSync(statePath(paths), 'utf8')) as MonitorProcess;
  } catch {
    return undefined;
  }
  return typeof state.pid === 'number' && isOurMonitor(state.pid, paths) ? state : undefined;
}

function isOurMonitor(pid: number, paths: DeploymentPaths): boolean {
  if (!isAlive(pid)) return false;
  const argv = commandLine(pid);
  const dirAt = argv.indexOf('--dir');
  return argv.includes('monitor') && dirAt >= 0 && argv[dirAt + 1] === paths.root;
}

async function chooseListen(listen: string | undefined): Promise<{ host: string; port: number; note?: string }> {
  const text = listen ?? DEFAULT_MONITOR_LISTEN;
  const at = text.lastIndexOf(':');
  const host = text.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(text.slice(at + 1));
  if (listen !== undefined || !(await portInUse(port, host))) return { host, port };
  const free = await freePort(host);
  return { host, port: free, note: `port ${port} (redis_exporter's) is taken, so the monitor listens on ${free}` };
}

function healthy(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode !== undefined && res.statusCode < 500);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function lastLines(path: string, count: number): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-count).join(' | ');
  } catch {
    return '';
  }
}

/**
 * Starts the monitor for a running server and waits until it answers /health. On the default port,
 * a monitor that loses the port to another program between the check and its bind (two `up` at once)
 * is started again on a free port.
 */
export async function startMonitorProcess(paths: DeploymentPaths, options: StartMonitorOptions): Promise<StartedMonitor> {
  await stopMonitorProcess(paths);
  const chosen = await chooseListen(options.listen);
  const host = chosen.host;
  let { port, note } = chosen;
  for (let attempt = 1; ; attempt++) {
    try {
      const state = await spawnMonitor(paths, options, host, port);
      return { ...state, ...(note ? { note } : {}) };
    } catch (error) {
      if (options.listen !== undefined || attempt > 1 || !(await portInUse(port, host))) throw error;
      const taken = port;
      port = await freePort(host);
      note = `port ${taken} (redis_exporter's) is taken, so the monitor listens on ${port}`;
    }
  }
}

async function spawnMonitor(paths: DeploymentPaths, options: StartMonitorOptions, host: string, port: number): Promise<MonitorProcess> {
  const hostText = host.includes(':') ? `[${host}]` : host;
  const [node, ...rest] = options.cli;
  if (node === undefined) throw new Error('startMonitorProcess: no CLI command');
  const log = openSync(monitorLogPath(paths), 'a', 0o600);
  const args = [...rest, 'monitor', '--dir', paths.root, '--listen', `${hostText}:${port}`, '--exit-with', [options.serverPid].flat().join(',')];
  const child = spawn(node, args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.unref();
  const url = `http://${hostText}:${port}`;
  const ready = await waitFor(async () => exited !== undefined || (await healthy(url, 1000)), options.timeoutMs ?? 15_000, 100);
  if (exited !== undefined || !ready) {
    if (exited === undefined && child.pid !== undefined && isAlive(child.pid)) process.kill(child.pid, 'SIGTERM');
    const why = lastLines(monitorLogPath(paths), 2);
    throw new Error(`the monitor did not start${exited !== undefined ? ` (exit ${exited})` : ' within its deadline'}${why ? `: ${why}` : ''}`);
  }
  const state: MonitorProcess = {
    pid: child.pid ?? 0,
    url,
    startedAt: new Date().toISOString(),
    watching: typeof options.serverPid === 'number' ? options.serverPid : [...options.serverPid],
  };
  writeFileSync(statePath(paths), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  return state;
}

/** Stops this directory's monitor (SIGTERM, then SIGKILL after 5 s); false when none ran. */
export async function stopMonitorProcess(paths: DeploymentPaths): Promise<boolean> {
  const monitor = runningMonitor(paths);
  rmSync(statePath(paths), { force: true });
  if (!monitor) return false;
  process.kill(monitor.pid, 'SIGTERM');
  if (!(await waitFor(() => !isAlive(monitor.pid), 5000))) {
    process.kill(monitor.pid, 'SIGKILL');
    await sleep(50);
  }
  return true;
}
