/**
 * What a merge needs to know about its target before writing: the Redis and RDB versions (can it load
 * the backup's payloads?), its role (a replica or a cluster node cannot take a plain merge), its
 * database count, the largest bulk it accepts, and its function libraries.
 */
import { randomBytes } from 'node:crypto';
import { closeConnection, formatRedisUrl, openConnection, parseInfo, parseKeyspace, type Endpoint } from '../connect/index.js';
import { UsageError } from '../errors.js';
import { targetEngineFromInfo, type TargetEngine } from './compatibility.js';
import { restorePayload } from './restore-payload.js';

export interface TargetInfo {
  /** engine, its own version and the newest RDB version it reads (undefined for releases src/engine does not know) */
  engine: TargetEngine;
  databases?: number;
  protoMaxBulkLen?: number;
  /** keys per database (INFO keyspace) */
  keyspace: Map<number, number>;
  /** names of its function libraries; undefined when it has no FUNCTION command (before 7.0) */
  libraries?: Set<string>;
}

/** Reads the target's facts; refuses replicas, and cluster nodes unless the caller routes keys by slot (`clusterNode`). */
export async function inspectTarget(endpoint: Endpoint, options: { clusterNode?: boolean } = {}): Promise<TargetInfo> {
  const client = await openConnection(endpoint, { name: 'neurallog-restore' });
  try {
    const info = parseInfo(await client.info('server'));
    const replication = parseInfo(await client.info('replication'));
    const cluster = parseInfo(await client.info('cluster'));
    const where = formatRedisUrl({ ...endpoint, password: undefined });
    if (replication.role === 'slave') {
      throw new UsageError(
        `${where} is a replica of ${replication.master_host}:${replication.master_port}; merge into its master instead (a replica refuses writes)`,
      );
    }
    if (cluster.cluster_enabled === '1' && options.clusterNode !== true) {
      throw new UsageError(
        `${where} is a cluster node; merge restores into standalone or Sentinel-managed masters only (a cluster needs each key sent to the node owning its slot)`,
      );
    }
    const keyspace = parseKeyspace(parseInfo(await client.info('keyspace')));
    const versionCheck = await configValue(client, 'rdb-version-check');
    const target: TargetInfo = { engine: targetEngineFromInfo(info, versionCheck), keyspace };
    target.databases = await configNumber(client, 'databases');
    target.protoMaxBulkLen = await configNumber(client, 'proto-max-bulk-len');
    try {
      const list = await client.functionList();
      target.libraries = new Set(
        list
          .map((l) => l.library_name)
          .filter((n): n is string => n !== null && n !== undefined)
          .map(String),
      );
    } catch (error) {
      if (!/unknown command/i.test((error as Error).message)) throw error;
    }
    return target;
  } finally {
    await closeConnection(client);
  }
}

type Client = Awaited<ReturnType<typeof openConnection>>;

async function configValue(client: Client, name: string): Promise<string | undefined> {
  try {
    // one parameter asked for: its value is the reply's only one
    const value = Object.values(await client.configGet(name))[0];
    return value === undefined ? undefined : String(value);
  } catch {
    return undefined; // CONFIG may be renamed or not permitted: go without
  }
}

async function configNumber(client: Client, name: string): Promise<number | undefined> {
  const value = await configValue(client, name);
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) ? n : undefined;
}

/**
 * For a release not in the table: RESTORE a one-byte string stamped with the backup's RDB version and
 * an absolute TTL in the past. Redis checks the payload before the TTL and then creates nothing, so
 * OK means it reads that version; undefined when the probe says nothing (e.g. not permitted).
 */
export async function probePayloads(endpoint: Endpoint, backupRdbVersion: number): Promise<boolean | undefined> {
  const client = await openConnection(endpoint, { name: 'neurallog-restore' });
  try {
    return await probeWith(client, backupRdbVersion);
  } finally {
    await closeConnection(client);
  }
}

async function probeWith(client: Client, backupRdbVersion: number): Promise<boolean | undefined> {
  const payload = restorePayload(0, Buffer.from([1, 0x78]), backupRdbVersion);
  const key = `neurallog-restore:probe:${randomBytes(8).toString('hex')}`;
  try {
    await client.restore(key, 1, payload, { ABSTTL: true });
    return true;
  } catch (error) {
    if (/payload version or checksum/i.test((error as Error).message)) return false;
    return undefined;
  }
}

/** The library name a FUNCTION LOAD of `code` creates: `#!<engine> name=<name>` on its first line. */
export function libraryName(code: Buffer): string | undefined {
  const end = code.indexOf(10);
  const first = code.toString('utf8', 0, end === -1 ? Math.min(code.length, 4096) : end);
  if (!first.startsWith('#!')) return undefined;
  for (const token of first.slice(2).trim().split(/\s+/).slice(1)) {
    if (token.startsWith('name=')) return token.slice(5);
  }
  return undefined;
}
