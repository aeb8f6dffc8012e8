/**
 * Corrupt RDBs: flipped bytes and truncations at hundreds of offsets of real RDBs written by
 * redis-server, and a time-bounded fuzz of random mutations. Every case must end in RdbFormatError
 * (or, with the checksum disabled, possibly in a clean parse of a still-valid file): never another
 * error type, never an "internal error", never a hang. Seeds are fixed, so failures reproduce.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeValue, RdbFormatError, RdbStreamParser, RdbUnsupportedError, type RdbRecord } from '../src/rdb/index.js';
import { populateEveryType, seededRandom, startRdbServer, type MiniClient } from './rdb-helpers.js';

/** small values of every 7.0 encoding, so that mutations land on structure more often than on data */
async function populateSmall(c: MiniClient): Promise<void> {
  await c.send('CONFIG', 'SET', 'list-compress-depth', '1');
  await c.send('CONFIG', 'SET', 'list-max-listpack-size', '4');
  await c.send('CONFIG', 'SET', 'hash-max-listpack-entries', '8');
  await c.send('CONFIG', 'SET', 'zset-max-listpack-entries', '8');
  await c.send('DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '200');
  await c.send('SET', 's:raw', 'value');
  await c.send('SET', 's:int', '-70000');
  await c.send('SET', 's:lzf', 'abcabcabcabcabcabcabcabcabcabcabcabc-xyz');
  await c.send('SET', 's:ttl', 'v', 'PX', '999999999');
  await c.send('RPUSH', 'l:packed', 'a', '1', '-300', '70000', '5000000000', 'b'.repeat(70));
  await c.send('RPUSH', 'l:nodes', ...Array.from({ length: 14 }, (_, i) => `element number ${i} of the list ${'x'.repeat(30)}`));
  await c.send('RPUSH', 'l:plain', 'a', 'P'.repeat(300), 'b');
  await c.send('SADD', 'set:int', '1', '2', '300', '-70000');
  await c.send('SADD', 'set:str', 'a', 'b', 'c');
  await c.send('ZADD', 'z:lp', '1', 'a', '2.5', 'b', 'inf', 'c');
  await c.send('ZADD', 'z:skip', ...Array.from({ length: 10 }, (_, i) => [String(i / 3), `m${i}`]).flat());
  await c.send('HSET', 'h:lp', 'f', 'v', 'n', '12');
  await c.send('HSET', 'h:ht', ...Array.from({ length: 10 }, (_, i) => [`f${i}`, `v${i}`]).flat());
  for (let i = 1; i <= 12; i++) await c.send('XADD', 'x:s', `${i}-1`, ...(i % 4 ? ['a', String(i)] : ['b', 'x', 'c', 'y']));
  await c.send('XDEL', 'x:s', '3-1');
  await c.send('XGROUP', 'CREATE', 'x:s', 'g', '0');
  await c.send('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '2', 'STREAMS', 'x:s', '>');
  await c.send('XREADGROUP', 'GROUP', 'g', 'c2', 'COUNT', '2', 'STREAMS', 'x:s', '>');
  await c.send('FUNCTION', 'LOAD', "#!lua name=fz\nredis.register_function('fz', function() return 1 end)");
  await c.send('SELECT', 3);
  await c.send('SET', 'db3', 'x');
}

type Outcome = { ok: true } | { ok: false; error: RdbFormatError | RdbUnsupportedError };

/** parses `rdb` in chunks of `chunk` bytes; fails the test on anything but RdbFormatError */
function attempt(rdb: Buffer, chunk = rdb.length || 1, label = ''): Outcome {
  // strict: a flipped stream length or bytes after the checksum count as damage here
  const parser = new RdbStreamParser({ source: 'corrupt.rdb', strict: true, onRecord: (r) => void decodeQuietly(r) });
  try {
    for (let i = 0; i < rdb.length; i += chunk) parser.write(rdb.subarray(i, i + chunk));
    parser.end();
    return { ok: true };
  } catch (error) {
    // a changed version digit reads as a later version: "not supported", at the header
    if (error instanceof RdbUnsupportedError && error.offset <= 8) return { ok: false, error };
    if (!(error instanceof RdbFormatError)) assert.fail(`${label}: ${(error as Error)?.stack ?? String(error)}`);
    assert.doesNotMatch(error.message, /internal error/, label);
    assert.match(error.message, /^corrupt\.rdb at byte \d+: /, label);
    return { ok: false, error };
  }
}

/** a record the parser accepted must also decode */
function decodeQuietly(r: RdbRecord): void {
  decodeValue(r.type, r.value, { strict: true });
}

/** the same RDB with its stored checksum zeroed ("checksum disabled"), so only structure is checked */
function withoutChecksum(rdb: Buffer): Buffer {
  const copy = Buffer.from(rdb);
  copy.fill(0, copy.length - 8);
  return copy;
}

describe('corrupted RDBs from a real redis-server', () => {
  let server: { stop(): Promise<void> } | undefined;
  let big: Buffer;
  let small: Buffer;
  let smallRecords: RdbRecord[];

  before(async () => {
    const a = await startRdbServer();
    const b = await startRdbServer();
    server = { stop: async () => void (await Promise.all([a.stop(), b.stop()])) };
    await populateEveryType(a.client);
    big = await a.save();
    await populateSmall(b.client);
    small = await b.save();
    smallRecords = [];
    const p = new RdbStreamParser({ onRecord: (r) => smallRecords.push({ ...r, value: Buffer.from(r.value), key: Buffer.from(r.key) }) });
    p.write(small);
    p.end();
  });
  after(async () => server?.stop());

  test('every single flipped byte is detected (400 offsets of each fixture)', (t) => {
    let structural = 0;
    let total = 0;
    for (const [name, rdb] of [
      ['every-type', big],
      ['small', small],
    ] as const) {
      const rnd = seededRandom(name.length);
      for (let n = 0; n < 400; n++) {
        const at = n < 40 ? n : Math.floor(rnd() * rdb.length);
        const bad = Buffer.from(rdb);
        bad[at]! ^= 1 + Math.floor(rnd() * 255);
        const outcome = attempt(bad, rdb.length, `${name} flip at ${at}`);
        assert.equal(outcome.ok, false, `${name}: flip at ${at} went unnoticed`);
        total++;
        if (!outcome.ok && !/checksum mismatch/.test(outcome.error.message)) structural++;
      }
    }
    t.diagnostic(`${structural} of ${total} flips caught by structure before the checksum`);
  });

  test('with the checksum disabled, flipped structure bytes are still caught or harmless', (t) => {
    const rdb = withoutChecksum(small);
    const rnd = seededRandom(99);
    let caught = 0;
    let n = 0;
    // flips inside each record's first bytes: opcodes, lengths, encodings, blob headers
    for (const r of smallRecords) {
      const length = Math.min(48, rdb.length - 8 - r.offset);
      for (let k = 0; k < length; k++, n++) {
        const bad = Buffer.from(rdb);
        bad[r.offset + k]! ^= 1 + Math.floor(rnd() * 255);
        if (!attempt(bad, bad.length, `flip at ${r.offset + k}`).ok) caught++;
      }
    }
    t.diagnostic(`${caught} of ${n} structure flips rejected without the checksum's help`);
    // about half of these bytes are key and value text, where a flip leaves a valid RDB
    assert.ok(caught > n / 3);
  });

  test('truncation at any of 300 offsets is an error, whole or fed in small chunks', () => {
    for (const [name, rdb] of [
      ['every-type', big],
      ['small', small],
    ] as const) {
      const rnd = seededRandom(name.length + 1);
      const offsets = new Set<number>([0, 1, 5, 8, 9, 10, rdb.length - 1, rdb.length - 8, rdb.length - 9, rdb.length - 10]);
      while (offsets.size < 150) offsets.add(Math.floor(rnd() * rdb.length));
      for (const at of offsets) {
        const cut = rdb.subarray(0, at);
        const outcome = attempt(cut, name === 'small' ? 7 : cut.length || 1, `${name} cut at ${at}`);
        assert.equal(outcome.ok, false, `${name} cut at ${at} went unnoticed`);
        if (!outcome.ok) {
          assert.match(outcome.error.message, /truncated/, `${name} cut at ${at}: ${outcome.error.message}`);
          assert.equal(outcome.error.offset <= at, true);
        }
      }
    }
  });

  test('bytes after the checksum are an error with strict, a warning without', () => {
    for (const extra of [Buffer.from([0]), Buffer.from('\r\n'), Buffer.alloc(100, 1)]) {
      const outcome = attempt(Buffer.concat([small, extra]), small.length + extra.length);
      assert.equal(outcome.ok, false);
      if (!outcome.ok) {
        assert.match(outcome.error.message, /follow the end of the RDB/);
        assert.equal(outcome.error.offset, small.length);
      }
      // arriving in a later write
      const parser = new RdbStreamParser({ strict: true });
      parser.write(small);
      assert.throws(() => parser.write(extra), /follow the end of the RDB/);
      // without strict: the server loads the file, so the summary has a warning with the offset
      for (const split of [small.length, small.length - 3]) {
        const lenient = new RdbStreamParser({ source: 'aof-base.rdb' });
        const both = Buffer.concat([small, extra]);
        lenient.write(both.subarray(0, split));
        lenient.write(both.subarray(split));
        const summary = lenient.end();
        assert.equal(summary.trailingBytes, extra.length);
        assert.equal(summary.bytes, small.length);
        assert.equal(summary.warningCount, 1);
        assert.equal(summary.warnings[0]!.code, 'trailing-bytes');
        assert.equal(summary.warnings[0]!.offset, small.length);
        assert.match(summary.warnings[0]!.message, new RegExp(`^aof-base\\.rdb at byte ${small.length}: ${extra.length} bytes follow the end of the RDB`));
      }
    }
  });

  test('fuzz: random mutations for 3 seconds end in RdbFormatError or a clean parse, never a crash or hang', (t) => {
    const rnd = seededRandom(2024);
    const deadline = Date.now() + 3000;
    const stats = { runs: 0, rejected: 0, values: 0 };
    const base = withoutChecksum(small);
    while (Date.now() < deadline) {
      const bad = mutate(base, rnd);
      const chunk = rnd() < 0.5 ? bad.length || 1 : 1 + Math.floor(rnd() * 64);
      const outcome = attempt(bad, chunk, `fuzz run ${stats.runs}`);
      if (!outcome.ok) stats.rejected++;
      stats.runs++;
      // and single values through decodeValue
      const r = smallRecords[Math.floor(rnd() * smallRecords.length)]!;
      const value = mutate(r.value, rnd);
      try {
        decodeValue(r.type, value);
      } catch (error) {
        if (!(error instanceof RdbFormatError)) assert.fail(`decodeValue on a mutated ${r.kind}: ${(error as Error)?.stack}`);
        assert.doesNotMatch(error.message, /internal error|could not decode/);
      }
      stats.values++;
    }
    t.diagnostic(`${stats.runs} mutated files (${stats.rejected} rejected), ${stats.values} mutated values`);
    assert.ok(stats.runs > 100);
  });
});

function mutate(input: Buffer, rnd: () => number): Buffer {
  const b = Buffer.from(input);
  const pos = () => Math.floor(rnd() * Math.max(1, b.length));
  switch (Math.floor(rnd() * 6)) {
    case 0: {
      for (let k = 1 + Math.floor(rnd() * 8); k > 0; k--) if (b.length) b[pos()]! ^= 1 + Math.floor(rnd() * 255);
      return b;
    }
    case 1: {
      const at = pos();
      for (let k = 0; k < 1 + rnd() * 16 && at + k < b.length; k++) b[at + k] = Math.floor(rnd() * 256);
      return b;
    }
    case 2: {
      const at = pos();
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + Math.floor(rnd() * 16)))]);
    }
    case 3: {
      const at = pos();
      const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 16) }, () => Math.floor(rnd() * 256)));
      return Buffer.concat([b.subarray(0, at), junk, b.subarray(at)]);
    }
    case 4: {
      const at = pos();
      const len = Math.floor(rnd() * 32);
      return Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
    }
    default: {
      // a length or count byte set to an extreme
      const at = pos();
      if (b.length) b[at] = [0x00, 0x3f, 0x7f, 0x80, 0x81, 0xbf, 0xc0, 0xc3, 0xff][Math.floor(rnd() * 9)]!;
      return b;
    }
  }
}
