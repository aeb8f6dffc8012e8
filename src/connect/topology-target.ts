/**
 * Where a command connects when the data lives in a topology: `--sentinel host:port[,...]
 * --master-name NAME` (ask the Sentinels where the master and its replicas are) or `--cluster
 * host:port[,...]` (ask a seed node for the slot map), or `--dir` of a deployment whose
 * `topology.json` (written by `up --topology`) says which. Data nodes are reached with the same
 * credentials as `--url` (a user from `--user`, a password from --password-file or the environment);
 * Sentinels with their own (--sentinel-password-file or NEURALLOG_REDIS_SENTINEL_PASSWORD), or none.
 * Every question has a deadline: a Sentinel or seed that does not answer in time is passed over.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConnectionError, UsageError } from '../errors.js';
import { closeConnection, openConnection, parseInfo, type RedisConnection } from './client.js';
import type { SlotRange } from './hash-slot.js';
import { PASSWORD_ENV, readPasswordFile } from './password-file.js';
import { formatRedisUrl, type Endpoint } from './url.js';

export const SENTINEL_PASSWORD_ENV = 'NEURALLOG_REDIS_SENTINEL_PASSWORD';
/** The secrets-file key of a deployment's Sentinels' own password (their `requirepass`). */
export const SENTINEL_SECRET = 'sentinel-auth';
/** how long one Sentinel or seed node may take to connect and answer */
const ASK_MS = 5000;

export interface TopologyOptions {
  sentinel?: string;
  masterName?: string;
  cluster?: string;
  dir?: string;
  user?: string;
  passwordFile?: string;
  sentinelPasswordFile?: string;
}

export interface NodeAddress {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
}

export type TopologyTarget =
  | { kind: 'sentinel'; masterName: string; sentinels: NodeAddress[]; credentials: Credentials; sentinelCredentials: Credentials }
  | { kind: 'cluster'; seeds: NodeAddress[]; credentials: Credentials };

/** What `up --topology` writes beside the deployment (`topology.json`). */
export interface TopologyFile {
  kind: 'sentinel' | 'cluster';
  masterName?: string;
  sentinels?: Array<{ name: string; host: string; port: number; pid?: number }>;
  nodes?: Array<{ name: string; host: string; port: number; pid?: number; role: 'master' | 'replica' }>;
}

/** `host:port[,host:port...]` of a flag; the port is required (no default port guesses a topology). */
export function parseSeeds(text: string, flag: string): NodeAddress[] {
  const seeds = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(s);
      const port = m ? Number(m[2]) : 0;
      if (!m || port < 1 || port > 65535) throw new UsageError(`${flag} takes host:port[,host:port...], not "${s}"`);
      return { host: m[1]!, port };
    });
  if (seeds.length === 0) throw new UsageError(`${flag} takes host:port[,host:port...]`);
  return seeds;
}

/**
 * The topology the options name, or undefined when they name none (then `--url`/`--dir` mean a single
 * server as before). `role`: the deployment user for `--dir` (backup, admin, ...; a target.ts Role).
 */
export function topologyFromOptions(options: TopologyOptions, role: string): TopologyTarget | undefined {
  if (options.sentinel && options.cluster) throw new UsageError('give either --sentinel or --cluster, not both');
  if (options.masterName && !options.sentinel) throw new UsageError('--master-name goes with --sentinel host:port[,...]');
  if (options.sentinel) {
    if (!options.masterName) throw new UsageError('--sentinel needs --master-name NAME: the name the Sentinels monitor the master by (e.g. mymaster)');
    return {
      kind: 'sentinel',
      masterName: options.masterName,
      sentinels: parseSeeds(options.sentinel, '--sentinel'),
      credentials: flagCredentials(options),
      sentinelCredentials: sentinelCredentials(options),
    };
  }
  if (options.cluster) return { kind: 'cluster', seeds: parseSeeds(options.cluster, '--cluster'), credentials: flagCredentials(options) };
  return options.dir ? topologyOfDeployment(options.dir, role, options) : undefined;
}

function flagCredentials(options: TopologyOptions): Credentials {
  const password = options.passwordFile ? readPasswordFile(options.passwordFile) : process.env[PASSWORD_ENV];
  return { username: options.user, password };
}

function sentinelCredentials(options: TopologyOptions): Credentials {
  const password = options.sentinelPasswordFile ? readPasswordFile(options.sentinelPasswordFile) : process.env[SENTINEL_PASSWORD_ENV];
  return { password: password || undefined };
}

/** The topology file of a deployment directory: `<dir>/topology.json` or `<dir>/.neurallog-redis/topology.json`. */
export function topologyFilePath(dir: string): string | undefined {
  return [join(dir, 'topology.json'), join(dir, '.neurallog-redis', 'topology.json')].map((p) => resolve(p)).find((p) => existsSync(p));
}

function topologyOfDeployment(dir: string, role: string, options: TopologyOptions): TopologyTarget | undefined {
  const path = topologyFilePath(dir);
  if (!path) return undefined;
  const file = readTopologyFile(path);
  const secretsPath = join(path, '..', 'secrets.json');
  let password: string | undefined;
  let sentinelPassword: string | undefined;
  if (existsSync(secretsPath)) {
    const users = (JSON.parse(readFileSync(secretsPath, 'utf8')) as { users?: Record<string, string> }).users ?? {};
    password = users[role];
    sentinelPassword = users[SENTINEL_SECRET];
  }
  const credentials: Credentials = password !== undefined ? { username: role, password } : flagCredentials(options);
  if (file.kind === 'sentinel') {
    const sentinels = (file.sentinels ?? []).map(({ host, port }) => ({ host, port }));
    if (sentinels.length === 0 || !file.masterName) throw new UsageError(`${path} names no Sentinels or no master name; run \`up --topology sentinel\` again`);
    // the deployment's own Sentinels take the password `up` gave them (flags and environment otherwise)
    const sentinelAuth = sentinelPassword !== undefined ? { password: sentinelPassword } : sentinelCredentials(options);
    return { kind: 'sentinel', masterName: file.masterName, sentinels, credentials, sentinelCredentials: sentinelAuth };
  }
  const seeds = (file.nodes ?? []).map(({ host, port }) => ({ host, port }));
  if (seeds.length === 0) throw new UsageError(`${path} names no cluster nodes; run \`up --topology cluster\` again`);
  return { kind: 'cluster', seeds, credentials };
}

export function readTopologyFile(path: string): TopologyFile {
  let data: TopologyFile;
  try {
    data = JSON.parse(readFileSync(path, 'utf8')) as TopologyFile;
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (data?.kind !== 'sentinel' && data?.kind !== 'cluster') throw new UsageError(`${path}: "kind" is neither "sentinel" nor "cluster"`);
  return data;
}

export function endpointOf(address: NodeAddress, credentials: Credentials): Endpoint {
  return { host: address.host, port: address.port, tls: false, db: 0, username: credentials.username, password: credentials.password };
}

/** Resolves `promise` or rejects after `ms` with a timeout naming `what`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ConnectionError(`no answer from ${what} within ${Math.round(ms / 1000)} s`, 'E_TIMEOUT')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connects to `address`, runs `ask`, closes; the whole within ASK_MS. */
export async function askNode<T>(address: NodeAddress, credentials: Credentials, ask: (client: RedisConnection) => Promise<T>): Promise<T> {
  const endpoint = endpointOf(address, credentials);
  // no client name: CLIENT SETNAME is one more right a least-privileged user would need
  const client = await openConnection(endpoint, { connectTimeoutMs: ASK_MS });
  try {
    return await withDeadline(ask(client), ASK_MS, formatRedisUrl({ ...endpoint, password: undefined }));
  } finally {
    await closeConnection(client);
  }
}

export interface SentinelReplica {
  address: NodeAddress;
  /** Sentinel's flags for it (slave, s_down, disconnected, ...) */
  flags: string[];
  /** Sentinel's master-link-status is "ok" */
  linkOk: boolean;
  offset: number;
}

export interface SentinelView {
  master: NodeAddress;
  replicas: SentinelReplica[];
  /** the Sentinel that answered */
  answeredBy: NodeAddress;
}

/**
 * Asks the Sentinels in order for the master and replicas of `masterName`; the first that knows the
 * master answers. None answering, or none knowing the name, is an error that says which.
 */
export async function askSentinels(target: Extract<TopologyTarget, { kind: 'sentinel' }>): Promise<SentinelView> {
  const failures: string[] = [];
  let unknown = 0;
  for (const sentinel of target.sentinels) {
    try {
      const view = await askNode(sentinel, target.sentinelCredentials, async (client) => {
        const addr = await client.sendCommand<string[] | null>(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', target.masterName]);
        if (!addr) return undefined;
        const replicas = await client.sendCommand<string[][]>(['SENTINEL', 'REPLICAS', target.masterName]);
        return { master: { host: addr[0]!, port: Number(addr[1]) }, replicas: replicas.map(sentinelReplica), answeredBy: sentinel };
      });
      if (view) return view;
      unknown++;
    } catch (error) {
      if (isRefusal(error)) throw error;
      failures.push(`${sentinel.host}:${sentinel.port}: ${(error as Error).message}`);
    }
  }
  if (unknown > 0)
    throw new UsageError(
      `no Sentinel knows a master named "${target.masterName}" (${unknown} answered${failures.length ? `; ${failures.join('; ')}` : ''}); check --master-name against \`sentinel monitor <name>\` in the Sentinels' config`,
      'E_SENTINEL_NO_MASTER',
    );
  throw new ConnectionError(`no Sentinel answered (${failures.join('; ')}); check --sentinel host:port and that the Sentinels run`, 'E_SENTINEL_UNREACHABLE');
}

/** A node that answered and refused us (credentials, rights): asking the next would fail alike. */
function isRefusal(error: unknown): boolean {
  return error instanceof ConnectionError && ['E_AUTH', 'E_NOPERM', 'E_DENIED'].includes(error.code);
}

function sentinelReplica(flat: string[]): SentinelReplica {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), String(flat[i + 1]));
  return {
    address: { host: fields.get('ip') ?? '', port: Number(fields.get('port') ?? 0) },
    flags: (fields.get('flags') ?? '').split(','),
    linkOk: fields.get('master-link-status') === 'ok',
    offset: Number(fields.get('slave-repl-offset') ?? 0),
  };
}

export interface ClusterShard {
  /** the master's node id */
  id: string;
  master: NodeAddress;
  replicas: Array<{ id: string; address: NodeAddress }>;
  slots: SlotRange[];
}

/**
 * The cluster's shards from the first seed that answers CLUSTER SLOTS, ordered by first slot. A seed
 * that is not a cluster node, or a cluster whose slots are not all served, is refused.
 */
export async function askCluster(
  seeds: readonly NodeAddress[],
  credentials: Credentials,
  options: { requireFullCoverage?: boolean } = {},
): Promise<ClusterShard[]> {
  const failures: string[] = [];
  for (const seed of seeds) {
    let reply: unknown[];
    try {
      reply = await askNode(seed, credentials, async (client) => {
        const notCluster = () =>
          new UsageError(`${seed.host}:${seed.port} is not a cluster node (cluster-enabled no); use --url or --sentinel for it`, 'E_USAGE');
        // the app user may not run INFO (@dangerous) but may ask the slot map, as cluster clients do
        const info = await client.info('cluster').catch((error: Error) => (/^NOPERM/.test(error.message) ? undefined : Promise.reject(error)));
        if (info !== undefined && parseInfo(info).cluster_enabled !== '1') throw notCluster();
        return client
          .sendCommand<unknown[]>(['CLUSTER', 'SLOTS'])
          .catch((error: Error) => Promise.reject(/cluster support disabled/i.test(error.message) ? notCluster() : error));
      });
    } catch (error) {
      if (error instanceof UsageError || isRefusal(error)) throw error;
      failures.push(`${seed.host}:${seed.port}: ${(error as Error).message}`);
      continue;
    }
    const shards = shardsFromSlots(reply, seed);
    const covered = shards.reduce((n, s) => n + s.slots.reduce((m, [a, b]) => m + b - a + 1, 0), 0);
    if (shards.length === 0 || (options.requireFullCoverage !== false && covered < 16384))
      throw new ConnectionError(
        `the cluster at ${seed.host}:${seed.port} serves ${covered} of 16384 slots; wait until \`CLUSTER INFO\` says cluster_state:ok (or finish creating it)`,
        'E_CLUSTER_NOT_READY',
      );
    return shards;
  }
  throw new ConnectionError(`no cluster seed answered (${failures.join('; ')}); check --cluster host:port and that the nodes run`, 'E_CLUSTER_UNREACHABLE');
}

function shardsFromSlots(reply: unknown[], seed: NodeAddress): ClusterShard[] {
  const byId = new Map<string, ClusterShard>();
  const node = (n: unknown[]) => ({ host: String(n[0]) || seed.host, port: Number(n[1]), id: String(n[2]) });
  for (const range of reply as unknown[][]) {
    const master = node(range[2] as unknown[]);
    let shard = byId.get(master.id);
    if (!shard) {
      shard = {
        id: master.id,
        master: { host: master.host, port: master.port },
        replicas: (range.slice(3) as unknown[][]).map((r) => {
          const n = node(r);
          return { id: n.id, address: { host: n.host, port: n.port } };
        }),
        slots: [],
      };
      byId.set(master.id, shard);
    }
    shard.slots.push([Number(range[0]), Number(range[1])]);
  }
  const shards = [...byId.values()];
  for (const s of shards) s.slots.sort((a, b) => a[0] - b[0]);
  return shards.sort((a, b) => a.slots[0]![0] - b.slots[0]![0]);
}
