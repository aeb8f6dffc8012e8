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

function canonicalStream(v: Extract<DecodedValue, { kind: 'stream' }>['value']): string {
  // deleted-entry bookkeeping depends on the listpack layout, not on the data
  const { deletedInListpacks: _deleted, ...rest } = v;
  return JSON.stringify(rest, (_k, value) => (typeof value === 'bigint' ? value.toString() : value && value.type === 'Buffer' && Array.isArray(value.data) ? Buffer.from(value.data).toString('hex') : value));
}

/** undefined when equal, else a short description of the first difference. */
export function compareDecoded(expected: DecodedValue, actual: DecodedValue): string | undefined {
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
    case 'hash':
      return sameMultiset(
        expected.value.map(([f, v]) => `${hex(f)}=${hex(v)}`),
        (actual as typeof expected).value.map(([f, v]) => `${hex(f)}=${hex(v)}`),
      )
        ? undefined
        : 'hash fields';
    case 'stream':
      return canonicalStream(expected.value) === canonicalStream((actual as typeof expected).value) ? undefined : 'stream entries or groups';
    case 'module':
      return expected.value.bytes.equals((actual as typeof expected).value.bytes) ? undefined : 'module value';
  }
}
