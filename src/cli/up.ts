import {
  downDeployment,
  requestedTopology,
  requireDirArgument,
  runningMonitor,
  startMonitorProcess,
  tailLog,
  upDeployment,
  upTopology,
  type UpResult,
} from '../runtime/index.js';
import { deploymentPaths } from '../connect/index.js';
import { cliProgram } from '../config/engines.js';
import { describeEngine } from '../engine/identity.js';
import { UsageError } from '../errors.js';
import type { UpFlags } from './deployment-flags.js';
import { printJson, printResult, say } from './output.js';
import { describeTopologyUp } from './topology-output.js';

export function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new UsageError(`--port takes a number from 1 to 65535, not "${text}"`);
  return Number(text);
}

function describe(result: UpResult): string {
  const what = result.engine && result.engineVersion ? describeEngine({ engine: result.engine, version: result.engineVersion }) : 'Redis';
  const lines = [
    result.alreadyRunning
      ? `${what} is already running for ${result.dir} (pid ${result.pid}) on ${result.host}:${result.port}.`
      : `${what} is ready on ${result.host}:${result.port} (pid ${result.pid}, profile ${result.profile}, listening on ${result.bind.join(' ')}).`,
    ...(result.serverPath ? [`  server:    ${result.serverPath}`] : []),
    ...(result.users.includes('app')
      ? [
          `  users:     ${result.users.join(', ')} (NeuralLog's server connects as "app")`,
          `  passwords: in ${result.secretsFile} (mode 0600)`,
          `  connect:   neurallog-redis url --dir ${result.dir} --user app [--show-password]`,
          `             REDISCLI_AUTH=... ${cliProgram(result.engine ?? 'redis')} -h ${result.host} -p ${result.port} --user app`,
        ]
      : [
          `  users:     ${result.users.join(', ')} (the model has no "app" user)`,
          `  connect:   ${cliProgram(result.engine ?? 'redis')} -h ${result.host} -p ${result.port}`,
        ]),
  ];
  return lines.join('\n');
}

type MonitorOutcome = { url: string; pid: number; note?: string } | { error: string };

function describeMonitor(monitor: MonitorOutcome, topology = false): string {
  if ('error' in monitor) return `  monitor:   not started: ${monitor.error}`;
  return `  monitor:   ${monitor.url}/ (dashboard), ${monitor.url}/metrics (Prometheus${topology ? `; every node: ${monitor.url}/targets` : ''}; pid ${monitor.pid})${monitor.note ? `\n             ${monitor.note}` : ''}`;
}

/**
 * The monitor next to the server (unless --no-monitor): the one already running for this directory,
 * or a new detached `monitor --dir` process that exits with the server. A monitor that cannot start
 * leaves the server serving; the outcome says why.
 */
async function ensureMonitor(flags: UpFlags, serverPid: number | number[]): Promise<MonitorOutcome> {
  const paths = deploymentPaths(flags.dir);
  const running = runningMonitor(paths);
  if (running && (flags.monitorListen === undefined || running.url.endsWith(`//${flags.monitorListen}`))) return { url: running.url, pid: running.pid };
  const entry = process.argv[1];
  if (entry === undefined) return { error: 'cannot tell how this CLI was started' };
  try {
    const started = await startMonitorProcess(paths, {
      cli: [process.execPath, ...process.execArgv, entry],
      listen: flags.monitorListen,
      serverPid,
    });
    return { url: started.url, pid: started.pid, ...(started.note ? { note: started.note } : {}) };
  } catch (error) {
    return { error: `${(error as Error).message}; start it by hand: neurallog-redis monitor --dir ${flags.dir}` };
  }
}

/**
 * Exit codes: 0 the server serves (started now, or already running); 1 it failed to start; 2 `up`
 * could not run: bad flags or model, or another `up` is starting this directory (the loser did not
 * see the server ready, so a script that goes on to use it must not get 0; running `up` again once
 * the other is done answers 0 "already running").
 */
export async function upCommand(flags: UpFlags): Promise<number> {
  const port = parsePort(flags.port);
  requireDirArgument(flags.dir);
  const asked = flags.topology === 'standalone' ? 'single' : flags.topology;
  if (requestedTopology(deploymentPaths(flags.dir), { topology: asked, config: flags.config }) !== 'single') return upTopologyCommand(flags, port);
  if (!flags.json) say(`Starting ${flags.server ?? 'the server'} for ${deploymentPaths(flags.dir).root} ...`);
  const result = await upDeployment({
    dir: flags.dir,
    port,
    bind: flags.bind,
    config: flags.config,
    allowInsecure: flags.allowInsecure,
    server: flags.server,
    ...(flags.topology ? { topology: 'single' as const } : {}),
    onLoading: () => say('The server is loading its data; waiting until it serves ...'),
  });
  if (result.staleState) say(`Note: ${result.staleState}.`);
  if (result.targetNote) say(`Note: ${result.targetNote}.`);
  const monitor = flags.monitor === false ? undefined : await ensureMonitor(flags, result.pid);
  if (flags.json) {
    const { server: _server, ...rest } = result;
    printJson({ ...rest, detached: Boolean(flags.detach || result.alreadyRunning), ...(monitor ? { monitor } : {}) });
  } else {
    printResult(describe(result) + (monitor ? `\n${describeMonitor(monitor)}` : ''));
  }
  if (flags.detach || result.alreadyRunning || !result.server) {
    if (!flags.json && !result.alreadyRunning) say(`Detached. Stop it with: neurallog-redis down --dir ${flags.dir}`);
    return 0;
  }
  const server = result.server;
  server.child.ref();
  say('Running in the foreground: press Ctrl-C to stop (data is persisted first), or start with --detach.');
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      say(`\n${signal}: persisting data and stopping the server ...`);
      downDeployment(flags.dir).then(
        () => {
          say('Stopped.');
          resolve(0);
        },
        (error: Error) => {
          say(`neurallog-redis: ${error.message}`);
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    void server.exited.then((code) => {
      if (stopping) return;
      if (code === 0) {
        say('The server stopped (a shutdown was requested elsewhere).');
        resolve(0);
      } else {
        say(`The server exited unexpectedly (${code}). Its last log lines:\n${tailLog(deploymentPaths(flags.dir).log)}`);
        resolve(1);
      }
    });
  });
}

/** A Sentinel or Cluster topology: always detached (many processes); `down` stops them. */
async function upTopologyCommand(flags: UpFlags, port: number | undefined): Promise<number> {
  const asked = flags.topology === 'standalone' ? 'single' : flags.topology;
  if (!flags.json) say(`Starting the topology for ${deploymentPaths(flags.dir).root} ...`);
  const result = await upTopology({
    dir: flags.dir,
    port,
    bind: flags.bind,
    config: flags.config,
    allowInsecure: flags.allowInsecure,
    server: flags.server,
    ...(asked ? { topology: asked } : {}),
    onProgress: flags.json ? undefined : (line) => say(`  ${line}`),
  });
  // one monitor for every node (it follows the master), alive while any process of the topology runs
  const pids = [...result.nodes, ...result.sentinels].map((p) => p.pid).filter((pid) => pid > 0);
  const monitor = flags.monitor === false ? undefined : await ensureMonitor(flags, pids);
  if (flags.json) printJson({ ...result, detached: true, ...(monitor ? { monitor } : {}) });
  else {
    printResult(describeTopologyUp(result) + (monitor ? `\n${describeMonitor(monitor, true)}` : ''));
    if (!flags.detach && !result.alreadyRunning) say('A topology runs detached (its processes outlive this command).');
  }
  return 0;
}
