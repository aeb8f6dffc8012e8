/**
 * The Sentinel side of `up`: which node is the master now (so that a restarted node comes back as a
 * replica of the current master, never as a second master), and waiting until the Sentinels know
 * each other and the replicas (a failover needs both).
 */
import { readFileSync, existsSync } from 'node:fs';
import type { Deployment } from '../config/schema.js';
import { RuntimeError } from '../errors.js';
import { sleep } from '../host/index.js';
import { nodePaths, type TopologyRecord, type TopologyNode } from './topology-layout.js';
import { command, infoOf, nodeEndpoint, pairs, sentinelEndpoint, withConnection } from './topology-nodes.js';

type Secrets = Readonly<Record<string, string>>;

/**
 * The current master: what a running Sentinel says; else the newest `sentinel monitor` line among
 * the Sentinels' files (Sentinel rewrites it at each failover, with its config-epoch); else a
 * running node that reports itself master; else the first node.
 */
export async function currentMaster(root: string, record: TopologyRecord, secrets: Secrets, live: ReadonlySet<string>): Promise<TopologyNode> {
  const name = record.masterName ?? 'mymaster';
  const byPort = (port: number) => record.nodes.find((n) => n.port === port);
  for (const s of record.sentinels.filter((x) => live.has(x.name))) {
    try {
      const reply = await withConnection(sentinelEndpoint(secrets, s), (c) => command(c, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]));
      const node = Array.isArray(reply) ? byPort(Number(reply[1])) : undefined;
      if (node) return node;
    } catch {
      // this Sentinel does not answer: ask the next, then the files
    }
  }
  let best: { epoch: number; node: TopologyNode } | undefined;
  for (const s of record.sentinels) {
    const file = nodePaths(root, s.name, true).conf;
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const monitor = new RegExp(`^sentinel monitor ${name} \\S+ (\\d+) \\d+$`, 'm').exec(text);
    const epoch = Number(new RegExp(`^sentinel config-epoch ${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const node = monitor ? byPort(Number(monitor[1])) : undefined;
    if (node && (!best || epoch > best.epoch)) best = { epoch, node };
  }
  if (best) return best.node;
  return record.nodes.find((n) => n.role === 'master') ?? record.nodes[0]!;
}

/** The live role of every running data node ('master' or 'replica'), by name. */
export async function liveRoles(model: Deployment, secrets: Secrets, nodes: readonly TopologyNode[]): Promise<Map<string, TopologyNode['role']>> {
  const roles = new Map<string, TopologyNode['role']>();
  await Promise.all(
    nodes.map(async (n) => {
      try {
        const info = await infoOf(nodeEndpoint(model, secrets, n));
        roles.set(n.name, info.role === 'master' ? 'master' : 'replica');
      } catch {
        // not answering: keeps its recorded role
      }
    }),
  );
  return roles;
}

/** Waits until each node given is a master, or a replica whose link to its master is up. */
export async function waitReplicasLinked(model: Deployment, secrets: Secrets, nodes: readonly TopologyNode[], deadline: number): Promise<void> {
  for (const node of nodes) {
    let last = '';
    for (;;) {
      try {
        const info = await infoOf(nodeEndpoint(model, secrets, node));
        if (info.role === 'master' || info.master_link_status === 'up') break;
        last = `master_link_status ${info.master_link_status}`;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline)
        throw new RuntimeError(
          `replica ${node.name} (port ${node.port}) did not link to its master in time (${last}); see nodes/${node.name}/${node.name}.log`,
          'E_START_TIMEOUT',
        );
      await sleep(100);
    }
  }
}

/** Waits until every Sentinel sees the master, all replicas and every other Sentinel. */
export async function waitSentinelsReady(model: Deployment, secrets: Secrets, record: TopologyRecord, deadline: number): Promise<void> {
  const name = model.topology.sentinel.masterName;
  const others = record.sentinels.length - 1;
  const replicas = record.nodes.length - 1;
  for (const s of record.sentinels) {
    let last = '';
    for (;;) {
      try {
        const m = pairs(await withConnection(sentinelEndpoint(secrets, s), (c) => command(c, ['SENTINEL', 'MASTER', name])));
        if (Number(m['num-other-sentinels']) >= others && Number(m['num-slaves']) >= replicas && !/down/.test(m.flags ?? '')) break;
        last = `flags ${m.flags}, ${m['num-slaves']} replicas and ${m['num-other-sentinels']} other Sentinels known`;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline)
        throw new RuntimeError(`Sentinel ${s.name} (port ${s.port}) is not ready in time: ${last}; see nodes/${s.name}/${s.name}.log`, 'E_START_TIMEOUT');
      await sleep(200);
    }
  }
}
