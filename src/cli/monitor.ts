import { UsageError } from '../errors.js';
import { existsSync } from 'node:fs';
import { isAlive, sleep } from '../host/processes.js';
import { readDeploymentModel, requireDeploymentDir } from '../connect/deployment-dir.js';
import { generatePassword, writePrivateFile } from '../connect/secrets.js';
import { endpointForDeployment, readPasswordFile } from '../connect/target.js';
import { resolveTarget } from '../discover/index.js';
import { parseDurationSeconds } from '../config/units.js';
import type { Endpoint } from '../connect/url.js';
import { deploymentTokenPath, parseListen, startMonitor, untilSignal } from '../monitor/run.js';
import { deploymentSource, flagSource, type TopologySource } from '../monitor/topology-source.js';
import { isLoopback } from '../monitor/http-server.js';
import type { MonitorCliFlags } from './monitor-flags.js';
import { printJson, say } from './output.js';

export type MonitorFlags = MonitorCliFlags & { version: string };

/**
 * Serves redis_exporter-compatible metrics (and /health) until SIGINT/SIGTERM. Exit 0 on a signal,
 * 2 when it cannot start (bad flags, port in use, no token for a non-loopback bind).
 */
export async function monitorCommand(flags: MonitorFlags): Promise<number> {
  const listen = parseListen(flags.listen);
  const timeoutSeconds = parseDurationSeconds(flags.scrapeTimeout);
  if (timeoutSeconds === undefined || timeoutSeconds < 1 || timeoutSeconds > 300) {
    throw new UsageError(`--scrape-timeout takes 1s to 300s, not "${flags.scrapeTimeout}"`);
  }
  const pollSeconds = parseDurationSeconds(flags.poll);
  if (pollSeconds === undefined || pollSeconds < 1 || pollSeconds > 600) throw new UsageError(`--poll takes 1s to 600s, not "${flags.poll}"`);
  const { endpoint, topology, databases, root } = await target(flags);
  const token = await loginToken(flags, root, listen.host);
  const monitor = await startMonitor({
    ...(endpoint ? { endpoint } : {}),
    ...(topology ? { topology } : {}),
    listen,
    token,
    databases,
    scrapeTimeoutMs: timeoutSeconds * 1000,
    version: flags.version,
    pollSeconds,
    backupsDir: flags.backups,
  });
  const { url } = monitor;
  const what = topology
    ? `the ${topology.kind} topology (${topology.nodes.length + topology.sentinels.length} known nodes; every node at ${url}/scrape?target=host:port, the list at ${url}/targets)`
    : `${endpoint!.host}:${endpoint!.port} as ${endpoint!.username ?? 'default'}`;
  if (flags.json)
    printJson({
      listening: url,
      dashboard: `${url}/`,
      metrics: `${url}/metrics`,
      ...(topology ? { targets: `${url}/targets` } : {}),
      login: token !== undefined,
    });
  else say(`Monitoring ${what}: dashboard at ${url}/, metrics at ${url}/metrics${token !== undefined ? ' (login required)' : ''}. Stop with Ctrl-C.`);
  if (topology) await monitor.watch.refresh();
  const first = await monitor.server.scrape();
  if (first.error !== undefined) say(`Note: the first scrape failed (${first.error}); redis_up is 0 until the server answers.`);
  await (flags.exitWith === undefined ? untilSignal() : Promise.race([untilSignal(), serverGone(flags.exitWith)]));
  await monitor.stop();
  return 0;
}

/** Resolves once none of the processes `pids` (the server, or every node of a topology, `up` started) runs. */
async function serverGone(pidText: string): Promise<void> {
  const pids = pidText.split(',').map(Number);
  if (pids.some((pid) => !Number.isSafeInteger(pid) || pid <= 0)) throw new UsageError(`--exit-with takes process ids (PID[,PID...]), not "${pidText}"`);
  while (pids.some((pid) => isAlive(pid))) await sleep(1000);
}

interface MonitorTarget {
  endpoint?: Endpoint;
  topology?: TopologySource;
  databases?: number;
  root?: string;
}

async function target(flags: MonitorFlags): Promise<MonitorTarget> {
  if (flags.url && (flags.sentinel || flags.cluster)) throw new UsageError('give either --url or --sentinel/--cluster, not both');
  if (flags.url) return { endpoint: await resolveTarget({ url: flags.url, dir: flags.dir, passwordFile: flags.passwordFile }, 'monitor') };
  // every node: the Sentinels' master and replicas and the Sentinels, or the cluster's nodes
  const fromFlags = flagSource(flags);
  if (fromFlags) return { topology: fromFlags };
  if (!flags.dir)
    throw new UsageError('say what to monitor: --url redis://monitor@host:port, --sentinel ... --master-name, --cluster, or --dir <deployment made by `up`>');
  const paths = requireDeploymentDir(flags.dir);
  const model = readDeploymentModel(paths);
  const topology = deploymentSource(flags.dir);
  if (topology) return { topology, databases: model.server.databases, root: paths.root };
  // a monitor that starts before its server (or outlives a restart) scrapes redis_up 0 until it answers
  const endpoint = await endpointForDeployment(flags.dir, 'monitor', { requireRunning: false });
  return { endpoint, databases: model.server.databases, root: paths.root };
}

async function loginToken(flags: MonitorFlags, root: string | undefined, host: string): Promise<string | undefined> {
  if (flags.tokenFile) return readPasswordFile(flags.tokenFile);
  if (isLoopback(host) || root === undefined) return undefined;
  const path = deploymentTokenPath(root);
  if (!existsSync(path)) {
    writePrivateFile(path, `${generatePassword()}\n`);
    say(`Made a login token for the monitor in ${path} (mode 0600).`);
  }
  return readPasswordFile(path);
}
