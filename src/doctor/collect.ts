/**
 * What doctor reads from the server, once, within the deadline: INFO ALL (parsed by connect/'s one
 * INFO parser), the settings the checks judge (CONFIG GET, refused for users without it: those checks
 * then say so), the slow log and latency events (parsed as the monitor parses them), CLUSTER INFO or
 * Sentinel's masters when the server is one, and whether an anonymous client gets in.
 */
import { closeConnection, openConnection, parseInfo, type RedisConnection } from '../connect/client.js';
import type { Endpoint } from '../connect/url.js';
import { identifyFromInfo, type EngineIdentity } from '../engine/identity.js';
import { isRefusal, pairs, slowEntries, type LatencyEvent, type SlowEntry } from '../monitor/scrape.js';

/** The settings the checks judge; one CONFIG GET, never `*` (that would also read masterauth). */
export const CONFIG_PARAMETERS = [
  'maxmemory',
  'maxmemory-policy',
  'maxmemory-clients',
  'save',
  'appendonly',
  'maxclients',
  'protected-mode',
  'bind',
  'enable-debug-command',
  'latency-monitor-threshold',
  'slowlog-log-slower-than',
  'slowlog-max-len',
  'tcp-backlog',
  'disable-thp',
  'repl-backlog-size',
  'min-replicas-max-lag',
  'dir',
  'logfile',
] as const;

export interface SentinelFacts {
  /** SENTINEL MASTERS, one record per master */
  masters: Record<string, string>[];
  /** SENTINEL CKQUORUM's answer per master name (the error text when not OK) */
  ckquorum: Record<string, string>;
}

export interface ServerFacts {
  info: Record<string, string>;
  identity: EngineIdentity;
  /** undefined when CONFIG GET was refused (configError says how) */
  config?: Record<string, string>;
  configError?: string;
  slowlog?: SlowEntry[];
  latency?: LatencyEvent[];
  cluster?: Record<string, string>;
  sentinel?: SentinelFacts;
  /** whether a client with no credentials is served (default user on and nopass) */
  anonymous: 'open' | 'closed' | 'unknown';
  /** the server's clock (INFO server `server_time_usec`), seconds */
  now: number;
}

/** The server's reply to a command, or the refusal's text (ACL, unknown command) as `refused`. */
async function tryCommand(connection: RedisConnection, args: string[]): Promise<{ reply?: unknown; refused?: string }> {
  try {
    return { reply: await connection.sendCommand(args) };
  } catch (error) {
    if (isRefusal(error)) return { refused: (error as Error).message };
    throw error;
  }
}

/** Whether INFO comes from a Sentinel (Redis: `redis_mode`, Valkey 8: `server_mode`). */
export function isSentinel(info: Readonly<Record<string, string>>): boolean {
  return (info.redis_mode ?? info.server_mode) === 'sentinel';
}

/** A bulk or simple string reply as text. */
export function replyText(reply: unknown): string {
  return typeof reply === 'string' ? reply : Buffer.isBuffer(reply) ? reply.toString('utf8') : '';
}

export function latencyEvents(reply: unknown): LatencyEvent[] {
  if (!Array.isArray(reply)) return [];
  return (reply as unknown[])
    .filter((e): e is unknown[] => Array.isArray(e) && e.length >= 4)
    .map((e) => ({ event: String(e[0]), at: Number(e[1]), latestMs: Number(e[2]), maxMs: Number(e[3]) }));
}

export async function collectFacts(connection: RedisConnection, endpoint: Endpoint, timeoutMs: number): Promise<ServerFacts> {
  const info = parseInfo(replyText(await connection.sendCommand(['INFO', 'ALL'])));
  const sentinelMode = isSentinel(info);
  const facts: ServerFacts = {
    info,
    identity: identifyFromInfo(info),
    anonymous: 'unknown',
    now: Number(info.server_time_usec ?? Date.now() * 1000) / 1e6,
  };
  if (sentinelMode) {
    facts.sentinel = await sentinelFacts(connection);
  } else {
    const config = await tryCommand(connection, ['CONFIG', 'GET', ...CONFIG_PARAMETERS]);
    if (config.refused) facts.configError = config.refused;
    else facts.config = Object.fromEntries(pairs(config.reply));
    const slowlog = await tryCommand(connection, ['SLOWLOG', 'GET', '128']);
    if (!slowlog.refused) facts.slowlog = slowEntries(slowlog.reply);
    const latency = await tryCommand(connection, ['LATENCY', 'LATEST']);
    if (!latency.refused) facts.latency = latencyEvents(latency.reply);
    if (info.cluster_enabled === '1') {
      const cluster = await tryCommand(connection, ['CLUSTER', 'INFO']);
      if (!cluster.refused) facts.cluster = parseInfo(replyText(cluster.reply));
    }
  }
  facts.anonymous = await anonymousAccess(endpoint, Math.min(timeoutMs, 2000));
  return facts;
}

async function sentinelFacts(connection: RedisConnection): Promise<SentinelFacts> {
  const reply = await tryCommand(connection, ['SENTINEL', 'MASTERS']);
  const masters = Array.isArray(reply.reply) ? (reply.reply as unknown[]).map((m) => Object.fromEntries(pairs(m))) : [];
  const ckquorum: Record<string, string> = {};
  for (const master of masters) {
    const name = master.name ?? '';
    try {
      ckquorum[name] = replyText(await connection.sendCommand(['SENTINEL', 'CKQUORUM', name]));
    } catch (error) {
      ckquorum[name] = (error as Error).message;
    }
  }
  return { masters, ckquorum };
}

/** Whether a client without credentials is served: PING on a connection of its own. */
async function anonymousAccess(endpoint: Endpoint, timeoutMs: number): Promise<ServerFacts['anonymous']> {
  const { username: _user, password: _password, ...anonymous } = endpoint;
  try {
    const connection = await openConnection(anonymous, { connectTimeoutMs: timeoutMs });
    await closeConnection(connection);
    return 'open';
  } catch (error) {
    return /NOAUTH|DENIED|WRONGPASS/.test(`${(error as Error).message} ${((error as Error).cause as Error)?.message ?? ''}`) ? 'closed' : 'unknown';
  }
}
