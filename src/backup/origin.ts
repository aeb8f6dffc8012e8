/**
 * Which engine, release and RDB format version a backup comes from, for any manifest: the `origin`
 * recorded since engines were told apart, or, in older manifests (all taken from Redis 7.0-era
 * servers), what their `source.redisVersion` and the RDB's `redis-ver` say.
 */
import { describeEngine, identifyFromRdbAux, type EngineIdentity } from '../engine/identity.js';
import { describeRdbVersion } from '../engine/rdb-versions.js';
import type { Manifest } from './manifest.js';

export interface BackupOrigin {
  /** the writer, when known */
  identity?: EngineIdentity;
  rdbVersion: number;
  identifiedBy: 'info' | 'rdb-aux' | 'unknown';
}

export function backupOrigin(manifest: Manifest): BackupOrigin {
  const o = manifest.origin;
  if (o)
    return { ...(o.engine && o.version ? { identity: { engine: o.engine, version: o.version } } : {}), rdbVersion: o.rdbVersion, identifiedBy: o.identifiedBy };
  // before `origin`: only Redis was backed up, and redis_version was the server's own version
  const version = manifest.source.redisVersion ?? manifest.rdb.redisVersion;
  if (version)
    return { identity: { engine: 'redis', version }, rdbVersion: manifest.rdb.version, identifiedBy: manifest.source.redisVersion ? 'info' : 'rdb-aux' };
  return { rdbVersion: manifest.rdb.version, identifiedBy: 'unknown' };
}

/** The origin of an RDB known only from its header and aux fields (no manifest). */
export function originFromRdb(rdbVersion: number, aux: Record<string, string | undefined>): BackupOrigin {
  const identity = identifyFromRdbAux(aux);
  return identity ? { identity, rdbVersion, identifiedBy: 'rdb-aux' } : { rdbVersion, identifiedBy: 'unknown' };
}

/** "Valkey 8.1.1, RDB 11" / "RDB 12 (Redis 7.4 and later), writer unknown" */
export function describeOrigin(origin: BackupOrigin): string {
  return origin.identity ? `${describeEngine(origin.identity)}, RDB ${origin.rdbVersion}` : `${describeRdbVersion(origin.rdbVersion)}, writer unknown`;
}

/** "valkey 8.1.1" for a table column; "?" when unknown */
export function shortOrigin(origin: BackupOrigin): string {
  return origin.identity ? `${origin.identity.engine} ${origin.identity.version}` : '?';
}
