/**
 * INFO ALL -> metrics, by redis_exporter 1.45's rules, so that the same server gives the same metric
 * names, types, label values and values through either program: fields named in the field tables
 * (and any field starting with `db` or `cluster_`) become gauges or counters, "ok"/"true" count as 1
 * and "err"/"fail"/"false" as 0; sections with structured lines (Replication, Commandstats,
 * Latencystats, Errorstats, Keyspace, Sentinel) become labelled metrics. Pure: text in, metrics out.
 */
import { EXPORTER_1_45_FIELDS, LATER_FIELDS, NAMESPACE, type FieldKind } from './exporter-fields.js';
import type { MetricSet } from './metric-set.js';

const FIELDS = new Map<string, readonly [string, FieldKind]>(
  [...EXPORTER_1_45_FIELDS, ...LATER_FIELDS].map(([field, metric, kind]) => [field, [metric, kind]] as const),
);

const MASTER_HOST = /^master(_[0-9]+)?_host/;
const MASTER_PORT = /^master(_[0-9]+)?_port/;
const MASTER_LINK_STATUS = /^master(_[0-9]+)?_link_status/;
const MASTER_DIRECT = /^(master(_[0-9]+)?_(last_io_seconds_ago|sync_in_progress)|slave_repl_offset)/;
const SLAVE_LINE = /^slave\d+/;

export interface InfoMetricOptions {
  /** how many databases the server has (CONFIG GET databases; 16, the exporter's fallback, when unknown) */
  databases: number;
  /** now, in seconds since the epoch (start_time_seconds = now - uptime) */
  nowSeconds: number;
}

/** What a scrape learns while reading INFO that later steps want (the server's role, its version). */
export interface InfoFacts {
  fields: ReadonlyMap<string, string>;
}

interface LineState {
  masterHost: string;
  masterPort: string;
  commandCalls: Map<string, number>;
  commandUsec: Map<string, number>;
  latency: Map<string, Array<readonly [string, number]>>;
  handledDbs: Set<string>;
}

export function addInfoMetrics(set: MetricSet, info: string, options: InfoMetricOptions): InfoFacts {
  const fields = new Map<string, string>();
  const state: LineState = { masterHost: '', masterPort: '', commandCalls: new Map(), commandUsec: new Map(), latency: new Map(), handledDbs: new Set() };
  let section = '';
  for (const raw of info.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('# ')) {
      section = line.slice(2);
      continue;
    }
    const colon = line.indexOf(':');
    if (line.length < 2 || colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    fields.set(key, value);
    if (MASTER_HOST.test(key)) state.masterHost = value;
    if (MASTER_PORT.test(key)) state.masterPort = value;
    if (handleSectionLine(set, section, key, value, state, options)) continue;
    if (included(key)) addPlainField(set, key, value);
  }
  addLatencySummaries(set, state);
  for (let db = 0; db < options.databases; db++) {
    const name = `db${db}`;
    if (state.handledDbs.has(name)) continue;
    set.gauge(`${NAMESPACE}_db_keys`, 0, { db: name });
    set.gauge(`${NAMESPACE}_db_keys_expiring`, 0, { db: name });
  }
  addInstanceInfo(set, fields);
  return { fields };
}

/** true when the line was consumed by its section's own rule */
function handleSectionLine(set: MetricSet, section: string, key: string, value: string, state: LineState, options: InfoMetricOptions): boolean {
  switch (section) {
    case 'Replication':
      return addReplicationLine(set, key, value, state);
    case 'Server':
      if (key === 'uptime_in_seconds' && isNumber(value)) set.gauge(`${NAMESPACE}_start_time_seconds`, options.nowSeconds - Number(value));
      return false;
    case 'Commandstats':
      addCommandStat(set, key, value, state);
      return true;
    case 'Latencystats':
      addLatencyStat(key, value, state);
      return true;
    case 'Errorstats':
      addErrorStat(set, key, value);
      return true;
    case 'Keyspace':
      return addKeyspaceLine(set, key, value, state);
    case 'Sentinel':
      addSentinelLine(set, key, value);
      return false;
    default:
      return false;
  }
}

function included(key: string): boolean {
  return key.startsWith('db') || key.startsWith('cmdstat_') || key.startsWith('cluster_') || FIELDS.has(key);
}

function addPlainField(set: MetricSet, key: string, text: string): void {
  const sanitized = key.replace(/[^a-zA-Z0-9_]/g, '_');
  const known = FIELDS.get(sanitized);
  let name = known?.[0] ?? sanitized;
  let value = fieldValue(text);
  if (name === 'latest_fork_usec') {
    name = 'latest_fork_seconds';
    value /= 1e6;
  }
  if (known?.[1] === 'counter') set.counter(`${NAMESPACE}_${name}`, value);
  else set.gauge(`${NAMESPACE}_${name}`, value);
}

/** the exporter's reading of a field: ok/true 1, err/fail/false 0, else the number (0 when it is none) */
export function fieldValue(text: string): number {
  if (text === 'ok' || text === 'true') return 1;
  if (text === 'err' || text === 'fail' || text === 'false') return 0;
  return isNumber(text) ? Number(text) : 0;
}

function isNumber(text: string): boolean {
  return text.trim() === text && text !== '' && !Number.isNaN(Number(text));
}

/** "a=1,b=2" -> value of the part at `index` when it is `name=number`-shaped */
function partValue(part: string | undefined): number | undefined {
  if (part === undefined) return undefined;
  const pieces = part.split('=');
  if (pieces.length !== 2 || !isNumber(pieces[1]!)) return undefined;
  return Number(pieces[1]);
}

function addReplicationLine(set: MetricSet, key: string, value: string, state: LineState): boolean {
  const master = { master_host: state.masterHost, master_port: state.masterPort };
  if (MASTER_LINK_STATUS.test(key)) {
    set.gauge(`${NAMESPACE}_master_link_up`, value === 'up' ? 1 : 0, master);
    return true;
  }
  if (MASTER_DIRECT.test(key)) {
    const name = key.endsWith('last_io_seconds_ago') ? 'master_last_io_seconds_ago' : key.endsWith('sync_in_progress') ? 'master_sync_in_progress' : key;
    const integer = /^[-+]?\d+$/.test(value) ? Number(value) : 0;
    set.gauge(`${NAMESPACE}_${name}`, integer, master);
    return true;
  }
  if (!SLAVE_LINE.test(key)) return false;
  const parts = new Map<string, string>();
  for (const part of value.split(',')) {
    const pieces = part.split('=');
    if (pieces.length !== 2) return false;
    parts.set(pieces[0]!, pieces[1]!);
  }
  const offset = parts.get('offset');
  if (offset === undefined || !isNumber(offset)) return false;
  const lag = parts.get('lag');
  if (lag !== undefined && !isNumber(lag)) return false;
  const labels = { slave_ip: parts.get('ip') ?? '', slave_port: parts.get('port') ?? '', slave_state: parts.get('state') ?? '' };
  set.gauge(`${NAMESPACE}_connected_slave_offset_bytes`, Number(offset), labels);
  if (lag !== undefined) set.gauge(`${NAMESPACE}_connected_slave_lag_seconds`, Number(lag), labels);
  return true;
}

function addCommandStat(set: MetricSet, key: string, value: string, state: LineState): void {
  if (!key.startsWith('cmdstat_')) return;
  const cmd = key.slice('cmdstat_'.length);
  const parts = value.split(',');
  if (parts.length < 3) return;
  const calls = partValue(parts[0]);
  const usec = partValue(parts[1]);
  if (calls === undefined || usec === undefined) return;
  const rejected = parts.length >= 5 ? partValue(parts[3]) : undefined;
  const failed = parts.length >= 5 ? partValue(parts[4]) : undefined;
  if (parts.length >= 5 && (rejected === undefined || failed === undefined)) return;
  set.counter(`${NAMESPACE}_commands_total`, calls, { cmd });
  set.counter(`${NAMESPACE}_commands_duration_seconds_total`, usec / 1e6, { cmd });
  if (rejected !== undefined && failed !== undefined) {
    set.counter(`${NAMESPACE}_commands_rejected_calls_total`, rejected, { cmd });
    set.counter(`${NAMESPACE}_commands_failed_calls_total`, failed, { cmd });
  }
  state.commandCalls.set(cmd, calls);
  state.commandUsec.set(cmd, usec);
}

function addLatencyStat(key: string, value: string, state: LineState): void {
  const prefix = 'latency_percentiles_usec_';
  if (!key.startsWith(prefix)) return;
  const quantiles: Array<readonly [string, number]> = [];
  for (const part of value.split(',')) {
    const pieces = part.split('=');
    if (pieces.length !== 2) return;
    const percentile = pieces[0]!.slice(1);
    if (!isNumber(percentile) || !isNumber(pieces[1]!)) return;
    quantiles.push([String(Number(percentile)), Number(pieces[1])]);
  }
  state.latency.set(key.slice(prefix.length), quantiles);
}

function addLatencySummaries(set: MetricSet, state: LineState): void {
  for (const [cmd, quantiles] of state.latency) {
    const count = state.commandCalls.get(cmd);
    const sum = state.commandUsec.get(cmd);
    if (count === undefined || sum === undefined) continue;
    set.summary(`${NAMESPACE}_latency_percentiles_usec`, { labels: { cmd }, count, sum, quantiles });
  }
}

function addErrorStat(set: MetricSet, key: string, value: string): void {
  if (!key.startsWith('errorstat_')) return;
  const count = partValue(value);
  if (count !== undefined) set.counter(`${NAMESPACE}_errors_total`, count, { err: key.slice('errorstat_'.length) });
}

/** db0:keys=1,expires=0,avg_ttl=0[,4th field]: the exporter reads a 4th field, whatever its name, as cached keys */
function addKeyspaceLine(set: MetricSet, key: string, value: string, state: LineState): boolean {
  if (!key.startsWith('db')) return false;
  const parts = value.split(',');
  if (parts.length < 2 || parts.length > 4) return false;
  const keys = partValue(parts[0]);
  const expiring = partValue(parts[1]);
  const avgTtl = parts.length > 2 ? partValue(parts[2]) : -1;
  const cached = parts.length > 3 ? partValue(parts[3]) : -1;
  if (keys === undefined || expiring === undefined || avgTtl === undefined || cached === undefined) return false;
  set.gauge(`${NAMESPACE}_db_keys`, keys, { db: key });
  set.gauge(`${NAMESPACE}_db_keys_expiring`, expiring, { db: key });
  if (cached > -1) set.gauge(`${NAMESPACE}_db_keys_cached`, cached, { db: key });
  if (avgTtl > -1) set.gauge(`${NAMESPACE}_db_avg_ttl_seconds`, avgTtl / 1000, { db: key });
  state.handledDbs.add(key);
  return true;
}

const SENTINEL_COUNTS = new Set([
  'sentinel_masters',
  'sentinel_tilt',
  'sentinel_running_scripts',
  'sentinel_scripts_queue_length',
  'sentinel_simulate_failure_flags',
]);

/** master0:name=mymaster,status=ok,address=127.0.0.1:6379,slaves=2,sentinels=3 */
function addSentinelLine(set: MetricSet, key: string, value: string): void {
  if (SENTINEL_COUNTS.has(key)) {
    set.gauge(`${NAMESPACE}_${key}`, /^[-+]?\d+$/.test(value) ? Number(value) : 0);
    return;
  }
  if (!/^master\d+$/.test(key)) return;
  const parts = new Map(
    value
      .split(',')
      .map((p) => p.split('=') as [string, string?])
      .filter((p): p is [string, string] => p.length === 2)
      .map(([k, v]) => [k, v]),
  );
  const name = parts.get('name');
  const status = parts.get('status');
  const address = parts.get('address');
  const slaves = parts.get('slaves');
  const sentinels = parts.get('sentinels');
  if (!name || !status || !address || !slaves || !sentinels || !isNumber(slaves) || !isNumber(sentinels)) return;
  set.gauge(`${NAMESPACE}_sentinel_master_status`, status === 'ok' ? 1 : 0, { master_name: name, master_address: address, master_status: status });
  set.gauge(`${NAMESPACE}_sentinel_master_slaves`, Number(slaves), { master_name: name, master_address: address });
  set.gauge(`${NAMESPACE}_sentinel_master_sentinels`, Number(sentinels), { master_name: name, master_address: address });
}

function addInstanceInfo(set: MetricSet, fields: ReadonlyMap<string, string>): void {
  const f = (k: string): string => fields.get(k) ?? '';
  set.gauge(`${NAMESPACE}_instance_info`, 1, {
    role: f('role'),
    redis_version: f('redis_version'),
    redis_build_id: f('redis_build_id'),
    redis_mode: f('redis_mode'),
    os: f('os'),
    maxmemory_policy: f('maxmemory_policy'),
    tcp_port: f('tcp_port'),
    run_id: f('run_id'),
    process_id: f('process_id'),
  });
  if (f('role') === 'slave')
    set.gauge(`${NAMESPACE}_slave_info`, 1, { master_host: f('master_host'), master_port: f('master_port'), read_only: f('slave_read_only') });
}
