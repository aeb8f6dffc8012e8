/**
 * The 9-byte header: "REDIS" and a 4-digit version up to 12, or "VALKEY" and 80 (Valkey 9.0). A
 * well-formed header of a later version is RdbUnsupportedError, not damage. Valkey refuses "VALKEY"
 * below 80 and "REDIS" above 79 (valkey src/rdb.c rdbIsVersionAccepted); Redis any "VALKEY"
 * (src/rdb.c rdbLoadRioWithLoadingCtx: "Wrong signature").
 */
import { RdbUnsupportedError } from './errors.js';
import type { ByteReader } from './reader.js';
import { READS, RDB_FOREIGN_MAX, RDB_MAX_REDIS_VERSION, RDB_MAX_VALKEY_VERSION, RDB_VALKEY_FIRST, REDIS_MAGIC, VALKEY_MAGIC, rdbWriters } from './versions.js';

/** reads the header at the reader's start; sets r.valkey for a "VALKEY" file */
export function readHeader(r: ByteReader, source: string | undefined): { version: number; text: string } {
  r.need(9);
  const text = r.buf.toString('latin1', 0, 9);
  let version: number;
  if (text.startsWith(REDIS_MAGIC)) {
    const digits = text.slice(5);
    if (!/^[0-9]{4}$/.test(digits)) r.fail(`RDB version "${digits}" is not 4 digits`, 5);
    version = Number(digits);
    if (version < 1) r.fail(`RDB version ${version} does not exist`, 5);
    if (version > RDB_FOREIGN_MAX)
      r.fail(
        `RDB version ${version} with the "REDIS" header: versions from ${RDB_VALKEY_FIRST} are Valkey's and have the "VALKEY" header; no server loads this`,
        5,
      );
    if (version > RDB_MAX_REDIS_VERSION) throw new RdbUnsupportedError(version, text, rdbWriters(version), READS, { source, offset: 5 });
  } else if (text.startsWith(VALKEY_MAGIC)) {
    const digits = text.slice(6);
    if (!/^[0-9]{3}$/.test(digits)) r.fail(`RDB version "${digits}" is not 3 digits`, 6);
    version = Number(digits);
    if (version < RDB_VALKEY_FIRST)
      r.fail(`RDB version ${version} with the "VALKEY" header: Valkey writes that header from version ${RDB_VALKEY_FIRST} (9.0) and refuses it below`, 6);
    if (version > RDB_MAX_VALKEY_VERSION) throw new RdbUnsupportedError(version, text, rdbWriters(version), READS, { source, offset: 6 });
    r.valkey = true;
  } else {
    return r.fail(`not an RDB file: it starts with ${JSON.stringify(text)}, not "REDIS" and a 4-digit version nor "VALKEY" and a 3-digit one`, 0);
  }
  r.pos = 9;
  return { version, text };
}

/** the largest slot number plus one (cluster mode) */
const CLUSTER_SLOTS = 16384;

/** SLOT_INFO (Redis 7.4 rdb.c rdbSaveDb, cluster mode): slot id, its keys, its keys with an expiry; `at`: the opcode */
export function readSlotInfo(r: ByteReader, at: number): void {
  const slot = r.len();
  r.len();
  r.len();
  if (slot >= CLUSTER_SLOTS) r.fail(`SLOT_INFO names slot ${slot}; slots are 0 to ${CLUSTER_SLOTS - 1}`, at);
}

/** SLOT_IMPORT (Valkey 9.0 cluster_migrateslots.c clusterRDBSaveSlotImports): job name, range count, ranges */
export function readSlotImport(r: ByteReader, at: number): void {
  if (!r.valkey) r.fail('opcode 0xf3 (243) is Valkey 9.0\'s SLOT_IMPORT, which only a "VALKEY" file holds (Redis 8.6 uses 243 for KEY_META in RDB 13)', at);
  r.skipStr();
  const ranges = r.len();
  for (let i = 0; i < ranges; i++) {
    const rangeAt = r.pos;
    const start = r.len();
    const end = r.len();
    if (start > end || end >= CLUSTER_SLOTS) r.fail(`SLOT_IMPORT range ${start}-${end} is not within slots 0 to ${CLUSTER_SLOTS - 1}`, rangeAt);
  }
}
