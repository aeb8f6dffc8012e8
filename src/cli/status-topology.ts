/**
 * `status` and `url` for a topology named by flags (`--sentinel ADDRS --master-name NAME`, or
 * `--cluster SEEDS`) rather than by a deployment directory: what NeuralLog's server needs to connect
 * (`url`), and the roles, replication links and slots the topology reports now (`status`). Every
 * question has connect/topology-target.ts's deadline; a node that does not answer is reported, not
 * waited for. No password is printed: it is named by where it comes from.
 */
import { parseInfo } from '../connect/client.js';
import { PASSWORD_ENV } from '../connect/password-file.js';
import { SENTINEL_PASSWORD_ENV, topologyFromOptions, type NodeAddress, type TopologyOptions, type TopologyTarget } from '../connect/topology-target.js';
import { askCluster, askNode, askSentinels } from '../discover/index.js';

const addr = (a: NodeAddress) => `${a.host}:${a.port}`;

/** The topology the flags name (--sentinel/--cluster only; a --dir goes the deployment's way). */
export function flagTopology(flags: TopologyOptions & { sentinel?: string; cluster?: string }): TopologyTarget | undefined {
  if (!flags.sentinel && !flags.cluster && !flags.masterName) return undefined;
  return topologyFromOptions({ ...flags, dir: undefined }, 'app');
}

/** What an app (NeuralLog's server) is given to connect, the masters it would reach now included. */
export async function topologyUrl(target: TopologyTarget, flags: { passwordFile?: string; sentinelPasswordFile?: string }): Promise<Record<string, unknown>> {
  const password = flags.passwordFile ? `the file ${flags.passwordFile}` : `$${PASSWORD_ENV}`;
  if (target.kind === 'sentinel') {
    const view = await askSentinels(target);
    return {
      kind: 'sentinel',
      masterName: target.masterName,
      sentinels: target.sentinels.map(addr),
      user: target.credentials.username,
      passwordFrom: password,
      sentinelPasswordFrom: flags.sentinelPasswordFile ? `the file ${flags.sentinelPasswordFile}` : `$${SENTINEL_PASSWORD_ENV} (none if unset)`,
      masterNow: addr(view.master),
    };
  }
  const shards = await askCluster(target.seeds, target.credentials, { requireFullCoverage: false });
  return { kind: 'cluster', seeds: shards.map((s) => addr(s.master)), user: target.credentials.username, passwordFrom: password };
}

export function describeTopologyUrl(u: Record<string, unknown>): string {
  const lines =
    u.kind === 'sentinel'
      ? [`sentinels   ${(u.sentinels as string[]).join(',')}`, `master-name ${String(u.masterName)}  (master now ${String(u.masterNow)})`]
      : [`cluster     ${(u.seeds as string[]).join(',')}  (every master: any one is a seed)`];
  lines.push(`user        ${typeof u.user === 'string' ? u.user : 'default'}`, `password    from ${String(u.passwordFrom)}`);
  if (u.kind === 'sentinel') lines.push(`sentinel-password from ${String(u.sentinelPasswordFrom)}`);
  return lines.join('\n');
}

interface NodeReport {
  address: string;
  role?: string;
  /** a replica's link to its master, as the node reports it */
  link?: string;
  offset?: number;
  slots?: string[];
  error?: string;
}

export interface TopologyReport {
  kind: 'sentinel' | 'cluster';
  healthy: boolean;
  problems: string[];
  masterName?: string;
  nodes: NodeReport[];
  /** Sentinel: which master each Sentinel names */
  sentinels?: Array<{ address: string; names?: string; error?: string }>;
  clusterState?: string;
}

/** Asks a data node for its replication role (needs INFO: the monitor or admin user). */
async function nodeReport(address: NodeAddress, target: TopologyTarget): Promise<NodeReport> {
  try {
    const info = parseInfo(await askNode(address, target.credentials, (c) => c.info('replication')));
    return {
      address: addr(address),
      role: info.role === 'slave' ? 'replica' : info.role,
      link: info.master_link_status,
      offset: Number(info.master_repl_offset ?? 0),
    };
  } catch (error) {
    return { address: addr(address), error: (error as Error).message };
  }
}

export async function topologyReport(target: TopologyTarget): Promise<TopologyReport> {
  return target.kind === 'sentinel' ? sentinelReport(target) : clusterReport(target);
}

async function sentinelReport(target: Extract<TopologyTarget, { kind: 'sentinel' }>): Promise<TopologyReport> {
  const view = await askSentinels(target);
  const problems: string[] = [];
  const sentinels = await Promise.all(
    target.sentinels.map(async (s) => {
      try {
        const reply = await askNode(s, target.sentinelCredentials, (c) =>
          c.sendCommand<string[] | null>(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', target.masterName]),
        );
        return { address: addr(s), names: reply ? `${reply[0]}:${reply[1]}` : undefined };
      } catch (error) {
        return { address: addr(s), error: (error as Error).message };
      }
    }),
  );
  const master = addr(view.master);
  for (const s of sentinels)
    if (s.names !== master) problems.push(`Sentinel ${s.address} ${s.error ? `does not answer (${s.error})` : `names ${s.names ?? 'no master'}`}`);
  const nodes = await Promise.all([view.master, ...view.replicas.map((r) => r.address)].map((a) => nodeReport(a, target)));
  view.replicas.forEach((r, i) => {
    if (!r.linkOk || r.flags.some((f) => /s_down|o_down|disconnected/.test(f))) problems.push(`replica ${addr(r.address)}: ${r.flags.join(',')}`);
    nodes[i + 1]!.link ??= r.linkOk ? 'up' : 'down';
    nodes[i + 1]!.offset ??= r.offset;
  });
  nodes[0]!.role ??= 'master';
  if (nodes[0]!.role !== 'master') problems.push(`${master}, named master by the Sentinels, reports role ${nodes[0]!.role}`);
  if (!view.replicas.some((r) => r.linkOk)) problems.push('no replica with a working link: a failover would have nothing to promote');
  return { kind: 'sentinel', masterName: target.masterName, healthy: problems.length === 0, problems, nodes, sentinels };
}

async function clusterReport(target: Extract<TopologyTarget, { kind: 'cluster' }>): Promise<TopologyReport> {
  const shards = await askCluster(target.seeds, target.credentials, { requireFullCoverage: false });
  const problems: string[] = [];
  const covered = shards.reduce((n, s) => n + s.slots.reduce((m, [a, b]) => m + b - a + 1, 0), 0);
  if (covered < 16384) problems.push(`${16384 - covered} of 16384 slots have no master`);
  let clusterState: string | undefined;
  try {
    clusterState = parseInfo(await askNode(shards[0]!.master, target.credentials, (c) => c.sendCommand<string>(['CLUSTER', 'INFO']))).cluster_state;
    if (clusterState !== 'ok') problems.push(`cluster_state ${clusterState}`);
  } catch {
    // the user may not run CLUSTER INFO; the slot coverage above still says it
  }
  const nodes: NodeReport[] = [];
  for (const s of shards) {
    nodes.push({ address: addr(s.master), role: 'master', slots: s.slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)) });
    if (s.replicas.length === 0) problems.push(`master ${addr(s.master)} has no replica: losing it loses its slots`);
    for (const r of s.replicas) nodes.push({ address: addr(r.address), role: `replica of ${addr(s.master)}` });
  }
  return { kind: 'cluster', healthy: problems.length === 0, problems, nodes, clusterState };
}

export function describeTopologyReport(r: TopologyReport): string {
  const lines = [
    `${r.healthy ? 'healthy' : 'UNHEALTHY'} ${r.kind} topology${r.masterName ? ` (master name ${r.masterName})` : ''}${r.clusterState ? `, cluster_state ${r.clusterState}` : ''}`,
  ];
  for (const n of r.nodes) {
    const parts = [`  ${n.address.padEnd(21)} ${(n.role ?? '?').padEnd(8)}`];
    if (n.link) parts.push(`link ${n.link}`);
    if (n.offset !== undefined) parts.push(`offset ${n.offset}`);
    if (n.slots) parts.push(`slots ${n.slots.join(' ')}`);
    if (n.error) parts.push(`(no INFO: ${n.error})`);
    lines.push(parts.join('  '));
  }
  for (const s of r.sentinels ?? []) lines.push(`  ${s.address.padEnd(21)} sentinel  ${s.error ? `problem: ${s.error}` : `names master ${s.names ?? 'none'}`}`);
  for (const p of r.problems) lines.push(`  problem: ${p}`);
  return lines.join('\n');
}
