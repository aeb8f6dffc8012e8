/**
 * Which processes a monitor may scrape besides its main target: every data node and Sentinel of the
 * topology it watches, from `--dir` (topology.json and the deployment's secrets: data nodes as the
 * `monitor` user, Sentinels with their own password, the one `status` uses) or from `--sentinel`/
 * `--master-name` or `--cluster` with the flags' credentials. More members are learned from the live
 * topology (topology-watch.ts); nothing else is ever a target.
 */
import { readSecrets, requireDeploymentDir, type Endpoint } from '../connect/index.js';
import {
  endpointOf,
  readTopologyFile,
  topologyFilePath,
  topologyFromOptions,
  type NodeAddress,
  type TopologyOptions,
  type TopologyTarget,
} from '../connect/topology-target.js';
import { UsageError } from '../errors.js';

/** the secrets-file key of the Sentinels' own password (runtime/topology-layout.ts's SENTINEL_SECRET) */
const SENTINEL_SECRET = 'sentinel-auth';

export interface MemberSeed extends NodeAddress {
  name?: string;
  role?: 'master' | 'replica';
}

export interface TopologySource {
  kind: 'single' | 'sentinel' | 'cluster';
  masterName?: string;
  nodes: MemberSeed[];
  sentinels: MemberSeed[];
  dataEndpoint(address: NodeAddress): Endpoint;
  sentinelEndpoint(address: NodeAddress): Endpoint;
  /** how to ask the Sentinels for the master (Sentinel topologies) */
  sentinelTarget?: Extract<TopologyTarget, { kind: 'sentinel' }>;
}

/** One server: the monitor's `--url` (or a single deployment); its only member. */
export function singleSource(endpoint: Endpoint): TopologySource {
  return {
    kind: 'single',
    nodes: [{ host: endpoint.host, port: endpoint.port }],
    sentinels: [],
    dataEndpoint: (a) => ({ ...endpoint, host: a.host, port: a.port }),
    sentinelEndpoint: (a) => ({ ...endpoint, host: a.host, port: a.port }),
  };
}

/** The topology of a deployment directory made by `up --topology`, or undefined for a single server. */
export function deploymentSource(dir: string): TopologySource | undefined {
  const paths = requireDeploymentDir(dir);
  const path = topologyFilePath(paths.root);
  if (!path) return undefined;
  const file = readTopologyFile(path);
  const users = readSecrets(paths.secrets).users;
  const password = users.monitor;
  if (password === undefined)
    throw new UsageError(
      `${paths.secrets} holds no password for the "monitor" user; the model needs an enabled "monitor" user (the neurallog profile has one)`,
    );
  const data = { username: 'monitor', password };
  const sentinelLogin = { password: users[SENTINEL_SECRET] };
  const nodes = (file.nodes ?? []).map(({ name, host, port, role }) => ({ name, host, port, role }));
  const sentinels = (file.sentinels ?? []).map(({ name, host, port }) => ({ name, host, port }));
  const masterName = file.masterName;
  return {
    kind: file.kind,
    ...(masterName !== undefined ? { masterName } : {}),
    nodes,
    sentinels,
    dataEndpoint: (a) => endpointOf(a, data),
    sentinelEndpoint: (a) => endpointOf(a, sentinelLogin),
    ...(file.kind === 'sentinel' && masterName !== undefined
      ? { sentinelTarget: { kind: 'sentinel', masterName, sentinels, credentials: data, sentinelCredentials: sentinelLogin } }
      : {}),
  };
}

/** `--sentinel ... --master-name` or `--cluster` seeds; undefined when the flags name no topology. */
export function flagSource(options: TopologyOptions): TopologySource | undefined {
  const target = topologyFromOptions({ ...options, dir: undefined }, 'monitor');
  if (!target) return undefined;
  if (target.kind === 'cluster')
    return {
      kind: 'cluster',
      nodes: target.seeds,
      sentinels: [],
      dataEndpoint: (a) => endpointOf(a, target.credentials),
      sentinelEndpoint: (a) => endpointOf(a, target.credentials),
    };
  return {
    kind: 'sentinel',
    masterName: target.masterName,
    nodes: [],
    sentinels: target.sentinels,
    dataEndpoint: (a) => endpointOf(a, target.credentials),
    sentinelEndpoint: (a) => endpointOf(a, target.sentinelCredentials),
    sentinelTarget: target,
  };
}
