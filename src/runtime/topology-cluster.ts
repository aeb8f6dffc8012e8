/**
 * The Cluster side of `up`: creating the cluster with the engine's own `redis-cli --cluster create`
 * (or valkey-cli), the password passed in REDISCLI_AUTH (never argv), and waiting for cluster_state ok.
 */
import { spawn } from 'node:child_process';
import type { Deployment } from '../config/schema.js';
import { RuntimeError } from '../errors.js';
import { sleep } from '../host/index.js';
import { adminLogin } from './admin-access.js';
import type { TopologyNode } from './topology-layout.js';
import { parseInfo } from '../connect/index.js';
import { command, nodeEndpoint, withConnection } from './topology-nodes.js';

type Secrets = Readonly<Record<string, string>>;

/** CLUSTER INFO of one node as fields. */
export async function clusterInfo(model: Deployment, secrets: Secrets, node: TopologyNode): Promise<Record<string, string>> {
  return withConnection(nodeEndpoint(model, secrets, node), async (c) => parseInfo(String(await command(c, ['CLUSTER', 'INFO']))));
}

/** True when every node answers and none serves a slot: the cluster was never created (nodes.conf keeps a created one). */
export async function clusterUnformed(model: Deployment, secrets: Secrets, nodes: readonly TopologyNode[]): Promise<boolean> {
  const infos = await Promise.all(nodes.map((n) => clusterInfo(model, secrets, n)));
  return infos.every((i) => (i.cluster_slots_assigned ?? '0') === '0');
}

/** `<cli> --cluster create host:port... --cluster-replicas N --cluster-yes`, as the admin user. */
export async function createCluster(model: Deployment, secrets: Secrets, cli: string, nodes: readonly TopologyNode[], timeoutMs = 60_000): Promise<string> {
  const login = adminLogin(model, secrets);
  const args = [
    '--cluster',
    'create',
    ...nodes.map((n) => `${n.host}:${n.port}`),
    '--cluster-replicas',
    String(model.topology.cluster.replicasPerMaster),
    '--cluster-yes',
  ];
  if (login?.username) args.push('--user', login.username);
  const env = { ...process.env, ...(login?.password !== undefined ? { REDISCLI_AUTH: login.password } : {}) };
  const child = spawn(cli, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | string>((resolve) => child.once('close', (c, signal) => resolve(c ?? signal ?? 'unknown')));
  clearTimeout(timer);
  if (code !== 0 || !/All 16384 slots covered/.test(output)) {
    const tail = output.trimEnd().split('\n').slice(-10).join('\n');
    throw new RuntimeError(
      `${cli} --cluster create failed (exit ${code}); its last lines:\n${tail}\nThe nodes are left running: see \`status\`, then \`down\``,
      'E_START_FAILED',
    );
  }
  return output;
}

/** Waits until every node says cluster_state:ok. */
export async function waitClusterOk(model: Deployment, secrets: Secrets, nodes: readonly TopologyNode[], deadline: number): Promise<void> {
  for (const node of nodes) {
    let last = '';
    for (;;) {
      try {
        const state = (await clusterInfo(model, secrets, node)).cluster_state;
        if (state === 'ok') break;
        last = `cluster_state ${state}`;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline)
        throw new RuntimeError(
          `cluster node ${node.name} (port ${node.port}) did not reach cluster_state ok in time (${last}); see nodes/${node.name}/${node.name}.log`,
          'E_START_TIMEOUT',
        );
      await sleep(200);
    }
  }
}
