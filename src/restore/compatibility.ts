/**
 * Can this target take this backup, and by which path? The one place restore asks: version facts come
 * from src/engine (which RDB version each engine release writes and loads), the backup's side from its
 * manifest or RDB header (backupOrigin), the target's from INFO server (identifyFromInfo: Valkey's own
 * version, never its redis_version 7.2.4). Every verdict names both sides.
 *
 * Measured on the real servers (test/restore-engines.test.ts): a server loads an RDB file, a
 * replication payload or a RESTORE payload of its own RDB version or older, whichever engine wrote
 * it, and refuses a newer one ("Can't handle RDB format version 12", "DUMP payload version or
 * checksum are wrong"). Merge can still rebuild values of a newer file with plain commands, as long
 * as every value has a command form on the target: commandsFallbackProblems() says which do not.
 */
import { describeOrigin, type BackupOrigin } from '../backup/origin.js';
import { describeEngine, engineHas, identifyFromInfo, loadsRdb, rdbVersionWritten, type EngineIdentity } from '../engine/index.js';
import { VALKEY_MAGIC_FROM_RDB } from '../engine/rdb-versions.js';
import { RDB_MAX_REDIS_VERSION, RDB_MAX_VALKEY_VERSION, RDB_READS, RDB_VALKEY_FIRST } from '../rdb/index.js';

export interface TargetEngine {
  identity: EngineIdentity;
  /** the newest RDB version it loads (its own), when its release is known */
  rdbVersion?: number;
  /** Valkey 9's `rdb-version-check relaxed`: it then also loads other servers' newer versions */
  relaxed: boolean;
}

/** The target's engine from INFO server (and CONFIG GET rdb-version-check, when it has one). */
export function targetEngineFromInfo(info: Record<string, string | undefined>, rdbVersionCheck?: string): TargetEngine {
  const identity = identifyFromInfo(info);
  return { identity, rdbVersion: rdbVersionWritten(identity), relaxed: rdbVersionCheck === 'relaxed' };
}

/** "Valkey 8.1.1 (reads RDB up to 11)" */
export function describeTarget(target: TargetEngine): string {
  return `${describeEngine(target.identity)} (reads RDB up to ${target.rdbVersion ?? '?'}${target.relaxed ? ', rdb-version-check relaxed' : ''})`;
}

export interface LoadVerdict {
  loads: boolean;
  /** both sides, for the plan or the refusal */
  message: string;
}

/** Value types from 22 on: what Valkey 9 refuses in another server's RDB even when relaxed. */
export const FOREIGN_TYPES_REFUSED_FROM = 22;

/**
 * Whether the target loads the backup's RDB only as a foreign format (Valkey 9+ with
 * rdb-version-check relaxed, a Redis RDB 12 file): it then refuses the file at the first value of a
 * type from 22 on (Redis's hashes with field TTLs), which a replica learns only after it has dropped
 * its own data to load; so the backup's value types must be known first (`types` below).
 */
export function loadsOnlyAsForeign(origin: BackupOrigin, target: TargetEngine): boolean {
  return (
    target.identity.engine === 'valkey' &&
    (target.rdbVersion ?? 0) >= VALKEY_MAGIC_FROM_RDB &&
    origin.rdbVersion >= 12 &&
    origin.rdbVersion < VALKEY_MAGIC_FROM_RDB
  );
}

/**
 * Whether the target's loader takes the backup's RDB (replace, offline, and merge by RESTORE).
 * `types` (keys per RDB value type, from the manifest or a parse) matters only where
 * loadsOnlyAsForeign(): unknown there means no.
 */
export function rdbLoadVerdict(origin: BackupOrigin, target: TargetEngine, types?: Record<string, number>): LoadVerdict {
  const backup = `the backup (${describeOrigin(origin)})`;
  const verdict = loadsRdb(target.identity, origin.rdbVersion, { relaxed: target.relaxed });
  if (verdict.loads && loadsOnlyAsForeign(origin, target)) {
    const refused = Object.entries(types ?? {}).filter(([t, n]) => Number(t) >= FOREIGN_TYPES_REFUSED_FROM && n > 0);
    if (!types)
      return {
        loads: false,
        message: `the target, ${describeTarget(target)}, loads ${backup} only if it holds no value of a type from ${FOREIGN_TYPES_REFUSED_FROM} on (Redis's hashes with field TTLs), and which types it holds is not known`,
      };
    if (refused.length > 0)
      return {
        loads: false,
        message: `the target, ${describeTarget(target)}, refuses ${backup}: it holds values of RDB type ${refused.map(([t, n]) => `${t} (${n} key${n === 1 ? '' : 's'})`).join(', ')}, which Valkey does not load from another server's RDB`,
      };
  }
  if (verdict.loads) return { loads: true, message: `${backup} loads into the target, ${describeTarget(target)}` };
  // src/engine's reason adds something where the version alone does not say it all: an unknown
  // release, or Valkey 9+ (VALKEY0NN files), which reads other servers' RDB up to 11 unless relaxed
  const more = target.rdbVersion === undefined || target.rdbVersion >= VALKEY_MAGIC_FROM_RDB ? `: ${verdict.reason}` : '';
  return { loads: false, message: `the target, ${describeTarget(target)}, cannot load ${backup}${more}` };
}

/**
 * Why this tool cannot check the backup (an RDB version newer than its reader knows), or undefined.
 * Nothing is restored unchecked: every mode refuses such a backup before it changes anything, even
 * where the target would load it.
 */
export function readerRefusal(origin: BackupOrigin): string | undefined {
  const v = origin.rdbVersion;
  if ((v >= 1 && v <= RDB_MAX_REDIS_VERSION) || (v >= RDB_VALKEY_FIRST && v <= RDB_MAX_VALKEY_VERSION)) return undefined;
  return `this version of neurallog-redis cannot check the backup (${describeOrigin(origin)}): it reads ${RDB_READS}, and restores nothing it has not checked`;
}

/** RDB value types of hashes whose fields carry their own expiry (Redis 7.4+: 22, 23 pre-GA; 24, 25). */
export const FIELD_TTL_HASH_TYPES: readonly number[] = [22, 23, 24, 25];
/** RDB value types of module values (pre-GA and current) */
export const MODULE_TYPES: readonly number[] = [6, 7];

/** Since when an engine has per-field hash expiry (HPEXPIREAT, HSETEX): Redis 7.4, Valkey 9.0. */
export const FIELD_TTL_COMMANDS = { redis: '7.4.0', valkey: '9.0.0' } as const;

/**
 * Why some values of a backup cannot be rebuilt with plain commands on `target` (empty: all can).
 * `types` counts the backup's RDB value types (RdbSummary.types: type byte -> keys).
 */
export function commandsFallbackProblems(types: Record<string, number>, target: EngineIdentity): string[] {
  const count = (list: readonly number[]) => list.reduce((n, t) => n + (types[String(t)] ?? 0), 0);
  const problems: string[] = [];
  const fieldTtl = count(FIELD_TTL_HASH_TYPES);
  if (fieldTtl > 0 && !engineHas(target, FIELD_TTL_COMMANDS)) {
    problems.push(
      `${fieldTtl} hash${fieldTtl === 1 ? '' : 'es'} whose fields carry their own TTL (RDB types 22-25): ${describeEngine(target)} has no per-field expiry (HPEXPIREAT: Redis 7.4+, Valkey 9.0+), so the TTLs would be lost`,
    );
  }
  const modules = count(MODULE_TYPES);
  if (modules > 0) problems.push(`${modules} module value${modules === 1 ? '' : 's'}, which only RESTORE of their payload recreates`);
  return problems;
}

/** How a merge gets values to the target. */
export interface MergePath {
  encoding: 'restore' | 'commands';
  /** why the target does or does not load the backup's payloads, naming both sides */
  why: string;
  /** for the plan and the result: the path, then why */
  reason: string;
}

/** A path with its reason text. */
export function mergePath(
  encoding: 'restore' | 'commands',
  why: string,
  label = encoding === 'restore' ? 'RESTORE payloads' : 'plain commands (SET, RPUSH, SADD, ZADD, HSET, XADD ...)',
): MergePath {
  return { encoding, why, reason: `${label}: ${why}` };
}

/**
 * The merge path for a backup of `origin` onto `target`: RESTORE payloads when the target loads the
 * backup's RDB version, else plain commands, which every value must then allow: with `types` (keys per
 * RDB value type, from a parse of the whole backup) `problems` says which do not. `types` undefined
 * means not scanned yet: a caller taking the commands path must scan before writing.
 */
export function chooseMergePath(origin: BackupOrigin, target: TargetEngine, types: Record<string, number> | undefined): MergePath & { problems: string[] } {
  const verdict = rdbLoadVerdict(origin, target, types);
  if (verdict.loads) return { ...mergePath('restore', verdict.message), problems: [] };
  return { ...mergePath('commands', verdict.message), problems: types ? commandsFallbackProblems(types, target.identity) : [] };
}
