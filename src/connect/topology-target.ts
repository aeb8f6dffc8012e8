/**
 * Where a command connects when the data lives in a topology: `--sentinel host:port[,...]
 * --master-name NAME` (ask the Sentinels where the master and its replicas are) or `--cluster
 * host:port[,...]` (ask a seed node for the slot map), or `--dir` of a deployment whose
 * `topology.json` (written by `up --topology`) says which. Data nodes are reached with the same
 * credentials as `--url` (a user from `--user`, a password from --password-file or the environment);
 * Sentinels with their own (--sentinel-password-file or NEURALLOG_REDIS_SENTINEL_PASSWORD), or none.
 * Asking them (discover/) has a deadline per question: a Sentinel or seed that does not answer in time
 * is passed over.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConnectionError, UsageError } from '../errors.js';
import { PASSWORD_ENV, readPasswordFile } from './password-file.js';
import type { Endpoint } from './url.js';

export const SENTINEL_PASSWORD_ENV = 'NEURALLOG_REDIS_SENTINEL_PASSWORD';
/** The secrets-file key of a deployment's Sentinels' own password (their `requirepass`). */
export const SENTINEL_SECRET = 'sentinel-auth';

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

export interface Credentials {
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
