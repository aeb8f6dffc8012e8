/**
 * One node of a topology: its files, whether it runs, starting it, talking to it. Shared by `up`,
 * `down` and `status` of Sentinel and Cluster deployments (topology-up.ts, topology-status.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Deployment } from '../config/schema.js';
import { closeConnection, openConnection, parseInfo, type Endpoint, type RedisConnection } from '../connect/index.js';
import { findOnPath, judgePid } from '../host/index.js';
import { RuntimeError } from '../errors.js';
import { adminLogin, adminEndpointFor } from './admin-access.js';
import { startRedisServer, type StartedServer } from './redis-server.js';
import { nodePaths, SENTINEL_SECRET, type NodePaths, type TopologyProcess } from './topology-layout.js';

/** The pid of this node's own running process (judged as a single server's is: its cwd is the node's data/), or 0. */
export function livePid(root: string, node: TopologyProcess, sentinel = false): number {
  const paths = nodePaths(root, node.name, sentinel);
  for (const pid of [readPid(paths.pid), node.pid]) {
    if (pid && judgePid(pid, { data: paths.data, conf: paths.conf }).kind === 'ours') return pid;
  }
  return 0;
}

function readPid(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** A sibling program of the server binary (redis-sentinel next to redis-server, valkey-cli next to a valkey-server wrapper), else PATH's. */
export function siblingProgram(serverPath: string, tool: 'sentinel' | 'cli'): string {
  const name = basename(serverPath);
  const engine = /valkey/.test(name) ? 'valkey' : 'redis';
  const sibling = join(dirname(serverPath), name.replace(/-server$/, `-${tool}`));
  if (sibling !== serverPath && existsSync(sibling)) return sibling;
  const found = findOnPath(`${engine}-${tool}`);
  if (!found)
    throw new RuntimeError(
      `${engine}-${tool} is needed next to ${serverPath} or on PATH; install it (Debian: apt-get install ${engine}-${tool === 'cli' ? 'tools' : 'sentinel'})`,
      'E_MISSING_TOOL',
    );
  return found;
}

export function startNode(root: string, node: TopologyProcess, binary: string, sentinel = false): StartedServer {
  const paths: NodePaths = nodePaths(root, node.name, sentinel);
  return startRedisServer({
    server: binary,
    confPath: paths.conf,
    dataDir: paths.data,
    ...(sentinel ? {} : { aclPath: paths.acl }),
    pidPath: paths.pid,
    logPath: paths.log,
  });
}

/** The admin login on a data node. */
export function nodeEndpoint(model: Deployment, secrets: Readonly<Record<string, string>>, node: Pick<TopologyProcess, 'host' | 'port'>): Endpoint {
  const login = adminLogin(model, secrets);
  if (!login) throw new RuntimeError('the model has no user this tool can administer the nodes as (an enabled "admin" with a password)', 'E_NO_ADMIN');
  return adminEndpointFor(login, node.host, node.port);
}

/** A Sentinel's own login (its requirepass). */
export function sentinelEndpoint(secrets: Readonly<Record<string, string>>, node: Pick<TopologyProcess, 'host' | 'port'>): Endpoint {
  return { host: node.host, port: node.port, tls: false, db: 0, password: secrets[SENTINEL_SECRET] };
}

/**
 * One connection for `use`, with a deadline on the whole exchange (connect, commands, close): a node
 * that accepts and then stops answering (stopped with SIGSTOP, swapping) fails the caller's wait
 * instead of holding `up`, `status` or `down` for ever.
 */
export async function withConnection<T>(endpoint: Endpoint, use: (client: RedisConnection) => Promise<T>, connectTimeoutMs = 10_000): Promise<T> {
  const client = await openConnection(endpoint, { connectTimeoutMs });
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RuntimeError(`${endpoint.host}:${endpoint.port} did not answer within ${EXCHANGE_MS / 1000} s`, 'E_TIMEOUT')),
      EXCHANGE_MS,
    );
  });
  try {
    return await Promise.race([use(client), expired]);
  } finally {
    clearTimeout(timer);
    await Promise.race([closeConnection(client), new Promise<void>((resolve) => setTimeout(resolve, 1000).unref())]);
    try {
      client.destroy();
    } catch {
      // closed already
    }
  }
}

/** the deadline of one exchange with a node after its connection is open */
const EXCHANGE_MS = 15_000;

export async function command(client: RedisConnection, args: string[]): Promise<unknown> {
  return client.sendCommand(args);
}

export async function infoOf(endpoint: Endpoint, section = 'replication'): Promise<Record<string, string>> {
  return withConnection(endpoint, async (c) => parseInfo(String(await command(c, ['INFO', section]))));
}

/** A flat [field, value, ...] reply (SENTINEL MASTER, RESP2) as an object. */
export function pairs(reply: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}
