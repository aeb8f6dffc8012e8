/**
 * Offline restore against every engine of the test matrix (Redis 7.0, 8.0, Valkey 8.1), the guide's scenario: data A backed up, changed to B,
 * server stopped, backup placed; the server then starts with exactly A, and keeps A across a clean
 * restart and a kill -9 right after it serves; with appendonly yes and no. The previous files are kept
 * for rollback (and hold B). Refused while a server runs on the directory; a damaged backup changes
 * nothing; files get the directory's owner and mode 0600.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chownSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { takeBackup } from '../src/backup/index.js';
import { profile } from '../src/config/index.js';
import { closeConnection, openConnection, type Endpoint } from '../src/connect/index.js';
import { offlineRestore, ServerRunningError } from '../src/restore/offline.js';
import { BackupIntegrityError, openRestoreSource, type RestoreSource } from '../src/restore/source.js';
import { isAlive, waitFor, type StartedServer } from '../src/runtime/index.js';
import { loadgen } from '../src/workload/index.js';
import {
  restartTestServer,
  startTestServer,
  tempDir,
  testEngines,
  upTestDeployment,
  type TestDeployment,
  type TestEngine,
  type TestServer,
} from './helpers/redis.js';

const DEBUG = ['--enable-debug-command', 'local'];
const LIBRARY = "#!lua name=offlib\nredis.register_function('offfunc', function(keys, args) return 1 end)";

interface State {
  digest: string;
  keys: number;
  functions: string;
}

async function stateOf(connect: () => ReturnType<TestServer['connect']>): Promise<State> {
  const c = await connect();
  try {
    return {
      digest: String(await c.sendCommand(['DEBUG', 'DIGEST'])),
      keys: Number(await c.sendCommand(['DBSIZE'])),
      functions: JSON.stringify(await c.sendCommand(['FUNCTION', 'LIST'])),
    };
  } finally {
    await closeConnection(c);
  }
}

/** Files of a directory (recursively) with their SHA-256, to prove nothing changed. */
function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) out[name] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}

/** A server with data A backed up, then changed to B and stopped cleanly. */
async function scenario(engine: TestEngine, appendonly: boolean, backupsDir: string) {
  const model = profile('neurallog');
  model.persistence.appendonly = appendonly;
  const server = await startTestServer({ engine, model, args: DEBUG });
  const c = await server.connect('admin');
  await loadgen(c, { logs: 400, seed: 'A' });
  await c.sendCommand(['SET', 'ttl:a', 'x', 'PX', '3600000']);
  await c.sendCommand(['FUNCTION', 'LOAD', LIBRARY]);
  await closeConnection(c);
  const connect = () => server.connect('admin');
  const a = await stateOf(connect);
  const taken = await takeBackup({ source: { kind: 'replication', endpoint: server.endpoint('backup') }, toDir: backupsDir, compression: 'gzip' });
  const c2 = await server.connect('admin');
  await c2.sendCommand(['FLUSHALL']);
  await c2.sendCommand(['FUNCTION', 'FLUSH']);
  await loadgen(c2, { logs: 300, seed: 'B' });
  await c2.sendCommand(['SET', 'only-in-b', '1']);
  await closeConnection(c2);
  const b = await stateOf(connect);
  assert.notEqual(a.digest, b.digest);
  await shutdown(server.pid, server.endpoint('admin'));
  return { server, a, b, backupFile: taken.path, connect };
}

const restart = (server: TestServer, dataDir = server.dir) => restartTestServer(server, { dataDir, args: DEBUG });

/**
 * SHUTDOWN (the server saves / fsyncs as configured) and wait for the process to go. Not
 * runtime's stopRedisServer: its client.destroy() after the socket closed can throw, and it then
 * sends SIGTERM to a pid that may already be reaped (ESRCH).
 */
async function shutdown(pid: number, endpoint: Endpoint): Promise<void> {
  const c = await openConnection(endpoint);
  await c.sendCommand(['SHUTDOWN']).catch(() => undefined);
  try {
    c.destroy();
  } catch {
    // already closed by the shutdown
  }
  assert.ok(await waitFor(() => !isAlive(pid), 20_000), `redis-server ${pid} did not stop`);
}

async function kill9(started: StartedServer): Promise<void> {
  started.child.ref();
  process.kill(started.pid, 'SIGKILL');
  await started.exited;
}

for (const engine of testEngines())
  describe(`offline restore on ${engine.label}`, { concurrency: false }, () => {
    let dir: { path: string; remove(): void };
    before(() => {
      dir = tempDir('nlr-offline-', engine.tempParent);
    });
    after(() => dir.remove());

    for (const appendonly of [true, false]) {
      test(`${engine.label}: the guide's scenario with appendonly ${appendonly ? 'yes' : 'no'}: A is back, across a restart and a kill -9`, async () => {
        const { server, a, b, backupFile, connect } = await scenario(engine, appendonly, join(dir.path, `backups-${appendonly}`));
        const running: StartedServer[] = [];
        try {
          const source = await openRestoreSource(backupFile);
          const result = await offlineRestore({ source, dataDir: server.dir, configFile: join(server.dir, 'redis.conf') });
          assert.equal(result.aof, appendonly);
          assert.equal(result.appendonly, appendonly);
          assert.ok(result.previousKeptIn && existsSync(result.previousKeptIn));
          assert.match(basename(result.previousKeptIn), /^\.neurallog-restore-\d{8}T\d{6}Z$/);
          assert.equal(result.rdb.keys, a.keys);
          assert.match(
            result.compatibility,
            new RegExp(`(dump|base)\\.rdb was written by ${engine.label.replace(/\./g, '\\.')}`),
            "the directory's own dump names its server",
          );
          for (const file of result.placed) {
            assert.ok(existsSync(file), file);
            assert.equal(statSync(file).mode & 0o777, 0o600, file);
          }
          if (appendonly) {
            const manifest = readFileSync(join(server.dir, 'appendonlydir', 'appendonly.aof.manifest'), 'utf8');
            assert.match(manifest, /^file appendonly\.aof\.(\d+)\.base\.rdb seq \1 type b\n$/);
            assert.deepEqual(
              readdirSync(join(result.previousKeptIn, 'appendonlydir')).some((f) => f.endsWith('.manifest')),
              true,
            );
          }
          assert.ok(!readdirSync(server.dir).some((f) => f.endsWith('.tmp')), 'no temporary files left');

          let s = await restart(server);
          running.push(s);
          assert.deepEqual(await stateOf(connect), a);
          // a clean restart right away
          await shutdown(s.pid, server.endpoint('admin'));
          s = await restart(server);
          running.push(s);
          assert.deepEqual(await stateOf(connect), a);
          // kill -9 right after it serves
          await kill9(s);
          s = await restart(server);
          running.push(s);
          assert.deepEqual(await stateOf(connect), a);
          await kill9(s);

          // the rollback folder holds B
          const rollbackDir = join(dir.path, `rollback-${appendonly}`);
          mkdirSync(rollbackDir);
          cpSync(result.previousKeptIn, rollbackDir, { recursive: true });
          s = await restart(server, rollbackDir);
          running.push(s);
          assert.equal((await stateOf(connect)).digest, b.digest);
        } finally {
          for (const r of running) if (isAlive(r.pid)) await kill9(r);
          await server.stop();
        }
      });
    }

    test(`${engine.label}: refuses while a server runs on the directory (working directory or pid file), changing nothing`, async () => {
      const server = await startTestServer({ engine });
      try {
        const backupsDir = join(dir.path, 'backups-running');
        const taken = await takeBackup({ source: { kind: 'replication', endpoint: server.endpoint('backup') }, toDir: backupsDir, compression: 'none' });
        const source = await openRestoreSource(taken.path);
        const before = listing(server.dir);
        const error = await offlineRestore({ source, dataDir: server.dir }).then(
          () => assert.fail('placed files under a running server'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof ServerRunningError, String(error));
        assert.match(error.message, new RegExp(`pid ${server.pid}\\b`));
        assert.match(error.message, /working directory/);
        assert.deepEqual(listing(server.dir), before);
        // a directory the server does not run in, but whose pid file names it
        const other = join(dir.path, 'other-data');
        mkdirSync(other);
        writeFileSync(join(other, 'redis.pid'), `${server.pid}\n`);
        const byPidFile = await offlineRestore({ source, dataDir: other }).then(
          () => assert.fail('ignored the pid file'),
          (e: unknown) => e,
        );
        assert.ok(byPidFile instanceof ServerRunningError);
        assert.match(byPidFile.message, /pid file/);
        assert.deepEqual(readdirSync(other), ['redis.pid']);
      } finally {
        await server.stop();
      }
    });
  });

describe('offline restore', { concurrency: false }, () => {
  let dir: { path: string; remove(): void };
  before(() => {
    dir = tempDir('nlr-offline-');
  });
  after(() => dir.remove());

  test('a deployment made by `up`: its redis.conf and pid file are found from data/, and the restored data comes back', async () => {
    const deployment = await upTestDeployment();
    let again: TestDeployment | undefined;
    try {
      const app = await deployment.connect('admin');
      await loadgen(app, { logs: 300, seed: 'up-A' });
      const keysA = Number(await app.sendCommand(['DBSIZE']));
      const sample = String(await app.sendCommand(['ZRANGE', 'idx:logs:time', '0', '0']));
      const logA = String(await app.sendCommand(['GET', `logs:${sample}`]));
      await closeConnection(app);
      const taken = await takeBackup({
        source: { kind: 'replication', endpoint: deployment.endpoint('backup') },
        toDir: join(dir.path, 'backups-up'),
        compression: 'zstd',
      });
      const source = await openRestoreSource(taken.path);
      const refused = await offlineRestore({ source, dataDir: join(deployment.dir, 'data') }).then(
        () => assert.fail('placed files under a running deployment'),
        (e: unknown) => e,
      );
      assert.ok(refused instanceof ServerRunningError);
      assert.match(
        refused.message,
        new RegExp(`pid ${deployment.result.pid}\\b.*pid file ${join(deployment.dir, 'redis.pid').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 's'),
      );
      const admin = await deployment.connect('admin');
      await admin.sendCommand(['FLUSHALL']);
      await admin.sendCommand(['SET', 'only-in-b', '1']);
      await closeConnection(admin);
      await deployment.down();
      const result = await offlineRestore({ source, dataDir: join(deployment.dir, 'data') });
      assert.equal(result.configFile, join(deployment.dir, 'redis.conf'));
      assert.equal(result.appendonly, true);
      assert.equal(result.aof, true);
      again = await upTestDeployment({ dir: deployment.dir }); // a fresh port: the old one may be taken meanwhile
      const c = await again.connect('admin');
      assert.equal(Number(await c.sendCommand(['DBSIZE'])), keysA);
      assert.equal(String(await c.sendCommand(['GET', `logs:${sample}`])), logA);
      assert.equal(Number(await c.sendCommand(['EXISTS', 'only-in-b'])), 0);
      await closeConnection(c);
    } finally {
      await (again ?? deployment).cleanup();
    }
  });

  describe('without a server', () => {
    let backup: RestoreSource;
    let rdbFile: string;
    before(async () => {
      const server = await startTestServer();
      try {
        const c = await server.connect('admin');
        await loadgen(c, { logs: 200, seed: 'files' });
        await closeConnection(c);
        const taken = await takeBackup({
          source: { kind: 'replication', endpoint: server.endpoint('backup') },
          toDir: join(dir.path, 'backups-files'),
          compression: 'none',
        });
        rdbFile = taken.path;
        backup = await openRestoreSource(taken.path);
      } finally {
        await server.stop();
      }
    });

    test('a damaged backup is refused and nothing in the directory changes', async () => {
      const data = join(dir.path, 'damaged-data');
      mkdirSync(join(data, 'appendonlydir'), { recursive: true });
      writeFileSync(join(data, 'dump.rdb'), 'old dump');
      writeFileSync(join(data, 'appendonlydir', 'appendonly.aof.manifest'), 'file appendonly.aof.1.base.rdb seq 1 type b\n');
      const damagedDir = join(dir.path, 'damaged-backup');
      mkdirSync(damagedDir);
      const copy = join(damagedDir, basename(rdbFile)); // no manifest beside it
      const bytes = readFileSync(rdbFile);
      bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 1; // inside the CRC
      writeFileSync(copy, bytes);
      const before = listing(data);
      const error = await offlineRestore({ source: await openRestoreSource(copy), dataDir: data }).then(
        () => assert.fail('placed a damaged backup'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof BackupIntegrityError, String(error));
      assert.match(error.message, /checksum mismatch.*nothing in .* was changed/s);
      assert.deepEqual(listing(data), before);
      assert.deepEqual(readdirSync(data).sort(), ['appendonlydir', 'dump.rdb']);
    });

    test('a dry run verifies and reports without changing anything', async () => {
      const data = join(dir.path, 'dry-data');
      mkdirSync(data);
      writeFileSync(join(data, 'dump.rdb'), 'old dump');
      const result = await offlineRestore({ source: backup, dataDir: data, dryRun: true });
      assert.equal(result.dryRun, true);
      assert.ok(result.previousKeptIn);
      assert.ok(result.rdb.keys > 200);
      assert.deepEqual(readdirSync(data), ['dump.rdb']);
    });

    test("files get the directory's owner and mode 0600; an existing AOF moves aside and the new base takes a higher sequence", async () => {
      const data = join(dir.path, 'owned-data');
      const aofDir = join(data, 'appendonlydir');
      mkdirSync(aofDir, { recursive: true });
      copyFileSync(rdbFile, join(data, 'dump.rdb'));
      writeFileSync(join(aofDir, 'appendonly.aof.3.base.rdb'), 'old base');
      writeFileSync(join(aofDir, 'appendonly.aof.3.incr.aof'), 'old incr');
      writeFileSync(join(aofDir, 'appendonly.aof.manifest'), 'file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n');
      writeFileSync(join(data, 'appendonly.aof'), 'a pre-7.0 AOF');
      for (const p of [data, aofDir]) chownSync(p, 65534, 65534);
      const result = await offlineRestore({ source: backup, dataDir: data });
      assert.equal(result.aof, true);
      assert.ok(result.notes.some((n) => /no configuration given/.test(n)));
      assert.deepEqual(result.owner, { uid: 65534, gid: 65534 });
      assert.deepEqual(result.placed.map((p) => p.slice(data.length + 1)).sort(), [
        'appendonlydir/appendonly.aof.4.base.rdb',
        'appendonlydir/appendonly.aof.manifest',
        'dump.rdb',
      ]);
      for (const p of [...result.placed, result.previousKeptIn!]) {
        const st = statSync(p);
        assert.equal(st.uid, 65534, p);
        assert.equal(st.gid, 65534, p);
        assert.equal(st.mode & 0o777, st.isDirectory() ? 0o700 : 0o600, p);
      }
      assert.deepEqual(readdirSync(aofDir).sort(), ['appendonly.aof.4.base.rdb', 'appendonly.aof.manifest']);
      assert.equal(readFileSync(join(aofDir, 'appendonly.aof.manifest'), 'utf8'), 'file appendonly.aof.4.base.rdb seq 4 type b\n');
      assert.deepEqual(readFileSync(join(aofDir, 'appendonly.aof.4.base.rdb')), readFileSync(rdbFile));
      assert.deepEqual(readFileSync(join(data, 'dump.rdb')), readFileSync(rdbFile));
      const kept = result.previousKeptIn!;
      assert.deepEqual(readdirSync(kept).sort(), ['appendonly.aof', 'appendonlydir', 'dump.rdb']);
      assert.deepEqual(readdirSync(join(kept, 'appendonlydir')).sort(), ['appendonly.aof.3.base.rdb', 'appendonly.aof.3.incr.aof', 'appendonly.aof.manifest']);
      assert.equal(readFileSync(join(kept, 'appendonlydir', 'appendonly.aof.3.incr.aof'), 'utf8'), 'old incr');
      assert.ok(!existsSync(join(data, 'appendonly.aof')), 'the pre-7.0 AOF moved aside');
    });
  });
});
