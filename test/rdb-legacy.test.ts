/**
 * Encodings Redis 7.0 reads but no longer writes (RDB versions before 10: types 1-4, zipmap,
 * ziplists, intsets of every width, quicklist of ziplists, streams of type 15, the pre-GA FUNCTION
 * opcode, EXPIRETIME in seconds, files without a checksum), and module data (type 7, MODULE_AUX).
 * The files are written by the test, then loaded by a real redis-server 7.0 (or, for module data,
 * accepted by redis-check-rdb), so the server vouches for them; the parser must agree with it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeValue, moduleTypeName, RdbStreamParser, type RdbModuleAux } from '../src/rdb/index.js';
import { intset, listpack, moduleId, rdbEncode as E, ziplist, zipmap } from './fixtures/rdb/encode.js';
import { compareWithServer, dumpPayload, parse, plain, redisCheckRdb, seededRandom, startRdbServer, text } from './rdb-helpers.js';

const aux = (k: string, v: Buffer) => Buffer.concat([Buffer.from([0xfa]), E.str(k), v]);
const selectDb = (db: number) => Buffer.concat([Buffer.from([0xfe]), E.len(db)]);
const resizeDb = (keys: number, expires: number) => Buffer.concat([Buffer.from([0xfb]), E.len(keys), E.len(expires)]);
const id16 = (ms: number, seq: number) => {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(BigInt(ms), 0);
  b.writeBigUInt64BE(BigInt(seq), 8);
  return b;
};
const score = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);

/** a type 15 stream: two nodes (same-field, different-field and deleted entries), a group with a PEL of two consumers */
function legacyStream(now: number): Buffer {
  const node1 = listpack([
    3,
    1,
    2,
    'level',
    'msg',
    0,
    2,
    0,
    0,
    'info',
    'hello',
    5,
    0,
    5,
    1,
    1,
    'other',
    'x',
    6,
    3,
    6,
    0,
    'warn',
    'gone',
    5,
    2,
    10,
    0,
    'error',
    'boom',
    5,
  ]);
  const node2 = listpack([1, 0, 1, 'k', 0, 2, 0, 0, 'v', 4]);
  return Buffer.concat([
    E.len(2),
    E.str(id16(1000, 0)),
    E.str(node1),
    E.str(id16(2000, 0)),
    E.lzf(node2),
    E.len(4),
    E.len(2000),
    E.len(0),
    E.len(1),
    E.str('grp'),
    E.len(1005),
    E.len(1),
    E.len(2),
    id16(1000, 0),
    E.i64(now - 5000),
    E.len(2),
    id16(1005, 1),
    E.i64(now - 3000),
    E.len(1),
    E.len(3),
    E.str('c1'),
    E.i64(now - 1000),
    E.len(1),
    id16(1000, 0),
    E.str('c2'),
    E.i64(now - 2000),
    E.len(1),
    id16(1005, 1),
    E.str('idle-consumer'),
    E.i64(now),
    E.len(0),
  ]);
}

function legacyRdb(): Buffer {
  const now = Date.now();
  const inAMonth = Math.floor(now / 1000) + 30 * 86400;
  const expireSeconds = Buffer.alloc(5);
  expireSeconds[0] = 0xfd;
  expireSeconds.writeInt32LE(inAMonth, 1);
  const rnd = seededRandom(11);
  const noise = Buffer.from(Array.from({ length: 500 }, () => Math.floor(rnd() * 256)));
  return E.file(9, [
    aux('redis-ver', E.str('6.2.14')),
    aux('redis-bits', E.int(64)),
    aux('ctime', E.int(Math.floor(now / 1000))),
    selectDb(0),
    resizeDb(20, 2),
    Buffer.concat([expireSeconds, E.record(0, 'legacy:str', E.str('hello'))]),
    E.record(0, 'legacy:lzf', E.lzf('abc'.repeat(500) + 'the end')),
    E.record(0, 'legacy:int', E.int(-123456)),
    E.record(0, 'legacy:noise', E.str(noise)),
    E.record(1, 'legacy:list', E.len(4), E.str('a'), E.int(5), E.lzf('x'.repeat(100)), E.str('')),
    E.record(2, 'legacy:set', E.len(3), E.str('m1'), E.int(42), E.lzf('member '.repeat(10))),
    E.record(3, 'legacy:zset', E.len(4), E.str('a'), score('1.5'), E.str('b'), Buffer.from([254]), E.str('c'), Buffer.from([255]), E.str('d'), score('-3e5')),
    E.record(4, 'legacy:hash', E.len(2), E.str('f1'), E.str('v1'), E.int(7), E.lzf('value '.repeat(20))),
    E.record(
      9,
      'legacy:zipmap',
      E.str(
        zipmap(
          [
            ['name', 'neural'],
            ['count', '42'],
            ['long', 'z'.repeat(300)],
          ],
          2,
        ),
      ),
    ),
    E.record(
      10,
      'legacy:ziplist',
      E.str(ziplist(['a', 0, 12, 13, -1, 127, -128, 300, -30000, 70000, -8000000, 3000000000, -9007199254740993n, 'b'.repeat(100), 'c'.repeat(20000)])),
    ),
    E.record(11, 'legacy:intset16', E.str(intset([-5, 1, 2, 1000], 2))),
    E.record(11, 'legacy:intset32', E.str(intset([-70000, 0, 70000], 4))),
    E.record(11, 'legacy:intset64', E.str(intset([-(2n ** 63n), 1n, 2n ** 62n], 8))),
    E.record(12, 'legacy:zset-ziplist', E.str(ziplist(['m4', '-2.25e10', 'm1', '1.5', 'm2', 3, 'a', 5, 'b', 5, 'm3', 'inf']))),
    E.record(13, 'legacy:hash-ziplist', E.lzf(ziplist(['f1', 'v1', 'f2', 99, 'f3', 'x'.repeat(300), 17, 'int field']))),
    E.record(14, 'legacy:quicklist', E.len(2), E.str(ziplist(['q1', 2, 'q3'])), E.lzf(ziplist(Array.from({ length: 50 }, (_, i) => `node two ${i}`)))),
    Buffer.concat([Buffer.from([0xfc]), E.i64(now + 86_400_000), E.record(15, 'legacy:stream', legacyStream(now))]),
    Buffer.from([0xf6]),
    E.str('oldlib'),
    E.str('LUA'),
    E.len(1),
    E.str('a description'),
    E.str("redis.register_function('oldlib_f', function() return 1 end)"),
    selectDb(2),
    E.record(0, 'db2:key', E.str('in db 2')),
  ]);
}

describe('legacy encodings (RDB 9 and 4) loaded by redis-server 7.0', () => {
  test('an RDB 9 file with every pre-7.0 encoding: parsed, loaded by the server, and equal to it', async () => {
    const rdb = legacyRdb();
    const check = redisCheckRdb(rdb);
    assert.equal(check.status, 0, check.stdout);
    const whole = parse(rdb);
    assert.equal(whole.summary.version, 9);
    assert.deepEqual(Object.keys(whole.summary.types).map(Number), [0, 1, 2, 3, 4, 9, 10, 11, 12, 13, 14, 15]);
    assert.equal(whole.summary.functions, 1);
    assert.equal(whole.functions[0]!.toString(), "#!LUA name=oldlib\nredis.register_function('oldlib_f', function() return 1 end)");
    assert.equal(whole.summary.checksum.verified, true);
    assert.deepEqual(plain(parse(rdb, () => 1)), plain(whole));
    const str = whole.records.find((r) => r.key.toString() === 'legacy:str')!;
    assert.equal(str.expireAtMs! % 1000, 0);

    const server = await startRdbServer([], rdb);
    try {
      await compareWithServer(server.client, whole, { dump: false, resizeHints: false });
      const libs = (await server.client.send('FUNCTION', 'LIST')) as unknown[];
      assert.equal(libs.length, 1);
      // every legacy value rebuilt as a RESTORE payload (RDB version 9) loads and equals the original
      for (const r of whole.records) {
        await server.client.send('SELECT', r.db);
        const copy = Buffer.concat([Buffer.from('copy:'), r.key]);
        await server.client.send('RESTORE', copy, r.expireAtMs ?? 0, dumpPayload(r, 9), 'ABSTTL');
        assert.deepEqual(await server.client.send('DEBUG', 'DIGEST-VALUE', copy), await server.client.send('DEBUG', 'DIGEST-VALUE', r.key), text(r.key));
      }
    } finally {
      await server.stop();
    }
  });

  test('an RDB 4 file (no checksum) with EXPIRETIME_MS', async () => {
    const rdb = E.file(4, [
      selectDb(0),
      Buffer.concat([Buffer.from([0xfc]), E.i64(Date.now() + 3_600_000), E.record(0, 'v4:str', E.str('old'))]),
      E.record(1, 'v4:list', E.len(2), E.str('x'), E.int(1000)),
    ]);
    const whole = parse(rdb);
    assert.equal(whole.summary.version, 4);
    assert.equal(whole.summary.checksum.stored, '');
    assert.equal(whole.summary.checksum.disabled, true);
    assert.equal(whole.summary.bytes, rdb.length);
    assert.deepEqual(plain(parse(rdb, () => 1)), plain(whole));
    const server = await startRdbServer([], rdb);
    try {
      await compareWithServer(server.client, whole, { dump: false, resizeHints: false });
    } finally {
      await server.stop();
    }
  });
});

describe('module data (kept opaque), checked against redis-check-rdb', () => {
  const id = moduleId('neurallog', 3);
  const fieldsOf = Buffer.concat([
    E.len(1),
    E.len(123),
    E.len(2),
    E.len(2n ** 63n + 5n),
    E.len(3),
    Buffer.from([0, 0, 0x80, 0x3f]),
    E.len(4),
    E.f64(2.5),
    E.len(5),
    E.str('payload'),
    E.len(5),
    E.lzf('compressible '.repeat(10)),
    E.len(0),
  ]);
  const auxFields = Buffer.concat([E.len(2), E.len(5), E.len(5), E.str('aux data'), E.len(0)]);
  const rdb = E.file(10, [
    aux('redis-ver', E.str('7.0.15')),
    Buffer.concat([Buffer.from([0xf7]), E.len(id), E.len(2), E.len(1), auxFields]),
    selectDb(0),
    E.record(7, 'mod:key', E.len(id), fieldsOf),
    E.record(0, 'after', E.str('the module value')),
    Buffer.concat([Buffer.from([0xf7]), E.len(id), E.len(2), E.len(2), auxFields]),
  ]);

  test('redis-check-rdb accepts the file; the parser walks the module value to its end', () => {
    const check = redisCheckRdb(rdb);
    assert.equal(check.status, 0, check.stdout);
    assert.match(check.stdout, /MODULE AUX for: neurallog/);
    const auxes: RdbModuleAux[] = [];
    const records: Array<{ key: string; type: number; value: Buffer }> = [];
    const parser = new RdbStreamParser({
      onModuleAux: (a) => auxes.push({ ...a, bytes: Buffer.from(a.bytes) }),
      onRecord: (r) => records.push({ key: r.key.toString(), type: r.type, value: Buffer.from(r.value) }),
    });
    for (const b of rdb) parser.write(Buffer.from([b]));
    const summary = parser.end();
    assert.equal(summary.moduleAux, 2);
    assert.deepEqual(summary.kinds.module, 1);
    assert.deepEqual(
      auxes.map((a) => [a.moduleName, a.encodingVersion, a.when, a.bytes.equals(auxFields)]),
      [
        ['neurallog', 3, 1, true],
        ['neurallog', 3, 2, true],
      ],
    );
    assert.deepEqual(
      records.map((r) => r.key),
      ['mod:key', 'after'],
    );
    const decoded = decodeValue(7, records[0]!.value);
    assert.equal(decoded.kind, 'module');
    if (decoded.kind === 'module') {
      assert.equal(decoded.value.moduleId, id);
      assert.equal(decoded.value.moduleName, 'neurallog');
      assert.equal(moduleTypeName(id), 'neurallog');
      assert.equal(decoded.value.encodingVersion, 3);
      assert.deepEqual(decoded.value.bytes, fieldsOf);
    }
  });
});
