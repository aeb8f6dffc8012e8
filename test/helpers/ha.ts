/**
 * Sentinel and Cluster topologies for the HA tests and bench/ha.ts: `up --topology` through the
 * library on free loopback ports in a temporary directory under the engine's temp parent, with a
 * model that shortens the guide's timeouts (said where used), and always stopped.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deploymentPaths, readSecrets, type Endpoint } from '../../src/connect/index.js';
import {
  downDeployment,
  freePortRange,
  judgePid,
  nodePaths,
  readTopology,
  SENTINEL_SECRET,
  upTopology,
  type TopologyRecord,
  type TopologyUpResult,
} from '../../src/runtime/index.js';
import { tempDir, waitPortFree, type TestEngine } from './redis.js';

export interface TestTopology {
  dir: string;
  result: TopologyUpResult;
  secrets(): Record<string, string>;
  record(): TopologyRecord;
  /** a data node's endpoint as `user` (default admin) */
  endpoint(port: number, user?: string): Endpoint;
  sentinelEndpoint(port: number): Endpoint;
  /** `up` again (restarts what is down) */
  up(): Promise<TopologyUpResult>;
  /** kill -9 every process the topology record names, at once; resolves once all their ports are free */
  killAll(): Promise<void>;
  /** the nodes' log lines that say the cluster's or replication's state changed: for a failing test's message */
  events(): string;
  cleanup(): Promise<void>;
}

export interface TopologyModel {
  kind: 'sentinel' | 'cluster';
  /** YAML lines under `topology.sentinel` or `topology.cluster` */
  settings: Record<string, number | string | boolean>;
}

/** directories whose processes this test process started: killed if it exits without cleaning up */
const live = new Set<string>();
process.once('exit', () => {
  for (const dir of live) killEverything(dir);
});

export async function upTestTopology(engine: TestEngine, model: TopologyModel): Promise<TestTopology> {
  const temp = tempDir('nlr-ha-', engine.tempParent);
  const count = model.kind === 'cluster' ? 6 : 3;
  const base = await freePortRange(count, '127.0.0.1', { clusterBus: model.kind === 'cluster' });
  const settings = { ...model.settings };
  if (model.kind === 'sentinel') settings.port = await freePortRange(3);
  const yaml = [
    'profile: neurallog',
    'topology:',
    `  kind: ${model.kind}`,
    `  ${model.kind}:`,
    ...Object.entries(settings).map(([k, v]) => `    ${k}: ${String(v)}`),
  ].join('\n');
  const config = join(temp.path, 'model.yaml');
  writeFileSync(config, `${yaml}\n`);
  const dir = join(temp.path, 'deployment');
  const up = () => upTopology({ dir, config, port: base, server: engine.server, readyTimeoutMs: 60_000 });
  live.add(dir);
  let result: TopologyUpResult;
  try {
    result = await up();
  } catch (error) {
    killEverything(dir);
    live.delete(dir);
    temp.remove();
    throw error;
  }
  const paths = deploymentPaths(dir);
  const secrets = () => readSecrets(paths.secrets).users;
  return {
    dir,
    result,
    secrets,
    record: () => readTopology(paths.root)!,
    endpoint: (port, user = 'admin') => ({ host: '127.0.0.1', port, tls: false, db: 0, username: user, password: secrets()[user] }),
    sentinelEndpoint: (port) => ({ host: '127.0.0.1', port, tls: false, db: 0, password: secrets()[SENTINEL_SECRET] }),
    up: async () => {
      const again = await upTopology({ dir, server: engine.server, readyTimeoutMs: 60_000 });
      return again;
    },
    killAll: async () => {
      const record = readTopology(paths.root);
      killEverything(dir);
      // a killed process holds its ports until its last thread exits (test/helpers/redis.ts)
      const cluster = record?.kind === 'cluster';
      const ports = [...(record?.nodes ?? []).flatMap((n) => (cluster ? [n.port, n.port + 10000] : [n.port])), ...(record?.sentinels ?? []).map((s) => s.port)];
      await Promise.all(ports.map((port) => waitPortFree(port)));
    },
    events: () => stateEvents(dir),
    async cleanup() {
      try {
        await downDeployment(dir, { timeoutMs: 20_000 });
      } catch {
        // fall through to the kill below
      }
      killEverything(dir);
      live.delete(dir);
      if (!process.env.NLR_KEEP_HA_DIRS) temp.remove();
    },
  };
}

/** SIGKILL to every process of the topology still alive (judged as `up` does: its cwd is the node's data/). */
export function killEverything(dir: string): void {
  const root = deploymentPaths(dir).root;
  const record = readTopology(root);
  if (!record) return;
  const all = [...record.nodes.map((n) => ({ p: n, sentinel: false })), ...record.sentinels.map((s) => ({ p: s, sentinel: true }))];
  for (const { p, sentinel } of all) {
    const paths = nodePaths(root, p.name, sentinel);
    for (const pid of new Set([p.pid, pidFile(paths.pid)])) {
      if (pid && judgePid(pid, { data: paths.data, conf: paths.conf }).kind === 'ours') process.kill(pid, 'SIGKILL');
    }
  }
}

function pidFile(path: string): number {
  try {
    return Number(readFileSync(path, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

const EVENT = /FAIL|[Ff]ailover|Cluster state changed|MASTER <-> REPLICA|[Cc]onnection with (master|replica) lost|configEpoch/;

function stateEvents(dir: string): string {
  const root = deploymentPaths(dir).root;
  const record = readTopology(root);
  if (!record) return '(no topology record)';
  const lines: string[] = [];
  for (const n of record.nodes) {
    let text = '';
    try {
      text = readFileSync(nodePaths(root, n.name).log, 'utf8');
    } catch {
      continue;
    }
    for (const line of text
      .split('\n')
      .filter((l) => EVENT.test(l))
      .slice(-8))
      lines.push(`${n.name}: ${line}`);
  }
  return lines.join('\n') || '(no state changes logged)';
}
