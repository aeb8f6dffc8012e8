/**
 * `down` and `status` of a deployment directory made by `up` (deployment.ts).
 */
import { rmSync, statSync } from 'node:fs';
import {
  clientHost,
  closeConnection,
  deploymentPaths,
  formatRedisUrl,
  openConnection,
  parseInfo,
  parseKeyspace,
  readDeploymentModel,
  readRunState,
  type DeploymentPaths,
} from '../connect/index.js';
import { identifyFromInfo, type EngineName } from '../engine/identity.js';
import { UsageError } from '../errors.js';
import { adminEndpoint, statusEndpoint } from './admin-access.js';
import { forgetStalePid, ownServer, requireDirArgument, type EngineFacts } from './deployment-state.js';
import { loadingProgress, type LoadingProgress } from './loading.js';
import { runningMonitor, stopMonitorProcess } from './monitor-process.js';
import { stopRedisServer } from './redis-server.js';
import { downTopology, topologyStatus, type TopologyDownResult, type TopologyStatus } from './topology-status.js';
import { rememberedServer } from './server-choice.js';

export interface DownResult {
  alreadyStopped: boolean;
  dir: string;
  pid?: number;
  /** the stopped (or last run) server, as the deployment recorded it */
  engine?: EngineName;
  engineVersion?: string;
  /** set when redis.pid or state.json named a process that is not this deployment's server */
  staleState?: string;
  /** a Sentinel or Cluster deployment: what was stopped, and where each node's data stays */
  topology?: TopologyDownResult;
}

/**
 * Refuses a --dir that holds no deployment: a mistyped --dir must not report "stopped" while the real
 * server runs on. A path that cannot be looked into (a file on the way: ENOTDIR; EACCES) is thrown
 * as it is, for the CLI to name.
 */
function requireDeployment(paths: DeploymentPaths, what: string): void {
  try {
    statSync(paths.model);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new UsageError(`${paths.root} is not a deployment made by \`neurallog-redis up\` (no deployment.json), so ${what}; check --dir`);
  }
}

export async function downDeployment(dir: string, options: { timeoutMs?: number } = {}): Promise<DownResult> {
  requireDirArgument(dir);
  const paths = deploymentPaths(dir);
  requireDeployment(paths, 'nothing was stopped');
  const remembered = rememberedServer(paths.root);
  const engine = remembered ? { engine: remembered.engine, engineVersion: remembered.version } : {};
  const topology = await downTopology(paths, readDeploymentModel(paths), options);
  // the topology's monitor goes with it (downTopology stopped every node already)
  if (topology) await stopMonitorProcess(paths);
  if (topology) return { alreadyStopped: topology.stopped.length === 0, dir: paths.root, ...engine, topology };
  const own = ownServer(paths);
  await stopMonitorProcess(paths);
  if (own.kind !== 'ours') {
    if (own.kind === 'stale') forgetStalePid(paths);
    else rmSync(paths.state, { force: true });
    return { alreadyStopped: true, dir: paths.root, ...engine, ...(own.kind === 'stale' ? { staleState: own.reason } : {}) };
  }
  const model = readDeploymentModel(paths);
  const state = readRunState(paths);
  const endpoint = adminEndpoint(paths, model, state?.host ?? clientHost(model.server.bind), state?.port ?? model.server.port);
  await stopRedisServer(own.pid, endpoint, { forceSave: !model.persistence.appendonly, timeoutMs: options.timeoutMs, logPath: paths.log });
  rmSync(paths.state, { force: true });
  return { alreadyStopped: false, dir: paths.root, pid: own.pid, ...engine };
}

/** A server loading its data answers INFO but nothing else: how far it is. */
export type { LoadingProgress };

export interface StatusResult extends EngineFacts {
  dir: string;
  running: boolean;
  pid?: number;
  host?: string;
  port?: number;
  url?: string;
  profile?: string;
  redisVersion?: string;
  uptimeSeconds?: number;
  role?: string;
  usedMemoryBytes?: number;
  maxmemoryBytes?: number;
  keys?: Record<string, number>;
  aofEnabled?: boolean;
  lastSaveStatus?: string;
  aofLastWriteStatus?: string;
  /** set while the server loads its data (INFO persistence loading:1): it answers nothing else yet */
  loading?: LoadingProgress;
  /** the monitor `up` started (dashboard and /metrics), while it runs */
  monitor?: { pid: number; url: string };
  /** set when redis.pid or state.json named a process that is not this deployment's server */
  staleState?: string;
  error?: string;
  /** a Sentinel or Cluster deployment: every node and Sentinel */
  topology?: TopologyStatus;
}

export async function deploymentStatus(dir: string): Promise<StatusResult> {
  requireDirArgument(dir);
  const paths = deploymentPaths(dir);
  requireDeployment(paths, 'there is no status to report');
  const model = readDeploymentModel(paths);
  const own = ownServer(paths);
  const remembered = rememberedServer(paths.root);
  const facts: EngineFacts = {
    engine: remembered?.engine,
    engineVersion: remembered?.version,
    serverPath: remembered?.path,
    target: { engine: model.engine, version: model.version },
  };
  const topology = await topologyStatus(paths, model);
  if (topology) {
    const running = topology.nodes.some((n) => n.running) || topology.sentinels.some((n) => n.running);
    return {
      dir: paths.root,
      running,
      profile: model.profile,
      ...facts,
      topology,
      ...(topology.monitor ? { monitor: topology.monitor } : {}),
      ...(running && !topology.healthy ? { error: 'the topology is not healthy (see its nodes)' } : {}),
    };
  }
  if (own.kind !== 'ours') {
    return {
      dir: paths.root,
      running: false,
      profile: model.profile,
      port: model.server.port,
      ...facts,
      ...(own.kind === 'stale' ? { staleState: own.reason } : {}),
    };
  }
  const pid = own.pid;
  const state = readRunState(paths);
  const host = state?.host ?? clientHost(model.server.bind);
  const port = state?.port ?? model.server.port;
  const endpoint = statusEndpoint(paths, model, host, port);
  const app = model.security.users.find((u) => u.name === 'app' && u.enabled);
  const result: StatusResult = {
    dir: paths.root,
    running: true,
    pid,
    host,
    port,
    url: formatRedisUrl({ ...endpoint, username: app ? 'app' : endpoint.username, password: undefined }),
    profile: model.profile,
    ...facts,
  };
  const monitor = runningMonitor(paths);
  if (monitor) result.monitor = { pid: monitor.pid, url: monitor.url };
  try {
    const client = await openConnection(endpoint);
    try {
      const info = parseInfo(await client.info('everything'));
      result.redisVersion = info.redis_version;
      // what the running server says it is (Valkey answers redis_version 7.2.4 to old clients)
      const id = identifyFromInfo(info);
      result.engine = id.engine;
      result.engineVersion = id.version;
      result.uptimeSeconds = Number(info.uptime_in_seconds);
      result.role = info.role;
      result.usedMemoryBytes = Number(info.used_memory);
      result.maxmemoryBytes = Number(info.maxmemory);
      result.aofEnabled = info.aof_enabled === '1';
      result.lastSaveStatus = info.rdb_last_bgsave_status;
      result.aofLastWriteStatus = info.aof_last_write_status;
      result.loading = loadingProgress(info);
      result.keys = Object.fromEntries([...parseKeyspace(info)].map(([db, keys]) => [`db${db}`, keys]));
    } finally {
      await closeConnection(client);
    }
  } catch (error) {
    result.error = (error as Error).message;
  }
  return result;
}
