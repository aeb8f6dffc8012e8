/**
 * The fallback for targets that cannot load the backup's encodings (an older RDB version): a value
 * rebuilt with plain commands (SET, RPUSH, SADD, ZADD, HSET, XADD + XGROUP/XCLAIM/XSETID) under a
 * temporary key, given its expiry there, then renamed onto its name (RENAME for `replace`, RENAMENX
 * for `fail`/`skip`), so the key appears whole, with its TTL, or not at all.
 *
 * Streams come back with their entries, last ID, consumer groups (last delivered ID and, on 7.0+,
 * entries-read), consumers and pending entries (owner, delivery time and count, through XCLAIM ...
 * FORCE JUSTID; pending IDs whose entry was deleted are re-added for the claim and deleted again),
 * and on 7.0+ the entries-added and max-deleted-ID counters. Not restorable with commands: a
 * consumer's seen-time (it becomes the time of the restore), LRU/LFU hints, and module values.
 */
import { displayKey, type DecodedStream, type DecodedValue } from '../rdb/index.js';
import { NeuralLogRedisError } from '../errors.js';
import type { Arg } from './pipe.js';

/** What the target understands. */
export interface TargetFeatures {
  /** the RDB version it reads (9 = 5.0 to 6.2, 10 = 7.0, ...): 7.0 adds ENTRIESREAD, ENTRIESADDED, MAXDELETEDID */
  rdbVersion: number;
  /** XGROUP CREATECONSUMER exists (6.2+); without it only consumers owning pending entries come back */
  createConsumer: boolean;
  /** HPEXPIREAT exists (Redis 7.4+, Valkey 9.0+): hash fields can get their own expiry */
  fieldExpiry: boolean;
}

/** Elements per command, and a soft byte budget per command, for big collections. */
const BATCH_ELEMENTS = 512;
const BATCH_BYTES = 1 << 20;
const PLACEHOLDER_FIELD = '__neurallog_restore_placeholder__';

const scoreText = (n: number): string => (n === Infinity ? 'inf' : n === -Infinity ? '-inf' : Object.is(n, -0) ? '-0' : String(n));

/**
 * Commands that build `value` at `tmpKey` and set its absolute expiry (the caller then renames it),
 * or null when nothing of it is left to write (every field of a hash had expired by `nowMs`).
 * Throws for values commands cannot rebuild on the target (modules; hash field TTLs without HPEXPIREAT).
 */
export function buildCommands(
  key: Buffer,
  tmpKey: Buffer,
  decoded: DecodedValue,
  expireAtMs: number | undefined,
  target: TargetFeatures,
  nowMs = Date.now(),
): Arg[][] | null {
  const out: Arg[][] = [];
  switch (decoded.kind) {
    case 'string':
      out.push(['SET', tmpKey, decoded.value]);
      break;
    case 'list':
      batched(
        out,
        ['RPUSH', tmpKey],
        decoded.value.map((e) => [e]),
      );
      break;
    case 'set':
      batched(
        out,
        ['SADD', tmpKey],
        decoded.value.map((e) => [e]),
      );
      break;
    case 'zset':
      batched(
        out,
        ['ZADD', tmpKey],
        decoded.value.map(([member, score]) => [scoreText(score), member]),
      );
      break;
    case 'hash': {
      const expiries = (decoded as { fieldExpireAtMs?: Array<number | undefined> }).fieldExpireAtMs;
      if (!expiries?.some((e) => e !== undefined)) {
        batched(
          out,
          [target.rdbVersion >= 8 ? 'HSET' : 'HMSET', tmpKey],
          decoded.value.map(([f, v]) => [f, v]),
        );
        break;
      }
      if (!target.fieldExpiry) {
        throw new NeuralLogRedisError(
          'E_RESTORE_UNSUPPORTED',
          `key ${displayKey(key)} is a hash whose fields carry their own TTL, and the target has no per-field expiry (HPEXPIREAT: Redis 7.4+, Valkey 9.0+); restore it onto a server that reads the backup's RDB version`,
        );
      }
      // fields whose expiry has passed are not written (the server would drop them at once)
      const live = decoded.value.map((fv, i) => ({ fv, at: expiries[i] })).filter((f) => f.at === undefined || f.at > nowMs);
      if (live.length === 0) return null;
      batched(
        out,
        ['HSET', tmpKey],
        live.map(({ fv: [f, v] }) => [f, v]),
      );
      const byTime = new Map<number, Buffer[]>();
      for (const f of live) if (f.at !== undefined) (byTime.get(f.at) ?? byTime.set(f.at, []).get(f.at)!).push(f.fv[0]);
      for (const [at, fields] of byTime) {
        for (let i = 0; i < fields.length; i += BATCH_ELEMENTS) {
          const part = fields.slice(i, i + BATCH_ELEMENTS);
          out.push(['HPEXPIREAT', tmpKey, String(at), 'FIELDS', String(part.length), ...part]);
        }
      }
      break;
    }
    case 'stream':
      streamCommands(out, tmpKey, decoded.value, target);
      break;
    case 'module':
      throw new NeuralLogRedisError(
        'E_RESTORE_UNSUPPORTED',
        `key ${displayKey(key)} holds a value of module type ${decoded.value.moduleName}, which only RESTORE of its payload can recreate; the target cannot load this backup's payloads (older RDB version), so load the module's data another way or restore onto a server that reads the backup's RDB version`,
      );
  }
  if (expireAtMs !== undefined) out.push(['PEXPIREAT', tmpKey, String(expireAtMs)]);
  return out;
}

function batched(out: Arg[][], prefix: Arg[], items: Arg[][]): void {
  let args: Arg[] = [...prefix];
  let bytes = 0;
  let count = 0;
  for (const item of items) {
    for (const a of item) {
      args.push(a);
      bytes += typeof a === 'string' ? a.length : a.length;
    }
    count++;
    if (count >= BATCH_ELEMENTS || bytes >= BATCH_BYTES) {
      out.push(args);
      args = [...prefix];
      bytes = 0;
      count = 0;
    }
  }
  if (count > 0) out.push(args);
}

function parseId(id: string): [bigint, bigint] {
  const dash = id.indexOf('-');
  return [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
}

function compareIds(a: string, b: string): number {
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  return am < bm ? -1 : am > bm ? 1 : as < bs ? -1 : as > bs ? 1 : 0;
}

function streamCommands(out: Arg[][], tmpKey: Buffer, s: DecodedStream, target: TargetFeatures): void {
  const v7 = target.rdbVersion >= 10;
  // pending IDs whose entry is gone: re-added for XCLAIM, deleted afterwards
  const live = new Set(s.entries.map((e) => e.id));
  const placeholders = [...new Set(s.groups.flatMap((g) => g.pending.map((p) => p.id)).filter((id) => !live.has(id)))].sort(compareIds);
  let p = 0;
  for (const entry of s.entries) {
    while (p < placeholders.length && compareIds(placeholders[p]!, entry.id) < 0) out.push(['XADD', tmpKey, placeholders[p++]!, PLACEHOLDER_FIELD, '']);
    const args: Arg[] = ['XADD', tmpKey, entry.id];
    for (const [f, v] of entry.fields) args.push(f, v);
    out.push(args);
  }
  while (p < placeholders.length) out.push(['XADD', tmpKey, placeholders[p++]!, PLACEHOLDER_FIELD, '']);
  if (s.entries.length === 0 && placeholders.length === 0) {
    // an empty stream exists only through a group; make one and drop it
    out.push(['XGROUP', 'CREATE', tmpKey, PLACEHOLDER_FIELD, '0', 'MKSTREAM']);
    out.push(['XGROUP', 'DESTROY', tmpKey, PLACEHOLDER_FIELD]);
  }
  for (const g of s.groups) {
    const create: Arg[] = ['XGROUP', 'CREATE', tmpKey, g.name, g.lastId];
    if (v7 && g.entriesRead !== undefined) create.push('ENTRIESREAD', String(g.entriesRead));
    out.push(create);
    if (target.createConsumer) for (const c of g.consumers) out.push(['XGROUP', 'CREATECONSUMER', tmpKey, g.name, c.name]);
    for (const pending of g.pending) {
      out.push([
        'XCLAIM',
        tmpKey,
        g.name,
        pending.consumer,
        '0',
        pending.id,
        'TIME',
        String(pending.deliveryTimeMs),
        'RETRYCOUNT',
        String(pending.deliveryCount),
        'FORCE',
        'JUSTID',
      ]);
    }
  }
  for (let i = 0; i < placeholders.length; i += BATCH_ELEMENTS) out.push(['XDEL', tmpKey, ...placeholders.slice(i, i + BATCH_ELEMENTS)]);
  const setId: Arg[] = ['XSETID', tmpKey, s.lastId];
  if (v7 && s.entriesAdded !== undefined) setId.push('ENTRIESADDED', String(s.entriesAdded));
  if (v7 && s.maxDeletedId !== undefined) setId.push('MAXDELETEDID', s.maxDeletedId);
  out.push(setId);
}
