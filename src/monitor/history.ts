/**
 * What the dashboard shows, from INFO's fields: a point per poll (rates from the difference with the
 * previous point) kept for the last hour in a ring, and the latest state. Pure; no key or value of the
 * data ever enters it, only the server's counters and settings.
 */
import { parseKeyspace } from '../connect/client.js';

export interface Point {
  /** milliseconds since the epoch */
  t: number;
  usedMemory: number;
  maxmemory: number;
  opsPerSecond: number | null;
  /** keyspace hits / (hits + misses) over the interval; null when there were no lookups */
  hitRatio: number | null;
  clients: number;
  evictedPerSecond: number | null;
  expiredPerSecond: number | null;
}

export interface ServerState {
  up: boolean;
  error?: string;
  engine: string;
  version: string;
  role: string;
  uptimeSeconds: number;
  usedMemory: number;
  maxmemory: number;
  maxmemoryPolicy: string;
  clients: number;
  evictedKeys: number;
  keys: number;
  persistence: {
    lastSaveTime: number;
    lastBgsaveStatus: string;
    changesSinceSave: number;
    aofEnabled: boolean;
    aofLastWriteStatus: string;
    aofRewriteInProgress: boolean;
  };
  replication: { role: string; connectedReplicas: number; masterLinkStatus?: string; masterHost?: string; masterPort?: string };
}

const num = (fields: ReadonlyMap<string, string>, key: string): number => {
  const n = Number(fields.get(key));
  return Number.isFinite(n) ? n : 0;
};

export function pointFrom(fields: ReadonlyMap<string, string>, t: number, previous?: { t: number; fields: ReadonlyMap<string, string> }): Point {
  const seconds = previous ? (t - previous.t) / 1000 : 0;
  const rate = (key: string): number | null => {
    if (!previous || seconds <= 0) return null;
    const delta = num(fields, key) - num(previous.fields, key);
    return delta >= 0 ? delta / seconds : null; // a restart resets counters
  };
  let hitRatio: number | null = null;
  if (previous) {
    const hits = num(fields, 'keyspace_hits') - num(previous.fields, 'keyspace_hits');
    const misses = num(fields, 'keyspace_misses') - num(previous.fields, 'keyspace_misses');
    if (hits >= 0 && misses >= 0 && hits + misses > 0) hitRatio = hits / (hits + misses);
  }
  return {
    t,
    usedMemory: num(fields, 'used_memory'),
    maxmemory: num(fields, 'maxmemory'),
    opsPerSecond: rate('total_commands_processed'),
    hitRatio,
    clients: num(fields, 'connected_clients'),
    evictedPerSecond: rate('evicted_keys'),
    expiredPerSecond: rate('expired_keys'),
  };
}

export function stateFrom(fields: ReadonlyMap<string, string>, error?: string): ServerState {
  const f = (key: string): string => fields.get(key) ?? '';
  const valkey = fields.has('valkey_version');
  const keys = totalKeys(fields);
  return {
    up: error === undefined && fields.size > 0,
    error,
    engine: valkey ? 'valkey' : fields.size > 0 ? 'redis' : '',
    version: valkey ? f('valkey_version') : f('redis_version'),
    role: f('role'),
    uptimeSeconds: num(fields, 'uptime_in_seconds'),
    usedMemory: num(fields, 'used_memory'),
    maxmemory: num(fields, 'maxmemory'),
    maxmemoryPolicy: f('maxmemory_policy'),
    clients: num(fields, 'connected_clients'),
    evictedKeys: num(fields, 'evicted_keys'),
    keys,
    persistence: {
      lastSaveTime: num(fields, 'rdb_last_save_time'),
      lastBgsaveStatus: f('rdb_last_bgsave_status'),
      changesSinceSave: num(fields, 'rdb_changes_since_last_save'),
      aofEnabled: f('aof_enabled') === '1',
      aofLastWriteStatus: f('aof_last_write_status'),
      aofRewriteInProgress: f('aof_rewrite_in_progress') === '1',
    },
    replication: {
      role: f('role'),
      connectedReplicas: num(fields, 'connected_slaves'),
      ...(fields.has('master_link_status') ? { masterLinkStatus: f('master_link_status'), masterHost: f('master_host'), masterPort: f('master_port') } : {}),
    },
  };
}

/** The last `capacity` points, oldest first. */
export class History {
  private readonly points: Point[] = [];
  private previous: { t: number; fields: ReadonlyMap<string, string> } | undefined;

  constructor(readonly capacity: number) {}

  add(fields: ReadonlyMap<string, string>, t: number): Point {
    const point = pointFrom(fields, t, this.previous);
    this.previous = { t, fields };
    this.points.push(point);
    if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity);
    return point;
  }

  /** a scrape that failed breaks the rates: the next point starts afresh */
  gap(): void {
    this.previous = undefined;
  }

  all(): readonly Point[] {
    return this.points;
  }
}

/** keys over every database, from INFO's keyspace lines */
export function totalKeys(fields: ReadonlyMap<string, string>): number {
  let keys = 0;
  for (const n of parseKeyspace(Object.fromEntries(fields)).values()) keys += n;
  return keys;
}
