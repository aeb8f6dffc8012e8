/**
 * Where a Sentinel or Cluster deployment keeps its nodes, and `topology.json`, the record other
 * commands read to reach them:
 *
 *   nodes/<name>/   redis.conf or sentinel.conf (0600), users.acl, data/ (the working directory,
 *                   nodes.conf for a cluster node), <name>.log, <name>.pid
 *   topology.json   {"kind", "masterName"?, "sentinels": [{name, host, port, pid}],
 *                    "nodes": [{name, host, port, pid, role}]}: roles as of the last `up`; the live
 *                   roles come from the servers
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Deployment } from '../config/schema.js';
import { writePrivateFile } from '../connect/secrets.js';
import { ConfigError } from '../errors.js';
import { nodePaths, type NodePaths } from '../connect/deployment-dir.js';

export { nodePaths, type NodePaths };

export interface TopologyProcess {
  name: string;
  host: string;
  port: number;
  /** 0 when the process is not running */
  pid: number;
}

export interface TopologyNode extends TopologyProcess {
  role: 'master' | 'replica';
}

export interface TopologyRecord {
  kind: 'sentinel' | 'cluster';
  masterName?: string;
  sentinels: TopologyProcess[];
  nodes: TopologyNode[];
}

/** The secrets-file key of the Sentinels' own password (their `requirepass`); connect/ reads it too. */
export { SENTINEL_SECRET } from '../connect/topology-target.js';

export function topologyPath(root: string): string {
  return join(root, 'topology.json');
}

export function ensureNodeDirs(paths: NodePaths): void {
  mkdirSync(paths.data, { recursive: true, mode: 0o700 });
}

export function readTopology(root: string): TopologyRecord | undefined {
  const file = topologyPath(root);
  if (!existsSync(file)) return undefined;
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as TopologyRecord;
    if ((data.kind === 'sentinel' || data.kind === 'cluster') && Array.isArray(data.nodes) && Array.isArray(data.sentinels)) return data;
  } catch (error) {
    throw new ConfigError(`cannot read the topology record: ${(error as Error).message}`, { file });
  }
  throw new ConfigError('the topology record is not {"kind","sentinels":[...],"nodes":[...]}; remove it only once every node is stopped', { file });
}

export function writeTopology(root: string, record: TopologyRecord): void {
  const ordered: TopologyRecord = {
    kind: record.kind,
    ...(record.masterName !== undefined ? { masterName: record.masterName } : {}),
    sentinels: record.sentinels.map(({ name, host, port, pid }) => ({ name, host, port, pid })),
    nodes: record.nodes.map(({ name, host, port, pid, role }) => ({ name, host, port, pid, role })),
  };
  writePrivateFile(topologyPath(root), `${JSON.stringify(ordered, null, 2)}\n`);
}

/** The nodes and Sentinels a fresh topology has, on ports counted up from the model's. */
export function plannedTopology(model: Deployment, host: string): TopologyRecord {
  const t = model.topology;
  const base = model.server.port;
  if (t.kind === 'cluster') {
    const count = t.cluster.masters * (1 + t.cluster.replicasPerMaster);
    const nodes = Array.from({ length: count }, (_, i): TopologyNode => ({
      name: `node-${i}`,
      host,
      port: base + i,
      pid: 0,
      role: i < t.cluster.masters ? 'master' : 'replica',
    }));
    return { kind: 'cluster', sentinels: [], nodes };
  }
  const nodes = Array.from({ length: 1 + t.sentinel.replicas }, (_, i): TopologyNode => ({
    name: `redis-${i}`,
    host,
    port: base + i,
    pid: 0,
    role: i === 0 ? 'master' : 'replica',
  }));
  const sentinels = Array.from({ length: t.sentinel.sentinels }, (_, i): TopologyProcess => ({
    name: `sentinel-${i}`,
    host,
    port: t.sentinel.port + i,
    pid: 0,
  }));
  return { kind: 'sentinel', masterName: t.sentinel.masterName, sentinels, nodes };
}
