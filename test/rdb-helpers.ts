/**
 * Helpers for the RDB tests and bench: a redis-server of our own on a free loopback port in a temp
 * directory (never 6379), and (from rdb-mini-client.ts) a tiny RESP2 client that returns bulk strings
 * as Buffers.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/runtime/ports.js';
import type { TestEngine } from './helpers/engines.js';
import { crc64Bytes, crc64Init, crc64Update, decodeValue, RdbStreamParser, type DecodedValue, type RdbRecord, type RdbSummary } from '../src/rdb/index.js';
import { MiniClient, type Reply } from './rdb-mini-client.js';

export { MiniClient, type Reply } from './rdb-mini-client.js';

export { freePort };

export interface RdbTestServer {
  port: number;
  dir: string;
  client: MiniClient;
  /** SAVE and return the bytes of dump.rdb */
  save(): Promise<Buffer>;
  stop(): Promise<void>;
}

/**
 * starts redis-server (the host's, or `engine`'s); with `preload`, the server starts by loading that
 * RDB (as its dump.rdb)
 */
export async function startRdbServer(extraArgs: string[] = [], preload?: Buffer, engine?: TestEngine): Promise<RdbTestServer> {
  const dir = mkdtempSync(join(engine?.tempParent ?? tmpdir(), 'nlr-rdb-'));
  if (preload) writeFileSync(join(dir, 'dump.rdb'), preload);
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--enable-debug-command',
    'local',
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
    ...extraArgs,
  ];
  const child: ChildProcess = spawn(engine?.server ?? 'redis-server', args, { stdio: 'ignore', cwd: dir });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // if this process ends without stop() (a failed before() hook, an uncaught error), take the server along
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  let client: MiniClient | undefined;
  const deadline = Date.now() + 10_000;
  while (!client) {
    try {
      client = await MiniClient.connect(port);
      await client.send('PING');
    } catch {
      client?.close();
      client = undefined;
      if (Date.now() > deadline || child.exitCode !== null) {
        let log = '';
        try {
          log = readFileSync(join(dir, 'redis.log'), 'utf8').split('\n').slice(-8).join('\n');
        } catch {
          // no log
        }
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`${engine?.label ?? 'redis-server'} did not start on port ${port}:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const connected = client;
  return {
    port,
    dir,
    client: connected,
    async save() {
      await connected.send('SAVE');
      return readFileSync(join(dir, 'dump.rdb'));
    },
    async stop() {
      connected.close();
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** deterministic pseudo-random numbers (mulberry32) */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const LIBRARY = "#!lua name=rdbtestlib\nredis.register_function('rdbtest_echo', function(keys, args) return args[1] end)";

/**
 * Writes data covering every type and encoding Redis 7.0 writes: strings (raw, int8/16/32, LZF,
 * empty, binary, large), lists (packed, LZF-compressed and PLAIN quicklist nodes, every listpack
 * integer width), sets (intsets of each width, hashtables), sorted sets (listpack, skiplist, inf
 * scores), hashes (listpack, hashtable), streams (several nodes, deleted entries, groups, PEL,
 * consumers, an empty stream), a function library, keys with TTLs, several databases.
 */
export async function populateEveryType(c: MiniClient): Promise<void> {
  const rnd = seededRandom(7);
  const send = (...args: Array<string | Buffer | number>) => c.send(...args);
  await send('CONFIG', 'SET', 'rdbcompression', 'yes');
  await send('CONFIG', 'SET', 'list-max-listpack-size', '-2');
  await send('CONFIG', 'SET', 'list-compress-depth', '1');
  await send('CONFIG', 'SET', 'hash-max-listpack-entries', '64');
  await send('CONFIG', 'SET', 'zset-max-listpack-entries', '64');
  await send('CONFIG', 'SET', 'set-max-intset-entries', '512');
  await send('CONFIG', 'SET', 'stream-node-max-entries', '50');
  await send('DEBUG', 'QUICKLIST-PACKED-THRESHOLD', '8000');
  await send('SELECT', 0);
  // strings
  await send('SET', 'str:raw', 'hello world');
  await send('SET', 'str:empty', '');
  for (const [name, value] of [
    ['int8', '12'],
    ['int8neg', '-100'],
    ['int16', '1000'],
    ['int16neg', '-30000'],
    ['int32', '100000'],
    ['int32neg', '-2000000000'],
    ['int64', '12345678901234'],
    ['notint', '007'],
  ]) {
    await send('SET', `str:${name}`, value!);
  }
  await send('SET', 'str:lzf', 'abcdefghij'.repeat(200) + 'tail');
  await send('SET', 'str:lzf-big', Array.from({ length: 20000 }, (_, i) => `line ${i % 97} of the log\n`).join(''));
  await send('SET', 'str:binary', Buffer.from(Array.from({ length: 3000 }, () => Math.floor(rnd() * 256))));
  await send('SET', 'str:large-random', Buffer.from(Array.from({ length: 200_000 }, () => Math.floor(rnd() * 256))));
  await send('SET', Buffer.from([0, 1, 2, 0xff, 0x22]), 'binary key');
  await send('SET', '987654', 'integer-encoded key');
  await send('SET', 'k'.repeat(300), 'long key');
  // lists
  await send(
    'RPUSH',
    'list:small',
    'a',
    'b',
    'c',
    '1',
    '-1',
    '127',
    '128',
    '-4096',
    '4095',
    '4096',
    '-32768',
    '32767',
    '32768',
    '-8388608',
    '8388607',
    '8388608',
    '-2147483648',
    '2147483647',
    '2147483648',
    '-9223372036854775808',
    '9223372036854775807',
    'x'.repeat(63),
    'y'.repeat(64),
    'z'.repeat(4095),
    'w'.repeat(4096),
  );
  const items = Array.from({ length: 3000 }, (_, i) => `item-${i}-${'q'.repeat(i % 40)}`);
  for (let i = 0; i < items.length; i += 500) await send('RPUSH', 'list:big', ...items.slice(i, i + 500));
  await send(
    'RPUSH',
    'list:plain',
    'small-1',
    Buffer.alloc(10_000, 'p'),
    'small-2',
    Buffer.from(Array.from({ length: 9000 }, () => Math.floor(rnd() * 256))),
    'small-3',
  );
  await send('LPUSH', 'list:one', 'only');
  // sets
  await send('SADD', 'set:int16', '1', '2', '3', '-5', '1000');
  await send('SADD', 'set:int32', '1', '70000', '-70000');
  await send('SADD', 'set:int64', '1', '5000000000', '-9223372036854775808', '9223372036854775807');
  await send('SADD', 'set:strings', 'apple', 'banana', 'cherry', '1');
  const manyInts = Array.from({ length: 600 }, (_, i) => String(i * 7 - 1000));
  await send('SADD', 'set:bigints', ...manyInts);
  await send('SADD', 'set:big', ...Array.from({ length: 300 }, (_, i) => `member:${i}:${'m'.repeat(i % 30)}`));
  // sorted sets
  await send(
    'ZADD',
    'zset:small',
    '1',
    'one',
    '2.5',
    'two-and-half',
    '-3',
    'minus-three',
    'inf',
    'plus-inf',
    '-inf',
    'minus-inf',
    '1e300',
    'huge',
    '0.1',
    'tenth',
    '12345678901',
    'bigint-score',
  );
  const zargs: string[] = [];
  for (let i = 0; i < 200; i++) zargs.push(String(i % 3 === 0 ? i : i / 7), `zmember:${i}`);
  zargs.push('inf', 'zinf', '-inf', 'zneginf');
  await send('ZADD', 'zset:big', ...zargs);
  // hashes
  await send('HSET', 'hash:small', 'name', 'neural', 'count', '42', 'neg', '-7', 'big', '12345678901234', 'empty', '');
  const hargs: string[] = [];
  for (let i = 0; i < 100; i++) hargs.push(`field:${i}`, `value:${i}:${'v'.repeat(i % 50)}`);
  await send('HSET', 'hash:big', ...hargs);
  await send('HSET', 'hash:longvalue', 'f', 'L'.repeat(200));
  // streams
  for (let i = 1; i <= 160; i++) {
    if (i % 10 === 0) await send('XADD', 'stream:s', `${1000 + i}-${i}`, 'other', `o${i}`, 'extra', String(i));
    else await send('XADD', 'stream:s', `${1000 + i}-${i}`, 'level', i % 3 ? 'info' : 'error', 'n', String(i));
  }
  await send('XDEL', 'stream:s', '1005-5', '1006-6', '1100-100', '1101-101');
  await send('XGROUP', 'CREATE', 'stream:s', 'g1', '0');
  await send('XGROUP', 'CREATE', 'stream:s', 'g2', '$');
  await send('XGROUP', 'CREATE', 'stream:s', 'g3', '1050-50');
  await send('XREADGROUP', 'GROUP', 'g1', 'alice', 'COUNT', '5', 'STREAMS', 'stream:s', '>');
  await send('XREADGROUP', 'GROUP', 'g1', 'bob', 'COUNT', '7', 'STREAMS', 'stream:s', '>');
  await send('XACK', 'stream:s', 'g1', '1001-1', '1003-3');
  await send('XGROUP', 'CREATECONSUMER', 'stream:s', 'g1', 'carol');
  await send('XREADGROUP', 'GROUP', 'g3', 'dave', 'COUNT', '2', 'STREAMS', 'stream:s', '>');
  await send('XADD', 'stream:big-id', '18446744073709551614-18446744073709551615', 'f', 'v');
  await send('XGROUP', 'CREATE', 'stream:empty', 'g', '$', 'MKSTREAM');
  await send('XADD', 'stream:emptied', '5-5', 'f', 'v');
  await send('XDEL', 'stream:emptied', '5-5');
  // functions
  await send('FUNCTION', 'LOAD', LIBRARY);
  // TTLs
  await send('SET', 'ttl:string', 'expiring', 'PX', '86400000');
  await send('RPUSH', 'ttl:list', 'a', 'b');
  await send('PEXPIREAT', 'ttl:list', String(Date.now() + 3_600_000));
  await send('HSET', 'ttl:hash', 'a', '1');
  await send('EXPIRE', 'ttl:hash', '100000');
  // other databases
  await send('SELECT', 1);
  await send('SET', 'db1:key', 'in db 1');
  await send('SADD', 'db1:set', 'x', 'y');
  await send('SET', 'db1:ttl', 'v', 'EX', '5000');
  await send('SELECT', 5);
  await send('ZADD', 'db5:zset', '1', 'a');
  await send('SET', 'str:raw', 'same name, db 5');
  await send('SELECT', 0);
}

/* Parsing fixtures and comparing them with the live server that wrote (or loaded) them. */

export interface Parsed {
  records: RdbRecord[];
  summary: RdbSummary;
  functions: Buffer[];
  aux: Array<[string, string]>;
}

/** parses `rdb` fed in the chunks `sizes` yields (whole when it yields the length) */
export function parse(rdb: Buffer, nextSize: () => number = () => rdb.length): Parsed {
  const records: RdbRecord[] = [];
  const functions: Buffer[] = [];
  const aux: Array<[string, string]> = [];
  const parser = new RdbStreamParser({
    source: 'dump.rdb',
    onRecord: (r) => records.push({ ...r, key: Buffer.from(r.key), value: Buffer.from(r.value) }),
    onFunction: (code) => functions.push(Buffer.from(code)),
    onAux: (k, v) => aux.push([k, v.toString()]),
  });
  for (let i = 0; i < rdb.length;) {
    const n = Math.max(1, Math.min(nextSize(), rdb.length - i));
    parser.write(rdb.subarray(i, i + n));
    i += n;
  }
  return { records, summary: parser.end(), functions, aux };
}

export const plain = (p: Parsed) => ({
  records: p.records.map((r) => ({ ...r, key: r.key.toString('hex'), value: r.value.toString('hex') })),
  summary: p.summary,
  functions: p.functions.map((f) => f.toString()),
  aux: p.aux,
});

/** the RDB version DUMP writes: the file's own (a Valkey 9 DUMP payload holds 80 with no header) */
export function dumpPayload(record: RdbRecord, version = 10): Buffer {
  const body = Buffer.concat([Buffer.from([record.type]), record.value, Buffer.from([version & 0xff, version >> 8])]);
  return Buffer.concat([body, crc64Bytes(crc64Update(crc64Init(), body))]);
}

export const text = (r: Reply): string => (Buffer.isBuffer(r) ? r.toString('latin1') : String(r));
export const bufs = (r: Reply): Buffer[] => (r as Buffer[]).map((b) => b);
export const byBytes = (a: Buffer, b: Buffer) => Buffer.compare(a, b);

export function scoreOf(s: string): number {
  if (s === 'inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

/** XINFO-style flat [name, value, ...] array to a map */
export function fields(reply: Reply): Map<string, Reply> {
  const arr = reply as Reply[];
  const m = new Map<string, Reply>();
  for (let i = 0; i < arr.length; i += 2) m.set(text(arr[i]!), arr[i + 1]!);
  return m;
}

export async function compareValue(c: MiniClient, key: Buffer, decoded: DecodedValue): Promise<void> {
  const where = `key ${key.toString('latin1')}`;
  switch (decoded.kind) {
    case 'string':
      assert.deepEqual(await c.send('GET', key), decoded.value, where);
      break;
    case 'list':
      assert.deepEqual(bufs(await c.send('LRANGE', key, 0, -1)), decoded.value, where);
      break;
    case 'set':
      assert.deepEqual(bufs(await c.send('SMEMBERS', key)).sort(byBytes), [...decoded.value].sort(byBytes), where);
      break;
    case 'zset': {
      const flat = bufs(await c.send('ZRANGE', key, 0, -1, 'WITHSCORES'));
      const live: Array<[Buffer, number]> = [];
      for (let i = 0; i < flat.length; i += 2) live.push([flat[i]!, scoreOf(flat[i + 1]!.toString())]);
      const ours = [...decoded.value].sort((a, b) => (a[1] !== b[1] ? (a[1] < b[1] ? -1 : 1) : byBytes(a[0], b[0])));
      assert.equal(ours.length, live.length, where);
      ours.forEach(([m, s], i) => {
        assert.deepEqual(m, live[i]![0], where);
        assert.ok(s === live[i]![1] || Math.abs(s - live[i]![1]) <= Math.abs(s) * 1e-15, `${where}: score ${s} vs ${live[i]![1]}`);
      });
      break;
    }
    case 'hash': {
      const flat = bufs(await c.send('HGETALL', key));
      const live: Array<[Buffer, Buffer]> = [];
      for (let i = 0; i < flat.length; i += 2) live.push([flat[i]!, flat[i + 1]!]);
      const sort = (x: Array<[Buffer, Buffer]>) => [...x].sort((a, b) => byBytes(a[0], b[0]));
      assert.deepEqual(sort(decoded.value), sort(live), where);
      if (decoded.fieldExpireAtMs) {
        // each field's own expiry (HPEXPIRETIME: -1 for none), as the server holds it
        const names = decoded.value.map(([f]) => f);
        const times = (await c.send('HPEXPIRETIME', key, 'FIELDS', names.length, ...names)) as number[];
        assert.deepEqual(
          decoded.fieldExpireAtMs.map((t) => t ?? -1),
          times,
          `${where}: field expiries`,
        );
      }
      break;
    }
    case 'stream': {
      const s = decoded.value;
      const range = (await c.send('XRANGE', key, '-', '+')) as Reply[];
      assert.deepEqual(
        s.entries.map((e) => [e.id, e.fields.flat().map((b) => b.toString('latin1'))]),
        range.map((e) => [text((e as Reply[])[0]!), ((e as Reply[])[1] as Reply[]).map(text)]),
        where,
      );
      const info = fields(await c.send('XINFO', 'STREAM', key));
      assert.equal(s.length, info.get('length'), where);
      assert.equal(s.lastId, text(info.get('last-generated-id')!), where);
      if (s.maxDeletedId !== undefined) assert.equal(s.maxDeletedId, text(info.get('max-deleted-entry-id')!), where);
      if (s.entriesAdded !== undefined) assert.equal(s.entriesAdded, info.get('entries-added'), where);
      if (s.firstId !== undefined) assert.equal(s.firstId, text(info.get('recorded-first-entry-id')!), where);
      const groups = ((await c.send('XINFO', 'GROUPS', key)) as Reply[]).map(fields);
      assert.deepEqual(
        s.groups.map((g) => g.name.toString()),
        groups.map((g) => text(g.get('name')!)),
        where,
      );
      for (const [i, g] of s.groups.entries()) {
        const live = groups[i]!;
        assert.equal(g.lastId, text(live.get('last-delivered-id')!), where);
        if (g.entriesRead !== undefined) assert.equal(g.entriesRead, live.get('entries-read') === null ? -1 : live.get('entries-read'), where);
        assert.equal(g.pending.length, live.get('pending'), where);
        assert.equal(g.consumers.length, live.get('consumers'), where);
        const pel = (await c.send('XPENDING', key, g.name, '-', '+', 100000)) as Reply[][];
        assert.deepEqual(
          g.pending.map((p) => [p.id, p.consumer.toString(), p.deliveryCount]),
          pel.map((p) => [text(p[0]!), text(p[1]!), p[3]]),
          where,
        );
        const consumers = ((await c.send('XINFO', 'CONSUMERS', key, g.name)) as Reply[]).map(fields);
        assert.deepEqual(
          g.consumers.map((x) => [x.name.toString(), x.pending.length]).sort(),
          consumers.map((x) => [text(x.get('name')!), x.get('pending')]).sort(),
          where,
        );
        for (const consumer of g.consumers) {
          assert.deepEqual(
            consumer.pending,
            g.pending.filter((p) => p.consumer.equals(consumer.name)).map((p) => p.id),
            where,
          );
        }
      }
      break;
    }
    case 'module':
      assert.fail('no module types in these fixtures');
  }
}

export const KIND_TO_TYPE: Record<string, string> = { string: 'string', list: 'list', set: 'set', zset: 'zset', hash: 'hash', stream: 'stream' };

/** everything the parser says about `rdb` matches the live server that wrote it */
export async function compareWithServer(c: MiniClient, parsed: Parsed, options: { dump?: boolean; resizeHints?: boolean } = {}): Promise<void> {
  const info = text(await c.send('INFO', 'keyspace'));
  const keyspace: Record<string, { keys: number; expires: number }> = {};
  for (const m of info.matchAll(/^db(\d+):keys=(\d+),expires=(\d+)/gm)) keyspace[m[1]!] = { keys: Number(m[2]), expires: Number(m[3]) };
  assert.deepEqual(Object.fromEntries(Object.entries(parsed.summary.databases).map(([db, s]) => [db, { keys: s.keys, expires: s.expires }])), keyspace);
  if (options.resizeHints !== false) {
    for (const s of Object.values(parsed.summary.databases)) assert.deepEqual(s.resizeHint, { keys: s.keys, expires: s.expires });
  }
  const byDb = new Map<number, RdbRecord[]>();
  for (const r of parsed.records) byDb.set(r.db, [...(byDb.get(r.db) ?? []), r]);
  for (const [db, records] of byDb) {
    await c.send('SELECT', db);
    const keys = bufs(await c.send('KEYS', '*')).sort(byBytes);
    assert.deepEqual(records.map((r) => r.key).sort(byBytes), keys, `keys of db ${db}`);
    for (const r of records) {
      assert.equal(text(await c.send('TYPE', r.key)), KIND_TO_TYPE[r.kind], `TYPE of ${r.key}`);
      assert.equal(await c.send('PEXPIRETIME', r.key), r.expireAtMs ?? -1, `PEXPIRETIME of ${r.key}`);
      if (options.dump !== false) assert.deepEqual(await c.send('DUMP', r.key), dumpPayload(r, parsed.summary.version), `DUMP of ${r.key}`);
      await compareValue(c, r.key, decodeValue(r.type, r.value));
    }
  }
  await c.send('SELECT', 0);
}

/** runs redis-check-rdb (the host's, or `engine`'s) on `rdb` (written to a temporary file) */
export function redisCheckRdb(rdb: Buffer, engine?: TestEngine): { status: number | null; stdout: string } {
  const dir = mkdtempSync(join(engine?.tempParent ?? tmpdir(), 'nlr-rdb-check-'));
  try {
    writeFileSync(join(dir, 'check.rdb'), rdb);
    const r = spawnSync(engine?.checkRdb ?? 'redis-check-rdb', [join(dir, 'check.rdb')], { encoding: 'utf8', cwd: dir });
    return { status: r.status, stdout: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
