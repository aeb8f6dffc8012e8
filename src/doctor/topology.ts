/**
 * `doctor` on a Sentinel or Cluster topology: every data node and every Sentinel is examined as one
 * server is (each in its own connection, all at once, each within the deadline), and the topology as
 * a whole is judged from what they said: exactly one master (Sentinel), the Sentinels naming the same
 * master, every master with a replica and every node agreeing the cluster is ok (Cluster).
 *
 * The nodes come from `--dir`'s topology.json (each node's files under nodes/<name>/ are read as a
 * single deployment's are), from the Sentinels (`--sentinel`: the master, its replicas and the
 * Sentinels given) or from a seed's slot map (`--cluster`). Data nodes are read as the deployment's
 * `ops` user (monitor where there is no ops), Sentinels with their own password.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { nodePaths } from '../connect/deployment-dir.js';
import { readSecrets } from '../connect/secrets.js';
import {
  endpointOf,
  readTopologyFile,
  SENTINEL_SECRET,
  topologyFilePath,
  topologyFromOptions,
  type NodeAddress,
  type TopologyOptions,
} from '../connect/topology-target.js';
import { askNode, askSentinels } from '../discover/index.js';
import type { Endpoint } from '../connect/url.js';
import { ConnectionError, UsageError } from '../errors.js';
import { exitCodeOf, finding, type DoctorReport, type Finding } from './finding.js';
import { examine, isLoopbackHost, noOpsUser, type DirContext } from './run.js';
import { replyText, type ServerFacts } from './collect.js';

export interface TopologyNodeSpec {
  name: string;
  address: NodeAddress;
  sentinel: boolean;
  endpoint: Endpoint;
  /** the node's files, when the topology is a deployment directory on this machine */
  dir?: DirContext;
}

export interface TopologySpec {
  kind: 'sentinel' | 'cluster';
  /** the deployment directory, or the addresses the nodes were found from */
  target: string;
  masterName?: string;
  nodes: TopologyNodeSpec[];
  /** what finding the nodes said along the way (a Sentinel that did not answer, ...) */
  notes: Finding[];
}

export interface NodeReport extends DoctorReport {
  name: string;
  address: string;
}

export interface TopologyDoctorReport {
  kind: 'sentinel' | 'cluster';
  target: string;
  masterName?: string;
  nodes: NodeReport[];
  /** the topology's own findings (masters, agreement, replicas) */
  findings: Finding[];
  exitCode: 0 | 1 | 2;
}

/** Whether the options name a topology (`--sentinel`, `--cluster`, or a `--dir` with topology.json). */
export function namesTopology(options: TopologyOptions & { url?: string }): boolean {
  if (options.url) return false;
  return Boolean(options.sentinel || options.cluster || (options.dir && topologyFilePath(options.dir)));
}

/** The nodes to examine and how to reach each. */
export async function topologySpec(options: TopologyOptions): Promise<TopologySpec> {
  if (!options.sentinel && !options.cluster && options.dir) return specOfDirectory(options.dir);
  const target = topologyFromOptions(options, 'ops');
  if (!target) throw new UsageError('doctor on a topology needs --sentinel ADDRS --master-name NAME, --cluster SEEDS or --dir');
  const notes: Finding[] = [];
  const data = (address: NodeAddress, name: string): TopologyNodeSpec => ({
    name,
    address,
    sentinel: false,
    endpoint: endpointOf(address, target.credentials),
  });
  if (target.kind === 'sentinel') {
    const view = await askSentinels(target);
    const nodes = [data(view.master, 'master'), ...view.replicas.map((r, i) => data(r.address, `replica-${i}`))];
    target.sentinels.forEach((s, i) => nodes.push({ name: `sentinel-${i}`, address: s, sentinel: true, endpoint: endpointOf(s, target.sentinelCredentials) }));
    return { kind: 'sentinel', target: target.sentinels.map(text).join(','), masterName: target.masterName, nodes, notes };
  }
  const known = await clusterNodes(target.seeds, target.credentials);
  const nodes = known.map((n) => data(n.address, n.name));
  return { kind: 'cluster', target: target.seeds.map(text).join(','), nodes, notes };
}

/** Every node a seed's `CLUSTER NODES` names (failed ones too; not those still in handshake), in its order. */
async function clusterNodes(
  seeds: readonly NodeAddress[],
  credentials: { username?: string; password?: string },
): Promise<Array<{ name: string; address: NodeAddress }>> {
  const failures: string[] = [];
  for (const seed of seeds) {
    let table: string;
    try {
      table = await askNode(seed, credentials, async (c) => replyText(await c.sendCommand(['CLUSTER', 'NODES'])));
    } catch (error) {
      failures.push(`${text(seed)}: ${(error as Error).message}`);
      continue;
    }
    return parseClusterNodes(table, seed);
  }
  throw new ConnectionError(
    `no cluster seed answered CLUSTER NODES (${failures.join('; ')}); check --cluster host:port and the user's rights (+cluster|nodes)`,
    'E_CLUSTER_UNREACHABLE',
  );
}

/** `<id> <ip:port@cport[,host]> <flags> ...` lines; a node with no address (`:0`) is the seed itself. */
export function parseClusterNodes(table: string, seed: NodeAddress): Array<{ name: string; address: NodeAddress }> {
  const out: Array<{ name: string; address: NodeAddress }> = [];
  for (const line of table.split('\n')) {
    const [id, addr, flags] = line.trim().split(' ');
    if (!id || !addr || !flags || /noaddr|handshake/.test(flags)) continue;
    const m = /^(.*):(\d+)@/.exec(addr);
    if (!m) continue;
    const role = flags.includes('master') ? 'master' : 'replica';
    out.push({ name: `${role}-${id.slice(0, 8)}`, address: { host: m[1] || seed.host, port: Number(m[2]) || seed.port } });
  }
  return out;
}

function specOfDirectory(dir: string): TopologySpec {
  const path = topologyFilePath(dir)!;
  const root = join(path, '..');
  const file = readTopologyFile(path);
  const users = readUsers(join(root, 'secrets.json'));
  const notes: Finding[] = [];
  const user = users.ops === undefined ? 'monitor' : 'ops';
  if (user === 'monitor') notes.push(noOpsUser('up --topology'));
  const node = (p: { name: string; host: string; port: number }, sentinel: boolean): TopologyNodeSpec => {
    const paths = nodePaths(root, p.name, sentinel);
    const credentials = sentinel ? { password: users[SENTINEL_SECRET] } : { username: user, password: users[user] };
    return {
      name: p.name,
      address: { host: p.host, port: p.port },
      sentinel,
      endpoint: endpointOf({ host: p.host, port: p.port }, credentials),
      dir: { root: paths.dir, log: paths.log, data: paths.data, conf: paths.conf },
    };
  };
  const nodes = [...(file.nodes ?? []).map((n) => node(n, false)), ...(file.sentinels ?? []).map((s) => node(s, true))];
  if (nodes.length === 0) throw new UsageError(`${path} names no nodes; run \`up --topology ${file.kind}\` again`);
  return { kind: file.kind, target: root, masterName: file.masterName, nodes, notes };
}

function readUsers(file: string): Record<string, string> {
  return existsSync(file) ? readSecrets(file).users : {};
}

const text = (a: NodeAddress): string => `${a.host}:${a.port}`;

/** Examines every node at once and judges the topology from what they said. */
export async function runTopologyDoctor(spec: TopologySpec, options: { timeoutMs: number; host?: boolean }): Promise<TopologyDoctorReport> {
  const examined = await Promise.all(
    spec.nodes.map(async (n) => {
      const { report, facts } = await examine(n.endpoint, {
        target: `${n.name} ${text(n.address)}`,
        dir: n.dir && existsSync(n.dir.root) ? n.dir : undefined,
        local: n.dir !== undefined || isLoopbackHost(n.address.host),
        timeoutMs: options.timeoutMs,
        host: options.host,
      });
      return { spec: n, report, facts };
    }),
  );
  const nodes: NodeReport[] = examined.map((e) => ({ ...e.report, name: e.spec.name, address: text(e.spec.address) }));
  const seen = examined.map((e) => ({ name: e.spec.name, address: text(e.spec.address), sentinel: e.spec.sentinel, facts: e.facts }));
  const findings = [...spec.notes, ...(spec.kind === 'sentinel' ? sentinelTopologyChecks(seen, spec.masterName) : clusterTopologyChecks(seen))];
  const worst = Math.max(exitCodeOf(findings, 'connected'), ...nodes.map((n) => n.exitCode)) as 0 | 1 | 2;
  return { kind: spec.kind, target: spec.target, ...(spec.masterName ? { masterName: spec.masterName } : {}), nodes, findings, exitCode: worst };
}

/** What one node said, for the topology checks (no facts: it could not be read). */
export interface SeenNode {
  name: string;
  address: string;
  sentinel: boolean;
  facts?: ServerFacts;
}

/** One master among the data nodes; every replica linked to it; the Sentinels naming it. Pure. */
export function sentinelTopologyChecks(seen: readonly SeenNode[], masterName = 'mymaster'): Finding[] {
  const data = seen.filter((n) => !n.sentinel && n.facts);
  const masters = data.filter((n) => n.facts!.info.role === 'master');
  const out: Finding[] = [];
  const roles = data.map((n) => `${n.name} ${n.facts!.info.role}`).join(', ') || 'no data node answered';
  if (masters.length === 1) out.push(finding('topology.masters', 'ok', 'exactly one master', roles, 'one data node has role:master'));
  else
    out.push(
      finding(
        'topology.masters',
        'critical',
        masters.length === 0
          ? 'no data node is a master: writes fail until Sentinel promotes one'
          : `${masters.length} data nodes are masters (split brain): writes to the wrong one will be lost`,
        roles,
        'one data node has role:master',
        masters.length === 0
          ? 'check the Sentinels (`SENTINEL MASTERS`): a failover in progress, or too few Sentinels to agree'
          : "make the ones the Sentinels do not name replicas again (`REPLICAOF <master> <port>`); the Sentinels' master is the one to keep",
      ),
    );
  const master = masters.length === 1 ? masters[0]!.address : undefined;
  const unlinked = data.filter(
    (n) =>
      n.facts!.info.role === 'slave' &&
      (n.facts!.info.master_link_status !== 'up' || (master && `${n.facts!.info.master_host}:${n.facts!.info.master_port}` !== master)),
  );
  const replicas = data.filter((n) => n.facts!.info.role === 'slave');
  out.push(
    unlinked.length === 0
      ? finding(
          'topology.replicas',
          'ok',
          `${replicas.length} replica(s) linked to the master`,
          replicaEvidence(replicas),
          'every replica: master_link_status:up, of the master',
        )
      : finding(
          'topology.replicas',
          'warning',
          `${unlinked.length} replica(s) not linked to the master: a failover could promote stale data`,
          replicaEvidence(unlinked),
          'every replica: master_link_status:up, of the master',
          "check the replica's log and that the replica user's password matches (masterauth)",
        ),
  );
  const sentinels = seen.filter((n) => n.sentinel && n.facts);
  const named = sentinels.map((n) => ({ name: n.name, master: sentinelMaster(n.facts!, masterName) }));
  const distinct = new Set(named.map((n) => n.master ?? '?'));
  const evidence = named.map((n) => `${n.name}: ${n.master ?? 'unknown'}`).join(', ') || 'no Sentinel answered';
  const agree = distinct.size === 1 && !distinct.has('?') && (master === undefined || distinct.has(master));
  out.push(
    agree && sentinels.length >= 2
      ? finding('topology.sentinels', 'ok', `${sentinels.length} Sentinels name the master`, evidence, 'every Sentinel names the data nodes’ master')
      : finding(
          'topology.sentinels',
          'critical',
          sentinels.length < 2 ? `${sentinels.length} Sentinel(s) answered: no failover can be agreed` : 'the Sentinels do not agree on the master',
          evidence,
          'every Sentinel names the data nodes’ master',
          'start the missing Sentinels; check that they reach one another and the data nodes (`SENTINEL CKQUORUM`)',
        ),
  );
  return out;
}

function replicaEvidence(nodes: readonly SeenNode[]): string {
  return (
    nodes.map((n) => `${n.name}: of ${n.facts!.info.master_host}:${n.facts!.info.master_port}, link ${n.facts!.info.master_link_status}`).join('; ') || 'none'
  );
}

/** The master address a Sentinel's INFO names for `masterName` (`masterN:name=...,address=host:port`). */
function sentinelMaster(facts: ServerFacts, masterName: string): string | undefined {
  for (const [key, value] of Object.entries(facts.info)) {
    if (!/^master\d+$/.test(key)) continue;
    const fields = infoFields(value);
    if (fields.get('name') === masterName) return fields.get('address');
  }
  return undefined;
}

/** An INFO value made of `key=value` pairs separated by commas (`masterN`, `slaveN`). */
function infoFields(value: string): Map<string, string> {
  return new Map(value.split(',').map((kv) => kv.split('=') as [string, string]));
}

/** Every node agrees the cluster is ok; every master has a replica; all 16384 slots served. Pure. */
export function clusterTopologyChecks(seen: readonly SeenNode[]): Finding[] {
  const data = seen.filter((n) => n.facts?.cluster);
  const out: Finding[] = [];
  const states = data.map((n) => `${n.name} ${n.facts!.cluster!.cluster_state}`).join(', ') || 'no node answered';
  const notOk = data.filter((n) => n.facts!.cluster!.cluster_state !== 'ok');
  const missing = seen.length - data.length;
  out.push(
    notOk.length === 0 && missing === 0
      ? finding('topology.cluster-state', 'ok', `all ${data.length} nodes say cluster_state:ok`, states, 'every node: cluster_state:ok')
      : finding(
          'topology.cluster-state',
          'critical',
          `${notOk.length + missing} of ${seen.length} nodes are not in an ok cluster${missing ? ` (${missing} did not answer)` : ''}`,
          states,
          'every node: cluster_state:ok',
          'bring the failed nodes back (their nodes.conf keeps their identity); `redis-cli --cluster check` shows the slots that are not served',
        ),
  );
  const masters = data.filter((n) => n.facts!.info.role === 'master');
  const unreachable = new Map(seen.filter((n) => !n.sentinel && !n.facts).map((n) => [n.address, n.name]));
  const counted = masters.map((n) => ({ node: n, ...liveReplicas(n.facts!.info, unreachable) }));
  const lonely = counted.filter((c) => c.live === 0);
  const evidence =
    counted.map((c) => `${c.node.name}: ${c.live} replica(s)${c.gone.length ? ` (${c.gone.join(', ')} listed but unreachable)` : ''}`).join(', ') ||
    'no master answered';
  out.push(
    lonely.length === 0
      ? finding(
          'topology.cluster-replicas',
          'ok',
          `every master (${masters.length}) has a replica`,
          evidence,
          'every master lists a replica (slaveN) that answered',
        )
      : finding(
          'topology.cluster-replicas',
          'warning',
          `${lonely.length} master(s) without a replica: losing one loses its slots`,
          evidence,
          'every master lists a replica (slaveN) that answered',
          'add a replica to each (`redis-cli --cluster add-node NEW EXISTING --cluster-slave`), or restart the one that failed',
        ),
  );
  return out;
}

/**
 * A master's replicas that may still serve: those its INFO lists (`slaveN:ip=..,port=..`, one per
 * connected replica), less those this run found unreachable (by address, to their names). A master
 * notices a killed replica only when its socket closes, which can come after our look (27-83 ms after
 * SIGKILL on an idle host); a replica listed under an address we did not examine counts, as the
 * master says.
 */
function liveReplicas(info: Readonly<Record<string, string>>, unreachable: ReadonlyMap<string, string>): { live: number; gone: string[] } {
  const listed = Object.entries(info)
    .filter(([key]) => /^slave\d+$/.test(key))
    .map(([, value]) => infoFields(value))
    .map((fields) => `${fields.get('ip')}:${fields.get('port')}`);
  const gone = listed.filter((address) => unreachable.has(address)).map((address) => unreachable.get(address)!);
  return { live: listed.length - gone.length, gone };
}
