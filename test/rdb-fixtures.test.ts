/**
 * The RDB reader against RDBs written by a real redis-server 7.0 in this test: every type and
 * encoding, fed whole, byte by byte and in random chunks; every record compared with the live server
 * (keys per db, TYPE, PEXPIRETIME, DUMP bytes, values through decodeValue, stream groups, PEL and
 * consumers, functions); FREQ and IDLE opcodes under LFU and LRU policies; the CRC as
 * redis-check-rdb accepts it; rdbVerifier passing bytes through and holding back the end.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { crc64Hex, crc64Init, crc64Update, RdbFormatError, RdbStreamParser, rdbVerifier } from '../src/rdb/index.js';
import { ByteReader, STR_LZF, STR_RAW } from '../src/rdb/reader.js';
import {
  compareWithServer,
  dumpPayload,
  fields,
  LIBRARY,
  parse,
  plain,
  populateEveryType,
  seededRandom,
  startRdbServer,
  text,
  type Parsed,
  type RdbTestServer,
  type Reply,
} from './rdb-helpers.js';

describe('RDB written by redis-server 7.0 with every type and encoding', () => {
  let server: RdbTestServer;
  let rdb: Buffer;
  let whole: Parsed;

  before(async () => {
    server = await startRdbServer();
    await populateEveryType(server.client);
    rdb = await server.save();
    whole = parse(rdb);
  });
  after(async () => server?.stop());

  test('covers every type byte and encoding Redis 7.0 writes', () => {
    assert.deepEqual(
      Object.keys(whole.summary.types)
        .map(Number)
        .sort((a, b) => a - b),
      [0, 2, 4, 5, 11, 16, 17, 18, 19],
    );
    assert.equal(whole.summary.version, 10);
    const list = (key: string) => whole.records.find((r) => r.key.toString() === key)!;
    // LZF strings, int-encoded strings and keys, quicklist nodes: PLAIN (1), PACKED (2), compressed
    assert.equal(list('str:lzf').value[0]! >> 6, 3);
    assert.equal(list('str:lzf').value[0]! & 0x3f, 3);
    assert.equal(list('str:int8').value[0], 0xc0);
    assert.equal(list('str:int16').value[0], 0xc1);
    assert.equal(list('str:int32').value[0], 0xc2);
    const nodes = (key: string) => {
      const r = new ByteReader(list(key).value, 0, list(key).value.length, 0, key, 2 ** 32);
      const out: Array<[number, number]> = [];
      for (let n = r.len(); n > 0; n--) {
        const container = r.len();
        r.str();
        out.push([container, r.sEnc]);
      }
      return out;
    };
    // PLAIN (1) nodes, raw and LZF-compressed; PACKED (2) nodes, raw and LZF-compressed
    assert.ok(nodes('list:plain').some(([c, e]) => c === 1 && e === STR_RAW));
    assert.ok(nodes('list:plain').some(([c, e]) => c === 1 && e === STR_LZF));
    assert.ok(nodes('list:big').some(([c, e]) => c === 2 && e === STR_LZF));
    assert.ok(nodes('list:plain').some(([c, e]) => c === 2 && e === STR_RAW));
    assert.equal(whole.summary.functions, 1);
    assert.deepEqual(whole.functions.map(String), [LIBRARY]);
    assert.equal(whole.summary.aux['redis-ver'], '7.0.15');
    assert.equal(whole.summary.aux['redis-bits'], '64');
    assert.match(whole.summary.aux.ctime!, /^\d+$/);
    assert.equal(whole.summary.bytes, rdb.length);
  });

  test('matches the live server: keys per db, TYPE, PEXPIRETIME, DUMP payloads, decoded values, streams', async () => {
    await compareWithServer(server.client, whole);
    assert.deepEqual(
      ((await server.client.send('FUNCTION', 'LIST', 'WITHCODE')) as Reply[][]).map((lib) => text(fields(lib).get('library_code')!)),
      whole.functions.map(String),
    );
  });

  test('RESTORE accepts every record rebuilt as a DUMP payload and holds the same value', async () => {
    const c = server.client;
    for (const r of whole.records) {
      await c.send('SELECT', r.db);
      const copy = Buffer.concat([Buffer.from('restored:'), r.key]);
      assert.equal(text(await c.send('RESTORE', copy, r.expireAtMs ?? 0, dumpPayload(r), 'REPLACE', 'ABSTTL')), 'OK');
      assert.deepEqual(await c.send('DEBUG', 'DIGEST-VALUE', copy), await c.send('DEBUG', 'DIGEST-VALUE', r.key), `digest of ${r.key}`);
      await c.send('DEL', copy);
    }
    await c.send('SELECT', 0);
  });

  test('the CRC is the one redis-check-rdb accepts and the file stores', () => {
    const s = whole.summary.checksum;
    assert.equal(s.verified, true);
    assert.equal(s.disabled, false);
    assert.equal(s.stored, s.computed);
    assert.equal(
      s.stored,
      rdb
        .readBigUInt64LE(rdb.length - 8)
        .toString(16)
        .padStart(16, '0'),
    );
    const file = join(server.dir, 'dump.rdb');
    const check = spawnSync('redis-check-rdb', [file], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout);
    assert.match(check.stdout, /Checksum OK/);
    assert.match(check.stdout, new RegExp(`${whole.records.length} keys read`));
  });

  test('byte by byte gives the same records, offsets and summary', () => {
    assert.deepEqual(plain(parse(rdb, () => 1)), plain(whole));
  });

  test('random chunk sizes give the same records (deterministic seeds)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rnd = seededRandom(seed);
      const sizes = [() => 1 + Math.floor(rnd() * 16), () => 1 + Math.floor(rnd() * 4096), () => 1 + Math.floor(rnd() * 100_000)];
      assert.deepEqual(plain(parse(rdb, sizes[seed % 3]!)), plain(whole), `seed ${seed}`);
    }
  });

  test('record offsets point at the record bytes, and the values sit right after the keys', () => {
    for (const r of whole.records) {
      const at = r.offset;
      const first = rdb[at]!;
      assert.ok(first === r.type || first === 0xfc || first === 0xf8 || first === 0xf9, `offset of ${r.key}`);
      assert.ok(rdb.indexOf(r.value, at) >= at, `value of ${r.key} found after its offset`);
    }
  });

  test('checksum 0 (rdbchecksum no) is reported as disabled, not an error', async () => {
    const unchecked = await startRdbServer(['--rdbchecksum', 'no']);
    try {
      await populateEveryType(unchecked.client);
      const file = await unchecked.save();
      assert.equal(file.readBigUInt64LE(file.length - 8), 0n);
      const p = parse(file);
      assert.equal(p.summary.checksum.disabled, true);
      assert.equal(p.summary.checksum.verified, false);
      assert.equal(p.summary.checksum.stored, '0000000000000000');
      assert.equal(p.summary.checksum.computed, crc64Hex(crc64Update(crc64Init(), file.subarray(0, file.length - 8))));
      assert.equal(p.records.length, whole.records.length);
    } finally {
      await unchecked.stop();
    }
  });

  test('rdbVerifier passes the bytes through unchanged and exposes the summary', async () => {
    const out: Buffer[] = [];
    const verifier = rdbVerifier({ source: 'dump.rdb' });
    const rnd = seededRandom(9);
    const chunks: Buffer[] = [];
    for (let i = 0; i < rdb.length;) {
      const n = 1 + Math.floor(rnd() * 9000);
      chunks.push(rdb.subarray(i, i + n));
      i += n;
    }
    await pipeline(Readable.from(chunks), verifier, new Writable({ write: (c, _e, done) => (out.push(c), done()) }));
    assert.deepEqual(Buffer.concat(out), rdb);
    assert.equal(verifier.verified, true);
    assert.deepEqual(verifier.summary(), whole.summary);
  });

  test('rdbVerifier with holdBack never lets a bad RDB complete downstream', async () => {
    const bad = Buffer.from(rdb);
    bad[bad.length - 3]! ^= 0x40; // the stored checksum
    for (const holdBack of [false, true]) {
      const out: Buffer[] = [];
      const verifier = rdbVerifier({ source: 'bad.rdb', holdBack });
      const chunks = [bad.subarray(0, 1000), bad.subarray(1000, bad.length - 2), bad.subarray(bad.length - 2)];
      await assert.rejects(
        pipeline(Readable.from(chunks), verifier, new Writable({ write: (c, _e, done) => (out.push(c), done()) })),
        (e: unknown) => e instanceof RdbFormatError && /checksum mismatch/.test(e.message),
      );
      assert.throws(() => verifier.summary());
      const received = Buffer.concat(out).length;
      if (holdBack) assert.ok(received <= bad.length - 9, `holdBack let ${received} of ${bad.length} bytes through`);
    }
    // a good RDB with holdBack arrives whole, the end only after verification
    const out: Buffer[] = [];
    const through = new PassThrough();
    const verifier = rdbVerifier({ holdBack: true });
    let verifiedBeforeLastByte = false;
    const sink = new Writable({
      write: (c: Buffer, _e, done) => {
        out.push(c);
        if (Buffer.concat(out).length === rdb.length) verifiedBeforeLastByte = verifier.verified;
        done();
      },
    });
    const done = pipeline(through, verifier, sink);
    for (let i = 0; i < rdb.length; i += 5000) through.write(rdb.subarray(i, i + 5000));
    through.end();
    await done;
    assert.deepEqual(Buffer.concat(out), rdb);
    assert.equal(verifiedBeforeLastByte, true);
  });

  test('a record callback that throws stops the parser with that same error', () => {
    const boom = new Error('boom');
    const parser = new RdbStreamParser({
      onRecord: () => {
        throw boom;
      },
    });
    assert.throws(
      () => parser.write(rdb),
      (e) => e === boom,
    );
    assert.throws(
      () => parser.write(Buffer.from([1])),
      (e) => e === boom,
    );
  });
});

describe('FREQ and IDLE opcodes under LFU and LRU policies', () => {
  test('allkeys-lfu: every key carries its LFU counter, equal to OBJECT FREQ', async () => {
    const server = await startRdbServer(['--maxmemory-policy', 'allkeys-lfu', '--lfu-decay-time', '0']);
    try {
      const c = server.client;
      for (let i = 0; i < 50; i++) await c.send('SET', `lfu:${i}`, String(i));
      await c.send('HSET', 'lfu:hash', 'a', '1');
      await c.send('SET', 'lfu:ttl', 'v', 'EX', '1000');
      for (let n = 0; n < 200; n++) await c.send('GET', `lfu:${n % 7}`);
      const parsed = parse(await server.save());
      assert.equal(parsed.records.length, 52);
      for (const r of parsed.records) {
        assert.equal(typeof r.lfuFreq, 'number');
        assert.equal(r.idleSeconds, undefined);
        assert.equal(r.lfuFreq, await c.send('OBJECT', 'FREQ', r.key), `FREQ of ${r.key}`);
      }
      assert.ok(parsed.records.some((r) => r.lfuFreq! > 5));
      assert.deepEqual(
        plain(parse(await server.save(), () => 1)).records.map((r) => r.lfuFreq),
        parsed.records.map((r) => r.lfuFreq),
      );
      await compareWithServer(c, parsed);
    } finally {
      await server.stop();
    }
  });

  test('allkeys-lru: every key carries its idle time, close to OBJECT IDLETIME', async () => {
    const server = await startRdbServer(['--maxmemory-policy', 'allkeys-lru']);
    try {
      const c = server.client;
      for (let i = 0; i < 30; i++) await c.send('SET', `lru:${i}`, String(i));
      await c.send('ZADD', 'lru:zset', '1', 'a');
      const parsed = parse(await server.save());
      assert.equal(parsed.records.length, 31);
      for (const r of parsed.records) {
        assert.equal(r.lfuFreq, undefined);
        assert.equal(typeof r.idleSeconds, 'number');
        const idle = (await c.send('OBJECT', 'IDLETIME', r.key)) as number;
        assert.ok(Math.abs(idle - r.idleSeconds!) <= 2, `IDLE of ${r.key}: ${r.idleSeconds} vs ${idle}`);
        assert.equal(parsed.summary.bytes > r.offset, true);
      }
      await compareWithServer(c, parsed);
    } finally {
      await server.stop();
    }
  });
});
