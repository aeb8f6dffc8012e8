/**
 * Which RDB format version each engine release writes, and which files it loads. The versions and
 * headers come from rdb/versions.ts (one table for the reader and for this); the loading rules from
 * each release's `src/rdb.c` (rdbLoadRioWithLoadingCtx, and Valkey's rdbIsVersionAccepted):
 *
 * - Redis (7.0.0 .. 8.0-m01 tags): the header must start "REDIS" and the version be 1..own. A
 *   "VALKEY" file is refused ("Wrong signature").
 * - Valkey 7.2.4 .. 8.0.1 tags: the same as Redis 7.2 (own version 11).
 * - Valkey 8.1 (PR #1604): `rdb-version-check strict` (default) as above; `relaxed` also tries later
 *   Valkey versions (80 and up, "VALKEY" header). Versions 12..79 (Redis 7.4 and later) are refused
 *   either way. Measured on Valkey 8.1.1 in test/rdb-server-acceptance.test.ts.
 * - Valkey 9.0 (own 80, PR #2543 merged before 9.0.0): strict reads "REDIS" up to 11 and "VALKEY" 80;
 *   relaxed also "REDIS" 12..79 and later "VALKEY" versions, but refuses a "REDIS" file holding any
 *   type or opcode 22..243 (Redis's hash field expiry types, for one).
 */
import { RDB_FOREIGN_MAX, RDB_FOREIGN_MIN, RDB_WRITERS, describeRdbVersion, rdbMagic } from '../rdb/versions.js';
import { compareVersions, describeEngine, type EngineIdentity } from './identity.js';

export { describeRdbVersion, rdbMagic };

/** Valkey 9.0 moved to RDB 80 and the magic `VALKEY`: it writes `VALKEY080` where Redis writes `REDIS0012`. */
export const VALKEY_MAGIC_FROM_RDB = RDB_FOREIGN_MAX + 1;

/** The RDB version a server of this engine and release writes (and the newest of its own it reads). */
export function rdbVersionWritten(id: EngineIdentity): number | undefined {
  for (const row of RDB_WRITERS) if (row.engine === id.engine && compareVersions(id.version, row.from) >= 0) return row.rdb;
  return undefined;
}

export interface RdbLoadVerdict {
  loads: boolean;
  /** why not, naming both sides; absent when it loads */
  reason?: string;
}

/**
 * Whether a server of `target` loads an RDB file (or a replication payload) of `rdbVersion` (its
 * header follows from the version: "VALKEY" from 80). `relaxed`: the target's rdb-version-check is
 * `relaxed` (Valkey 8.1 and later); then a later version may still fail on what it holds.
 */
export function loadsRdb(target: EngineIdentity, rdbVersion: number, options: { relaxed?: boolean } = {}): RdbLoadVerdict {
  const own = rdbVersionWritten(target);
  const name = describeEngine(target);
  const file = describeRdbVersion(rdbVersion);
  if (own === undefined) return { loads: false, reason: `${name} is older than any release this tool knows` };
  const valkeyFile = rdbVersion > RDB_FOREIGN_MAX;
  if (target.engine === 'redis') {
    if (valkeyFile) return { loads: false, reason: `${name} reads only "REDIS" files; the file is ${file}, with Valkey's "VALKEY" header` };
    if (rdbVersion <= own) return { loads: true };
    return { loads: false, reason: `${name} reads RDB up to version ${own}; the file is ${file}` };
  }
  const relaxable = compareVersions(target.version, '8.1.0') >= 0;
  const foreign = rdbVersion >= RDB_FOREIGN_MIN && rdbVersion <= RDB_FOREIGN_MAX;
  if (rdbVersion <= own && !foreign) return { loads: true };
  if (foreign) {
    if (own < VALKEY_MAGIC_FROM_RDB)
      return { loads: false, reason: `${name} refuses ${file}: it reads RDB up to 11, and Valkey reserves 12 to 79 for other servers' formats` };
    if (options.relaxed) return { loads: true };
    return { loads: false, reason: `${name} refuses ${file} unless its rdb-version-check is relaxed (and then only without Redis's hash field expiry types)` };
  }
  if (relaxable && valkeyFile && options.relaxed) return { loads: true };
  return {
    loads: false,
    reason: `${name} reads RDB up to version ${own}; the file is ${file}${relaxable && valkeyFile ? ' (rdb-version-check relaxed would let it try)' : ''}`,
  };
}
