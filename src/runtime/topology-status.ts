/**
 * `status` and `down` of a Sentinel or Cluster deployment: every node's live role, replication link
 * and offset, slots and cluster_state; each Sentinel's view (SENTINEL MASTER, CKQUORUM). `down` stops
 * the Sentinels first (no failover while the servers go), then the replicas, then the masters, each
 * server with SHUTDOWN (saving as the model persists), and says where the data stays.
 */
import { readSecrets, type DeploymentPaths } from '../connect/index.js';
import type { Deployment } from '../config/schema.js';
import { isAlive, waitFor } from '../host/index.js';
import { RuntimeError } from '../errors.js';
import { runningMonitor } from './monitor-process.js';
import { stopRedisServer } from './redis-server.js';
import { nodePaths, readTopology, writeTopology, type TopologyRecord } from './topology-layout.js';
import { command, infoOf, livePid, nodeEndpoint, pairs, sentinelEndpoint, withConnection } from './topology-nodes.js';

type Secrets = Readonly<Record<string, string>>;

export interface NodeStatus {
  name: string;
  host: string;
  port: number;
  pid: number;
  running: boolean;
  role?: 'master' | 'replica';
  /** a replica's master_link_status */
  linkStatus?: string;
  /** a replica's master, as host:port */
  master?: string;
  /** master_repl_offset of a master, slave_repl_offset of a replica */
  offset?: number;
  /** bytes a replica is behind its master */
  lagBytes?: number;
  connectedReplicas?: number;
  /** cluster: this node's slot ranges, cluster_state */
  slots?: string[];
  clusterState?: string;
  error?: string;
}

export interface SentinelStatus {
  name: string;
  host: string;
  port: number;
  pid: number;
  running: boolean;
  /** what this Sentinel says of the master */
  master?: { host: string; port: number; flags: string; replicas: number; otherSentinels: number; quorum: number };
  /** SENTINEL CKQUORUM's answer; quorumOk when it says OK */
  ckquorum?: string;
  quorumOk?: boolean;
  error?: string;
}

export interface TopologyStatus {
  kind: 'sentinel' | 'cluster';
  masterName?: string;
  nodes: NodeStatus[];
  sentinels: SentinelStatus[];
  /** every process runs, one master (Sentinel) or cluster_state ok everywhere (Cluster), links up, quorum ok */
  healthy: boolean;
  /** the monitor `up` started for every node (dashboard, /metrics, /scrape, /targets), while it runs */
  monitor?: { pid: number; url: string };
}

async function nodeStatus(model: Deployment, secrets: Secrets, root: string, n: TopologyRecord['nodes'][number], cluster: boolean): Promise<NodeStatus> {
  const pid = livePid(root, n);
  const out: NodeStatus = { name: n.name, host: n.host, port: n.port, pid, running: pid > 0 };
  if (!pid) return out;
  try {
    const endpoint = nodeEndpoint(model, secrets, n);
    const info = await infoOf(endpoint);
    out.role = info.role === 'master' ? 'master' : 'replica';
    if (out.role === 'master') {
      out.offset = Number(info.master_repl_offset);
      out.connectedReplicas = Number(info.connected_slaves);
    } else {
      out.linkStatus = info.master_link_status;
      out.master = `${info.master_host}:${info.master_port}`;
      out.offset = Number(info.slave_repl_offset);
    }
    if (cluster) {
      await withConnection(endpoint, async (c) => {
        out.clusterState = /cluster_state:(\w+)/.exec(String(await command(c, ['CLUSTER', 'INFO'])))?.[1];
        const me = String(await command(c, ['CLUSTER', 'NODES']))
          .split('\n')
          .find((l) => l.split(' ')[2]?.includes('myself'));
        out.slots = me ? me.trim().split(' ').slice(8) : [];
      });
    }
  } catch (error) {
    out.error = (error as Error).message;
  }
  return out;
}

async function sentinelStatus(secrets: Secrets, root: string, s: TopologyRecord['sentinels'][number], masterName: string): Promise<SentinelStatus> {
  const pid = livePid(root, s, true);
  const out: SentinelStatus = { name: s.name, host: s.host, port: s.port, pid, running: pid > 0 };
  if (!pid) return out;
  try {
    await withConnection(sentinelEndpoint(secrets, s), async (c) => {
      const m = pairs(await command(c, ['SENTINEL', 'MASTER', masterName]));
      out.master = {
        host: m.ip ?? '',
        port: Number(m.port),
        flags: m.flags ?? '',
        replicas: Number(m['num-slaves']),
        otherSentinels: Number(m['num-other-sentinels']),
        quorum: Number(m.quorum),
      };
      try {
        out.ckquorum = String(await command(c, ['SENTINEL', 'CKQUORUM', masterName]));
      } catch (error) {
        out.ckquorum = (error as Error).message;
      }
      out.quorumOk = /^OK/.test(out.ckquorum);
    });
  } catch (error) {
    out.error = (error as Error).message;
  }
  return out;
}

export async function topologyStatus(paths: DeploymentPaths, model: Deployment): Promise<TopologyStatus | undefined> {
  const record = readTopology(paths.root);
  if (!record) return undefined;
  const secrets = readSecrets(paths.secrets).users;
  const cluster = record.kind === 'cluster';
  const nodes = await Promise.all(record.nodes.map((n) => nodeStatus(model, secrets, paths.root, n, cluster)));
  const masterName = record.masterName ?? model.topology.sentinel.masterName;
  const sentinels = await Promise.all(record.sentinels.map((s) => sentinelStatus(secrets, paths.root, s, masterName)));
  const offsets = new Map(nodes.filter((n) => n.role === 'master').map((n) => [`${n.host}:${n.port}`, n.offset ?? 0]));
  for (const n of nodes) if (n.role === 'replica' && n.master && offsets.has(n.master)) n.lagBytes = Math.max(0, offsets.get(n.master)! - (n.offset ?? 0));
  const allUp = nodes.every((n) => n.running && !n.error) && sentinels.every((s) => s.running && !s.error);
  const linksUp = nodes.every((n) => n.role !== 'replica' || n.linkStatus === 'up');
  const healthy =
    allUp &&
    linksUp &&
    (cluster ? nodes.every((n) => n.clusterState === 'ok') : nodes.filter((n) => n.role === 'master').length === 1 && sentinels.every((s) => s.quorumOk));
  const monitor = runningMonitor(paths);
  return {
    kind: record.kind,
    ...(cluster ? {} : { masterName }),
    nodes,
    sentinels,
    healthy,
    ...(monitor ? { monitor: { pid: monitor.pid, url: monitor.url } } : {}),
  };
}

export interface TopologyDownResult {
  kind: 'sentinel' | 'cluster';
  /** names of the processes stopped, in the order they were stopped */
  stopped: string[];
  /** each data node's data directory */
  dataDirs: string[];
}

export async function downTopology(paths: DeploymentPaths, model: Deployment, options: { timeoutMs?: number } = {}): Promise<TopologyDownResult | undefined> {
  const record = readTopology(paths.root);
  if (!record) return undefined;
  const secrets = readSecrets(paths.secrets).users;
  const stopped: string[] = [];
  // Sentinels first: a master stopped while they watch would be failed over
  for (const s of record.sentinels) {
    const pid = livePid(paths.root, s, true);
    if (pid) {
      process.kill(pid, 'SIGTERM');
      if (!(await waitFor(() => !isAlive(pid), options.timeoutMs ?? 30_000, 50)))
        throw new RuntimeError(`${s.name} (pid ${pid}) is still running after SIGTERM; see nodes/${s.name}/${s.name}.log`, 'E_STOP_TIMEOUT');
      stopped.push(s.name);
    }
    s.pid = 0;
  }
  const statuses = await Promise.all(record.nodes.map((n) => nodeStatus(model, secrets, paths.root, n, false)));
  const order = [...statuses.filter((n) => n.role !== 'master'), ...statuses.filter((n) => n.role === 'master')];
  for (const n of order) {
    if (n.pid) {
      await stopRedisServer(n.pid, nodeEndpoint(model, secrets, n), {
        forceSave: !model.persistence.appendonly,
        timeoutMs: options.timeoutMs,
        logPath: nodePaths(paths.root, n.name).log,
      });
      stopped.push(n.name);
    }
  }
  for (const n of record.nodes) n.pid = 0;
  writeTopology(paths.root, record);
  return { kind: record.kind, stopped, dataDirs: record.nodes.map((n) => nodePaths(paths.root, n.name).data) };
}
