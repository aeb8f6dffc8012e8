/**
 * Round trips and cross-version restores on the real engines of the test matrix (Redis 7.0.15 from
 * the host, Redis 8.0.2 and Valkey 8.1.1 from the Debian 13 root):
 *
 * - on each engine: every type and encoding it writes (listpack sets from 7.2, hashes whose fields
 *   carry their own TTL on Redis 8.0, streams with groups, functions, several databases) -> backup ->
 *   backups verify -> restore replace and merge into an empty server of the same engine: DEBUG DIGEST
 *   equal, FUNCTION LIST equal, field TTLs (HPEXPIRETIME) equal;
 * - across engines, what the servers themselves allow (measured: a server loads RDB files, replication
 *   payloads and RESTORE payloads of its own RDB version or older, from either engine): older onto
 *   newer restores exactly; newer onto older is refused before anything changes (the target's digest
 *   unchanged), except merge, which rebuilds values with plain commands when every value has a
 *   command form on the target, and refuses before writing when one does not (hash field TTLs).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { takeBackup, verifyBackup, type BackupResult } from '../src/backup/index.js';
import { closeConnection, type RedisConnection } from '../src/connect/index.js';
import { engineHas, rdbVersionWritten } from '../src/engine/index.js';
import { mergeRestore, offlineRestore, openRestoreSource, planRestore, replaceRestore, RestoreRefusedError } from '../src/restore/index.js';
import { isAlive, waitFor, type StartedServer } from '../src/runtime/index.js';
import { engineById, restartTestServer, startTestServer, tempDir, testEngines, type TestEngine, type TestServer } from './helpers/redis.js';
import { runCliSync } from './helpers/run-cli.js';

const ROOT = join(import.meta.dirname, '..');
const DEBUG = ['--enable-debug-command', 'local'];
const FIELD_TTL = { redis: '7.4.0', valkey: '9.0.0' };
const LIBRARY = "#!lua name=roundtrip\nredis.register_function('echo1', function(keys, args) return args[1] end)";

async function cmd(c: RedisConnection, ...args: string[]): Promise<unknown> {
  return c.sendCommand(args);
}

async function on<T>(server: TestServer, work: (c: RedisConnection) => Promise<T>): Promise<T> {
  const c = await server.connect('admin');
  try {
    return await work(c);
  } finally {
    await closeConnection(c);
  }
}

/** Every type and encoding `engine` writes, in databases 0, 1 and 5. */
async function seedEverything(c: RedisConnection, engine: TestEngine, options: { fieldTtls: boolean }): Promise<void> {
  await cmd(c, 'SET', 'str:int', '12345');
  await cmd(c, 'SET', 'str:embstr', 'short');
  await cmd(c, 'SET', 'str:raw', 'r'.repeat(500));
  await cmd(c, 'SET', 'str:ttl', 'soon', 'PX', '3600000');
  await cmd(c, 'RPUSH', 'list:listpack', 'a', 'b', 'c');
  await cmd(c, 'RPUSH', 'list:quicklist', ...Array.from({ length: 2000 }, (_, i) => `element-${i}-${'y'.repeat(40)}`));
  await cmd(c, 'SADD', 'set:intset', '1', '2', '3', '-70000');
  await cmd(c, 'SADD', 'set:listpack', 'alpha', 'beta', 'gamma'); // a listpack from 7.2 on, a hashtable before
  await cmd(c, 'SADD', 'set:hashtable', ...Array.from({ length: 700 }, (_, i) => `member-${i}`));
  await cmd(c, 'ZADD', 'zset:listpack', '1', 'a', '2.5', 'b', '-inf', 'c');
  // scores with a short exact form: DEBUG DIGEST of a skiplist zset hashes each score as text, which
  // Redis 7.0 writes with %.17g (1/3 -> 0.33333333333333331) and 7.2+ / Valkey in the shortest form
  // (0.3333333333333333), so the same data digests differently across that line otherwise (measured)
  await cmd(c, 'ZADD', 'zset:skiplist', ...Array.from({ length: 300 }, (_, i) => [String(i / 4), `z${i}`]).flat());
  await cmd(c, 'HSET', 'hash:listpack', 'f', 'v', 'n', '12');
  await cmd(c, 'HSET', 'hash:hashtable', ...Array.from({ length: 700 }, (_, i) => [`f${i}`, `v${i}`]).flat());
  await cmd(c, 'PEXPIRE', 'hash:hashtable', '7200000');
  if (options.fieldTtls) {
    await cmd(c, 'HSETEX', 'hash:fttl:listpack', 'PX', '3600000', 'FIELDS', '2', 'a', '1', 'b', '2');
    await cmd(c, 'HSET', 'hash:fttl:listpack', 'c', '3');
    await cmd(c, 'HSET', 'hash:fttl:hashtable', ...Array.from({ length: 700 }, (_, i) => [`f${i}`, `v${i}`]).flat());
    await cmd(c, 'HPEXPIRE', 'hash:fttl:hashtable', '5400000', 'FIELDS', '3', 'f1', 'f2', 'f3');
    await cmd(c, 'HEXPIRE', 'hash:fttl:hashtable', '9000', 'FIELDS', '1', 'f600');
  }
  for (let i = 1; i <= 20; i++) await cmd(c, 'XADD', 'stream:groups', `1-${i}`, 'n', String(i));
  await cmd(c, 'XGROUP', 'CREATE', 'stream:groups', 'g1', '0');
  await cmd(c, 'XREADGROUP', 'GROUP', 'g1', 'alice', 'COUNT', '4', 'STREAMS', 'stream:groups', '>');
  await cmd(c, 'XREADGROUP', 'GROUP', 'g1', 'bob', 'COUNT', '3', 'STREAMS', 'stream:groups', '>');
  await cmd(c, 'XGROUP', 'CREATECONSUMER', 'stream:groups', 'g1', 'carol');
  await cmd(c, 'XGROUP', 'CREATE', 'stream:groups', 'g2', '$');
  await cmd(c, 'XDEL', 'stream:groups', '1-2', '1-15');
  await cmd(c, 'XGROUP', 'CREATE', 'stream:empty', 'g', '0', 'MKSTREAM');
  await cmd(c, 'FUNCTION', 'LOAD', LIBRARY);
  await cmd(c, 'SELECT', '1');
  await cmd(c, 'SET', 'db1:a', '1');
  await cmd(c, 'SADD', 'db1:set', 'x', 'y');
  await cmd(c, 'SELECT', '5');
  await cmd(c, 'HSET', 'db5:h', 'f', 'v');
  await cmd(c, 'SELECT', '0');
  // the encodings this seed claims, as the server reports them
  const encoding = async (key: string) => String(await cmd(c, 'OBJECT', 'ENCODING', key));
  assert.equal(await encoding('set:intset'), 'intset');
  assert.equal(await encoding('set:listpack'), rdbVersionWritten(engine.identity)! >= 11 ? 'listpack' : 'hashtable');
  assert.equal(await encoding('set:hashtable'), 'hashtable');
  assert.equal(await encoding('zset:skiplist'), 'skiplist');
  assert.equal(await encoding('hash:hashtable'), 'hashtable');
  assert.equal(await encoding('list:quicklist'), 'quicklist');
  if (options.fieldTtls) {
    assert.equal(await encoding('hash:fttl:listpack'), 'listpackex');
    assert.equal(await encoding('hash:fttl:hashtable'), 'hashtable');
  }
}

interface ServerState {
  digest: string;
  functions: string;
  /** db:key -> "field=HPEXPIRETIME,..." for hashes with field TTLs (engines that have them) */
  fieldTtls: Record<string, string>;
  keys: number;
}

async function state(server: TestServer): Promise<ServerState> {
  return on(server, async (c) => {
    const fieldTtls: Record<string, string> = {};
    let keys = 0;
    if (engineHas(server.engine.identity, FIELD_TTL)) {
      for (const db of [0, 1, 5]) {
        await cmd(c, 'SELECT', String(db));
        for (const key of (await cmd(c, 'KEYS', '*')) as string[]) {
          if (String(await cmd(c, 'TYPE', key)) !== 'hash') continue;
          const fields = ((await cmd(c, 'HKEYS', key)) as string[]).sort();
          const times = (await cmd(c, 'HPEXPIRETIME', key, 'FIELDS', String(fields.length), ...fields)) as number[];
          const withTtl = fields.map((f, i) => `${f}=${times[i]}`).filter((f) => !f.endsWith('=-1'));
          if (withTtl.length) fieldTtls[`${db}:${key}`] = withTtl.join(',');
        }
      }
      await cmd(c, 'SELECT', '0');
    }
    for (const db of [0, 1, 5]) {
      await cmd(c, 'SELECT', String(db));
      keys += Number(await cmd(c, 'DBSIZE'));
    }
    await cmd(c, 'SELECT', '0');
    return { digest: String(await cmd(c, 'DEBUG', 'DIGEST')), functions: JSON.stringify(await cmd(c, 'FUNCTION', 'LIST', 'WITHCODE')), fieldTtls, keys };
  });
}

async function emptyOut(server: TestServer): Promise<void> {
  await on(server, async (c) => {
    await cmd(c, 'FLUSHALL', 'SYNC');
    await cmd(c, 'FUNCTION', 'FLUSH', 'SYNC');
  });
}

const cli = (args: string[]) => runCliSync(args);

/** One seeded source per engine, its backup and its state; shared by the round trips and the cross-version cases. */
interface Source {
  engine: TestEngine;
  server: TestServer;
  backup: BackupResult;
  state: ServerState;
  /** the same data without hash field TTLs (for merges onto servers without per-field expiry) */
  plainBackup?: BackupResult;
  plainState?: ServerState;
}

const sources = new Map<string, Source>();
const targets = new Map<string, TestServer>();
let dir: { path: string; remove(): void };

async function sourceOf(engine: TestEngine): Promise<Source> {
  const known = sources.get(engine.id);
  if (known) return known;
  const server = await startTestServer({ engine, args: DEBUG });
  const fieldTtls = engineHas(engine.identity, FIELD_TTL);
  await on(server, (c) => seedEverything(c, engine, { fieldTtls }));
  const backup = await takeBackup({
    source: { kind: 'replication', endpoint: server.endpoint('backup') },
    toDir: join(dir.path, engine.id),
    compression: 'gzip',
  });
  const source: Source = { engine, server, backup, state: await state(server) };
  if (fieldTtls) {
    await on(server, (c) => cmd(c, 'DEL', 'hash:fttl:listpack', 'hash:fttl:hashtable'));
    source.plainBackup = await takeBackup({
      source: { kind: 'replication', endpoint: server.endpoint('backup') },
      toDir: join(dir.path, `${engine.id}-plain`),
      compression: 'gzip',
    });
    source.plainState = await state(server);
  }
  sources.set(engine.id, source);
  return source;
}

async function targetOf(engine: TestEngine): Promise<TestServer> {
  let server = targets.get(engine.id);
  if (!server) targets.set(engine.id, (server = await startTestServer({ engine, args: DEBUG })));
  await emptyOut(server);
  return server;
}

before(() => {
  dir = tempDir('nlr-engines-');
});
after(async () => {
  await Promise.all([...sources.values()].map((s) => s.server.stop()));
  await Promise.all([...targets.values()].map((t) => t.stop()));
  dir.remove();
});

for (const engine of testEngines()) {
  describe(`round trip on ${engine.label}: every type and encoding, backup -> verify -> restore`, { concurrency: false, timeout: 180_000 }, () => {
    test(`${engine.label}: the manifest names the engine; backups verify passes and says which server wrote it`, async () => {
      const s = await sourceOf(engine);
      const m = s.backup.manifest;
      assert.equal(m.origin?.engine, engine.identity.engine);
      assert.equal(m.origin?.version, engine.identity.version);
      assert.equal(m.origin?.rdbVersion, rdbVersionWritten(engine.identity));
      assert.equal(m.rdb.version, rdbVersionWritten(engine.identity));
      assert.equal(m.source.engine, engine.identity.engine);
      assert.equal(m.source.version, engine.identity.version);
      assert.equal(m.keyspace.keys, s.state.keys);
      assert.equal(
        Object.values(m.keyspace.types ?? {}).reduce((a, b) => a + b, 0),
        m.keyspace.keys,
        'keys per RDB value type are recorded',
      );
      if (engineHas(engine.identity, FIELD_TTL))
        assert.deepEqual([m.keyspace.types?.['24'], m.keyspace.types?.['25']], [1, 1], 'one field-TTL hash of each encoding');
      if (rdbVersionWritten(engine.identity)! >= 11) assert.ok((m.keyspace.types?.['20'] ?? 0) >= 1, 'listpack sets');
      assert.deepEqual(Object.keys(m.keyspace.databases).sort(), ['0', '1', '5']);
      if (engineHas(engine.identity, FIELD_TTL)) assert.equal(Object.keys(s.state.fieldTtls).length, 2, 'both field-TTL hashes are in the comparison');
      const verified = await verifyBackup(s.backup.path);
      assert.equal(verified.ok, true, verified.problems.join('; '));
      const out = cli(['backups', 'verify', s.backup.path]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, new RegExp(`^OK .*${engine.label.replace(/\./g, '\\.')}, RDB ${rdbVersionWritten(engine.identity)}`));
    });

    test(`${engine.label}: replace into an empty server of the same engine: digest, functions and field TTLs equal`, async () => {
      const s = await sourceOf(engine);
      const target = await targetOf(engine);
      const result = await replaceRestore({ source: await openRestoreSource(s.backup.path), endpoint: target.endpoint('admin') });
      assert.equal(result.mismatches.length, 0);
      assert.deepEqual(await state(target), s.state);
    });

    test(`${engine.label}: merge into an empty server of the same engine, by RESTORE payloads: digest, functions and field TTLs equal`, async () => {
      const s = await sourceOf(engine);
      const target = await targetOf(engine);
      const result = await mergeRestore({ source: await openRestoreSource(s.backup.path), endpoint: target.endpoint('admin') });
      assert.equal(result.valueEncoding, 'restore');
      assert.match(result.path, /^RESTORE payloads/);
      assert.equal(result.written, s.state.keys);
      assert.deepEqual(await state(target), s.state);
    });
  });
}

/**
 * Cross-engine cases: [from, to, what the servers allow]. `loads`: the target's loader takes the
 * backup (replace and merge by RESTORE give the same digest); otherwise replace is refused with the
 * target untouched, and merge goes by plain commands unless a value has no command form there.
 */
const CROSS: Array<{ from: string; to: string; loads: boolean }> = [
  { from: 'redis-7.0', to: 'redis-8.0', loads: true },
  { from: 'redis-7.0', to: 'valkey-8.1', loads: true },
  { from: 'valkey-8.1', to: 'redis-8.0', loads: true },
  { from: 'valkey-8.1', to: 'redis-7.0', loads: false },
  { from: 'redis-8.0', to: 'redis-7.0', loads: false },
  { from: 'redis-8.0', to: 'valkey-8.1', loads: false },
];

for (const c of CROSS) {
  const from = engineById(c.from);
  const to = engineById(c.to);
  const skip = !from || !to ? `needs ${c.from} and ${c.to}` : false;
  describe(`cross-engine: ${from?.label ?? c.from} backup onto ${to?.label ?? c.to}`, { concurrency: false, skip, timeout: 180_000 }, () => {
    if (c.loads) {
      test(`replace and merge restore it exactly (${from?.label} -> ${to?.label})`, async () => {
        const s = await sourceOf(from!);
        const target = await targetOf(to!);
        const plan = await planRestore({ source: await openRestoreSource(s.backup.path), mode: 'replace', endpoint: target.endpoint('admin') });
        assert.equal(plan.ok, true, JSON.stringify(plan.checks));
        assert.ok(plan.checks.some((k) => k.ok && /loads into the target/.test(k.what)));
        await replaceRestore({ source: await openRestoreSource(s.backup.path), endpoint: target.endpoint('admin') });
        assert.deepEqual(await state(target), s.state, 'replace');
        await emptyOut(target);
        const merged = await mergeRestore({ source: await openRestoreSource(s.backup.path), endpoint: target.endpoint('admin') });
        assert.equal(merged.valueEncoding, 'restore');
        assert.deepEqual(await state(target), s.state, 'merge');
      });

      test(`offline: placed in a stopped server's directory, the server starts with exactly the backup (${from?.label} -> ${to?.label})`, async () => {
        const s = await sourceOf(from!);
        const stopped = await startTestServer({ engine: to!, args: DEBUG });
        let started: StartedServer | undefined;
        try {
          await on(stopped, (k) => cmd(k, 'SET', 'target:own', 'replaced'));
          await on(stopped, (k) => cmd(k, 'SHUTDOWN')).catch(() => undefined);
          assert.ok(await waitFor(() => !isAlive(stopped.pid), 20_000), 'the target stopped');
          const placed = await offlineRestore({
            source: await openRestoreSource(s.backup.path),
            dataDir: stopped.dir,
            configFile: join(stopped.dir, 'redis.conf'),
          });
          assert.match(placed.compatibility, new RegExp(`loads into the target, ${to!.label.replace(/\./g, '\\.')}`));
          started = await restartTestServer(stopped, { args: DEBUG });
          assert.deepEqual(await state(stopped), s.state);
        } finally {
          if (started && isAlive(started.pid)) process.kill(started.pid, 'SIGKILL');
          await stopped.stop();
        }
      });
      return;
    }

    test(`replace is refused before any change, naming both sides (${from?.label} -> ${to?.label})`, async () => {
      const s = await sourceOf(from!);
      const target = await targetOf(to!);
      await on(target, (k) => cmd(k, 'SET', 'target:own', 'kept'));
      const before = await state(target);
      const error = await replaceRestore({ source: await openRestoreSource(s.backup.path), endpoint: target.endpoint('admin') }).then(
        () => assert.fail('restored a backup the target cannot load'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof RestoreRefusedError, String(error));
      const fromRdb = rdbVersionWritten(from!.identity);
      const toRdb = rdbVersionWritten(to!.identity);
      assert.match(
        error.message,
        new RegExp(`${to!.label.replace(/\./g, '\\.')} \\(reads RDB up to ${toRdb}\\).*${from!.label.replace(/\./g, '\\.')}, RDB ${fromRdb}`),
      );
      assert.match(error.message, /Nothing was changed/);
      assert.deepEqual(await state(target), before, 'the target is untouched');
      assert.match(await on(target, (k) => cmd(k, 'INFO', 'replication')).then(String), /role:master/);
      // the CLI's dry run says the same and exits 1
      const plan = await planRestore({ source: await openRestoreSource(s.backup.path), mode: 'replace', endpoint: target.endpoint('admin') });
      assert.equal(plan.ok, false);
      assert.ok(plan.checks.some((k) => !k.ok && /cannot load the backup/.test(k.what)));
      // a merge asked to go by RESTORE payloads is refused before writing
      const byPayload = await mergeRestore({
        source: await openRestoreSource(s.backup.path),
        endpoint: target.endpoint('admin'),
        valueEncoding: 'restore',
        onConflict: 'skip',
      }).then(
        () => assert.fail('sent payloads the target cannot load'),
        (e: unknown) => e,
      );
      assert.ok(byPayload instanceof RestoreRefusedError, String(byPayload));
      assert.match(byPayload.message, /cannot load the backup.*nothing was written/);
      assert.deepEqual(await state(target), before, 'the target is untouched');
    });

    const fieldTtls = from && engineHas(from.identity, FIELD_TTL) && to && !engineHas(to.identity, FIELD_TTL);
    if (fieldTtls) {
      test(`merge of hashes with field TTLs is refused before writing (${from?.label} -> ${to?.label})`, async () => {
        const s = await sourceOf(from!);
        const target = await targetOf(to!);
        await on(target, (k) => cmd(k, 'SET', 'target:own', 'kept'));
        const before = await state(target);
        const plan = await planRestore({ source: await openRestoreSource(s.backup.path), mode: 'merge', endpoint: target.endpoint('admin') });
        assert.equal(plan.ok, false);
        assert.equal(plan.valuePath, 'commands');
        assert.ok(
          plan.checks.some((k) => !k.ok && /2 hashes whose fields carry their own TTL/.test(k.what)),
          JSON.stringify(plan.checks),
        );
        const error = await mergeRestore({ source: await openRestoreSource(s.backup.path), endpoint: target.endpoint('admin'), onConflict: 'skip' }).then(
          () => assert.fail('merged field TTLs the target cannot hold'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof RestoreRefusedError, String(error));
        assert.match(error.message, /no per-field expiry.*nothing was written/);
        assert.deepEqual(await state(target), before, 'the target is untouched');
      });
    }

    test(`merge rebuilds every value with plain commands when each has a command form (${from?.label} -> ${to?.label})`, async () => {
      const s = await sourceOf(from!);
      const backup = s.plainBackup ?? s.backup;
      const expected = s.plainState ?? s.state;
      const target = await targetOf(to!);
      const plan = await planRestore({ source: await openRestoreSource(backup.path), mode: 'merge', endpoint: target.endpoint('admin') });
      assert.equal(plan.ok, true, JSON.stringify(plan.checks));
      assert.equal(plan.valuePath, 'commands');
      assert.match(plan.summary, /by plain commands/);
      const result = await mergeRestore({ source: await openRestoreSource(backup.path), endpoint: target.endpoint('admin') });
      assert.equal(result.valueEncoding, 'commands');
      assert.match(result.path, /^plain commands .*cannot load the backup/);
      assert.equal(result.written, expected.keys);
      const got = await state(target);
      assert.equal(got.keys, expected.keys);
      assert.equal(got.functions, expected.functions);
      assert.equal(got.digest, expected.digest);
    });

    test(`offline: refused by the directory's own RDB or --server, placed when --server reads it (${from?.label} -> ${to?.label})`, async () => {
      const s = await sourceOf(from!);
      const dataDir = join(tempDir('nlr-offline-', to!.tempParent).path);
      try {
        // the directory's dump, written by the target's engine
        const target = await targetOf(to!);
        await on(target, (k) => cmd(k, 'SAVE'));
        copyFileSync(join(target.dir, 'dump.rdb'), join(dataDir, 'dump.rdb'));
        const source = await openRestoreSource(s.backup.path);
        const byDir = await offlineRestore({ source, dataDir }).then(
          () => assert.fail("placed a backup the directory's server cannot load"),
          (e: unknown) => e,
        );
        assert.ok(byDir instanceof RestoreRefusedError, String(byDir));
        assert.match(byDir.message, /was written by .*--server PATH/);
        const byServer = await offlineRestore({ source, dataDir, server: to!.server }).then(
          () => assert.fail('placed a backup the given server cannot load'),
          (e: unknown) => e,
        );
        assert.ok(byServer instanceof RestoreRefusedError, String(byServer));
        assert.match(byServer.message, new RegExp(`--server .* is ${to!.label.replace(/\./g, '\\.')}`));
        assert.equal(existsSync(join(dataDir, 'appendonlydir')), false, 'nothing was placed');
        // a server that reads it: the backup's own engine
        const placed = await offlineRestore({ source, dataDir, server: from!.server });
        assert.match(placed.compatibility, /loads into the target/);
      } finally {
        spawnSync('rm', ['-rf', dataDir]);
      }
    });
  });
}

test('an RDB newer than this tool reads (Redis 8.6 RDB 13) is refused in every mode before any change, even unchecked by a manifest', async () => {
  const host = engineById('redis-7.0') ?? testEngines()[0]!;
  const target = await targetOf(host);
  const files = tempDir('nlr-rdb13-');
  try {
    // a header and aux field as Redis 8.6 writes them; what follows is never read
    const aux = (k: string, v: string) => Buffer.concat([Buffer.from([0xfa, k.length]), Buffer.from(k), Buffer.from([v.length]), Buffer.from(v)]);
    const file = join(files.path, 'dump-8.6.rdb');
    writeFileSync(
      file,
      Buffer.concat([Buffer.from('REDIS0013'), aux('redis-ver', '8.6.0'), Buffer.from([0xfe, 0x00, 0x00, 0x01, 0x61, 0x01, 0x62, 0xff]), Buffer.alloc(8)]),
    );
    await on(target, (k) => cmd(k, 'SET', 'target:own', 'kept'));
    const before = await state(target);
    const source = await openRestoreSource(file);
    const refusals = await Promise.all(
      [
        replaceRestore({ source, endpoint: target.endpoint('admin') }),
        mergeRestore({ source, endpoint: target.endpoint('admin'), onConflict: 'skip' }),
        offlineRestore({ source, dataDir: files.path, server: host.server }),
      ].map((p) =>
        (p as Promise<unknown>).then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    );
    for (const error of refusals) {
      assert.ok(error instanceof RestoreRefusedError, String(error));
      assert.match(error.message, /cannot check the backup \(Redis 8\.6\.0, RDB 13\).*restores nothing it has not checked/);
    }
    assert.deepEqual(await state(target), before, 'the target is untouched');
    assert.match(await on(target, (k) => cmd(k, 'INFO', 'replication')).then(String), /role:master/);
    const plan = await planRestore({ source, mode: 'replace', endpoint: target.endpoint('admin') });
    assert.equal(plan.ok, false);
    assert.ok(plan.checks.some((k) => !k.ok && /cannot check the backup/.test(k.what)));
    assert.ok(!plan.checks.some((k) => /damaged/.test(k.what)), 'a newer format is not damage');
  } finally {
    files.remove();
  }
});

test('--server is for offline restores only: a usage error with a live target', () => {
  const r = cli(['restore', join(ROOT, 'package.json'), '--url', 'redis://127.0.0.1:1', '--server', '/usr/bin/redis-server']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--server names the binary that will load an offline restore/);
});

test(
  'offline without any evidence: RDB 10 goes ahead, a newer RDB is refused asking for --server',
  { skip: engineById('redis-8.0') ? false : 'needs redis-8.0' },
  async () => {
    const s7 = await sourceOf(engineById('redis-7.0')!);
    const s8 = await sourceOf(engineById('redis-8.0')!);
    const empty = tempDir('nlr-offline-empty-');
    try {
      mkdirSync(join(empty.path, 'a'));
      const ok = await offlineRestore({ source: await openRestoreSource(s7.backup.path), dataDir: join(empty.path, 'a'), dryRun: true });
      assert.match(ok.compatibility, /every supported server/);
      mkdirSync(join(empty.path, 'b'));
      const refused = await offlineRestore({ source: await openRestoreSource(s8.backup.path), dataDir: join(empty.path, 'b'), dryRun: true }).then(
        () => assert.fail('placed RDB 12 with nothing to say which server loads it'),
        (e: unknown) => e,
      );
      assert.ok(refused instanceof RestoreRefusedError);
      assert.match(refused.message, /cannot tell whether the server of the directory loads the backup \(Redis 8\.0\.2, RDB 12\).*--server PATH/);
    } finally {
      empty.remove();
    }
  },
);
