/**
 * Formats of servers no engine here runs, as hand-made bytes (test/fixtures/rdb/formats.ts, each
 * builder naming its source file and tag):
 * - Redis 7.2 (RDB 11): set listpack (20), stream v3 (21). Redis 8.0.2 and Valkey 8.1.1 load these
 *   very bytes in test/rdb-server-acceptance.test.ts.
 * - Redis 7.4 / 8.0 / 8.2 / 8.4 (RDB 12, rdb.h unchanged from 7.4.0 to 8.0-m01; 8.6 is the first with
 *   13): hashes with field expiries 22-25 incl. minExpire, SLOT_INFO (244). Redis 8.0.2 loads them
 *   in rdb-server-acceptance.
 * - Valkey 9.0 (VALKEY080, valkey src/rdb.h and rdb.c): RDB_TYPE_HASH_2 (22: field, value, 8-byte
 *   expiry, -1 none), SLOT_IMPORT (243), valkey-ver aux. No Valkey 9 here: the bytes follow the source.
 * - Later versions (Redis 8.6's RDB 13, a VALKEY081): "not supported", never damage.
 * Each file is read whole and one byte at a time, with and without raw values, and the records
 * checked against what was written.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeValue, RdbFormatError, RdbStreamParser, RdbUnsupportedError, type DecodedValue, type RdbSummary } from '../src/rdb/index.js';
import { listpack, rdbEncode as E } from './fixtures/rdb/encode.js';
import {
  aux,
  fileWithHeader,
  hashListpackExValue,
  hashMetadataValue,
  setListpackValue,
  slotImport,
  slotInfo,
  streamValue,
  valkeyHash2Value,
  type FieldSpec,
} from './fixtures/rdb/formats.js';

const T = 1_900_000_000_000;
const FIELDS: FieldSpec[] = [
  { field: 'a', value: '1', expireAt: T + 5000 },
  { field: 'b', value: '2' },
  { field: 'c', value: '3', expireAt: T },
];

interface Read {
  summary: RdbSummary;
  values: Map<string, { type: number; decoded: DecodedValue; expireAtMs?: number }>;
}

/** reads `rdb` in pieces of `piece` bytes, decoding every record */
function read(rdb: Buffer, piece = rdb.length): Read {
  const values: Read['values'] = new Map();
  const parser: RdbStreamParser = new RdbStreamParser({
    source: 'fixture.rdb',
    onRecord: (r) => {
      const version = parser.summary().version;
      values.set(r.key.toString(), {
        type: r.type,
        decoded: decodeValue(r.type, r.value, { rdbVersion: version, strict: true }),
        ...(r.expireAtMs !== undefined ? { expireAtMs: r.expireAtMs } : {}),
      });
    },
  });
  for (let i = 0; i < rdb.length; i += piece) parser.write(rdb.subarray(i, i + piece));
  return { summary: parser.end(), values };
}

/** reads `rdb` whole and one byte at a time, and with rawValues 'none' (element by element); all agree */
function readEveryWay(rdb: Buffer): Read {
  const whole = read(rdb);
  const bytewise = read(rdb, 1);
  assert.deepEqual([...bytewise.values.keys()], [...whole.values.keys()]);
  assert.deepEqual(bytewise.summary, whole.summary);
  const lean = new RdbStreamParser({ rawValues: 'none' });
  for (let i = 0; i < rdb.length; i++) lean.write(rdb.subarray(i, i + 1));
  assert.deepEqual(lean.end(), whole.summary);
  return whole;
}

function hashOf(r: Read, key: string): Array<[string, string, number | undefined]> {
  const v = r.values.get(key)!.decoded;
  assert.equal(v.kind, 'hash');
  if (v.kind !== 'hash') return [];
  return v.value
    .map(([f, val], i) => [f.toString(), val.toString(), v.fieldExpireAtMs?.[i]] as [string, string, number | undefined])
    .sort((x, y) => (x[0] < y[0] ? -1 : 1));
}

const expectedFields = FIELDS.map((f) => [f.field, f.value, f.expireAt] as [string, string, number | undefined]);

function formatError(rdb: Buffer): string {
  try {
    read(rdb);
  } catch (error) {
    assert.ok(error instanceof RdbFormatError, String(error));
    return error.message;
  }
  return 'ok';
}

describe('Redis 7.2 (RDB 11), hand-made from rdb.c at 7.2.0', () => {
  test('set listpack (20) and stream v3 (21) with a consumer active time', () => {
    const rdb = E.file(11, [
      aux('redis-ver', '7.2.4'),
      Buffer.from([0xfe, 0]),
      E.record(20, 's', setListpackValue(['a', 7, 'b'])),
      E.record(21, 'x', streamValue({ entries: [5, 9], version: 3, group: true })),
    ]);
    const r = readEveryWay(rdb);
    assert.equal(r.summary.version, 11);
    const set = r.values.get('s')!.decoded;
    assert.deepEqual(set.kind === 'set' && set.value.map(String), ['a', '7', 'b']);
    const stream = r.values.get('x')!.decoded;
    assert.equal(stream.kind, 'stream');
    if (stream.kind === 'stream') {
      assert.deepEqual(
        stream.value.entries.map((e) => e.id),
        ['5-0', '9-0'],
      );
      assert.equal(stream.value.groups[0]!.consumers[0]!.activeTimeMs, 1_700_000_000_050);
      assert.equal(stream.value.groups[0]!.consumers[0]!.seenTimeMs, 1_700_000_000_100);
    }
  });

  test('set listpack anomalies: duplicates, empty', () => {
    assert.match(formatError(E.file(11, [E.record(20, 's', setListpackValue(['a', 'a']))])), /set listpack: member "a" at offset \d+ appears twice/);
    assert.match(formatError(E.file(11, [E.record(20, 's', setListpackValue([7, '7']))])), /member "7" at offset \d+ appears twice/);
    assert.match(formatError(E.file(11, [E.record(20, 's', setListpackValue([]))])), /set listpack: is empty/);
  });
});

describe('Redis 7.4 to 8.4 (RDB 12), hand-made from rdb.c at 7.4.0', () => {
  const file = (...records: Buffer[]) => E.file(12, [aux('redis-ver', '8.2.1'), Buffer.from([0xfe, 0]), slotInfo(100, 4, 1), ...records]);

  test('hash field expiries in all four forms, SLOT_INFO', () => {
    const rdb = file(
      E.record(24, 'meta', hashMetadataValue(FIELDS)),
      E.record(22, 'meta-pre-ga', hashMetadataValue(FIELDS, true)),
      E.record(25, 'lpex', hashListpackExValue(FIELDS)),
      E.record(23, 'lpex-pre-ga', hashListpackExValue(FIELDS, true)),
      Buffer.concat([Buffer.from([0xfc]), E.i64(T + 9), E.record(25, 'lpex-none', hashListpackExValue([{ field: 'x', value: 'y' }]))]),
    );
    const r = readEveryWay(rdb);
    assert.equal(r.summary.version, 12);
    assert.equal(r.summary.header, 'REDIS0012');
    for (const key of ['meta', 'meta-pre-ga', 'lpex', 'lpex-pre-ga']) assert.deepEqual(hashOf(r, key), expectedFields, key);
    assert.deepEqual(hashOf(r, 'lpex-none'), [['x', 'y', undefined]]);
    assert.equal(r.values.get('lpex-none')!.expireAtMs, T + 9);
    assert.equal(r.summary.kinds.hash, 5);
  });

  test('a large hash with field expiries is read element by element, memory bounded by its fields', () => {
    const many: FieldSpec[] = Array.from({ length: 20_000 }, (_, i) => ({
      field: `field:${i}`,
      value: `value ${i} ${'v'.repeat(i % 50)}`,
      ...(i % 3 === 0 ? { expireAt: T + i } : {}),
    }));
    const rdb = file(E.record(24, 'big', hashMetadataValue(many)));
    const parser = new RdbStreamParser({ rawValues: 'none' });
    for (let i = 0; i < rdb.length; i += 4096) parser.write(rdb.subarray(i, i + 4096));
    assert.equal(parser.end().kinds.hash, 1);
    assert.ok(parser.maxBufferedBytes < 64 * 1024, `kept ${parser.maxBufferedBytes} bytes of a ${rdb.length}-byte file`);
    const dup = file(E.record(24, 'big', hashMetadataValue([...many, many[5]!])));
    const strict = new RdbStreamParser({ rawValues: 'none' });
    assert.throws(() => {
      for (let i = 0; i < dup.length; i += 4096) strict.write(dup.subarray(i, i + 4096));
      strict.end();
    }, /hash has the field "field:5" twice/);
  });

  test('anomalies: expiry out of range or order, odd triplets, minimum beyond 2^48, duplicate fields', () => {
    assert.match(
      formatError(file(E.record(24, 'h', Buffer.concat([E.i64(2 ** 48 + 1), E.len(1), E.len(0), E.str('f'), E.str('v')])))),
      /hash field expiry minimum 281474976710657 is outside 0\.\.2\^48/,
    );
    assert.match(
      formatError(file(E.record(24, 'h', Buffer.concat([E.i64(2 ** 48 - 10), E.len(1), E.len(100), E.str('f'), E.str('v')])))),
      /hash field expiry 281474976710745 is beyond the largest/,
    );
    assert.match(
      formatError(file(E.record(25, 'h', Buffer.concat([E.i64(0), E.str(listpack(['f', 'v', 5, 'g', 'w', 3]))])))),
      /field expiry 3 at offset \d+ is out of order after 5/,
    );
    assert.match(
      formatError(file(E.record(25, 'h', Buffer.concat([E.i64(0), E.str(listpack(['f', 'v', 0, 'g', 'w', 3]))])))),
      /out of order after a field without one/,
    );
    assert.match(
      formatError(file(E.record(25, 'h', Buffer.concat([E.i64(0), E.str(listpack(['f', 'v', 0, 'g', 'w']))])))),
      /the field at offset \d+ has no expiry/,
    );
    assert.match(formatError(file(E.record(23, 'h', E.str(listpack(['f', 'v', 'soon']))))), /field expiry at offset \d+ is not an integer/);
    assert.match(formatError(file(E.record(23, 'h', E.str(listpack(['f', 'v', 0, 'f', 'w', 0]))))), /field "f" at offset \d+ appears twice/);
    assert.match(formatError(file(E.record(24, 'h', hashMetadataValue([FIELDS[0]!, FIELDS[0]!])))), /hash has the field "a" twice/);
  });
});

describe("Valkey 9.0 (VALKEY080), hand-made from Valkey's rdb.h and rdb.c", () => {
  const file = (...records: Buffer[]) =>
    fileWithHeader('VALKEY080', [
      aux('valkey-ver', '9.0.0'),
      aux('redis-ver', '7.2.4'),
      slotImport('j'.repeat(40), [
        [0, 100],
        [5000, 5460],
      ]),
      Buffer.from([0xfe, 0]),
      ...records,
    ]);

  test('header, RDB_TYPE_HASH_2 (22) with -1 for no expiry, SLOT_IMPORT, the Redis 7.2 types', () => {
    const rdb = file(
      E.record(22, 'h2', valkeyHash2Value([...FIELDS, { field: 'past', value: 'p', expireAt: 0 }])),
      E.record(20, 's', setListpackValue(['m'])),
      E.record(21, 'x', streamValue({ entries: [1], version: 3, group: true })),
      E.record(16, 'lp', E.str(listpack(['f', 'v']))),
    );
    const r = readEveryWay(rdb);
    assert.equal(r.summary.version, 80);
    assert.equal(r.summary.header, 'VALKEY080');
    assert.deepEqual(
      hashOf(r, 'h2'),
      [...expectedFields, ['past', 'p', 0]].sort((x, y) => (x[0]! < y[0]! ? -1 : 1)),
    );
    assert.equal(r.summary.aux['valkey-ver'], '9.0.0');
  });

  test('anomalies: an expiry below -1, Redis-only types, a SLOT_IMPORT range beyond the slots', () => {
    const h2 = Buffer.concat([E.len(1), E.str('f'), E.str('v'), E.i64(-2)]);
    assert.match(formatError(file(E.record(22, 'h', h2))), /hash field expiry -2 is below -1/);
    assert.match(
      formatError(file(E.record(24, 'h', hashMetadataValue(FIELDS)))),
      /value type 24 is Redis's \(hash field expiry\), which a "VALKEY" file cannot hold/,
    );
    assert.match(formatError(fileWithHeader('VALKEY080', [slotImport('j', [[10, 16384]])])), /SLOT_IMPORT range 10-16384 is not within slots 0 to 16383/);
    // the same bytes under "REDIS0012" are Redis's PRE_GA layout, which they do not fit
    assert.notEqual(formatError(E.file(12, [E.record(22, 'h', valkeyHash2Value(FIELDS))])), 'ok');
  });

  test('a large Valkey hash with expiries is read element by element', () => {
    const many: FieldSpec[] = Array.from({ length: 20_000 }, (_, i) => ({ field: `f${i}`, value: 'x'.repeat(i % 40), ...(i % 2 ? { expireAt: T + i } : {}) }));
    const rdb = file(E.record(22, 'big', valkeyHash2Value(many)));
    const parser = new RdbStreamParser({ rawValues: 'none' });
    for (let i = 0; i < rdb.length; i += 1000) parser.write(rdb.subarray(i, i + 1000));
    assert.equal(parser.end().kinds.hash, 1);
    assert.ok(parser.maxBufferedBytes < 64 * 1024, `kept ${parser.maxBufferedBytes} bytes`);
  });
});

describe('later versions are "not supported", never damage', () => {
  for (const [header, writer] of [
    ['REDIS0013', 'Redis 8.6'],
    ['REDIS0014', 'Redis 8.8'],
    ['REDIS0042', 'a Redis release newer than 8.8'],
    ['VALKEY081', 'a Valkey release newer than 9.0'],
  ] as const) {
    test(`${header}: RdbUnsupportedError naming ${writer}`, () => {
      const rdb = fileWithHeader(header, [Buffer.from([0xfe, 0]), E.record(0, 'k', E.str('v'))]);
      for (const piece of [rdb.length, 1]) {
        try {
          read(rdb, piece);
          assert.fail('read');
        } catch (error) {
          assert.ok(error instanceof RdbUnsupportedError, String(error));
          assert.equal(error.code, 'E_RDB_UNSUPPORTED');
          assert.equal(error.exitCode, 2);
          assert.equal(error.header, header);
          assert.equal(error.writtenBy, writer);
          assert.match(
            error.message,
            new RegExp(`^fixture\\.rdb: not supported \\(RDB ${Number(header.slice(header.startsWith('V') ? 6 : 5))}, written by ${writer}\\)`),
          );
        }
      }
    });
  }
});

describe('warnings are given once, wherever the bytes are cut', () => {
  test('a large stream (read element by element) whose length disagrees: one warning at the length, fed one byte at a time', () => {
    const entries = Array.from({ length: 8000 }, (_, i) => 1000 + i);
    const value = streamValue({ entries, length: 7999, version: 3, group: true });
    assert.ok(value.length > 64 * 1024);
    const rdb = E.file(11, [Buffer.from([0xfe, 0]), E.record(21, 'big-stream', value)]);
    // the declared length, then the last ID's ms
    const lengthAt = rdb.indexOf(value) + value.indexOf(Buffer.concat([E.len(7999), E.len(8999)]));
    for (const [rawValues, piece] of [
      ['none', 1],
      ['none', 4096],
      ['all', 1],
      ['all', rdb.length],
    ] as const) {
      const parser = rawValues === 'all' ? new RdbStreamParser({ source: 'big.rdb', rawValues }) : new RdbStreamParser({ source: 'big.rdb', rawValues });
      for (let i = 0; i < rdb.length; i += piece) parser.write(rdb.subarray(i, i + piece));
      const summary = parser.end();
      assert.equal(summary.warningCount, 1, `${rawValues}, pieces of ${piece}`);
      assert.equal(summary.warnings[0]!.offset, lengthAt);
      assert.match(summary.warnings[0]!.message, new RegExp(`^big\\.rdb at byte ${lengthAt}: key "big-stream": stream declares length 7999`));
    }
    const strict = new RdbStreamParser({ rawValues: 'none', strict: true });
    assert.throws(
      () => {
        for (let i = 0; i < rdb.length; i += 4096) strict.write(rdb.subarray(i, i + 4096));
        strict.end();
      },
      new RegExp(`at byte ${lengthAt}: key "big-stream": stream declares length 7999 but its listpacks hold 8000 live entries`),
    );
  });
});

describe('hostile bytes in the new formats', () => {
  test('every flipped byte of a file holding types 20-25, SLOT_INFO and a VALKEY080 file ends in a clean parse or an error naming an offset', () => {
    const redis12 = E.file(12, [
      aux('redis-ver', '8.0.2'),
      Buffer.from([0xfe, 0]),
      slotInfo(7, 1, 0),
      E.record(20, 's', setListpackValue(['a', 7, 'b'])),
      E.record(21, 'x', streamValue({ entries: [5, 9], version: 3, group: true })),
      E.record(22, 'h22', hashMetadataValue(FIELDS, true)),
      E.record(23, 'h23', hashListpackExValue(FIELDS, true)),
      E.record(24, 'h24', hashMetadataValue(FIELDS)),
      E.record(25, 'h25', hashListpackExValue(FIELDS)),
    ]);
    const valkey = fileWithHeader('VALKEY080', [slotImport('j', [[1, 2]]), Buffer.from([0xfe, 0]), E.record(22, 'h', valkeyHash2Value(FIELDS))]);
    for (const rdb of [redis12, valkey]) {
      // the checksum zeroed ("disabled"): a flip must be caught by structure, or parse as another valid file
      const base = Buffer.from(rdb);
      base.fill(0, base.length - 8);
      for (let at = 0; at < base.length - 8; at++) {
        for (const mask of [0x01, 0x80, 0xff]) {
          const bad = Buffer.from(base);
          bad[at]! ^= mask;
          for (const piece of [bad.length, 3]) {
            const parser: RdbStreamParser = new RdbStreamParser({
              source: 'flip.rdb',
              strict: true,
              onRecord: (r) => void decodeValue(r.type, r.value, { rdbVersion: parser.summary().version, strict: true }),
            });
            try {
              for (let i = 0; i < bad.length; i += piece) parser.write(bad.subarray(i, i + piece));
              parser.end();
            } catch (error) {
              if (error instanceof RdbUnsupportedError && at < 9) continue;
              assert.ok(error instanceof RdbFormatError, `flip ${mask} at ${at}: ${(error as Error)?.stack}`);
              assert.doesNotMatch(error.message, /internal error/, `flip ${mask} at ${at}`);
              assert.match(error.message, /^flip\.rdb at byte \d+: /);
            }
          }
        }
      }
    }
  });
});
