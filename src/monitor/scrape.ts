/**
 * One scrape of one server, as redis_exporter 1.45 does it (CONFIG GET of four settings, INFO ALL,
 * LATENCY LATEST, SLOWLOG), over one authenticated connection kept between scrapes, every scrape
 * bounded by a deadline. A failed scrape is data: `redis_up 0` and the error as a label, never a
 * thrown error; the connection is dropped and opened again by the next scrape.
 */
import { openConnection, type RedisConnection } from '../connect/client.js';
import type { Endpoint } from '../connect/url.js';
import { NAMESPACE, helpFor } from './exporter-fields.js';
import { addInfoMetrics, type InfoFacts } from './info-metrics.js';
import { MetricSet } from './metric-set.js';
import { addSentinelDetails } from './sentinel-metrics.js';

export interface ScraperOptions {
  /** the deadline of one scrape, connecting included (default 5 s) */
  timeoutMs?: number;
  /** databases and io-threads when CONFIG GET is not allowed (the `monitor` user may not read config) */
  databases?: number;
  ioThreads?: number;
  /** the version label of redis_exporter_build_info */
  version?: string;
  now?: () => number;
  /** the target is a Sentinel: also ask it of each master it watches (quorum, peers), as the exporter does */
  sentinel?: boolean;
  /** metrics of our own added to every scrape (key families, backups): from memory, never a command */
  extra?: (set: MetricSet, nowMs: number) => void;
}

/** A slow log entry as the dashboard shows it: the command's name, never its arguments. */
export interface SlowEntry {
  id: number;
  at: number;
  microseconds: number;
  command: string;
}

export interface LatencyEvent {
  event: string;
  at: number;
  latestMs: number;
  maxMs: number;
}

export interface ScrapeResult {
  set: MetricSet;
  /** INFO's fields when the scrape reached the server */
  info?: InfoFacts;
  error?: string;
  seconds: number;
  /** the newest slow log entries (up to 10) and latency events */
  slowlog: SlowEntry[];
  latency: LatencyEvent[];
  /** when the scrape started (ms since the epoch) */
  at: number;
}

interface Collected {
  facts: InfoFacts;
  slowlog: SlowEntry[];
  latency: LatencyEvent[];
}

export class RedisScraper {
  private connection: RedisConnection | undefined;
  /** false once CONFIG GET was refused: not asked again */
  private configAllowed = true;
  private slowlogGetAllowed = true;
  private scrapes = 0;
  private durationSum = 0;
  /** HTTP requests the server could not answer (counted by the HTTP side) */
  requestErrors = 0;

  /** where the open connection goes (a topology's master moves: the connection follows it) */
  private connectedTo = '';

  /** `endpoint`: a server, or a function naming the server of the moment (a topology's master) */
  constructor(
    private readonly endpoint: Endpoint | (() => Endpoint),
    private readonly options: ScraperOptions = {},
  ) {}

  /** the server the next scrape reaches, as host:port */
  target(): string {
    const e = this.current();
    return `${e.host}:${e.port}`;
  }

  private current(): Endpoint {
    return typeof this.endpoint === 'function' ? this.endpoint() : this.endpoint;
  }

  /** the connection to the server of the moment (opened again when the server moved) */
  private async client(timeoutMs: number): Promise<RedisConnection> {
    const endpoint = this.current();
    const where = `${endpoint.host}:${endpoint.port}`;
    if (this.connection && this.connectedTo !== where) this.drop();
    this.connectedTo = where;
    return (this.connection ??= await openConnection(endpoint, { connectTimeoutMs: timeoutMs }));
  }

  async scrape(): Promise<ScrapeResult> {
    const now = this.options.now ?? Date.now;
    const started = now();
    const set = new MetricSet(helpFor);
    this.scrapes++;
    let collected: Collected | undefined;
    let error: string | undefined;
    try {
      collected = await withDeadline(this.options.timeoutMs ?? 5000, () => this.collect(set, now));
    } catch (e) {
      error = (e as Error).message || String(e);
      this.drop();
    }
    set.gauge(`${NAMESPACE}_exporter_last_scrape_error`, error === undefined ? 0 : 1, { err: error ?? '' });
    set.gauge(`${NAMESPACE}_up`, error === undefined ? 1 : 0);
    const seconds = (now() - started) / 1000;
    this.durationSum += seconds;
    set.summary(`${NAMESPACE}_exporter_scrape_duration_seconds`, { labels: {}, count: this.scrapes, sum: this.durationSum, quantiles: [] });
    set.gauge(`${NAMESPACE}_exporter_last_scrape_duration_seconds`, seconds);
    set.counter(`${NAMESPACE}_exporter_scrapes_total`, this.scrapes);
    set.counter(`${NAMESPACE}_target_scrape_request_errors_total`, this.requestErrors);
    set.gauge(`${NAMESPACE}_exporter_build_info`, 1, { version: this.options.version ?? '', commit_sha: '', build_date: '', golang_version: process.version });
    this.options.extra?.(set, now());
    return { set, info: collected?.facts, error, seconds, slowlog: collected?.slowlog ?? [], latency: collected?.latency ?? [], at: started };
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection) await connection.quit().catch(() => connection.destroy());
  }

  /**
   * Background work on the scrape's connection (the key-family sampler), under the same deadline;
   * a failure drops the connection like a failed scrape does.
   */
  async withClient<T>(work: (client: RedisConnection) => Promise<T>): Promise<T> {
    const timeoutMs = this.options.timeoutMs ?? 5000;
    try {
      return await withDeadline(timeoutMs, async () => work(await this.client(timeoutMs)));
    } catch (error) {
      this.drop();
      throw error;
    }
  }

  private drop(): void {
    const connection = this.connection;
    this.connection = undefined;
    try {
      connection?.destroy();
    } catch {
      // already closed
    }
  }

  private async collect(set: MetricSet, now: () => number): Promise<Collected> {
    const connectStarted = now();
    const client = await this.client(this.options.timeoutMs ?? 5000);
    set.gauge(`${NAMESPACE}_exporter_last_scrape_connect_time_seconds`, (now() - connectStarted) / 1000);
    // every command at once: node-redis pipelines what is sent in one tick, so a scrape costs one round trip
    const [config, info, latencyReply, slowlogLength, slowlogReply] = await Promise.all([
      this.config(client),
      client.info('all'),
      refusable(client.sendCommand(['LATENCY', 'LATEST'])),
      refusable(client.sendCommand(['SLOWLOG', 'LEN'])),
      // the exporter asks for one entry; the dashboard shows ten (their command names only)
      this.slowlogGetAllowed ? refusable(client.sendCommand(['SLOWLOG', 'GET', '10'])) : Promise.resolve(REFUSED),
    ]);
    const facts = addInfoMetrics(set, info, {
      databases: Number(config.get('databases') ?? this.options.databases ?? 16),
      nowSeconds: Math.floor(now() / 1000),
    });
    addConfigMetrics(set, config, facts.fields, this.options);
    if (this.options.sentinel) await addSentinelDetails(set, client, facts.fields);
    const latency = latencyReply === REFUSED ? [] : addLatencyMetrics(set, latencyReply);
    if (slowlogLength !== REFUSED) set.gauge(`${NAMESPACE}_slowlog_length`, Number(slowlogLength));
    if (slowlogReply === REFUSED) this.slowlogGetAllowed = false;
    const slowlog = slowlogReply === REFUSED ? [] : addSlowlogMetrics(set, slowlogReply);
    set.gauge(`${NAMESPACE}_last_key_groups_scrape_duration_milliseconds`, 0);
    return { facts, slowlog, latency };
  }

  private async config(client: RedisConnection): Promise<Map<string, string>> {
    if (!this.configAllowed) return new Map();
    try {
      const reply = (await client.sendCommand(['CONFIG', 'GET', 'databases', 'maxmemory', 'maxclients', 'io-threads'])) as unknown;
      return pairs(reply);
    } catch (e) {
      if (!isRefusal(e)) throw e;
      this.configAllowed = false;
      return new Map();
    }
  }
}

const REFUSED = Symbol('refused');

/** a command's reply, or REFUSED when the server said no (ACL, or a command it lacks) */
async function refusable(reply: Promise<unknown>): Promise<unknown> {
  try {
    return await reply;
  } catch (e) {
    if (isRefusal(e)) return REFUSED;
    throw e;
  }
}

function addSlowlogMetrics(set: MetricSet, reply: unknown): SlowEntry[] {
  const entries = slowEntries(reply);
  set.gauge(`${NAMESPACE}_slowlog_last_id`, entries[0]?.id ?? 0);
  set.gauge(`${NAMESPACE}_last_slow_execution_duration_seconds`, (entries[0]?.microseconds ?? 0) / 1e6);
  return entries;
}

/** [id, unix time, microseconds, [command, args...], ...] entries -> their name and timing only */
export function slowEntries(reply: unknown): SlowEntry[] {
  if (!Array.isArray(reply)) return [];
  const out: SlowEntry[] = [];
  for (const entry of reply as unknown[]) {
    if (!Array.isArray(entry) || entry.length < 4) continue;
    const args = entry[3];
    const command = Array.isArray(args) && args.length > 0 ? String(args[0]).slice(0, 40).toLowerCase() : '?';
    out.push({ id: Number(entry[0]), at: Number(entry[1]), microseconds: Number(entry[2]), command });
  }
  return out;
}

/** config_io_threads, config_maxclients, config_maxmemory: from CONFIG GET, else INFO and the model */
function addConfigMetrics(set: MetricSet, config: ReadonlyMap<string, string>, info: ReadonlyMap<string, string>, options: ScraperOptions): void {
  const ioThreads = config.get('io-threads') ?? String(options.ioThreads ?? 1);
  const maxclients = config.get('maxclients') ?? info.get('maxclients');
  const maxmemory = config.get('maxmemory') ?? info.get('maxmemory');
  set.gauge(`${NAMESPACE}_config_io_threads`, Number(ioThreads));
  if (maxclients !== undefined) set.gauge(`${NAMESPACE}_config_maxclients`, Number(maxclients));
  if (maxmemory !== undefined) set.gauge(`${NAMESPACE}_config_maxmemory`, Number(maxmemory));
}

function addLatencyMetrics(set: MetricSet, reply: unknown): LatencyEvent[] {
  if (!Array.isArray(reply)) return [];
  const events: LatencyEvent[] = [];
  for (const event of reply as unknown[]) {
    if (!Array.isArray(event) || event.length < 4) continue;
    const name = String(event[0]);
    set.gauge(`${NAMESPACE}_latency_spike_last`, Number(event[1]), { event_name: name });
    set.gauge(`${NAMESPACE}_latency_spike_duration_seconds`, Number(event[2]) / 1e3, { event_name: name });
    events.push({ event: name, at: Number(event[1]), latestMs: Number(event[2]), maxMs: Number(event[3]) });
  }
  return events;
}

/** a flat [k, v, k, v] reply (RESP2) or a map (RESP3) as a Map of strings */
export function pairs(reply: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (Array.isArray(reply)) for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), String(reply[i + 1]));
  else if (reply && typeof reply === 'object') for (const [k, v] of Object.entries(reply)) out.set(k, String(v));
  return out;
}

/** the server said no (ACL, or a command it does not have): not a failed scrape */
export function isRefusal(error: unknown): boolean {
  return /^(NOPERM|ERR unknown command|ERR unknown subcommand)/.test((error as Error)?.message ?? '');
}

class ScrapeTimeout extends Error {}

async function withDeadline<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ScrapeTimeout(`scrape did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
