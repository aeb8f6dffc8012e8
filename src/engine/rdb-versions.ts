/**
 * Which RDB format version each engine release writes, and which files it loads. Taken from each
 * release's `src/rdb.h` (RDB_VERSION) and `rdbLoadRioWithLoadingCtx` in `src/rdb.c` (the magic and
 * version checks); docs/compatibility.md has the table with its sources.
 */
import { compareVersions, describeEngine, type EngineIdentity } from './identity.js';

/** [first release of the line, RDB_VERSION it writes], newest first */
const REDIS_WRITES: Array<[string, number]> = [
  ['7.4.0', 12],
  ['7.2.0', 11],
  ['7.0.0', 10],
  ['5.0.0', 9],
  ['4.0.0', 8],
  ['3.2.0', 7],
  ['2.6.0', 6],
];

const VALKEY_WRITES: Array<[string, number]> = [
  ['9.0.0', 80],
  ['7.2.0', 11],
];

/** Valkey 9.0 moved to RDB 80 and the magic `VALKEY`; it writes `VALKEY080` where Redis writes `REDIS0012`. */
export const VALKEY_MAGIC_FROM_RDB = 80;

/** The RDB version a server of this engine and release writes (and the newest of its own it reads). */
export function rdbVersionWritten(id: EngineIdentity): number | undefined {
  const table = id.engine === 'valkey' ? VALKEY_WRITES : REDIS_WRITES;
  for (const [from, rdb] of table) if (compareVersions(id.version, from) >= 0) return rdb;
  return undefined;
}

/** The 9-byte header a file of this RDB version starts with. */
export function rdbMagic(rdbVersion: number): string {
  return rdbVersion >= VALKEY_MAGIC_FROM_RDB ? `VALKEY${String(rdbVersion).padStart(3, '0')}` : `REDIS${String(rdbVersion).padStart(4, '0')}`;
}

/** "RDB 12 (Redis 7.4 and later)" style names for messages. */
export function describeRdbVersion(rdbVersion: number): string {
  const writers: string[] = [];
  for (const [engine, table] of [['Redis', REDIS_WRITES], ['Valkey', VALKEY_WRITES]] as const) {
    const rows = table.filter(([, rdb]) => rdb === rdbVersion).map(([from]) => from.replace(/\.0$/, ''));
    if (rows.length) writers.push(`${engine} ${rows[rows.length - 1]}${table[0]![1] === rdbVersion ? ' and later' : ''}`);
  }
  return writers.length ? `RDB ${rdbVersion} (${writers.join(', ')})` : `RDB ${rdbVersion}`;
}

export interface RdbLoadVerdict {
  loads: boolean;
  /** why not, naming both sides; absent when it loads */
  reason?: string;
}

/**
 * Whether a server of `target` loads an RDB file (or a replication payload) of `rdbVersion`.
 * Redis, and Valkey before 9.0, load versions up to their own. Valkey 9.0 also reads its own
 * `VALKEY080` files and refuses the versions 12 to 79 of other servers unless its
 * `rdb-version-check` is `relaxed` (pass `relaxed: true` when the target's config says so).
 */
export function loadsRdb(target: EngineIdentity, rdbVersion: number, options: { relaxed?: boolean } = {}): RdbLoadVerdict {
  const own = rdbVersionWritten(target);
  const name = describeEngine(target);
  if (own === undefined) return { loads: false, reason: `${name} is older than any release this tool knows` };
  if (rdbVersion <= own && (own < VALKEY_MAGIC_FROM_RDB || rdbVersion <= 11 || rdbVersion >= VALKEY_MAGIC_FROM_RDB)) return { loads: true };
  if (target.engine === 'valkey' && own >= VALKEY_MAGIC_FROM_RDB && rdbVersion < VALKEY_MAGIC_FROM_RDB) {
    if (options.relaxed) return { loads: true };
    return {
      loads: false,
      reason: `${name} refuses ${describeRdbVersion(rdbVersion)} unless its rdb-version-check is relaxed (it reads RDB up to 11 and its own ${own})`,
    };
  }
  return { loads: false, reason: `${name} reads RDB up to version ${own}; the file is ${describeRdbVersion(rdbVersion)}` };
}
