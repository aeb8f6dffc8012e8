/**
 * RDB format versions: the two headers, which versions this reader reads, and which releases write
 * each version. The one place both rdb/ (the reader's header check and its "not supported" message)
 * and engine/ (what a server loads) take these facts from; rdb/ imports nothing from engine/.
 *
 * Sources, each at its release tag:
 * - Redis `src/rdb.h` RDB_VERSION: 10 at 7.0.0, 11 at 7.2.0, 12 at 7.4.0 and 8.0-m01; Redis 8.0, 8.2
 *   and 8.4 still write 12 (redis/librdb PR #93, "Support RDB v13": RDB 13 is Redis 8.6, which adds
 *   the stream type 26 and opcode 243 KEY_META; librdb 2.3.0: RDB 14 is Redis 8.8).
 * - Redis `src/rdb.c` rdbLoadRioWithLoadingCtx: the header must start "REDIS" and its version be
 *   1..RDB_VERSION (7.4.0 line 3346); a "VALKEY" header is refused.
 * - Valkey `src/rdb.h`: RDB_VERSION 11 at 7.2.4 (its first release), 8.0.0 and 8.0.1, and in 8.1;
 *   80 from 9.0 (valkey-io/valkey PR #2422, "bump the RDB version"), whose files start "VALKEY080";
 *   versions 12..79 are reserved for foreign formats (RDB_FOREIGN_VERSION_MIN/MAX, PR #1604, 8.1).
 *   On unstable RDB_VERSION is 81 (RDB_VERSION_MAP: {81, 0x090200}).
 */

export const REDIS_MAGIC = 'REDIS';
export const VALKEY_MAGIC = 'VALKEY';

/** the newest "REDIS" version this reader reads (Redis 7.4 to 8.4) */
export const RDB_MAX_REDIS_VERSION = 12;
/** Valkey's own format versions start here, with the "VALKEY" header (Valkey 9.0) */
export const RDB_VALKEY_FIRST = 80;
/** the newest "VALKEY" version this reader reads */
export const RDB_MAX_VALKEY_VERSION = 80;
/** Valkey reserves 12..79 for other servers' formats (valkey src/rdb.h RDB_FOREIGN_VERSION_MIN/MAX) */
export const RDB_FOREIGN_MIN = 12;
export const RDB_FOREIGN_MAX = 79;

export type RdbEngine = 'redis' | 'valkey';

export interface RdbWriterRow {
  engine: RdbEngine;
  /** first release writing `rdb` */
  from: string;
  rdb: number;
  /** the releases writing it, for messages */
  releases: string;
}

/** newest first within each engine */
export const RDB_WRITERS: readonly RdbWriterRow[] = [
  { engine: 'redis', from: '8.8.0', rdb: 14, releases: 'Redis 8.8' },
  { engine: 'redis', from: '8.6.0', rdb: 13, releases: 'Redis 8.6' },
  { engine: 'redis', from: '7.4.0', rdb: 12, releases: 'Redis 7.4, 8.0, 8.2 and 8.4' },
  { engine: 'redis', from: '7.2.0', rdb: 11, releases: 'Redis 7.2' },
  { engine: 'redis', from: '7.0.0', rdb: 10, releases: 'Redis 7.0' },
  { engine: 'redis', from: '5.0.0', rdb: 9, releases: 'Redis 5.0 and 6.x' },
  { engine: 'redis', from: '4.0.0', rdb: 8, releases: 'Redis 4.0' },
  { engine: 'redis', from: '3.2.0', rdb: 7, releases: 'Redis 3.2' },
  { engine: 'redis', from: '2.6.0', rdb: 6, releases: 'Redis 2.6 to 3.0' },
  { engine: 'valkey', from: '9.0.0', rdb: 80, releases: 'Valkey 9.0' },
  { engine: 'valkey', from: '7.2.4', rdb: 11, releases: 'Valkey 7.2, 8.0 and 8.1' },
];

/** The 9-byte header of a file of this version: "REDIS0012", "VALKEY080". */
export function rdbMagic(rdbVersion: number): string {
  return rdbVersion > RDB_FOREIGN_MAX ? `${VALKEY_MAGIC}${String(rdbVersion).padStart(3, '0')}` : `${REDIS_MAGIC}${String(rdbVersion).padStart(4, '0')}`;
}

/** Who writes this version: "Redis 7.4, 8.0, 8.2 and 8.4", "Valkey 7.2, 8.0 and 8.1 and Redis 7.2". */
export function rdbWriters(rdbVersion: number): string {
  const rows = RDB_WRITERS.filter((w) => w.rdb === rdbVersion);
  if (rows.length > 0) return rows.map((w) => w.releases).join(' and ');
  if (rdbVersion > RDB_FOREIGN_MAX) return `a Valkey release newer than 9.0`;
  if (rdbVersion > 14) return 'a Redis release newer than 8.8';
  return rdbVersion < 6 ? 'Redis before 2.6' : 'no known release';
}

/** "RDB 12 (Redis 7.4, 8.0, 8.2 and 8.4)" */
export function describeRdbVersion(rdbVersion: number): string {
  return `RDB ${rdbVersion} (${rdbWriters(rdbVersion)})`;
}

/** what this reader reads, for messages */
export const READS = `RDB 1 to ${RDB_MAX_REDIS_VERSION} ("REDIS" header) and ${RDB_VALKEY_FIRST} ("VALKEY" header)`;
