/**
 * Large values read element by element (rawValues 'none' and `{ maxBytes }`, src/rdb/incremental.ts):
 * an RDB written by a real redis-server with a 300,000-member sorted set, set and hash, a
 * 200,000-element list, a 5,000-entry stream (with a consumer group), PLAIN quicklist nodes and a
 * 1 MB string, fed whole, in
 * chunks and byte by byte. The summary must equal the buffering mode's, the parser must keep fewer
 * than ~64 KiB between writes, and damage inside a large value must give the same error at the same
 * offset as when the value is read whole. Hand-made RDBs cover the encodings Redis 7.0 no longer
 * writes (types 1, 3, 14, 15) and module values.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { wasmFingerprints } from '../src/rdb/fingerprint-table.js';
import { FINGERPRINT_BATCH, Fingerprints, type MemberFingerprints } from '../src/rdb/fingerprints.js';
import { RdbFormatError, RdbStreamParser, type RdbKeyRecord, type RdbSummary } from '../src/rdb/index.js';
import { listpack, moduleId, rdbEncode as E, ziplist } from './fixtures/rdb/encode.js';
import { seededRandom, startRdbServer, type MiniClient } from './rdb-helpers.js';

/** what the parser may keep between writes when values are read element by element */
const BOUND = 70 * 1024;

type Mode = 'all' | 'none' | { maxBytes: number };

interface Run {
  summary?: RdbSummary;
  error?: RdbFormatError;
  maxBuffered: number;
  records: RdbKeyRecord[];
}

/**
 * Parses `rdb` in `mode`, in chunks of `chunk` bytes (byte by byte from `bytewiseFrom` on). With
 * `reuse`, every chunk is copied into one buffer that is overwritten with garbage as soon as write()
 * returns (what a reader with one reused read buffer does), and written with `transient`: a view the
 * parser kept would then read garbage.
 */
function run(
  rdb: Buffer,
  mode: Mode,
  chunk: number | (() => number) = rdb.length,
  bytewiseFrom = Infinity,
  reuse = false,
  options: { maxRecordBytes?: number; look?: (r: RdbKeyRecord) => void } = {},
): Run {
  const records: RdbKeyRecord[] = [];
  const onRecord = (r: RdbKeyRecord) => {
    options.look?.(r);
    const { valueParts: _, ...rest } = r;
    records.push({ ...rest, key: Buffer.from(r.key), ...(r.value ? { value: Buffer.from(r.value) } : {}) });
  };
  const common = { source: 'big.rdb', onRecord, ...(options.maxRecordBytes ? { maxRecordBytes: options.maxRecordBytes } : {}) };
  const parser = mode === 'all' ? new RdbStreamParser(common) : new RdbStreamParser({ ...common, rawValues: mode });
  const next = typeof chunk === 'number' ? () => chunk : chunk;
  let scratch = Buffer.allocUnsafeSlow(65536);
  try {
    for (let i = 0; i < rdb.length;) {
      const n = i >= bytewiseFrom ? 1 : Math.max(1, Math.min(next(), rdb.length - i, bytewiseFrom - i));
      if (reuse) {
        if (scratch.length < n) scratch = Buffer.allocUnsafeSlow(Math.max(n, 2 * scratch.length));
        rdb.copy(scratch, 0, i, i + n);
        parser.write(scratch.subarray(0, n), true);
        scratch.fill(0xa5, 0, n);
      } else parser.write(rdb.subarray(i, i + n));
      i += n;
    }
    return { summary: parser.end(), maxBuffered: parser.maxBufferedBytes, records };
  } catch (error) {
    if (!(error instanceof RdbFormatError)) throw error;
    return { error, maxBuffered: parser.maxBufferedBytes, records };
  }
}

/** the outcome as something assert.deepEqual can compare */
const outcome = (r: Run) => (r.error ? { message: r.error.message, offset: r.error.offset } : { summary: r.summary });

async function populateLarge(c: MiniClient, scale: number): Promise<void> {
  const batch = async (n: number, args: (i: number, k: number) => Array<string | number>) => {
    const pending: Array<Promise<unknown>> = [];
    for (let i = 0; i < n; i += 1000) pending.push(c.send(...args(i, Math.min(1000, n - i))));
    await Promise.all(pending);
  };
  const range = (i: number, k: number) => Array.from({ length: k }, (_, j) => i + j);
  await c.send('DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '1000');
  await batch(300 * scale, (i, k) => ['ZADD', 'big:zset', ...range(i, k).flatMap((m) => [String(m * 1.5), `member:${m}`])]);
  await batch(300 * scale, (i, k) => ['SADD', 'big:set', ...range(i, k).map((m) => `s:${String(m).padStart(7, '0')}`)]);
  await batch(300 * scale, (i, k) => ['HSET', 'big:hash', ...range(i, k).flatMap((m) => [`field:${m}`, `value ${m}`])]);
  await batch(200 * scale, (i, k) => ['RPUSH', 'big:list', ...range(i, k).map((m) => `element ${m}`)]);
  await c.send('PEXPIRE', 'big:zset', 86_400_000);
  const rnd = seededRandom(scale);
  const noise = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)));
  const entries: Array<Promise<unknown>> = [];
  for (let i = 1; i <= 5 * scale; i++) {
    entries.push(c.send('XADD', 'big:stream', `${i}-1`, 'level', i % 7 ? 'info' : 'error', 'n', String(i), 'trace', noise(24).toString('hex')));
  }
  await Promise.all(entries);
  await c.send('XGROUP', 'CREATE', 'big:stream', 'g', '0');
  await c.send('XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '50', 'STREAMS', 'big:stream', '>');
  await c.send('RPUSH', 'big:plain', 'a', noise(100 * scale), 'b', noise(30 * scale), 'c');
  await c.send('SET', 'big:string', noise(1000 * scale));
  await c.send('SET', 'small:string', 'v');
  await c.send('ZADD', 'small:zset', '1', 'a');
  await c.send('SADD', 'small:set', 'x', 'y');
}

describe('large values read element by element', () => {
  let stop: (() => Promise<void>) | undefined;
  /** 17 MB: the 300,000-member collections */
  let big: Buffer;
  /** 1.3 MB: the same shape at 1/50 of the size, for the fuzz */
  let medium: Buffer;
  let reference: Run;

  before(async () => {
    const a = await startRdbServer();
    const b = await startRdbServer();
    stop = async () => void (await Promise.all([a.stop(), b.stop()]));
    await Promise.all([populateLarge(a.client, 1000), populateLarge(b.client, 20)]);
    big = await a.save();
    medium = await b.save();
    reference = run(big, 'all');
    assert.ok(reference.summary, String(reference.error));
  });
  after(async () => stop?.());

  test('whole, in chunks and byte by byte: the summary of the buffering mode, under 70 KiB kept', (t) => {
    const buffering = run(big, 'all', 65536);
    t.diagnostic(`file ${big.length} bytes; buffering mode in 64 KiB chunks keeps up to ${buffering.maxBuffered} bytes`);
    assert.ok(buffering.maxBuffered > 4_000_000, 'the buffering mode holds the largest value whole');
    assert.deepEqual(buffering.summary, reference.summary);
    const rnd = seededRandom(5);
    for (const [label, chunk] of [
      ['whole', big.length],
      ['64 KiB chunks', 65536],
      ['1 MiB chunks', 1 << 20],
      ['random chunks', () => 1 + Math.floor(rnd() * 100_000)],
      ['byte by byte', 1],
    ] as const) {
      const r = run(big, 'none', chunk);
      assert.deepEqual(r.summary, reference.summary, label);
      assert.ok(r.maxBuffered <= (typeof chunk === 'number' && chunk > 1 && chunk < big.length ? chunk : 0) + BOUND, `${label}: kept ${r.maxBuffered} bytes`);
      t.diagnostic(`rawValues 'none', ${label}: kept up to ${r.maxBuffered} bytes`);
    }
    // one reused read buffer (runtime/program-output.ts): what the parser keeps, it copies
    for (const [label, chunk] of [
      ['64 KiB chunks', 65536],
      ['random chunks', () => 1 + Math.floor(rnd() * 100_000)],
      ['small chunks', 777],
    ] as const) {
      for (const mode of ['none', 'all'] as const) {
        const r = run(big, mode, chunk, Infinity, true);
        assert.deepEqual(r.summary, reference.summary, `reused buffer, ${mode}, ${label}`);
        assert.deepEqual(
          r.records.map((x) => [x.key.toString('latin1'), x.offset]),
          reference.records.map((x) => [x.key.toString('latin1'), x.offset]),
          `reused buffer, ${mode}, ${label}: records`,
        );
      }
    }
    // without onRecord, 'none' is the default
    const parser = new RdbStreamParser();
    for (let i = 0; i < big.length; i += 4096) parser.write(big.subarray(i, i + 4096));
    assert.deepEqual(parser.end(), reference.summary);
    assert.ok(parser.maxBufferedBytes <= 4096 + BOUND);
  });

  test("records: 'none' has no values, { maxBytes } the small ones; keys, types, offsets and TTLs as with 'all'", () => {
    const all = reference.records;
    const strip = (r: RdbKeyRecord) => ({ ...r, value: undefined });
    const length = (r: RdbKeyRecord) => r.value?.length ?? -1;
    const none = run(big, 'none', 65536);
    assert.deepEqual(none.records.map(strip), all.map(strip));
    assert.ok(none.records.every((r) => !('value' in r)));
    const some = run(big, { maxBytes: 100_000 }, 65536);
    assert.deepEqual(some.records.map(strip), all.map(strip));
    for (const [i, r] of some.records.entries()) {
      const whole = all[i]!.value!;
      if (whole.length <= 100_000) assert.deepEqual(r.value, whole, r.key.toString());
      else assert.equal(r.value, undefined, r.key.toString());
    }
    assert.ok(some.maxBuffered <= 65536 + 100_000 + BOUND);
    const zset = some.records.find((r) => r.key.toString() === 'big:zset')!;
    assert.ok(zset.expireAtMs! > Date.now());
    assert.equal(zset.type, 5);
    // PEXPIRE: the record starts with the 9-byte EXPIRETIME_MS opcode, then the type and the key
    assert.equal(big.subarray(zset.offset + 11, zset.offset + 19).toString(), 'big:zset');
    assert.equal(some.records.filter((r) => r.value === undefined).length, all.filter((r) => length(r) > 100_000).length);
  });

  test("'all' in chunks: a large value comes as the pieces it arrived in, byte for byte the value read whole", (t) => {
    const strip = (r: RdbKeyRecord) => ({ ...r, key: r.key.toString('latin1') });
    const rnd = seededRandom(9);
    const large = new Set(reference.records.filter((r) => r.value!.length > 320 * 1024).map((r) => r.key.toString('latin1')));
    assert.ok(large.size >= 5, `the file has ${large.size} values over 320 KiB`);
    for (const [label, chunk, reuse] of [
      ['64 KiB chunks', 65536, false],
      ['random chunks', () => 1 + Math.floor(rnd() * 100_000), false],
      ['1 MiB chunks, reused buffer', 1 << 20, true],
      ['small chunks, reused buffer', 777, true],
    ] as const) {
      const pieced = new Map<string, number>();
      const r = run(big, 'all', chunk, Infinity, reuse, {
        look(record) {
          const parts = record.valueParts;
          if (!parts) return;
          const key = record.key.toString('latin1');
          pieced.set(key, parts.length);
          // read while the callback runs: with a reused buffer, that is as long as the views hold
          assert.ok(Buffer.concat(parts).equals(record.value!), `${label}: ${key}'s pieces are its value`);
        },
      });
      assert.deepEqual(r.summary, reference.summary, label);
      assert.deepEqual(r.records.map(strip), reference.records.map(strip), `${label}: the records, values included`);
      for (const [key, n] of pieced)
        assert.ok(reference.records.find((x) => x.key.toString('latin1') === key)!.value!.length > 256 * 1024, `${label}: ${key} (${n} pieces)`);
      if (chunk === 65536) assert.deepEqual(new Set([...pieced.keys()].filter((k) => large.has(k))), large, `${label}: every value over 320 KiB`);
      else assert.ok(pieced.size > 0, label);
      t.diagnostic(`'all', ${label}: ${pieced.size} values in pieces (${[...pieced.values()].join(', ')}), kept up to ${r.maxBuffered} bytes`);
    }
  });

  test('slices of one read are parsed where they lie: what the parser copies is a small part of the file', () => {
    // as the merge feeds a file: 1 MiB reads, each handed over in 64 KiB slices
    const concat = Buffer.concat;
    let copied = 0;
    Buffer.concat = (list: readonly Uint8Array[], length?: number) => {
      const joined = concat(list, length);
      copied += joined.length;
      return joined;
    };
    let summary: RdbSummary;
    try {
      const parser = new RdbStreamParser({ source: 'big.rdb', onRecord: () => undefined });
      for (let at = 0; at < big.length; at += 1 << 20) {
        const read = Buffer.from(big.subarray(at, at + (1 << 20)));
        for (let i = 0; i < read.length; i += 65536) parser.write(read.subarray(i, i + 65536));
      }
      summary = parser.end();
    } finally {
      Buffer.concat = concat;
    }
    assert.deepEqual(summary, reference.summary);
    assert.ok(copied < big.length / 10, `copied ${copied} bytes of ${big.length}`);
  });

  test("'all' in chunks: maxRecordBytes bounds a value kept in pieces, naming its record", () => {
    const first = reference.records.find((r) => r.value!.length > 2_000_000)!;
    const r = run(big, 'all', 65536, Infinity, false, { maxRecordBytes: 2_000_000 });
    assert.ok(r.error);
    assert.match(r.error.message, /the record starting here is larger than the 2000000-byte limit \(maxRecordBytes\)/);
    assert.equal(r.error.offset, first.offset);
    assert.ok(r.error.message.includes(`key "${first.key.toString('latin1')}"`), r.error.message);
    assert.ok(!r.records.some((x) => x.offset >= first.offset), 'nothing from that record on was delivered');
  });

  test('damage inside a large value: the error and offset of the buffering mode, however the bytes arrive', (t) => {
    const at = (text: string) => {
      const i = big.indexOf(text);
      assert.ok(i > 0, text);
      return i;
    };
    const cases: Array<{ label: string; rdb: Buffer; offset?: number; message: RegExp }> = [];
    {
      // the score after a sorted set member becomes NaN
      const rdb = Buffer.from(big);
      const member = at('member:123456');
      rdb.writeDoubleLE(NaN, member + 'member:123456'.length);
      cases.push({ label: 'NaN score', rdb, offset: member + 13, message: /sorted set member "member:123456" has a score that is not a number/ });
    }
    {
      // one set member rewritten as another: the later of the two is reported
      const rdb = Buffer.from(big);
      const a = at('s:0123456');
      const b = at('s:0000042');
      rdb.write('s:0000042', a, 'latin1');
      cases.push({ label: 'duplicate member', rdb, offset: Math.max(a, b) - 1, message: /set has the member "s:0000042" twice/ });
    }
    {
      // a hash field rewritten as another
      const rdb = Buffer.from(big);
      const a = at('field:250000');
      const b = at('field:100000');
      rdb.write('field:100000', a, 'latin1');
      cases.push({ label: 'duplicate field', rdb, offset: Math.max(a, b) - 1, message: /hash has the field "field:100000" twice/ });
    }
    // a flipped byte half way into each large value (most are LZF-compressed
    // listpacks or random bytes: caught by structure or by the checksum, whatever the way in)
    for (const [i, r] of reference.records.entries()) {
      const end = reference.records[i + 1]?.offset ?? big.length - 9;
      if (end - r.offset < 65536) continue;
      for (const part of [0.5]) {
        const rdb = Buffer.from(big);
        rdb[Math.floor(r.offset + (end - r.offset) * part)]! ^= 0x5a;
        cases.push({ label: `flip ${part} into ${r.key}`, rdb, message: /./ });
      }
    }
    for (const [label, cut] of [
      ['zset', at('member:200000')],
      ['set', at('s:0200000')],
      ['string', at('big:string') + 500_000],
      ['plain node', at('big:plain') + 50_000],
    ] as const) {
      cases.push({
        label: `cut inside the ${label}`,
        rdb: big.subarray(0, cut),
        message: /^big\.rdb at byte \d+: key "big:\w+": truncated: the file ends inside the record starting at byte \d+, which needs at least \d+ bytes/,
      });
    }
    for (const c of cases) {
      const expected = run(c.rdb, 'all');
      assert.ok(expected.error, `${c.label}: the buffering mode finds it`);
      assert.match(expected.error.message, c.message, c.label);
      if (c.offset !== undefined) assert.equal(expected.error.offset, c.offset, c.label);
      const first = expected.error.offset;
      t.diagnostic(`${c.label}: ${expected.error.message.slice(0, 160)}`);
      const rnd = seededRandom(c.label.length);
      for (const [how, chunk, from] of [
        ['whole', c.rdb.length, Infinity],
        ['64 KiB chunks', 65536, Infinity],
        ['random chunks', () => 1 + Math.floor(rnd() * 50_000), Infinity],
        ['byte by byte near the damage', 1 << 20, Math.max(0, first - 300_000)],
      ] as const) {
        const r = run(c.rdb, 'none', chunk, from);
        assert.deepEqual(outcome(r), outcome(expected), `${c.label}, ${how}`);
        // 'all' reads a large value that arrives in pieces element by element too
        if (how !== 'whole') assert.deepEqual(outcome(run(c.rdb, 'all', chunk, from)), outcome(expected), `${c.label}, ${how}, 'all'`);
        if (from === Infinity) assert.deepEqual(outcome(run(c.rdb, 'none', chunk, from, true)), outcome(expected), `${c.label}, ${how}, reused buffer`);
        // A flipped byte can land on a member's length (where a hashtable-encoded hash or set puts
        // it depends on the server's random dict seed): the parser then reads the bogus length as
        // one member, which it holds whole to fingerprint, before the damage shows. Seen once in CI:
        // 972,177 bytes kept for a flip in big:hash. Such a case is bounded by the file, not by the
        // chunk; the other damage cases keep the strict bound.
        const allowance = c.label.startsWith('flip ') ? 1 << 20 : BOUND;
        assert.ok(
          r.maxBuffered <= (typeof chunk === 'number' && chunk < c.rdb.length ? chunk : 50_000) + allowance,
          `${c.label}, ${how}: kept ${r.maxBuffered}`,
        );
      }
    }
  });

  test('fuzz: 300 flipped bytes in large values give the outcome of the buffering mode', (t) => {
    const rnd = seededRandom(77);
    const expected = run(medium, 'all');
    assert.ok(expected.summary);
    let failed = 0;
    for (let n = 0; n < 300; n++) {
      const bad = Buffer.from(medium);
      const at = 200 + Math.floor(rnd() * (medium.length - 300));
      bad[at]! ^= 1 + Math.floor(rnd() * 255);
      const whole = run(bad, 'all');
      const chunk = rnd() < 0.3 ? 7 : 1 + Math.floor(rnd() * 20_000);
      assert.deepEqual(outcome(run(bad, 'none', chunk)), outcome(whole), `flip at ${at}, chunks of ${chunk}`);
      assert.deepEqual(outcome(run(bad, { maxBytes: 1000 }, chunk)), outcome(whole), `flip at ${at}, maxBytes, chunks of ${chunk}`);
      if (whole.error) failed++;
    }
    t.diagnostic(`${failed} of 300 flips rejected`);
    assert.equal(failed, 300);
  });
});

describe('element by element: hand-made values of every element-wise encoding', () => {
  const id16 = (ms: number, seq: number) => {
    const b = Buffer.alloc(16);
    b.writeBigUInt64BE(BigInt(ms), 0);
    b.writeBigUInt64BE(BigInt(seq), 8);
    return b;
  };
  const textScore = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);
  /** a v1 stream: `nodes` listpack nodes of 100 entries each, then no groups */
  const stream = (nodes: number) => {
    const parts: Buffer[] = [E.len(nodes)];
    for (let n = 0; n < nodes; n++) {
      const elements: Array<string | number> = [100, 0, 1, 'f', 0];
      for (let e = 0; e < 100; e++) elements.push(2, e, 0, `value ${n}:${e}`, 4);
      parts.push(E.str(id16(1000 * (n + 1), 0)), n % 2 ? E.lzf(listpack(elements)) : E.str(listpack(elements)));
    }
    parts.push(E.len(100 * nodes), E.len(1000 * nodes + 99), E.len(0), E.len(0));
    return Buffer.concat(parts);
  };
  const records = [
    E.record(
      1,
      'list1',
      E.len(30_000),
      ...Array.from({ length: 30_000 }, (_, i) => (i % 3 === 0 ? E.int(i) : i % 3 === 1 ? E.lzf(`list element ${i} `.repeat(4)) : E.str(`e${i}`))),
    ),
    E.record(1, 'list1-long', E.len(3), E.str('a'), E.str(Buffer.alloc(300_000, 'L')), E.str('z')),
    E.record(
      3,
      'zset3',
      E.len(20_000),
      ...Array.from({ length: 20_000 }, (_, i) => Buffer.concat([i % 2 ? E.str(`m${i}`) : E.int(i), i === 7 ? Buffer.from([254]) : textScore(String(i / 4))])),
    ),
    E.record(
      4,
      'hash4',
      E.len(20_000),
      ...Array.from({ length: 20_000 }, (_, i) =>
        Buffer.concat([i % 5 ? E.str(`f${i}`) : E.lzf(`field number ${i} `.repeat(3)), i === 3 ? E.str(Buffer.alloc(200_000, 'v')) : E.int(i)]),
      ),
    ),
    E.record(2, 'set2', E.len(20_000), ...Array.from({ length: 20_000 }, (_, i) => (i % 2 ? E.int(i) : E.str(`member ${i}`)))),
    E.record(
      14,
      'quicklist14',
      E.len(200),
      ...Array.from({ length: 200 }, (_, n) => (n % 2 ? E.lzf : E.str)(ziplist(Array.from({ length: 100 }, (_, e) => (e % 2 ? e : `n${n}e${e}`))))),
    ),
    E.record(
      18,
      'quicklist18',
      E.len(4),
      E.len(2),
      E.str(listpack(['a'])),
      E.len(1),
      E.str(Buffer.alloc(500_000, 'P')),
      E.len(1),
      E.lzf('plain '.repeat(100)),
      E.len(1),
      E.str('p'),
    ),
    E.record(15, 'stream15', stream(300)),
    E.record(
      7,
      'module',
      E.len(moduleId('neurallog', 3)),
      E.len(2),
      E.len(5),
      E.len(1),
      E.len(7),
      E.len(5),
      E.str(Buffer.alloc(400_000, 'M')),
      E.len(4),
      E.f64(1.5),
      E.len(3),
      Buffer.alloc(4),
      E.len(5),
      E.lzf('module '.repeat(50)),
      E.len(0),
    ),
    E.record(0, 'string', E.str(Buffer.alloc(250_000, 'S'))),
  ];
  const rdb = E.file(10, [Buffer.from([0xfe, 0]), ...records]);

  test('the same summary and records in every mode and chunking, under 70 KiB kept', () => {
    const all = run(rdb, 'all');
    assert.ok(all.summary, String(all.error));
    assert.equal(all.records.length, records.length);
    for (const chunk of [rdb.length, 1, 3, 1000, 65536]) {
      for (const mode of ['none', { maxBytes: 50_000 }] as const) {
        const r = run(rdb, mode, chunk);
        assert.deepEqual(r.summary, all.summary, `${JSON.stringify(mode)} in chunks of ${chunk}`);
        assert.deepEqual(
          r.records.map((x) => [x.key.toString(), x.offset, x.value?.length]),
          all.records.map((x) => [x.key.toString(), x.offset, mode === 'none' || x.value!.length > 50_000 ? undefined : x.value!.length]),
        );
        assert.ok(r.maxBuffered <= (chunk < rdb.length ? chunk : 0) + 50_000 + BOUND, `kept ${r.maxBuffered}`);
      }
    }
  });

  test('damage found at the same offset as when read whole', (t) => {
    const damaged: Array<[string, Buffer]> = [];
    const replace = (what: string, from: Buffer, to: Buffer) => {
      const at = rdb.indexOf(from);
      assert.ok(at > 0, what);
      const copy = Buffer.from(rdb);
      to.copy(copy, at);
      damaged.push([what, copy]);
    };
    const record = (key: string) => rdb.indexOf(E.str(key)) - 1;
    replace('duplicate member in a type 3 zset', E.str('m19999'), E.str('m19997'));
    replace('duplicate set member', E.str('member 10000'), E.str('member 10002'));
    replace('duplicate hash field', E.str('f19999'), E.str('f19998'));
    {
      const at = rdb.lastIndexOf(Buffer.concat([E.len(1), E.str('p')]), record('module'));
      assert.ok(at > record('quicklist18'));
      const copy = Buffer.from(rdb);
      copy[at + 1] = 0;
      damaged.push(['zero-length PLAIN node', copy]);
    }
    replace('bad module opcode', Buffer.concat([E.len(4), E.f64(1.5)]), Buffer.concat([E.len(9), E.f64(1.5)]));
    replace('score text that is not a number', textScore('4999.75'), textScore('4999.7x'));
    {
      const node = ziplist(Array.from({ length: 100 }, (_, e) => (e % 2 ? e : `n100e${e}`)));
      const header = Buffer.from(node.subarray(0, 10));
      header.writeUInt16LE(101, 8);
      replace('ziplist entry count', node.subarray(0, 10), header);
    }
    const lzf = rdb.indexOf(E.lzf(`list element ${29998} `.repeat(4)));
    const badLzf = Buffer.from(rdb);
    badLzf[lzf + 8]! = 0xff;
    damaged.push(['LZF list element', badLzf]);
    for (const [what, bad] of damaged) {
      const whole = run(bad, 'all');
      assert.ok(whole.error, `${what}: found when read whole`);
      t.diagnostic(`${what}: ${whole.error.message.slice(0, 160)}`);
      for (const chunk of [1, 5, 4096]) assert.deepEqual(outcome(run(bad, 'none', chunk)), outcome(whole), `${what}, chunks of ${chunk}`);
    }
    const truncated = rdb.subarray(0, rdb.indexOf('quicklist18') + 300_000);
    const whole = run(truncated, 'all');
    assert.match(whole.error!.message, /key "quicklist18": truncated: the file ends inside the record starting at byte \d+, which needs at least \d+ bytes/);
    for (const chunk of [1, 4096, truncated.length]) assert.deepEqual(outcome(run(truncated, 'none', chunk)), outcome(whole));
  });

  test('maxRecordBytes bounds each element (a string nobody needs too), not the value', () => {
    const parser = new RdbStreamParser({ source: 'x.rdb', rawValues: 'none', maxRecordBytes: 100_000 });
    assert.throws(() => {
      for (let i = 0; i < rdb.length; i += 1000) parser.write(rdb.subarray(i, i + 1000));
    }, /x\.rdb at byte \d+: key "list1-long": string of 300000 bytes is larger than the 100000-byte limit/);
    // values of several hundred KiB made of small elements pass under a 100 KB limit
    const small = E.file(10, [Buffer.from([0xfe, 0]), records[0]!, records[2]!, records[4]!, records[5]!, records[7]!]);
    assert.ok(small.length > 1_000_000);
    const expected = run(small, 'all').summary;
    for (const rawValues of ['none', { maxBytes: 80_000 }] as const) {
      const limited = new RdbStreamParser({ rawValues, maxRecordBytes: 100_000 });
      for (let i = 0; i < small.length; i += 1000) limited.write(small.subarray(i, i + 1000));
      assert.deepEqual(limited.end(), expected);
      assert.ok(limited.maxBufferedBytes < 100_000);
    }
  });
});

describe('fingerprint tables, JS and WebAssembly, through the batch interface', () => {
  const wasm = wasmFingerprints();
  const implementations: Array<[string, () => MemberFingerprints]> = [['JS', () => new Fingerprints()]];
  if (wasm) implementations.push(['WebAssembly', () => wasmFingerprints()!]);
  test('WebAssembly is available here (the fast path is what runs)', () => assert.ok(wasm));

  /** queues and flushes whole batches; the stream indexes of the members found already there */
  const feeder = (f: MemberFingerprints) => {
    const found: number[] = [];
    let index = 0;
    const check = (full: boolean) => {
      index++;
      if (!full) return;
      const at = f.flush();
      if (at >= 0) found.push(index - FINGERPRINT_BATCH + at);
    };
    return {
      found,
      range: (buf: Buffer, start: number, end: number) => check(f.queueRange(buf, start, end)),
      copy: (bytes: Buffer) => check(f.queueCopy(bytes, 0, bytes.length)),
      integer: (n: number | bigint) => check(f.queueInteger(n)),
      end: () => {
        const pending = f.queued;
        const at = f.flush();
        if (at >= 0) found.push(index - pending + at);
        return found;
      },
    };
  };

  for (const [name, make] of implementations) {
    test(`${name}: two million distinct members as ranges, copies and integers, through growth past the presized table: no false duplicate`, () => {
      const f = make();
      f.reset(2_000_000);
      const feed = feeder(f);
      const block = Buffer.alloc(FINGERPRINT_BATCH * 24);
      let used = 0;
      for (let i = 0; i < 1_000_000; i++) {
        // ranges of one buffer per batch (the contract), copies and integers in between
        if (f.queued === 0) used = 0;
        const n = block.write(`idx:logs:${i}`, used, 'latin1');
        feed.range(block, used, used + n);
        used += n;
        if (i % 2) feed.integer(i * 7);
        else feed.copy(Buffer.from(`x${i}`));
      }
      assert.deepEqual(feed.end(), []);
      assert.equal(f.size, 2_000_000);
      // the table grew on the way (it was presized for 1,000,000): members from before and after are all still there
      for (const member of ['x0', '7', 'idx:logs:999999']) {
        const one = feeder(f);
        one.copy(Buffer.from(member));
        assert.deepEqual(one.end(), [0], `${member} again`);
      }
    });

    test(`${name}: equal members are found whatever their form; bytes past a member do not count; every length`, () => {
      const f = make();
      f.reset(1000);
      const feed = feeder(f);
      const text = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH');
      // every prefix length 0-40, each once as a range (followed by other bytes) ...
      for (let n = 0; n <= 40; n++) feed.range(text, 0, n);
      feed.end();
      // ... then each again as a copy with nothing after it: each found; with its last byte changed, new
      for (let n = 0; n <= 40; n++) {
        f.queueCopy(text, 0, n);
        assert.equal(f.flush(), 0, `prefix of ${n} bytes`);
        if (n === 0) continue;
        f.queueCopy(Buffer.concat([text.subarray(0, n - 1), Buffer.from('#')]), 0, n);
        assert.equal(f.flush(), -1, `prefix of ${n} bytes with its last byte changed`);
      }
      f.reset(10);
      const forms = feeder(f);
      forms.integer(700);
      forms.range(Buffer.from('x700'), 1, 4);
      assert.deepEqual(forms.end(), [1]);
      forms.integer(-5n);
      forms.copy(Buffer.from('-5'));
      assert.deepEqual(forms.end(), [1, 3]);
      forms.copy(Buffer.from('12'));
      forms.integer(12);
      forms.copy(Buffer.from('-5'));
      // a batch stops at its first repeat: the -5 after it is dropped, not reported
      assert.deepEqual(forms.end(), [1, 3, 5]);
    });

    test(`${name}: batches name the first member already there by its place; reset empties the table`, () => {
      const f = make();
      f.reset(200_000);
      const feed = feeder(f);
      for (let i = 0; i < 150_000; i++) {
        // member 100,006 repeats member 17; 100,010 repeats 100,001 (same batch); 120,000 repeats 99,999
        const text = i === 100_006 ? 'm:17' : i === 100_010 ? 'm:100001' : i === 120_000 ? 'm:99999' : `m:${i}`;
        feed.copy(Buffer.from(text));
      }
      // a batch stops at its first duplicate: 100,010 is in the batch of 100,006
      assert.deepEqual(feed.end(), [100_006, 120_000]);
      assert.equal(f.queued, 0);
      f.reset(10);
      const fresh = feeder(f);
      fresh.copy(Buffer.from('m:17'));
      assert.deepEqual(fresh.end(), []);
    });
  }

  for (const [name, make] of implementations) {
    test(`${name}: ranges far apart and members larger than a batch's span are found like any others`, () => {
      const f = make();
      f.reset(100);
      const big = Buffer.alloc(1 << 20);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
      // in one batch: small members 300 KiB apart, and a 400 KiB member
      f.queueRange(big, 0, 10);
      f.queueRange(big, 300_000, 300_010);
      f.queueRange(big, 500_000, 900_000);
      f.queueRange(big, 950_000, 950_036);
      assert.equal(f.flush(), -1);
      for (const [start, end] of [
        [0, 10],
        [300_000, 300_010],
        [500_000, 900_000],
        [950_000, 950_036],
      ] as const) {
        f.queueCopy(Buffer.from(big.subarray(start, end)), 0, end - start);
        assert.equal(f.flush(), 0, `the member at ${start}`);
      }
      f.queueRange(big, 500_000, 899_999);
      assert.equal(f.flush(), -1, 'one byte shorter is another member');
    });
  }

  test('WebAssembly: ranges of two buffers in one batch are refused (a flush must come between)', { skip: !wasm }, () => {
    const f = wasmFingerprints()!;
    f.reset(10);
    f.queueRange(Buffer.from('abc'), 0, 3);
    assert.throws(() => f.queueRange(Buffer.from('abd'), 0, 3), /two buffers in one batch/);
  });
});
