/**
 * Merge restore against every engine of the test matrix (Redis 7.0, 8.0, Valkey 8.1; enable-debug-command local, so values compare with
 * DEBUG DIGEST-VALUE): payloads equal DUMP's, every type with absolute TTLs, streams with groups and
 * pending entries, function libraries; conflict modes; --match and --db-map; expired keys; the
 * plain-command fallback; a corrupted backup refused with the target untouched; stops mid-way (abort,
 * an error reply, a killed connection) reported exactly and resumed to exactly the source data.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { RESP_TYPES } from '@redis/client';
import { takeBackup } from '../src/backup/index.js';
import { manifestPathFor } from '../src/backup/naming.js';
import { closeConnection, type RedisConnection } from '../src/connect/index.js';
import { RdbStreamParser } from '../src/rdb/index.js';
import { globMatch } from '../src/restore/glob.js';
import { mergeRestore, MergeConflictError, MergeInterruptedError, type MergeResult } from '../src/restore/merge.js';
import { engineHas, rdbVersionWritten } from '../src/engine/index.js';
import { chooseMergePath, commandsFallbackProblems, rdbLoadVerdict, targetEngineFromInfo } from '../src/restore/compatibility.js';
import { parsePayload, restorePayload } from '../src/restore/restore-payload.js';
import { BackupIntegrityError, openRestoreSource, type RestoreSource } from '../src/restore/source.js';
import { loadgen } from '../src/workload/index.js';
import { startTestServer, tempDir, testEngines, type TestEngine, type TestServer } from './helpers/redis.js';

const DEBUG = ['--enable-debug-command', 'local'];
const LIBRARY = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)";
const LIBRARY_V2 = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 'v2' end)";
const BINARY_KEY = Buffer.from([0x62, 0x00, 0xff, 0x2a]);

type Client = RedisConnection;
const BUFFERS = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } };
/** replies with bulk strings as Buffers */
const buffers = (c: Client) => ({ sendCommand: (args: Array<string | Buffer>): Promise<unknown> => c.sendCommand(args, BUFFERS) });

async function cmd(c: Client, ...args: Array<string | Buffer>): Promise<unknown> {
  return c.sendCommand(args);
}

/** hash field expiry (HPEXPIRE, HPEXPIRETIME): Redis 7.4+, Valkey 9.0+ */
const FIELD_TTL = { redis: '7.4.0', valkey: '9.0.0' };

/**
 * Every type and encoding the engine writes, TTLs, a stream with groups/consumers/pending/deleted
 * entries, a library, db 1; a small set of strings (a listpack from 7.2 on); on engines with hash
 * field expiry, hashes whose fields carry their own TTL in both encodings (listpack and hashtable).
 */
async function seedVariety(c: Client, engine: TestEngine): Promise<void> {
  await cmd(c, 'SADD', 'set:small', 'x', 'y', 'z');
  if (engineHas(engine.identity, FIELD_TTL)) {
    await cmd(c, 'HSET', 'hash:fttl', 'a', '1', 'b', '2', 'c', '3');
    await cmd(c, 'HPEXPIRE', 'hash:fttl', '3600000', 'FIELDS', '2', 'a', 'b');
    await cmd(c, 'HSET', 'hash:fttl:big', ...Array.from({ length: 600 }, (_, i) => [`f${i}`, `v${i}`]).flat());
    await cmd(c, 'HPEXPIRE', 'hash:fttl:big', '7200000', 'FIELDS', '3', 'f1', 'f2', 'f3');
    await cmd(c, 'HPEXPIRE', 'hash:fttl:big', '5400000', 'FIELDS', '1', 'f500');
  }
  await cmd(c, 'SET', 'str:int', '42');
  await cmd(c, 'SET', 'str:long', 'abc'.repeat(100));
  await cmd(c, 'SET', BINARY_KEY, Buffer.from([0, 1, 2, 255]));
  await cmd(c, 'SET', 'str:ttl', 'soon', 'PX', '3600000');
  await cmd(c, 'RPUSH', 'list:small', 'a', 'b', 'c');
  await cmd(c, 'RPUSH', 'list:big', ...Array.from({ length: 1000 }, (_, i) => `element-${i}-${'y'.repeat(90)}`));
  await cmd(c, 'SADD', 'set:int', '1', '2', '3', '-7');
  await cmd(c, 'SADD', 'set:big', ...Array.from({ length: 600 }, (_, i) => `m${i}`));
  await cmd(c, 'ZADD', 'zset:small', '1', 'a', '2.5', 'b', '-inf', 'c');
  await cmd(c, 'ZADD', 'zset:big', 'inf', 'top', '-0', 'zero', ...Array.from({ length: 200 }, (_, i) => [String(i / 7), `z${i}`]).flat());
  await cmd(c, 'HSET', 'hash:small', 'f', 'v', 'n', '12');
  await cmd(c, 'HSET', 'hash:big', ...Array.from({ length: 600 }, (_, i) => [`f${i}`, `v${i}`]).flat());
  await cmd(c, 'PEXPIRE', 'hash:big', '7200000');
  for (let i = 1; i <= 10; i++) await cmd(c, 'XADD', 'stream:s', `1-${i}`, 'n', String(i), 'text', `entry ${i}`);
  await cmd(c, 'XGROUP', 'CREATE', 'stream:s', 'g1', '0');
  await cmd(c, 'XREADGROUP', 'GROUP', 'g1', 'alice', 'COUNT', '3', 'STREAMS', 'stream:s', '>');
  await cmd(c, 'XREADGROUP', 'GROUP', 'g1', 'bob', 'COUNT', '2', 'STREAMS', 'stream:s', '>');
  await cmd(c, 'XCLAIM', 'stream:s', 'g1', 'bob', '0', '1-1', 'RETRYCOUNT', '5');
  await cmd(c, 'XGROUP', 'CREATECONSUMER', 'stream:s', 'g1', 'carol');
  await cmd(c, 'XGROUP', 'CREATE', 'stream:s', 'g2', '$');
  await cmd(c, 'XDEL', 'stream:s', '1-2', '1-9');
  await cmd(c, 'XGROUP', 'CREATE', 'stream:empty', 'g', '0', 'MKSTREAM');
  await cmd(c, 'FUNCTION', 'LOAD', LIBRARY);
  await seedHuge(c);
  await cmd(c, 'SELECT', '1');
  await cmd(c, 'SET', 'db1:a', '1');
  await cmd(c, 'HSET', 'db1:h', 'f', 'v');
  await cmd(c, 'SELECT', '0');
}

/**
 * Values of 400-700 KB that LZF cannot shrink: the parser reads each element by element as its bytes
 * arrive and hands the merge the pieces they came in (RdbRecord.valueParts), which RESTORE sends as
 * they are.
 */
async function seedHuge(c: Client): Promise<void> {
  const noise = (i: number, n: number) => randomBytes(n).toString('base64').slice(0, n) + i;
  await cmd(c, 'SADD', 'set:huge', ...Array.from({ length: 20_000 }, (_, i) => noise(i, 24)));
  await cmd(c, 'ZADD', 'zset:huge', ...Array.from({ length: 15_000 }, (_, i) => [String(i / 3), noise(i, 24)]).flat());
  await cmd(c, 'HSET', 'hash:huge', ...Array.from({ length: 10_000 }, (_, i) => [`f${i}`, noise(i, 40)]).flat());
  await cmd(c, 'PEXPIRE', 'hash:huge', String(48 * 3600_000)); // outlives the expiry test's clock
  await cmd(c, 'RPUSH', 'list:huge', ...Array.from({ length: 8_000 }, (_, i) => noise(i, 60)));
  await cmd(c, 'SET', 'str:huge', noise(0, 700_000));
  for (let i = 0; i < 4_000; i += 500)
    await Promise.all(Array.from({ length: 500 }, (_, j) => cmd(c, 'XADD', 'stream:huge', '*', 'n', String(i + j), 'text', noise(i + j, 120))));
}
const HUGE_KEYS = ['set:huge', 'zset:huge', 'hash:huge', 'list:huge', 'str:huge', 'stream:huge'];

interface KeyState {
  digest: string;
  pexpiretime: number;
  stream?: string;
  /** field -> HPEXPIRETIME, for hashes on engines with field expiry */
  fieldTtls?: string;
}

/** key (hex) -> digest, absolute expiry, and for streams XINFO STREAM FULL (seen/active times dropped when asked). */
async function snapshot(c: Client, db: number, options: { withoutSeenTimes?: boolean; fieldTtls?: boolean } = {}): Promise<Map<string, KeyState>> {
  const b = buffers(c);
  await cmd(c, 'SELECT', String(db));
  const out = new Map<string, KeyState>();
  let cursor = '0';
  do {
    const [next, keys] = (await b.sendCommand(['SCAN', cursor, 'COUNT', '1000'])) as [Buffer, Buffer[]];
    cursor = next.toString();
    for (const key of keys) {
      const state: KeyState = {
        digest: String(await cmd(c, 'DEBUG', 'DIGEST-VALUE', key)),
        pexpiretime: Number(await cmd(c, 'PEXPIRETIME', key)),
      };
      const type = String(await cmd(c, 'TYPE', key));
      if (type === 'stream')
        state.stream = JSON.stringify(plain(await b.sendCommand(['XINFO', 'STREAM', key, 'FULL'])), options.withoutSeenTimes ? dropSeenTimes : undefined);
      if (type === 'hash' && options.fieldTtls) state.fieldTtls = await fieldTtls(c, key);
      out.set(key.toString('hex'), state);
    }
  } while (cursor !== '0');
  await cmd(c, 'SELECT', '0');
  return out;
}

/** each field's HPEXPIRETIME (-1: none), sorted by field */
async function fieldTtls(c: Client, key: Buffer | string): Promise<string> {
  const fields = ((await buffers(c).sendCommand(['HKEYS', key])) as Buffer[]).map((f) => f.toString('latin1')).sort();
  if (fields.length === 0) return '';
  const times = (await cmd(c, 'HPEXPIRETIME', key, 'FIELDS', String(fields.length), ...fields)) as number[];
  return fields
    .map((f, i) => `${f}=${times[i]}`)
    .filter((f) => !f.endsWith('=-1'))
    .join(',');
}

/** XPENDING's extended form without the idle times (relative to the moment of the call) */
async function pending(c: Client, key: string, group: string): Promise<unknown> {
  const rows = (await cmd(c, 'XPENDING', key, group, '-', '+', '100')) as unknown[][];
  return rows.map(([id, consumer, , count]) => [String(id), String(consumer), Number(count)]);
}

function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/** XINFO STREAM FULL as arrays: consumers' seen-time (and 7.2's active-time) cannot be set by commands. */
function dropSeenTimes(this: unknown, _key: string, value: unknown): unknown {
  if (Array.isArray(value)) {
    let out = value;
    for (const name of ['seen-time', 'active-time']) {
      const i = out.indexOf(name);
      if (i >= 0 && i % 2 === 0) out = [...out.slice(0, i), ...out.slice(i + 2)];
    }
    return out;
  }
  return value;
}

async function libraries(c: Client): Promise<string> {
  return JSON.stringify(plain(await cmd(c, 'FUNCTION', 'LIST', 'WITHCODE')));
}

async function digest(c: Client): Promise<string> {
  return String(await cmd(c, 'DEBUG', 'DIGEST'));
}

function subset(all: Map<string, KeyState>, keep: (hexKey: string) => boolean): Map<string, KeyState> {
  return new Map([...all].filter(([k]) => keep(k)));
}

const hex = (s: string) => Buffer.from(s).toString('hex');

for (const engine of testEngines())
  describe(`merge restore (${engine.label})`, { concurrency: false }, () => {
    const withFieldTtls = { fieldTtls: engineHas(engine.identity, FIELD_TTL) };
    let source: TestServer;
    let target: TestServer;
    let src: Client;
    let dst: Client;
    let dir: { path: string; remove(): void };
    let backupFile: string;
    let backup: RestoreSource;
    let sourceDb0: Map<string, KeyState>;
    let sourceDb1: Map<string, KeyState>;
    let sourceDigest: string;
    const otherData = async () => {
      await cmd(dst, 'SET', 'other:1', 'kept');
      await cmd(dst, 'RPUSH', 'other:list', 'x', 'y');
    };

    before(async () => {
      dir = tempDir('nlr-merge-');
      [source, target] = await Promise.all([startTestServer({ engine, args: DEBUG }), startTestServer({ engine, args: DEBUG })]);
      src = await source.connect('admin');
      dst = await target.connect('admin');
      await seedVariety(src, engine);
      await loadgen(src, { logs: 2000, seed: 'merge' });
      const taken = await takeBackup({
        source: { kind: 'replication', endpoint: source.endpoint('backup') },
        toDir: join(dir.path, 'backups'),
        compression: 'none',
      });
      backupFile = taken.path;
      backup = await openRestoreSource(backupFile);
      sourceDb0 = await snapshot(src, 0, withFieldTtls);
      sourceDb1 = await snapshot(src, 1, withFieldTtls);
      if (withFieldTtls.fieldTtls) assert.match(sourceDb0.get(hex('hash:fttl'))?.fieldTtls ?? '', /^a=\d+,b=\d+$/, 'field TTLs are part of the comparison');
      sourceDigest = await digest(src);
    });
    after(async () => {
      await closeConnection(src);
      await closeConnection(dst);
      await Promise.all([source.stop(), target.stop()]);
      dir.remove();
    });
    beforeEach(async () => {
      await cmd(dst, 'FLUSHALL', 'SYNC');
      await cmd(dst, 'FUNCTION', 'FLUSH', 'SYNC');
      await cmd(dst, 'CONFIG', 'SET', 'maxmemory', '0');
    });

    test(`${engine.label}: payloads built from the RDB equal DUMP of the same keys`, async () => {
      const records: Array<{ db: number; key: Buffer; type: number; value: Buffer }> = [];
      let version = 0;
      const parser = new RdbStreamParser({ onRecord: (r) => records.push({ db: r.db, key: Buffer.from(r.key), type: r.type, value: Buffer.from(r.value) }) });
      parser.write(readFileSync(backupFile));
      version = parser.end().version;
      assert.equal(version, rdbVersionWritten(engine.identity));
      const b = buffers(src);
      let compared = 0;
      for (const r of records.filter((x) => !x.key.toString().startsWith('logs:') || x.key.toString().endsWith('7'))) {
        await cmd(src, 'SELECT', String(r.db));
        const dump = (await b.sendCommand(['DUMP', r.key])) as Buffer;
        assert.deepEqual(restorePayload(r.type, r.value, version), dump, `payload of ${r.key.toString()}`);
        const parts = parsePayload(dump);
        assert.equal(parts.type, r.type);
        assert.equal(parts.rdbVersion, version);
        compared++;
      }
      await cmd(src, 'SELECT', '0');
      assert.ok(compared > 50, `compared ${compared}`);
    });

    test(`${engine.label}: parsed as the merge reads the file, the values over 320 KiB come in pieces whose payloads equal DUMP`, async () => {
      const pieced = new Map<string, Buffer>();
      const parser = new RdbStreamParser({
        onRecord: (r) => {
          if (r.valueParts) pieced.set(r.key.toString(), restorePayload(r.type, Buffer.concat(r.valueParts), rdbVersionWritten(engine.identity)!));
        },
      });
      // the merge's own way in: the file as a stream, in 64 KiB chunks
      for await (const chunk of createReadStream(backupFile, { highWaterMark: 65536 })) parser.write(chunk as Buffer);
      parser.end();
      assert.deepEqual([...pieced.keys()].sort(), [...HUGE_KEYS].sort());
      for (const [key, payload] of pieced) assert.deepEqual(payload, await buffers(src).sendCommand(['DUMP', key]), key);
    });

    test(`${engine.label}: fail mode merges onto a server holding other data: every type, absolute TTLs, streams, functions, db 1`, async () => {
      await otherData();
      const progress: string[] = [];
      const result = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), onConflict: 'fail', onProgress: (p) => progress.push(p.phase) });
      assert.equal(result.written, result.keys);
      assert.equal(result.functions.loaded, 1);
      assert.equal(result.valueEncoding, 'restore');
      assert.equal(result.verifiedBy, 'parse', 'keys had to be looked up: the first pass parsed the backup');
      assert.equal(result.conflicts?.keys, 0);
      assert.deepEqual(
        result.databases.map((d) => [d.from, d.to]),
        [
          [0, 0],
          [1, 1],
        ],
      );
      assert.ok(progress.includes('verify') && progress.includes('write'));
      const db0 = await snapshot(dst, 0, withFieldTtls);
      assert.deepEqual(
        subset(db0, (k) => !k.startsWith(hex('other:'))),
        sourceDb0,
      );
      assert.equal(String(await cmd(dst, 'GET', 'other:1')), 'kept');
      assert.deepEqual(await snapshot(dst, 1, withFieldTtls), sourceDb1);
      assert.ok(db0.get(hex('str:ttl'))!.pexpiretime > Date.now(), 'the TTL is absolute and kept');
      assert.equal(db0.get(hex('str:ttl'))!.pexpiretime, sourceDb0.get(hex('str:ttl'))!.pexpiretime);
      assert.deepEqual(await pending(dst, 'stream:s', 'g1'), await pending(src, 'stream:s', 'g1'));
      assert.equal(JSON.stringify(plain(await cmd(dst, 'XINFO', 'GROUPS', 'stream:s'))), JSON.stringify(plain(await cmd(src, 'XINFO', 'GROUPS', 'stream:s'))));
      assert.equal(await libraries(dst), await libraries(src));
      assert.equal(String(await cmd(dst, 'FCALL', 'myfunc', '0', 'hello')), 'hello');
    });

    test(`${engine.label}: fail mode refuses when keys or libraries exist, naming them, and changes nothing`, async () => {
      await otherData();
      await cmd(dst, 'SET', 'str:int', 'mine');
      await cmd(dst, 'HSET', 'hash:small', 'x', 'y');
      await cmd(dst, 'FUNCTION', 'LOAD', LIBRARY_V2);
      const before = await digest(dst);
      const error = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), onConflict: 'fail' }).then(
        () => assert.fail('merged despite conflicts'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof MergeConflictError, String(error));
      assert.equal(error.conflicts.keys, 2);
      assert.equal(error.conflicts.libraries, 1);
      assert.match(error.message, /2 keys and 1 function library/);
      assert.match(error.message, /library "mylib"/);
      assert.match(error.message, /"str:int"|"hash:small"/);
      assert.equal(await digest(dst), before);
      assert.equal(Number(await cmd(dst, 'DBSIZE')), 4);
      // a dry run reports the same without refusing
      const plan = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), dryRun: true });
      assert.equal(plan.dryRun, true);
      assert.equal(plan.conflicts?.keys, 2);
      assert.equal(plan.written, plan.keys);
      assert.equal(await digest(dst), before);
    });

    test(`${engine.label}: skip keeps the target's keys and libraries; replace takes the backup's`, async () => {
      await cmd(dst, 'SET', 'str:int', 'mine');
      await cmd(dst, 'FUNCTION', 'LOAD', LIBRARY_V2);
      const skip = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), onConflict: 'skip' });
      assert.equal(skip.skipped, 1);
      assert.equal(skip.written, skip.keys - 1);
      assert.deepEqual(skip.functions, { loaded: 0, skipped: 1 });
      assert.equal(String(await cmd(dst, 'GET', 'str:int')), 'mine');
      assert.equal(String(await cmd(dst, 'FCALL', 'myfunc', '0', 'x')), 'v2');
      const replace = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), onConflict: 'replace' });
      assert.equal(replace.written, replace.keys);
      assert.equal(replace.skipped, 0);
      assert.equal(replace.functions.loaded, 1);
      assert.equal(String(await cmd(dst, 'GET', 'str:int')), '42');
      assert.equal(String(await cmd(dst, 'FCALL', 'myfunc', '0', 'x')), 'x');
      assert.equal(await digest(dst), sourceDigest);
    });

    test(`${engine.label}: --match selects keys by glob and --db-map moves databases`, async () => {
      const result = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), match: '*:[hs]*', dbMap: new Map([[1, 3]]) });
      assert.equal(result.verifiedBy, 'manifest', 'an empty target and a manifest-verified backup need no first pass');
      assert.ok(result.notes.some((n) => /no key was looked up/.test(n)));
      const matched = [...sourceDb0.keys(), ...sourceDb1.keys()].filter((k) => globMatch(Buffer.from('*:[hs]*'), Buffer.from(k, 'hex')));
      assert.equal(result.written, matched.length);
      assert.equal(result.filtered, result.keys - matched.length);
      assert.deepEqual(
        result.databases.map((d) => [d.from, d.to]),
        [
          [0, 0],
          [1, 3],
        ],
      );
      assert.deepEqual(
        await snapshot(dst, 0, withFieldTtls),
        subset(sourceDb0, (k) => matched.includes(k)),
      );
      assert.deepEqual(
        await snapshot(dst, 3, withFieldTtls),
        subset(sourceDb1, (k) => matched.includes(k)),
      );
      assert.equal(Number(await cmd(dst, 'DBSIZE')), subset(sourceDb0, (k) => matched.includes(k)).size);
    });

    test(`${engine.label}: keys whose absolute TTL has passed are counted as expired and not written`, async () => {
      const result = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), now: () => Date.now() + 24 * 3600_000 });
      assert.equal(result.expired, 2);
      assert.equal(result.written, result.keys - 2);
      assert.equal(Number(await cmd(dst, 'EXISTS', 'str:ttl', 'hash:big')), 0);
    });

    test(`${engine.label}: the plain-command fallback rebuilds every value exactly (streams with groups and pending entries too)`, async () => {
      const result = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), valueEncoding: 'commands' });
      assert.equal(result.valueEncoding, 'commands');
      assert.match(result.path, /^plain commands, as asked/);
      assert.equal(result.written, result.keys);
      // hash field TTLs (Redis 8.0) go by HPEXPIREAT: compared field by field
      const strip = { withoutSeenTimes: true, ...withFieldTtls };
      assert.deepEqual(await snapshot(dst, 0, strip), await snapshot(src, 0, strip));
      assert.deepEqual(await snapshot(dst, 1, strip), sourceDb1);
      assert.deepEqual(await pending(dst, 'stream:s', 'g1'), await pending(src, 'stream:s', 'g1'));
      assert.equal(await libraries(dst), await libraries(src));
      assert.equal(Number(await cmd(dst, 'DBSIZE')), sourceDb0.size, 'no temporary keys left');
      // skip mode through commands: an existing key is left alone
      await cmd(dst, 'SET', 'list:small', 'mine');
      await cmd(dst, 'DEL', 'set:int');
      const again = await mergeRestore({
        source: backup,
        endpoint: target.endpoint('admin'),
        valueEncoding: 'commands',
        onConflict: 'skip',
        match: '[ls][ie]*',
      });
      assert.equal(again.written, 1);
      assert.equal(String(await cmd(dst, 'GET', 'list:small')), 'mine');
      assert.equal(Number(await cmd(dst, 'SCARD', 'set:int')), 4);
      assert.equal(Number(await cmd(dst, 'DBSIZE')), sourceDb0.size);
    });

    test(`${engine.label}: a corrupted backup is refused before anything is written, in every mode`, async () => {
      const damagedDir = join(dir.path, 'damaged');
      mkdirSync(damagedDir);
      const copy = join(damagedDir, basename(backupFile));
      copyFileSync(backupFile, copy); // without its manifest: the SHA-256 check cannot catch it first
      const bytes = readFileSync(copy);
      const at = Math.floor(bytes.length * 0.6);
      bytes[at] = bytes[at]! ^ 0x20;
      writeFileSync(copy, bytes);
      await otherData();
      const before = await digest(dst);
      for (const onConflict of ['fail', 'skip', 'replace'] as const) {
        const damaged = await openRestoreSource(copy);
        const error = await mergeRestore({ source: damaged, endpoint: target.endpoint('admin'), onConflict }).then(
          () => assert.fail('merged a damaged backup'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof BackupIntegrityError, String(error));
        assert.match(error.message, /at byte \d+.*nothing was written/s);
        assert.equal(await digest(dst), before, `${onConflict}: target untouched`);
      }
    });

    test(`${engine.label}: with the SHA-256 checked beside the merge, a changed backup is refused with nothing sent; an intact one merges`, async () => {
      const changedDir = join(dir.path, 'changed');
      mkdirSync(changedDir);
      const copy = join(changedDir, basename(backupFile));
      copyFileSync(backupFile, copy);
      copyFileSync(manifestPathFor(backupFile), manifestPathFor(copy));
      // a key's name changed: the file still parses, only its SHA-256 tells
      const bytes = readFileSync(copy);
      const at = bytes.indexOf('str:int');
      assert.ok(at > 0);
      bytes[at + 4] = bytes[at + 4]! ^ 0x01;
      writeFileSync(copy, bytes);
      await otherData();
      const before = await digest(dst);
      for (const onConflict of ['fail', 'skip', 'replace'] as const) {
        await cmd(dst, 'CONFIG', 'RESETSTAT');
        const changed = await openRestoreSource(copy, { deferDigestCheck: true });
        const error = await mergeRestore({ source: changed, endpoint: target.endpoint('admin'), onConflict }).then(
          () => assert.fail('merged a changed backup'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof BackupIntegrityError, String(error));
        // fail mode onto a target with keys parses the backup first (to look keys up): its CRC-64 tells
        // first; skip and replace trust the verified manifest and go straight to the write pass
        if (onConflict === 'fail') assert.match(error.message, /checksum mismatch.*nothing was written/);
        else assert.match(error.message, /SHA-256 differs from its manifest.*nothing was restored/);
        assert.equal(await digest(dst), before, `${onConflict}: target untouched`);
        const stats = String(await cmd(dst, 'INFO', 'commandstats'));
        assert.doesNotMatch(stats, /cmdstat_(restore|renamenx|rename|del|function\|load):/, `${onConflict}: no write command reached the target`);
      }
      await cmd(dst, 'FLUSHALL', 'SYNC');
      const intact = await openRestoreSource(backupFile, { deferDigestCheck: true });
      const result = await mergeRestore({ source: intact, endpoint: target.endpoint('admin') });
      assert.equal(result.written, result.keys);
      assert.equal(await digest(dst), sourceDigest);
    });

    test(`${engine.label}: an abort mid-way reports exactly what was written; the resumed merge completes the source data`, async () => {
      const controller = new AbortController();
      const error = await mergeRestore({
        source: backup,
        endpoint: target.endpoint('admin'),
        maxInFlight: 50,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'write') controller.abort();
        },
      }).then(
        () => assert.fail('the abort did not stop the merge'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof MergeInterruptedError, String(error));
      assert.equal(error.code, 'E_ABORTED');
      const stop = error.stop;
      assert.equal(stop.reason, 'aborted');
      assert.ok(stop.written > 0 && stop.written < sourceDb0.size, `written ${stop.written}`);
      assert.equal(Number(await cmd(dst, 'DBSIZE')), stop.written);
      assert.match(error.message, new RegExp(`--resume-after ${stop.resumeAfter}\\b`));
      assert.ok(stop.lastKey);
      const resumed = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), resumeAfter: stop.resumeAfter });
      assert.equal(resumed.resumedAfter, stop.resumeAfter);
      assert.equal(resumed.written + stop.written, resumed.keys);
      assert.equal(await digest(dst), sourceDigest);
      assert.equal(await libraries(dst), await libraries(src));
    });

    test(`${engine.label}: an error reply (target out of memory) stops at an exact record; later writes are undone; the resume completes`, async () => {
      const used = Number(/used_memory:(\d+)/.exec(String(await cmd(dst, 'INFO', 'memory')))![1]);
      await cmd(dst, 'CONFIG', 'SET', 'maxmemory', String(used + 600_000));
      const error = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), onConflict: 'skip' }).then(
        () => assert.fail('merged past maxmemory'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof MergeInterruptedError, String(error));
      const stop = error.stop;
      assert.equal(stop.reason, 'error');
      assert.match(stop.message, /OOM/);
      assert.ok(stop.failedKey);
      assert.equal(stop.writtenBeyond, 0);
      assert.equal(Number(await cmd(dst, 'DBSIZE')), stop.written, 'exactly the reported keys are on the target');
      await cmd(dst, 'CONFIG', 'SET', 'maxmemory', '0');
      const resumed = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), resumeAfter: stop.resumeAfter, onConflict: 'fail' });
      assert.equal(resumed.written + stop.written, resumed.keys);
      assert.equal(await digest(dst), sourceDigest);
    });

    test(`${engine.label}: a killed connection reports unconfirmed commands; resuming with replace completes the source data`, async () => {
      // writes wait while the target is paused, so the kill surely lands mid-way
      await cmd(dst, 'CLIENT', 'PAUSE', '20000', 'WRITE');
      let killed = false;
      const error = await mergeRestore({
        source: backup,
        endpoint: target.endpoint('admin'),
        maxInFlight: 100_000,
        onProgress: (p) => {
          if (p.phase !== 'write' || killed) return;
          killed = true;
          void (async () => {
            const list = String(await cmd(dst, 'CLIENT', 'LIST'));
            for (const m of list.matchAll(/id=(\d+) [^\n]*name=neurallog-restore /g)) await cmd(dst, 'CLIENT', 'KILL', 'ID', m[1]!);
            await cmd(dst, 'CLIENT', 'UNPAUSE');
          })();
        },
      }).then(
        (r: MergeResult) => r,
        (e: unknown) => e,
      );
      await cmd(dst, 'CLIENT', 'UNPAUSE');
      assert.ok(error instanceof MergeInterruptedError, `expected an interruption, got ${JSON.stringify(error)}`);
      assert.equal(error.stop.reason, 'connection');
      assert.ok(error.stop.unconfirmed > 0);
      assert.match(error.message, /in flight without an answer/);
      assert.ok(Number(await cmd(dst, 'DBSIZE')) >= error.stop.written);
      const resumed = await mergeRestore({ source: backup, endpoint: target.endpoint('admin'), resumeAfter: error.stop.resumeAfter, onConflict: 'replace' });
      assert.ok(resumed.written > 0);
      assert.equal(await digest(dst), sourceDigest);
    });
  });

describe('merge building blocks', () => {
  test("which path a merge takes: RESTORE when the target loads the backup's RDB version, else commands when every value has a form", () => {
    const redis70 = targetEngineFromInfo({ redis_version: '7.0.15' });
    const valkey81 = targetEngineFromInfo({ redis_version: '7.2.4', server_name: 'valkey', valkey_version: '8.1.1' });
    const redis80 = targetEngineFromInfo({ redis_version: '8.0.2' });
    assert.deepEqual([redis70.rdbVersion, valkey81.rdbVersion, redis80.rdbVersion], [10, 11, 12]);
    assert.equal(valkey81.identity.version, '8.1.1', 'never the redis_version Valkey shows old clients');
    const fromRedis80 = { identity: { engine: 'redis' as const, version: '8.0.2' }, rdbVersion: 12, identifiedBy: 'info' as const };
    const fromRedis70 = { identity: { engine: 'redis' as const, version: '7.0.15' }, rdbVersion: 10, identifiedBy: 'info' as const };
    const refused = rdbLoadVerdict(fromRedis80, valkey81);
    assert.equal(refused.loads, false);
    assert.match(refused.message, /Valkey 8\.1\.1 \(reads RDB up to 11\).*Redis 8\.0\.2, RDB 12/);
    assert.equal(rdbLoadVerdict(fromRedis70, valkey81).loads, true);
    assert.equal(rdbLoadVerdict(fromRedis70, redis80).loads, true);
    assert.equal(chooseMergePath(fromRedis70, redis80, undefined).encoding, 'restore');
    assert.equal(chooseMergePath(fromRedis80, redis70, {}).encoding, 'commands');
    // hash field TTLs (types 24, 25) have no command form before Redis 7.4 / Valkey 9.0
    assert.match(
      commandsFallbackProblems({ '25': 2, '0': 5 }, valkey81.identity).join(),
      /2 hashes whose fields carry their own TTL.*Valkey 8\.1\.1 has no per-field expiry/,
    );
    assert.deepEqual(commandsFallbackProblems({ '25': 2 }, { engine: 'valkey', version: '9.0.0' }), []);
    assert.deepEqual(commandsFallbackProblems({ '0': 1, '20': 3, '21': 1 }, redis70.identity), [], 'listpack sets and 7.2 streams rebuild with commands');
    assert.match(commandsFallbackProblems({ '7': 1 }, redis80.identity).join(), /module value/);
    // Valkey 9 loads other servers' RDB 12 only with rdb-version-check relaxed
    const valkey9 = (check: string) => targetEngineFromInfo({ redis_version: '7.2.4', server_name: 'valkey', valkey_version: '9.0.0' }, check);
    assert.equal(rdbLoadVerdict(fromRedis80, valkey9('strict')).loads, false);
    assert.match(rdbLoadVerdict(fromRedis80, valkey9('strict')).message, /rdb-version-check/, 'says how Valkey 9 would take it');
    // relaxed, it still refuses a Redis RDB holding types from 22 on (field-TTL hashes): types must be known
    assert.match(rdbLoadVerdict(fromRedis80, valkey9('relaxed')).message, /which types it holds is not known/);
    assert.equal(rdbLoadVerdict(fromRedis80, valkey9('relaxed')).loads, false);
    assert.equal(rdbLoadVerdict(fromRedis80, valkey9('relaxed'), { '0': 3, '20': 1, '21': 1 }).loads, true);
    const withFieldTtls = rdbLoadVerdict(fromRedis80, valkey9('relaxed'), { '0': 3, '25': 2 });
    assert.equal(withFieldTtls.loads, false);
    assert.match(withFieldTtls.message, /RDB type 25 \(2 keys\)/);
    assert.equal(rdbLoadVerdict(fromRedis70, valkey9('strict')).loads, true, 'RDB 10 is not foreign to Valkey 9');
  });

  test('glob matching agrees with Redis KEYS on tricky patterns', async () => {
    const server = await startTestServer();
    const c = await server.connect('admin');
    try {
      const keys = ['a', 'ab', 'abc', 'a*c', 'a?c', 'x[y]', 'x-y', 'h\\llo', 'hello', 'hallo', 'hxllo', '', 'é', 'Z', 'a\nb'];
      for (const k of keys) await cmd(c, 'SET', k, '1');
      const patterns = [
        '*',
        'a*',
        '*c',
        'a?c',
        'a\\*c',
        'h[ae]llo',
        'h[^e]llo',
        'h[a-b]llo',
        'h[b-a]llo',
        'x[[]y*',
        'x\\[y\\]',
        '[',
        'a[',
        '*[',
        '??',
        '\\',
        'h\\\\llo',
        '[Z-a]',
        '*\n*',
        '***b*',
        'é',
      ];
      for (const p of patterns) {
        const expected = ((await cmd(c, 'KEYS', p)) as string[]).sort();
        const ours = keys.filter((k) => globMatch(Buffer.from(p), Buffer.from(k))).sort();
        assert.deepEqual(ours, expected, `pattern ${JSON.stringify(p)}`);
      }
    } finally {
      await closeConnection(c);
      await server.stop();
    }
  });
});
