/**
 * Unit tests of rdb/ without a server: CRC-64 against a bitwise reference, LZF, listpack / ziplist /
 * intset / zipmap validation, every documented rejection with its message and offset, chunking.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { NeuralLogRedisError } from '../src/errors.js';
import { crc64, crc64Hex, crc64Init, crc64Update, decodeValue, lzfDecompress, lzfValidate, RdbFormatError, RdbStreamParser } from '../src/rdb/index.js';
import { MemberSet } from '../src/rdb/byte-set.js';
import { intset, listpack, lzfCompress, moduleId, rdbEncode as E, ziplist, zipmap } from './fixtures/rdb/encode.js';
import { seededRandom } from './rdb-helpers.js';

const refCrc = (b: Buffer) => E.crc(b).readBigUInt64LE();

/** parses a whole RDB made of `items`; returns the error message or 'ok' */
function outcome(rdb: Buffer, source = 'dump.rdb'): string {
  const parser = new RdbStreamParser({ source, strict: true });
  try {
    parser.write(rdb);
    parser.end();
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof RdbFormatError, String(error));
    return error.message;
  }
}

const rdbWith = (...items: Buffer[]) => E.file(10, [Buffer.from([0xfe, 0]), ...items]);
/** offset of a record's first byte in rdbWith(...) */
const FIRST = 11;

function decodeError(type: number, value: Buffer): string {
  try {
    decodeValue(type, value, { strict: true });
  } catch (error) {
    assert.ok(error instanceof RdbFormatError, String(error));
    return error.message;
  }
  return 'ok';
}

describe('CRC-64/Jones', () => {
  test('check value and agreement with a bitwise reference at every length, offset and alignment', () => {
    assert.equal(crc64(Buffer.from('123456789')), 0xe9c6d914c4b8d9can);
    assert.equal(crc64Hex(crc64Update(crc64Init(), Buffer.from('123456789'))), 'e9c6d914c4b8d9ca');
    assert.equal(crc64(Buffer.alloc(0)), 0n);
    const data = randomBytes(700);
    for (let start = 0; start < 9; start++) {
      for (const len of [0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 100, 255, 256, 600]) {
        const slice = data.subarray(start, start + len);
        assert.equal(crc64(slice), refCrc(slice), `start ${start} length ${len}`);
      }
    }
  });

  test('incremental updates equal one pass, however the input is split', () => {
    const data = randomBytes(3000);
    const whole = crc64(data);
    const rnd = seededRandom(3);
    for (let run = 0; run < 50; run++) {
      const state = crc64Init();
      for (let i = 0; i < data.length;) {
        const n = 1 + Math.floor(rnd() * 300);
        crc64Update(state, data.subarray(i, i + n));
        i += n;
      }
      assert.equal(crc64Hex(state), whole.toString(16).padStart(16, '0'));
    }
    const state = crc64Init();
    crc64Update(state, data, 0, 1000);
    crc64Update(state, data, 1000, 3000);
    assert.equal(crc64Hex(state), whole.toString(16).padStart(16, '0'));
  });
});

describe('LZF', () => {
  test('decompresses what the reference compressor makes; validation agrees', () => {
    const rnd = seededRandom(5);
    const samples = [
      Buffer.from('a'),
      Buffer.from('abcabcabcabcabcabcabcabc'),
      Buffer.alloc(10_000, 'z'),
      Buffer.from(Array.from({ length: 5000 }, () => Math.floor(rnd() * 4))),
      randomBytes(3000),
      Buffer.from('the quick brown fox '.repeat(400)),
    ];
    for (const s of samples) {
      const c = lzfCompress(s);
      assert.deepEqual(lzfDecompress(c, 0, c.length, s.length), s);
      lzfValidate(c, 0, c.length, s.length);
    }
  });

  test('corrupt data is an error, never an out-of-range read', () => {
    const good = lzfCompress(Buffer.from('hello hello hello hello'));
    const cases: Array<[Buffer, number, RegExp]> = [
      [good, 5, /overflows the declared length/],
      [good, 100, /decompresses to \d+ bytes but declares 100/],
      [Buffer.from([0x20, 0x05]), 10, /before the start of the output/],
      [Buffer.from([0x05, 0x61]), 6, /runs past the end of the compressed data/],
      [Buffer.from([0x00, 0x61, 0xe0]), 300, /cut off/],
      [Buffer.from([0x00, 0x61, 0x20]), 3, /cut off/],
    ];
    for (const [data, len, message] of cases) {
      assert.throws(() => lzfDecompress(data, 0, data.length, len), message);
      assert.throws(() => lzfValidate(data, 0, data.length, len), message);
    }
  });

  test('validation (fast pass, then the careful one) fails exactly when decompression fails, with its message', () => {
    const rnd = seededRandom(11);
    const base = lzfCompress(Buffer.from('{"level":"info","message":"user logged in from 10.0.0.1","service":"auth"} '.repeat(20)));
    // blobs sit inside larger buffers in a real RDB: bytes after the end must not be taken for data
    const padding = Buffer.from([0x00, 0xe0, 0xff, 0x41]);
    for (let i = 0; i < 3000; i++) {
      const data = Buffer.from(base);
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) data[Math.floor(rnd() * data.length)] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.3 ? Math.floor(rnd() * data.length) : data.length;
      const input = Buffer.concat([data.subarray(0, cut), padding]);
      const declared = rnd() < 0.2 ? Math.floor(rnd() * 3000) : 1480;
      const outcome = (f: () => unknown) => {
        try {
          f();
          return 'ok';
        } catch (error) {
          return (error as Error).message;
        }
      };
      assert.equal(
        outcome(() => lzfValidate(input, 0, cut, declared)),
        outcome(() => lzfDecompress(input, 0, cut, declared)),
        `case ${i}`,
      );
    }
  });
});

describe('blob validation', () => {
  test('listpack: every integer width and string length decodes', () => {
    const elements = [
      0,
      127,
      128,
      -1,
      -4096,
      4095,
      4096,
      -32768,
      32767,
      -8388608,
      8388607,
      -2147483648,
      2147483647,
      2 ** 40,
      -(2n ** 63n),
      2n ** 63n - 1n,
      '',
      'x'.repeat(63),
      'y'.repeat(64),
      'z'.repeat(4095),
      'w'.repeat(4096),
      'big'.repeat(30000),
    ];
    const lp = listpack(elements);
    const decoded = decodeValue(18, Buffer.concat([E.len(1), E.len(2), E.str(lp)]));
    assert.equal(decoded.kind, 'list');
    assert.deepEqual(decoded.value.map(String), elements.map(String));
  });

  test('listpack anomalies name what is wrong and where', () => {
    const lp = listpack(['a', 'b', 'c']);
    const quicklist = (blob: Buffer) => Buffer.concat([E.len(1), E.len(2), E.str(blob)]);
    const headerAt = 3; // node count, container, string length
    assert.match(
      decodeError(18, quicklist(listpack(['a', 'b'], 3))),
      new RegExp(`^value at byte ${headerAt + 4}: quicklist node 0 listpack: listpack declares 3 elements but holds 2$`),
    );
    const badTotal = Buffer.from(lp);
    badTotal.writeUInt32LE(lp.length + 1, 0);
    assert.match(decodeError(18, quicklist(badTotal)), /header says 17 bytes but the string holds 16/);
    const badEnd = Buffer.from(lp);
    badEnd[badEnd.length - 1] = 0xfe;
    assert.match(decodeError(18, quicklist(badEnd)), /does not end with the 0xFF terminator/);
    const badBacklen = Buffer.from(lp);
    badBacklen[8] = 5;
    assert.match(
      decodeError(18, quicklist(badBacklen)),
      new RegExp(`^value at byte ${headerAt + 6}: .*entry at offset 6: its back-length does not encode its length 2`),
    );
    const badEncoding = Buffer.from(lp);
    badEncoding[9] = 0xf7;
    assert.match(decodeError(18, quicklist(badEncoding)), /invalid encoding byte 0xf7/);
    const earlyEnd = Buffer.from(lp);
    earlyEnd[9] = 0xff;
    assert.match(decodeError(18, quicklist(earlyEnd)), /terminator at offset 9, before the end/);
    assert.match(decodeError(18, quicklist(listpack(['x'.repeat(100)]).subarray(0, 50))), /header says/);
  });

  test('hash and sorted-set listpacks: pairs, duplicates, scores, order', () => {
    assert.equal(decodeError(16, E.str(listpack(['f', 'v', 'g', 'w']))), 'ok');
    assert.match(decodeError(16, E.str(listpack(['f', 'v', 'g']))), /odd number of elements: the field at offset 12 has no value/);
    assert.match(decodeError(16, E.str(listpack(['f', 'v', 'f', 'w']))), /field "f" at offset 12 appears twice/);
    assert.match(decodeError(16, E.str(listpack(['12', 'v', 12, 'w']))), /field "12" at offset \d+ appears twice/);
    assert.match(decodeError(16, E.str(listpack([]))), /is empty/);
    assert.equal(decodeError(17, E.str(listpack(['a', '-inf', 'b', 1, 'c', '1.5', 'd', '1e3', 'e', 'inf']))), 'ok');
    assert.match(decodeError(17, E.str(listpack(['a', 'abc']))), /score at offset 9 \("abc"\) is not a number/);
    assert.match(decodeError(17, E.str(listpack(['a', 'nan']))), /is not a number/);
    assert.match(decodeError(17, E.str(listpack(['a', 2, 'b', 1]))), /member "b" at offset 11 \(score 1\) is out of order after "a" \(score 2\)/);
    assert.match(decodeError(17, E.str(listpack(['b', 1, 'a', 1]))), /out of order/);
  });

  test('ziplist anomalies', () => {
    const zl = ziplist(['a', 7, 'c'.repeat(300), -5000000000]);
    assert.equal(decodeError(10, E.str(zl)), 'ok');
    const badPrev = Buffer.from(zl);
    badPrev[13] = 9; // prevlen of the second entry
    assert.match(decodeError(10, E.str(badPrev)), /entry at offset 13 says the previous entry has 9 bytes, not 3/);
    const badTail = Buffer.from(zl);
    badTail.writeUInt32LE(10, 4);
    assert.match(decodeError(10, E.str(badTail)), /tail offset 10 does not point at its last entry/);
    const badCount = Buffer.from(zl);
    badCount.writeUInt16LE(5, 8);
    assert.match(decodeError(10, E.str(badCount)), /declares 5 elements but holds 4/);
    const badEncoding = Buffer.from(zl);
    badEncoding[14] = 0xc5;
    assert.match(decodeError(10, E.str(badEncoding)), /invalid encoding byte 0xc5/);
    assert.match(decodeError(12, E.str(ziplist(['m', 'x']))), /not a number/);
    assert.match(decodeError(13, E.str(ziplist(['f', 1, 'f', 2]))), /appears twice/);
    assert.match(decodeError(10, E.str(ziplist([]))), /is empty/);
  });

  test('intset anomalies', () => {
    assert.equal(decodeError(11, E.str(intset([1, 2, 3], 2))), 'ok');
    assert.match(decodeError(11, E.str(intset([1, 3, 2], 2))), /member 2 \(2\) is not greater than the one before \(3\)/);
    assert.match(decodeError(11, E.str(intset([1, 1], 4))), /not greater/);
    assert.match(decodeError(11, E.str(intset([], 2))), /intset is empty/);
    const badWidth = intset([1], 2);
    badWidth.writeUInt32LE(3, 0);
    assert.match(decodeError(11, E.str(badWidth)), /encoding 3 is not 2, 4 or 8/);
    assert.match(decodeError(11, E.str(intset([1, 2], 8).subarray(0, 20))), /declares 2 members/);
  });

  test('zipmap anomalies', () => {
    assert.equal(decodeError(9, E.str(zipmap([['a', 'b']], 3))), 'ok');
    assert.match(
      decodeError(
        9,
        E.str(
          zipmap([
            ['a', 'b'],
            ['a', 'c'],
          ]),
        ),
      ),
      /field "a" twice/,
    );
    const badCount = zipmap([['a', 'b']]);
    badCount[0] = 3;
    assert.match(decodeError(9, E.str(badCount)), /declares 3 pairs but holds 1/);
    assert.match(decodeError(9, E.str(Buffer.from([0, 0xff]))), /zipmap is empty/);
  });

  test('plain collections: duplicates, empty, bad scores; LZF inside values', () => {
    assert.match(decodeError(2, Buffer.concat([E.len(2), E.str('1'), E.int(1)])), /set has the member "1" twice/);
    assert.match(decodeError(4, Buffer.concat([E.len(2), E.str('f'), E.str('v'), E.lzf('f'), E.str('w')])), /hash has the field "f" twice/);
    assert.match(decodeError(5, Buffer.concat([E.len(1), E.str('m'), E.f64(NaN)])), /score that is not a number/);
    assert.match(decodeError(3, Buffer.concat([E.len(1), E.str('m'), Buffer.from([253])])), /not a number/);
    assert.match(decodeError(1, E.len(0)), /list declares 0 elements/);
    const list = decodeValue(1, Buffer.concat([E.len(3), E.lzf('compress me '.repeat(5)), E.int(-5), E.str('x')]));
    assert.deepEqual(list.value, [Buffer.from('compress me '.repeat(5)), Buffer.from('-5'), Buffer.from('x')]);
    const lzfBad = E.lzf('abcabcabcabcabcabc');
    lzfBad[lzfBad.length - 1]! ^= 0xff;
    assert.notEqual(decodeError(0, lzfBad), 'ok');
    assert.match(decodeError(0, Buffer.concat([Buffer.from([0xc3]), E.len(2), E.len(1000)])), /more than LZF can expand to/);
    assert.match(decodeError(0, Buffer.concat([E.str('a'), Buffer.from([1])])), /1 bytes follow the end of the value/);
    assert.match(decodeError(0, E.str('abc').subarray(0, 2)), /^value at byte 2: value is truncated/);
  });

  test('quicklist nodes: container types, empty nodes', () => {
    assert.match(decodeError(18, Buffer.concat([E.len(1), E.len(3), E.str('x')])), /container type 3, neither PLAIN \(1\) nor PACKED \(2\)/);
    assert.match(decodeError(18, Buffer.concat([E.len(1), E.len(1), E.str('')])), /PLAIN node 0 is empty/);
    assert.match(decodeError(18, Buffer.concat([E.len(1), E.len(2), E.str(listpack([]))])), /holds no elements/);
    const mixed = decodeValue(18, Buffer.concat([E.len(2), E.len(1), E.str('plain'), E.len(2), E.lzf(listpack(['p', 'q'.repeat(80)]))]));
    assert.deepEqual(mixed.kind === 'list' && mixed.value.map(String), ['plain', 'p', 'q'.repeat(80)]);
  });
});

describe('duplicate detection', () => {
  test('small and very large collections (table and radix paths), raw, copied and integer members', () => {
    for (const n of [1, 5, 1000, 70_000, 1_100_000]) {
      const buf = Buffer.alloc(n * 8);
      for (let i = 0; i < n; i++) buf.write(i.toString(36).padStart(8, '0'), i * 8, 'latin1');
      const set = new MemberSet();
      set.reset(buf);
      for (let i = 0; i < n; i++) set.add(i * 8, i * 8 + 8, i);
      assert.equal(set.findDuplicate(), -1, `${n} distinct`);
      // the same bytes again, copied: the copy is the duplicate reported
      set.addCopy(buf, 0, 8, 4242);
      const d = set.findDuplicate();
      assert.equal(set.place(d), 4242);
      assert.equal(set.text(d), '00000000');
    }
    const set = new MemberSet();
    const text = Buffer.from('x12y');
    set.reset(text);
    set.add(1, 3, 0);
    set.addInteger(12, 1);
    assert.equal(set.text(set.findDuplicate()), '12');
    set.reset(text);
    set.addInteger(-5n, 0);
    set.addInteger(5, 1);
    assert.equal(set.findDuplicate(), -1);
  });
});

describe('streams', () => {
  const id16 = (ms: number, seq: number) => {
    const b = Buffer.alloc(16);
    b.writeBigUInt64BE(BigInt(ms), 0);
    b.writeBigUInt64BE(BigInt(seq), 8);
    return b;
  };
  const node = listpack([2, 0, 1, 'f', 0, 2, 0, 0, 'v1', 4, 2, 1, 0, 'v2', 4]);
  const stream = (opts: { node?: Buffer; length?: number; pel?: Buffer[]; consumers?: Buffer[]; last?: number } = {}) =>
    Buffer.concat([
      E.len(1),
      E.str(id16(10, 0)),
      E.str(opts.node ?? node),
      E.len(opts.length ?? 2),
      E.len(opts.last ?? 11),
      E.len(0),
      E.len(10),
      E.len(0),
      E.len(0),
      E.len(0),
      E.len(2),
      E.len(1),
      E.str('g'),
      E.len(10),
      E.len(0),
      E.len(1),
      E.len(opts.pel?.length ?? 1),
      ...(opts.pel ?? [Buffer.concat([id16(10, 0), E.i64(5), E.len(1)])]),
      E.len(opts.consumers?.length ?? 1),
      ...(opts.consumers ?? [Buffer.concat([E.str('c'), E.i64(6), E.len(1), id16(10, 0)])]),
    ]);

  test('a consistent stream decodes', () => {
    const s = decodeValue(19, stream());
    assert.equal(s.kind, 'stream');
    if (s.kind !== 'stream') return;
    assert.deepEqual(
      s.value.entries.map((e) => [e.id, e.fields.map(([f, v]) => `${f}=${v}`)]),
      [
        ['10-0', ['f=v1']],
        ['11-0', ['f=v2']],
      ],
    );
    assert.deepEqual(
      s.value.groups.map((g) => [g.name.toString(), g.lastId, g.entriesRead, g.pending.map((p) => [p.id, p.consumer.toString(), p.deliveryCount])]),
      [['g', '10-0', 1, [['10-0', 'c', 1]]]],
    );
  });

  test('anomalies: length, IDs, lp-count, master entry, PEL ownership', () => {
    assert.match(decodeError(19, stream({ length: 3 })), /declares length 3 but its listpacks hold 2 live entries/);
    // without strict (the default) the server loads it: decoded, the declared length as written
    const lenient = decodeValue(19, stream({ length: 3 }));
    assert.equal(lenient.kind === 'stream' && lenient.value.length, 3);
    assert.match(decodeError(19, stream({ last: 10 })), /entry 11-0 comes after the stream's last ID 10-0/);
    assert.match(decodeError(19, stream({ node: listpack([2, 0, 1, 'f', 0, 2, 0, 0, 'v1', 5, 2, 1, 0, 'v2', 4]) })), /lp-count 5, expected 4/);
    assert.match(
      decodeError(19, stream({ node: listpack([2, 0, 1, 'f', 1, 2, 0, 0, 'v1', 4, 2, 1, 0, 'v2', 4]) })),
      /master entry terminator at offset \d+ is 1, not 0/,
    );
    assert.match(
      decodeError(19, stream({ node: listpack([2, 0, 1, 'f', 0, 2, 1, 0, 'v1', 4, 2, 1, 0, 'v2', 4]) })),
      /entry 11-0 at offset \d+ does not come after 11-0/,
    );
    assert.match(
      decodeError(19, stream({ node: listpack([1, 1, 1, 'f', 0, 2, 0, 0, 'v1', 4, 2, 1, 0, 'v2', 4]) })),
      /counts 1 live and 1 deleted entries, the listpack holds 2 and 0/,
    );
    assert.match(decodeError(19, stream({ consumers: [] })), /pending entry 10-0 of group "g" has no consumer/);
    assert.match(
      decodeError(19, stream({ consumers: [Buffer.concat([E.str('c'), E.i64(6), E.len(1), id16(11, 0)])] })),
      /owns pending entry 11-0, which is not in the group's PEL/,
    );
    assert.match(
      decodeError(
        19,
        stream({ consumers: [Buffer.concat([E.str('c'), E.i64(6), E.len(1), id16(10, 0)]), Buffer.concat([E.str('d'), E.i64(6), E.len(1), id16(10, 0)])] }),
      ),
      /owned by two consumers/,
    );
    assert.match(
      decodeError(19, stream({ pel: [Buffer.concat([id16(10, 0), E.i64(5), E.len(1)]), Buffer.concat([id16(10, 0), E.i64(5), E.len(1)])] })),
      /pending entry 10-0 twice/,
    );
  });
});

describe('the streaming parser', () => {
  test('error messages name the source, byte offset, key and problem', () => {
    const bad = rdbWith(E.record(18, 'logs:17', E.len(1), E.len(2), E.str(listpack(['a', 'b'], 3))));
    const message = outcome(bad);
    assert.equal(message, `dump.rdb at byte ${FIRST + 1 + 8 + 3 + 4}: key "logs:17": quicklist node 0 listpack: listpack declares 3 elements but holds 2`);
    const parser = new RdbStreamParser({ source: 'dump.rdb' });
    try {
      parser.write(bad);
      assert.fail('no error');
    } catch (error) {
      assert.ok(error instanceof RdbFormatError && error instanceof NeuralLogRedisError);
      assert.equal(error.code, 'E_RDB_FORMAT');
      assert.equal(error.offset, FIRST + 16);
      assert.deepEqual(error.place, { file: 'dump.rdb', offset: FIRST + 16 });
      assert.equal(error.key?.toString(), 'logs:17');
    }
    assert.match(outcome(rdbWith(E.record(0, Buffer.from([0, 0x22, 0xff]), E.str('').subarray(0, 0)))), /key "\\x00\\"\\xff"/);
  });

  test('headers: signature, versions, checksum', () => {
    assert.match(outcome(Buffer.from('RXDIS0010')), /not an RDB file/);
    assert.match(outcome(Buffer.from('REDIS00a0')), /RDB version "00a0" is not 4 digits/);
    assert.match(outcome(Buffer.from('REDIS0000')), /RDB version 0 does not exist/);
    assert.match(outcome(Buffer.from('REDIS0080')), /^dump\.rdb at byte 5: RDB version 80 with the "REDIS" header: versions from 80 are Valkey's/);
    assert.match(outcome(Buffer.from('VALKEY011')), /^dump\.rdb at byte 6: RDB version 11 with the "VALKEY" header/);
    assert.match(outcome(Buffer.from('VALKEY08x')), /RDB version "08x" is not 3 digits/);
    for (const v of [10, 11, 12]) assert.equal(outcome(E.file(v, [])), 'ok');
    assert.equal(outcome(E.file(10, [], 'zero')), 'ok');
    const badCrc = E.file(10, [E.record(0, 'k', E.str('v'))]);
    badCrc[badCrc.length - 1]! ^= 1;
    assert.match(
      outcome(badCrc),
      new RegExp(`at byte ${badCrc.length - 8}: checksum mismatch: the file stores CRC-64 [0-9a-f]{16} but its bytes give [0-9a-f]{16}`),
    );
    assert.match(outcome(Buffer.from('REDIS')), /truncated: the file has 5 bytes, fewer than the 9-byte header/);
    assert.match(outcome(E.file(10, []).subarray(0, 14)), /truncated: the file ends inside the 8-byte checksum/);
    assert.match(outcome(E.file(10, [E.record(0, 'k', E.str('v'))]).subarray(0, 12)), /truncated: the file ends inside the record starting at byte 9/);
    assert.match(outcome(Buffer.from('REDIS0010')), /truncated: the file ends without the EOF opcode/);
  });

  test('types and opcodes no server reads are rejected clearly', () => {
    assert.match(outcome(rdbWith(E.record(6, 'm', E.len(1)))), /type 6 \(MODULE, the pre-GA module format\) is not supported/);
    assert.match(outcome(rdbWith(E.record(20, 's', E.str('x')))), /set listpack: listpack of 1 bytes is shorter than its header/);
    assert.match(outcome(rdbWith(Buffer.from([8]))), /unknown value type 8/);
    assert.match(outcome(rdbWith(Buffer.from([26]))), /unknown value type 26/);
    assert.match(outcome(rdbWith(Buffer.from([0xf3]), E.str('x'))), /opcode 0xf3 \(243\) is Valkey 9\.0's SLOT_IMPORT, which only a "VALKEY" file holds/);
    assert.match(
      outcome(rdbWith(Buffer.from([0xfc]), E.i64(1), Buffer.from([0xfe, 1]))),
      /opcode SELECTDB follows EXPIRETIME_MS, which must be followed by a key/,
    );
    assert.match(outcome(rdbWith(Buffer.from([0xfc]), E.i64(1), Buffer.from([0xfc]), E.i64(2), E.record(0, 'k', E.str('v')))), /a second expiry opcode/);
    assert.match(
      outcome(rdbWith(Buffer.from([0xf7]), E.len(moduleId('neurallog', 1)), E.len(1), E.len(1), E.len(0))),
      /MODULE_AUX "when" field has opcode 1, not 2/,
    );
    assert.match(outcome(rdbWith(E.record(7, 'm', E.len(moduleId('neurallog', 1)), E.len(9)))), /module field opcode 9 is none of/);
    assert.match(outcome(rdbWith(E.record(0, 'k', Buffer.from([0xc4])))), /unknown string encoding 0xc4/);
    assert.match(outcome(rdbWith(E.record(1, 'k', Buffer.from([0x82])))), /unknown length encoding 0x82/);
    assert.match(outcome(rdbWith(E.record(1, 'k', Buffer.from([0xc0, 1])))), /expected a length, found the special string encoding 0xc0/);
  });

  test('summary: databases, resize hints, expires, kinds and types, aux, functions', () => {
    const items = [
      Buffer.concat([Buffer.from([0xfa]), E.str('redis-ver'), E.str('7.0.15')]),
      Buffer.concat([Buffer.from([0xfa]), E.str('ctime'), E.int(1700000000)]),
      Buffer.concat([Buffer.from([0xf5]), E.str('#!lua name=x\n')]),
      Buffer.concat([Buffer.from([0xfe, 0, 0xfb]), E.len(2), E.len(1)]),
      Buffer.concat([Buffer.from([0xfc]), E.i64(1_900_000_000_000), E.record(0, 'a', E.str('1'))]),
      Buffer.concat([Buffer.from([0xf8]), E.len(30), Buffer.from([0xf9, 7]), E.record(1, 'b', E.len(1), E.str('x'))]),
      Buffer.from([0xfe, 4]),
      Buffer.concat([Buffer.from([0xfd]), Buffer.from([0, 0, 0, 0x70]), E.record(11, 'c', E.str(intset([1], 2)))]),
    ];
    const offsets = items.map((_, i) => 9 + items.slice(0, i).reduce((n, b) => n + b.length, 0));
    const rdb = E.file(10, items);
    const records: unknown[] = [];
    const parser = new RdbStreamParser({
      onRecord: (r) =>
        records.push({ db: r.db, key: String(r.key), expireAtMs: r.expireAtMs, idleSeconds: r.idleSeconds, lfuFreq: r.lfuFreq, offset: r.offset }),
    });
    for (const b of rdb) parser.write(Buffer.from([b]));
    const s = parser.end();
    assert.deepEqual(s.aux, { 'redis-ver': '7.0.15', ctime: '1700000000' });
    assert.deepEqual(s.databases, { 0: { keys: 2, expires: 1, resizeHint: { keys: 2, expires: 1 } }, 4: { keys: 1, expires: 1 } });
    assert.deepEqual(s.kinds, { string: 1, list: 1, set: 1, zset: 0, hash: 0, stream: 0, module: 0 });
    assert.deepEqual(s.types, { 0: 1, 1: 1, 11: 1 });
    assert.equal(s.functions, 1);
    assert.equal(s.bytes, rdb.length);
    assert.equal(s.checksum.verified, true);
    assert.deepEqual(records, [
      { db: 0, key: 'a', expireAtMs: 1_900_000_000_000, idleSeconds: undefined, lfuFreq: undefined, offset: offsets[4] },
      { db: 0, key: 'b', expireAtMs: undefined, idleSeconds: 30, lfuFreq: 7, offset: offsets[5] },
      { db: 4, key: 'c', expireAtMs: 0x70000000 * 1000, idleSeconds: undefined, lfuFreq: undefined, offset: offsets[7] },
    ]);
  });

  test('maxRecordBytes bounds what one record may make the parser buffer', () => {
    const rdb = rdbWith(E.record(0, 'big', E.str(Buffer.alloc(5000, 1))));
    const parser = new RdbStreamParser({ source: 'x.rdb', maxRecordBytes: 1000 });
    assert.throws(() => {
      for (let i = 0; i < rdb.length; i += 100) parser.write(rdb.subarray(i, i + 100));
    }, /x\.rdb at byte 16: key "big": string of 5000 bytes is larger than the 1000-byte limit/);
    const bytewise = new RdbStreamParser({ source: 'x.rdb', maxRecordBytes: 1000 });
    assert.throws(() => {
      for (let i = 0; i < rdb.length; i++) bytewise.write(rdb.subarray(i, i + 1));
    }, /larger than the 1000-byte limit/);
    const ok = new RdbStreamParser({ maxRecordBytes: 10_000 });
    for (let i = 0; i < rdb.length; i += 100) ok.write(rdb.subarray(i, i + 100));
    assert.equal(ok.end().databases['0']!.keys, 1);
  });

  test('joining the kept bytes refused by the runtime (over its largest buffer) fails the parser at the item, for good', () => {
    // a hash listpack is one blob, checked whole: its bytes are joined once they have all arrived
    const rdb = rdbWith(E.record(16, 'big', E.str(listpack(['f', 'v'.repeat(3_000_000)]))));
    const parser = new RdbStreamParser({ source: 'x.rdb' });
    const concat = Buffer.concat;
    // what Node does past buffer.constants.MAX_LENGTH (4 GiB), here past 1 MB
    Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
      if ((total ?? 0) > 1_000_000) throw new RangeError('Array buffer allocation failed');
      return concat(list, total);
    }) as typeof Buffer.concat;
    let first: unknown;
    try {
      // copies: adjacent views of one buffer are joined as a view, never copied
      for (let i = 0; i < rdb.length; i += 65536) parser.write(Buffer.from(rdb.subarray(i, i + 65536)));
    } catch (error) {
      first = error;
    } finally {
      Buffer.concat = concat;
    }
    assert.ok(first instanceof RdbFormatError, String(first));
    assert.match(
      first.message,
      /^x\.rdb at byte 11: the item starting here needs \d+ bytes held at once, more than this process could allocate \(Array buffer allocation failed\)$/,
    );
    assert.throws(
      () => parser.write(Buffer.alloc(1)),
      (error) => error === first,
    );
    assert.throws(
      () => parser.end(),
      (error) => error === first,
    );
  });

  test('large chunks after an unfinished item: bridged, or copied when the item is longer than the bridge', () => {
    const small = Array.from({ length: 20000 }, (_, i) => E.record(0, `key:${i}`, E.str(`value ${i}`)));
    const huge = E.record(0, 'huge', E.str(Buffer.alloc(300_000, 7)));
    const rdb = E.file(10, [Buffer.from([0xfe, 0]), ...small.slice(0, 10000), huge, ...small.slice(10000)]);
    const whole = new RdbStreamParser();
    whole.write(rdb);
    const expected = whole.end();
    assert.equal(expected.databases['0']!.keys, 20001);
    // cut 1: a few bytes into some record, then everything else as one chunk (bridged)
    // cut 2: a few bytes into the huge record (longer than the bridge: copied)
    const hugeAt = rdb.indexOf(Buffer.from('huge')) - 2;
    for (const cut of [1000, 1003, hugeAt + 3, hugeAt + 100_000, rdb.length - 5]) {
      for (const tailSplit of [rdb.length, rdb.length - 1, Math.floor((cut + rdb.length) / 2)]) {
        const p = new RdbStreamParser();
        const keys: string[] = [];
        const withRecords = new RdbStreamParser({ onRecord: (r) => keys.push(r.key.toString()) });
        for (const parser of [p, withRecords]) {
          parser.write(rdb.subarray(0, cut));
          parser.write(rdb.subarray(cut, tailSplit));
          parser.write(rdb.subarray(tailSplit));
        }
        assert.deepEqual(p.end(), expected, `cut at ${cut}, ${tailSplit}`);
        assert.deepEqual(withRecords.end(), expected);
        assert.equal(keys.length, 20001);
        assert.equal(new Set(keys).size, 20001);
        assert.equal(p.keysRead, 20001);
      }
    }
    // the RDB ends inside the bridge and garbage follows in the same chunk
    const p = new RdbStreamParser({ source: 'g.rdb', strict: true });
    p.write(rdb.subarray(0, rdb.length - 4));
    assert.throws(
      () => p.write(Buffer.concat([rdb.subarray(rdb.length - 4), Buffer.alloc(200_000, 1)])),
      new RegExp(`g\\.rdb at byte ${rdb.length}: 200000 bytes follow the end of the RDB`),
    );
    const lenient = new RdbStreamParser({ source: 'g.rdb' });
    lenient.write(rdb.subarray(0, rdb.length - 4));
    lenient.write(Buffer.concat([rdb.subarray(rdb.length - 4), Buffer.alloc(200_000, 1)]));
    const summary = lenient.end();
    assert.equal(summary.trailingBytes, 200_000);
    assert.match(summary.warnings[0]!.message, new RegExp(`g\\.rdb at byte ${rdb.length}: 200000 bytes follow the end of the RDB`));
  });

  test('re-parsing stays amortised linear when fed one byte at a time', () => {
    const big = rdbWith(E.record(4, 'h', E.len(20000), ...Array.from({ length: 20000 }, (_, i) => Buffer.concat([E.str(`f${i}`), E.str('v')]))));
    const t0 = process.hrtime.bigint();
    const whole = new RdbStreamParser();
    whole.write(big);
    whole.end();
    const t1 = process.hrtime.bigint();
    const bytewise = new RdbStreamParser();
    for (let i = 0; i < big.length; i++) bytewise.write(big.subarray(i, i + 1));
    bytewise.end();
    const t2 = process.hrtime.bigint();
    // byte-at-a-time costs the per-write overhead plus a bounded number of re-reads, not one per byte
    assert.ok(Number(t2 - t1) < Number(t1 - t0) * 60 + 200e6, `${t2 - t1} ns vs ${t1 - t0} ns`);
  });
});
