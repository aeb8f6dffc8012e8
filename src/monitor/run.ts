/**
 * Running the monitor: where to scrape (a URL, or a deployment made by `up` as its `monitor` user),
 * where to listen, the login token when listening beyond loopback, until a signal stops it.
 */
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { Endpoint } from '../connect/url.js';
import { Dashboard, pollEvery, type BackupSummary } from './dashboard.js';
import { processRegistry } from './exposition.js';
import { FamilySampler, addFamilyMetrics, type SamplerOptions } from './family-sampler.js';
import type { MetricSet } from './metric-set.js';
import { MonitorServer, isLoopback } from './http-server.js';
import { RedisScraper } from './scrape.js';
import { topologyRoutes } from './topology-routes.js';
import { singleSource, type TopologySource } from './topology-source.js';
import { TopologyWatch } from './topology-watch.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** "127.0.0.1:9121", ":9121" (loopback), "[::1]:9121", "0.0.0.0:9121" */
export function parseListen(text: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--listen takes HOST:PORT, e.g. 127.0.0.1:9121, not "${text}"`);
  }
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

export interface MonitorSetup {
  /** one server; or, with `topology`, its master of the moment (the Sentinels' say, else INFO's) */
  endpoint?: Endpoint;
  /** every node and Sentinel of a topology: /scrape?target=, /targets and the dashboard's node table */
  topology?: TopologySource;
  listen: ListenAddress;
  /** the login token; required beyond loopback */
  token?: string;
  databases?: number;
  ioThreads?: number;
  scrapeTimeoutMs: number;
  version: string;
  /** how often the monitor scrapes by itself for the dashboard's charts (seconds) */
  pollSeconds: number;
  /** a backup directory whose newest backup the dashboard shows */
  backupsDir?: string;
  /** seconds between the key-family sampler's passes (0: no sampler) */
  samplerSeconds?: number;
  /** the sampler's limits per pass (its defaults are gentle: a first walk of a few thousand keys takes tens of passes) */
  sampler?: SamplerOptions;
}

export interface RunningMonitor {
  server: MonitorServer;
  dashboard: Dashboard;
  watch: TopologyWatch;
  url: string;
  stop(): Promise<void>;
}

export async function startMonitor(setup: MonitorSetup): Promise<RunningMonitor> {
  if (!isLoopback(setup.listen.host) && setup.token === undefined) {
    throw new UsageError(
      `listening on ${setup.listen.host} would let anyone on the network read the server's state: give a login token (--token-file, or --dir, whose monitor.token is made for you) or listen on 127.0.0.1`,
    );
  }
  const sampler = new FamilySampler(setup.sampler);
  const backups = setup.backupsDir === undefined ? undefined : await backupSummary(setup.backupsDir);
  const extra = (set: MetricSet, nowMs: number): void => {
    addFamilyMetrics(set, sampler.figures(), nowMs);
    const summary = backups?.();
    if (summary) addBackupMetrics(set, summary);
  };
  const scraping = { timeoutMs: setup.scrapeTimeoutMs, databases: setup.databases, ioThreads: setup.ioThreads, version: setup.version };
  const source = setup.topology ?? (setup.endpoint ? singleSource(setup.endpoint) : undefined);
  if (!source) throw new UsageError('say what to monitor: a server or a topology');
  const watch = new TopologyWatch(source, scraping);
  const topology = source.kind !== 'single';
  const scraper = new RedisScraper(setup.endpoint ?? (() => watch.masterEndpoint()), { ...scraping, extra });
  const nodes = topology ? () => watch.rows() : undefined;
  const dashboard = new Dashboard(
    () => scraper.target(),
    setup.pollSeconds,
    backups,
    () => sampler.figures(),
    nodes,
  );
  const server = new MonitorServer({
    host: setup.listen.host,
    port: setup.listen.port,
    token: setup.token,
    scraper,
    processMetrics: processRegistry(),
    routes: { ...dashboard.routes(), ...topologyRoutes(watch, setup.pollSeconds) },
    onScrape: (r) => dashboard.record(r),
  });
  const address = await server.listen().catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(
      `cannot listen on ${setup.listen.host}:${setup.listen.port}: ${error.code === 'EADDRINUSE' ? 'the port is in use (another monitor or redis_exporter?)' : (error.code ?? error.message)}`,
    );
  });
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const polling = new AbortController();
  // a topology's poll also scrapes every node (the node table, the roles /targets and /metrics follow)
  const poll = topology ? () => Promise.all([watch.refresh(), server.scrape()]) : () => server.scrape();
  const poller = pollEvery(setup.pollSeconds, poll, polling.signal);
  const samplerSeconds = setup.samplerSeconds ?? 2;
  // a failed pass is retried at the next tick (the scrape reports the server's state)
  const sampling =
    samplerSeconds > 0 ? pollEvery(samplerSeconds, () => scraper.withClient((c) => sampler.pass(c)).catch(() => undefined), polling.signal) : Promise.resolve();
  return {
    server,
    dashboard,
    watch,
    url: `http://${host}:${address.port}`,
    async stop() {
      polling.abort();
      await Promise.all([poller, sampling]);
      await server.close();
      await watch.close();
    },
  };
}

/**
 * The newest backup in `dir` (age, size, verified or why not), listed at most every 30 s: listing
 * reads every manifest, which is not a job for every scrape.
 */
async function backupSummary(dir: string): Promise<() => BackupSummary | undefined> {
  let cached: { at: number; summary: BackupSummary } | undefined;
  const { listBackups } = await import('../backup/catalog.js');
  return () => {
    const now = Date.now();
    if (cached && now - cached.at < 30_000) return refreshAge(cached.summary, now);
    let entries: ReturnType<typeof listBackups> = [];
    try {
      entries = listBackups(dir);
    } catch {
      entries = [];
    }
    const newest = [...entries].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime())[0];
    const summary: BackupSummary = {
      dir,
      count: entries.length,
      ...(newest
        ? {
            newest: {
              file: newest.file,
              takenAt: newest.takenAt.toISOString(),
              ageSeconds: (now - newest.takenAt.getTime()) / 1000,
              storedBytes: newest.storedBytes,
              verified: newest.problem === undefined,
              ...(newest.problem ? { problem: newest.problem } : {}),
            },
          }
        : {}),
    };
    cached = { at: now, summary };
    return summary;
  };
}

function addBackupMetrics(set: MetricSet, summary: BackupSummary): void {
  set.gauge('neurallog_backups', summary.count);
  if (!summary.newest) return;
  set.gauge('neurallog_backup_newest_age_seconds', summary.newest.ageSeconds);
  set.gauge('neurallog_backup_newest_size_bytes', summary.newest.storedBytes);
  set.gauge('neurallog_backup_newest_verified', summary.newest.verified ? 1 : 0);
}

function refreshAge(summary: BackupSummary, now: number): BackupSummary {
  if (!summary.newest) return summary;
  return { ...summary, newest: { ...summary.newest, ageSeconds: (now - Date.parse(summary.newest.takenAt)) / 1000 } };
}

/** Resolves when SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** the token file a deployment's monitor uses when it listens beyond loopback */
export function deploymentTokenPath(root: string): string {
  return join(root, 'monitor.token');
}
