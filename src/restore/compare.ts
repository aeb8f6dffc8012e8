/**
 * Comparing a value from a backup with the same key on a server, independent of encodings: both are
 * decoded to plain values (the server's through DUMP) and compared, order-insensitively where Redis
 * itself has no order (sets, hash fields).
 */
import { decodeValue, type DecodedValue } from '../rdb/index.js';

/** A DUMP payload is [type][value][u16 RDB version][u64 CRC-64]. */
export function dumpToDecoded(dump: Buffer): DecodedValue {
  return decodeValue(dump[0]!, dump.subarray(1, dump.length - 10));
}

const hex = (b: Buffer) => b.toString('hex');

function sameMultiset(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((v, i) => v === y[i]);
}

/**
 * A stream as text, for comparing. `withActiveTimes` false drops consumers' active times, which only
 * RDB type 21 (Redis 7.2+, Valkey) carries: a server of that format that loaded an older file sets them
 * itself, so a type-19 backup and its restored copy differ there and nowhere else.
 */
function canonicalStream(v: Extract<DecodedValue, { kind: 'stream' }>['value'], carried: StreamFieldsCarried): string {
  // deleted-entry bookkeeping depends on the listpack layout, not on the data
  const { deletedInListpacks: _deleted, ...rest } = v;
  return JSON.stringify(rest, (k, value) => {
    if (k === 'activeTimeMs' && !carried.activeTimes) return undefined;
    if ((k === 'firstId' || k === 'maxDeletedId' || k === 'entriesAdded') && !carried.v2Metadata) return undefined;
    if (k === 'entriesRead' && !carried.entriesRead) return undefined;
    if (typeof value === 'bigint') return value.toString();
    return value && value.type === 'Buffer' && Array.isArray(value.data) ? Buffer.from(value.data).toString('hex') : value;
  });
}

type StreamValue = Extract<DecodedValue, { kind: 'stream' }>['value'];
const hasActiveTimes = (v: StreamValue) => v.groups.some((g) => g.consumers.some((c) => (c as { activeTimeMs?: number }).activeTimeMs !== undefined));

/**
 * What both forms of a stream carry. An old-format stream (type 15: Redis 5 and 6, RDB 9) has no
 * first id, max deleted id, entries added (type 19+) or groups' entries-read; a server that loads it
 * computes them and its DUMP carries them, so they are compared only when the backup has them too.
 */
interface StreamFieldsCarried {
  activeTimes: boolean;
  v2Metadata: boolean;
  entriesRead: boolean;
}

function streamFieldsCarried(a: StreamValue, b: StreamValue): StreamFieldsCarried {
  const entriesRead = (v: StreamValue) => v.groups.length === 0 || v.groups.some((g) => g.entriesRead !== undefined);
  return {
    activeTimes: hasActiveTimes(a) && hasActiveTimes(b),
    v2Metadata: a.entriesAdded !== undefined && b.entriesAdded !== undefined,
    entriesRead: entriesRead(a) && entriesRead(b),
  };
}

/** each field's own expiry (types 22-25), '' where none */
const fieldExpiries = (v: DecodedValue) => (v as { fieldExpireAtMs?: Array<number | undefined> }).fieldExpireAtMs;

/**
 * undefined when equal, else a short description of the first difference. Hash fields whose own
 * expiry has passed by `nowMs` are left out on both sides (the server drops them as it meets them).
 */
export function compareDecoded(expected: DecodedValue, actual: DecodedValue, nowMs = Date.now()): string | undefined {
  if (expected.kind !== actual.kind) return `type ${actual.kind}, expected ${expected.kind}`;
  switch (expected.kind) {
    case 'string':
      return expected.value.equals((actual as typeof expected).value) ? undefined : 'string value';
    case 'list': {
      const a = (actual as typeof expected).value;
      if (a.length !== expected.value.length) return `list length ${a.length}, expected ${expected.value.length}`;
      return expected.value.every((v, i) => v.equals(a[i]!)) ? undefined : 'list elements';
    }
    case 'set':
      return sameMultiset(expected.value.map(hex), (actual as typeof expected).value.map(hex)) ? undefined : 'set members';
    case 'zset':
      return sameMultiset(
        expected.value.map(([m, s]) => `${hex(m)}:${s}`),
        (actual as typeof expected).value.map(([m, s]) => `${hex(m)}:${s}`),
      )
        ? undefined
        : 'sorted set members or scores';
    case 'hash': {
      const entries = (h: typeof expected) => {
        const at = fieldExpiries(h);
        return h.value
          .map(([f, v], i) => ({ f, v, at: at?.[i] }))
          .filter((e) => e.at === undefined || e.at > nowMs)
          .map((e) => `${hex(e.f)}=${hex(e.v)}@${e.at ?? ''}`);
      };
      return sameMultiset(entries(expected), entries(actual as typeof expected)) ? undefined : 'hash fields or their TTLs';
    }
    case 'stream': {
      const a = (actual as typeof expected).value;
      const carried = streamFieldsCarried(expected.value, a);
      return canonicalStream(expected.value, carried) === canonicalStream(a, carried) ? undefined : 'stream entries or groups';
    }
    case 'module':
      return expected.value.bytes.equals((actual as typeof expected).value.bytes) ? undefined : 'module value';
  }
}
