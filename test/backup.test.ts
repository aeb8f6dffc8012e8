/**
 * `backup` against real redis-server: pulled over the replication protocol, verified while it streams,
 * stored atomically with a manifest; what it stores loads into redis-server with exactly the source's
 * data; failures (wrong password, a killed server, a full disk) publish nothing and keep earlier backups.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { profile } from '../src/config/index.js';
import { closeConnection } from '../src/connect/index.js';
import { freePort } from '../src/runtime/index.js';
import { loadgen } from '../src/workload/index.js';
import { rdbVersionWritten } from '../src/engine/index.js';
import {
  hostEngine,
  killTestServer,
  restartTestServer,
  startTestServer,
  tempDir,
  testEngines,
  upTestDeployment,
  type TestEngine,
  type TestServer,
} from './helpers/redis.js';
import { cliArgv, cliScriptEnv, runCliSync } from './helpers/run-cli.js';

const ROOT = join(import.meta.dirname, '..');

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliSync(args, { env });

function finalFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

async function digest(server: { connect(user?: string): Promise<any> }): Promise<string> {
  const c = await server.connect('admin');
  try {
    return String(await c.sendCommand(['DEBUG', 'DIGEST']));
  } finally {
    await closeConnection(c);
  }
}

/** Starts the engine's server on a stored backup (decompressed to dump.rdb, AOF off) and returns its digest. */
async function digestOfBackup(rdb: Buffer, engine = hostEngine()!): Promise<{ digest: string; keys: number }> {
  const server = await startTestServerOnRdb(rdb, engine);
  try {
    const c = await server.connect('admin');
    const keys = Number(await c.sendCommand(['DBSIZE']));
    await closeConnection(c);
    return { digest: await digest(server), keys };
  } finally {
    await server.stop();
  }
}

function withoutAof() {
  const model = profile('neurallog');
  model.persistence.appendonly = false; // with AOF on, redis-server would ignore dump.rdb
  return model;
}

async function startTestServerOnRdb(rdb: Buffer, engine: TestEngine, model = withoutAof()): Promise<TestServer> {
  // start empty, stop, place the RDB, start again on the same directory
  const server = await startTestServer({ engine, model, args: ['--enable-debug-command', 'local'] });
  const c = await server.connect('admin');
  await c.sendCommand(['CONFIG', 'SET', 'save', '']);
  await closeConnection(c);
  await killTestServer(server);
  writeFileSync(join(server.dir, 'dump.rdb'), rdb);
  const again = await restartTestServer(server, { args: ['--enable-debug-command', 'local'] });
  return {
    ...server,
    pid: again.pid,
    async stop() {
      again.child.ref();
      process.kill(again.pid, 'SIGKILL');
      await again.exited;
      rmSync(server.dir, { recursive: true, force: true });
    },
  };
}

/** Storage and CLI cases that do not depend on the server run on the host's engine only. */
const storageOnly = (engine: TestEngine) => ({ skip: engine.inRoot ? 'storage, not server behaviour: runs on the host engine' : false });

for (const engine of testEngines())
  describe(`backup from a live ${engine.label}`, () => {
    let source: TestServer;
    let backups: { path: string; remove(): void };
    before(async () => {
      source = await startTestServer({ engine, args: ['--enable-debug-command', 'local'] });
      backups = tempDir('nlr-backups-', engine.tempParent);
      const app = await source.connect('app');
      await loadgen(app, { logs: 3000, seed: 'backup-test' });
      await closeConnection(app);
      const admin = await source.connect('admin');
      // other types, TTLs, several databases, a function library
      await admin.sendCommand(['SELECT', '3']);
      await admin.sendCommand(['SET', 'other:ttl', 'v', 'PX', '3600000']);
      await admin.sendCommand(['HSET', 'other:hash', 'a', '1', 'b', '2']);
      await admin.sendCommand(['SELECT', '0']);
      await admin.sendCommand(['FUNCTION', 'LOAD', "#!lua name=nl\nredis.register_function('nl_echo', function(keys, args) return args[1] end)"]);
      await admin.sendCommand(['XGROUP', 'CREATE', 'patterns:detected', 'g1', '0']);
      await admin.sendCommand(['XREADGROUP', 'GROUP', 'g1', 'c1', 'COUNT', '5', 'STREAMS', 'patterns:detected', '>']);
      await closeConnection(admin);
    });
    after(async () => {
      await source.stop();
      backups.remove();
    });

    const env = () => ({ NEURALLOG_REDIS_PASSWORD: source.passwords.backup! });
    const url = () => `redis://backup@127.0.0.1:${source.port}`;

    test(`${engine.label}: stdout is exactly the stored path; the stored file is a gzip of an RDB that the server loads with identical data`, async () => {
      const r = cli(['backup', '--url', url(), '--to', backups.path], env());
      assert.equal(r.code, 0, r.stderr);
      const path = r.stdout.trim();
      assert.equal(r.stdout, `${path}\n`);
      assert.match(path, /redis-backup-\d{8}T\d{6}Z\.rdb\.gz$/);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const manifest = JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8'));
      assert.equal(manifest.verified, true);
      assert.equal(manifest.source.transfer, 'diskless');
      assert.equal(manifest.source.serverWroteDump, false);
      assert.equal(manifest.keyspace.databases['3'].keys, 2);
      assert.equal(manifest.keyspace.functions, 1);
      assert.ok(!JSON.stringify(manifest).includes(source.passwords.backup!), 'no password in the manifest');
      assert.deepEqual(manifest.origin, {
        engine: engine.identity.engine,
        version: engine.identity.version,
        rdbVersion: rdbVersionWritten(engine.identity),
        identifiedBy: 'info',
      });
      assert.equal(manifest.rdb.version, rdbVersionWritten(engine.identity));
      assert.equal(existsSync(join(source.dir, 'dump.rdb')), false, 'diskless: the server wrote nothing to its disk');
      const rdb = gunzipSync(readFileSync(path));
      assert.equal(rdb.subarray(0, 5).toString(), 'REDIS');
      const rdbFile = join(backups.path, '..', `check-${process.pid}.rdb`);
      writeFileSync(rdbFile, rdb);
      const check = spawnSync(engine.checkRdb ?? 'redis-check-rdb', [rdbFile], { encoding: 'utf8' });
      rmSync(rdbFile);
      assert.match(check.stdout, /RDB looks OK/);
      const restored = await digestOfBackup(rdb, engine);
      assert.equal(restored.digest, await digest(source));
      const v = cli(['backups', 'verify', path]);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      assert.match(v.stdout, new RegExp(`^OK .*: ${engine.label.replace(/\./g, '\\.')}, RDB ${rdbVersionWritten(engine.identity)}, `));
      const table = cli(['backups', 'list', '--to', backups.path]);
      assert.match(
        table.stdout,
        new RegExp(`TAKEN \\(UTC\\)\\s+ENGINE\\s+KEYS[^\\n]*\\n.*${engine.identity.engine} ${engine.identity.version.replace(/\./g, '\\.')}\\s`),
      );
    });

    test(`${engine.label}: disk-based replication: the output says the server wrote a dump.rdb`, async () => {
      const admin = await source.connect('admin');
      await admin.sendCommand(['CONFIG', 'SET', 'repl-diskless-sync', 'no']);
      try {
        const r = cli(['backup', '--url', url(), '--to', backups.path, '--json'], env());
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout);
        assert.equal(out.version, 1);
        assert.equal(out.manifest.source.transfer, 'disk');
        assert.equal(out.manifest.source.serverWroteDump, true);
        assert.ok(existsSync(join(source.dir, 'dump.rdb')));
      } finally {
        await admin.sendCommand(['CONFIG', 'SET', 'repl-diskless-sync', 'yes']);
        await closeConnection(admin);
        rmSync(join(source.dir, 'dump.rdb'), { force: true });
      }
    });

    test(`${engine.label}: zstd, none and encrypted backups verify; the encrypted one needs its key`, storageOnly(engine), async () => {
      const key = join(backups.path, '..', `key-${process.pid}`);
      writeFileSync(key, randomBytes(32), { mode: 0o600 });
      try {
        for (const extra of [
          ['--compress', 'zstd'],
          ['--compress', 'none'],
          ['--encrypt-key-file', key],
        ]) {
          const r = cli(['backup', '--url', url(), '--to', backups.path, ...extra], env());
          assert.equal(r.code, 0, r.stderr);
          const path = r.stdout.trim();
          const verifyArgs = extra[0] === '--encrypt-key-file' ? ['--encrypt-key-file', key] : [];
          const v = cli(['backups', 'verify', path, ...verifyArgs]);
          assert.equal(v.code, 0, `${extra.join(' ')}: ${v.stdout}${v.stderr}`);
          if (extra[1] === 'none') {
            const restored = await digestOfBackup(readFileSync(path));
            assert.equal(restored.digest, await digest(source));
          }
          if (extra[0] === '--encrypt-key-file') {
            assert.ok(path.endsWith('.rdb.gz.enc'));
            const noKey = cli(['backups', 'verify', path]);
            assert.equal(noKey.code, 2);
            assert.match(noKey.stderr, /encrypted; give its key/);
            const other = join(backups.path, '..', `key2-${process.pid}`);
            writeFileSync(other, randomBytes(32), { mode: 0o600 });
            const wrong = cli(['backups', 'verify', path, '--encrypt-key-file', other]);
            rmSync(other);
            // a wrong key is not damage: exit 2, as restore says (issue 12, item 13)
            assert.equal(wrong.code, 2);
            assert.match(wrong.stderr, /not the one this backup was encrypted with/);
          }
        }
      } finally {
        rmSync(key, { force: true });
      }
    });

    test(
      `${engine.label}: a stored file renamed against its manifest is read as the manifest says; an encrypted one renamed plain still needs its key`,
      storageOnly(engine),
      async () => {
        const r = cli(['backup', '--url', url(), '--to', backups.path, '--compress', 'zstd'], env());
        assert.equal(r.code, 0, r.stderr);
        const path = r.stdout.trim();
        const other = tempDir('nlr-renamed-');
        try {
          // the name says gzip or plain; verify reads the file as its manifest says (zstd)
          for (const name of ['redis-backup-20260101T000000Z.rdb.gz', 'redis-backup-20260101T000000Z.rdb']) {
            const renamed = join(other.path, name);
            writeFileSync(renamed, readFileSync(path));
            writeFileSync(`${renamed}.manifest.json`, readFileSync(`${path}.manifest.json`));
            const v = cli(['backups', 'verify', renamed, '--json']);
            assert.equal(v.code, 0, `${name}: ${v.stdout}${v.stderr}`);
            assert.equal(JSON.parse(v.stdout).ok, true);
          }
          const key = join(other.path, 'key');
          writeFileSync(key, randomBytes(32), { mode: 0o600 });
          const enc = cli(['backup', '--url', url(), '--to', other.path, '--encrypt-key-file', key], env());
          assert.equal(enc.code, 0, enc.stderr);
          const plainName = join(other.path, 'redis-backup-20260101T000001Z.rdb.gz');
          writeFileSync(plainName, readFileSync(enc.stdout.trim()));
          writeFileSync(`${plainName}.manifest.json`, readFileSync(`${enc.stdout.trim()}.manifest.json`));
          const noKey = cli(['backups', 'verify', plainName]);
          assert.equal(noKey.code, 2, noKey.stdout + noKey.stderr);
          assert.match(noKey.stderr, /encrypted; give its key/);
          const withKey = cli(['backups', 'verify', plainName, '--encrypt-key-file', key]);
          assert.equal(withKey.code, 0, withKey.stdout + withKey.stderr);
        } finally {
          other.remove();
        }
      },
    );

    test(`${engine.label}: a wrong password and a user without replication rights fail clearly and publish nothing`, async () => {
      const before = finalFiles(backups.path);
      const r = cli(['backup', '--url', url(), '--to', backups.path], { NEURALLOG_REDIS_PASSWORD: 'wrong' });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /authentication failed .*"backup"/);
      assert.equal(r.stdout, '');
      const m = cli(['backup', '--url', `redis://monitor@127.0.0.1:${source.port}`, '--to', backups.path], {
        NEURALLOG_REDIS_PASSWORD: source.passwords.monitor!,
      });
      assert.notEqual(m.code, 0);
      assert.match(m.stderr, /\+sync|\+psync|\+replconf/);
      assert.deepEqual(finalFiles(backups.path), before);
    });

    test(`${engine.label}: list, prune and verify of damage`, storageOnly(engine), async () => {
      const list = cli(['backups', 'list', '--to', backups.path, '--json']);
      assert.equal(list.code, 0, list.stderr);
      const entries = JSON.parse(list.stdout).backups;
      assert.ok(entries.length >= 4);
      assert.ok(entries.every((e: { verified: boolean }) => e.verified));
      const table = cli(['backups', 'list', '--to', backups.path]);
      assert.match(table.stdout, /TAKEN \(UTC\)\s+ENGINE\s+KEYS/);
      assert.ok(
        entries.every(
          (e: { engine?: { engine: string; version: string } }) => e.engine?.engine === engine.identity.engine && e.engine.version === engine.identity.version,
        ),
        'every entry names its engine',
      );

      // damage a copy of an uncompressed backup at several offsets; without its manifest the RDB parse finds it
      const plain = entries.find((e: { compression: string; encrypted: boolean }) => e.compression === 'none' && !e.encrypted);
      const original = readFileSync(plain.path);
      for (const offset of [9, 200, Math.floor(original.length / 2), original.length - 20, original.length - 3]) {
        const damaged = join(backups.path, '..', `damaged-${process.pid}.rdb`);
        const copy = Buffer.from(original);
        copy[offset]! ^= 0x5a;
        writeFileSync(damaged, copy);
        const v = cli(['backups', 'verify', damaged]);
        rmSync(damaged);
        assert.equal(v.code, 1, `flip at ${offset}: ${v.stdout}`);
        assert.match(v.stdout, /DAMAGED/);
      }
      // with its manifest, any change is caught by SHA-256 first
      const inPlace = Buffer.from(original);
      inPlace[100]! ^= 1;
      writeFileSync(plain.path, inPlace);
      const v = cli(['backups', 'verify', plain.path]);
      assert.equal(v.code, 1);
      assert.match(v.stdout, /SHA-256 differs/);
      writeFileSync(plain.path, original);

      const prune = cli(['backups', 'prune', '--to', backups.path, '--keep-last', '2', '--json']);
      assert.equal(prune.code, 0, prune.stderr);
      const plan = JSON.parse(prune.stdout);
      assert.equal(plan.kept.length, 2);
      assert.equal(finalFiles(backups.path).filter((f) => !f.endsWith('.json')).length, 2);
    });

    test(`${engine.label}: --from-file verifies and catalogues an existing RDB, naming its writer from the RDB's aux fields`, async () => {
      const admin = await source.connect('admin');
      await admin.sendCommand(['SAVE']);
      await closeConnection(admin);
      const dump = join(source.dir, 'dump.rdb');
      const r = cli(['backup', '--from-file', dump, '--to', backups.path, '--json']);
      rmSync(dump);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.manifest.source.kind, 'file');
      assert.equal(out.manifest.keyspace.functions, 1);
      assert.deepEqual(out.manifest.origin, {
        engine: engine.identity.engine,
        version: engine.identity.version,
        rdbVersion: rdbVersionWritten(engine.identity),
        identifiedBy: 'rdb-aux',
      });
      const corrupt = join(backups.path, '..', `corrupt-${process.pid}.rdb`);
      writeFileSync(corrupt, Buffer.from('REDIS0010garbage'));
      const bad = cli(['backup', '--from-file', corrupt, '--to', backups.path]);
      rmSync(corrupt);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /byte \d+/);
      assert.ok(!finalFiles(backups.path).some((f) => f.startsWith('.')), 'no temporary or lock file is left');
    });

    test(`${engine.label}: --every keeps taking backups, prunes, and stops cleanly on SIGTERM`, storageOnly(engine), async () => {
      const dir = join(backups.path, 'every');
      const child = spawn(...cliArgv('backup', '--url', url(), '--to', dir, '--every', '1s', '--keep-last', '2'), {
        env: { ...process.env, ...env() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      let err = '';
      child.stderr.on('data', (b) => (err += b));
      const deadline = Date.now() + 30_000;
      while (out.trim().split('\n').filter(Boolean).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const code = await new Promise<number | null>((resolve) => {
        child.on('exit', (c) => resolve(c));
        child.kill('SIGTERM');
      });
      assert.equal(code, 0, err);
      assert.ok(out.trim().split('\n').length >= 3, out);
      const kept = finalFiles(dir).filter((f) => f.endsWith('.rdb.gz'));
      assert.equal(kept.length, 2, finalFiles(dir).join(' '));
      assert.ok(!finalFiles(dir).some((f) => f.startsWith('.')), 'no temporary or lock file is left');
    });
  });

for (const engine of testEngines())
  describe(`backup failures publish nothing (${engine.label})`, () => {
    test(`${engine.label}: killing the server mid-transfer`, async () => {
      const server = await startTestServer({ engine, args: ['--enable-debug-command', 'local'] });
      const dir = tempDir('nlr-backups-');
      try {
        const admin = await server.connect('admin');
        await admin.sendCommand(['DEBUG', 'POPULATE', '1500000', 'logs:populated', '200']);
        await closeConnection(admin);
        writeFileSync(join(dir.path, 'earlier.txt'), 'an earlier backup stands here');
        const child = spawn(...cliArgv('backup', '--url', `redis://backup@127.0.0.1:${server.port}`, '--to', dir.path, '--compress', 'none'), {
          env: { ...process.env, NEURALLOG_REDIS_PASSWORD: server.passwords.backup! },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let err = '';
        child.stderr.on('data', (b) => (err += b));
        let out = '';
        child.stdout.on('data', (b) => (out += b));
        const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
        // wait until the temporary file has received bytes, then kill the server
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const temp = readdirSync(dir.path).find((f) => f.endsWith('.tmp'));
          if (temp && statSync(join(dir.path, temp)).size > 1_000_000) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        process.kill(server.pid, 'SIGKILL');
        const code = await exit;
        assert.notEqual(code, 0, out);
        assert.equal(out, '');
        assert.match(err, /closed|truncated|ended|connection/i);
        assert.deepEqual(readdirSync(dir.path), ['earlier.txt']);
      } finally {
        await server.stop();
        dir.remove();
      }
    });
  });

describe('backup failures publish nothing (storage)', () => {
  test('a full disk', { skip: process.getuid?.() === 0 ? false : 'needs root to mount a small tmpfs' }, async () => {
    const server = await startTestServer({ args: ['--enable-debug-command', 'local'] });
    const dir = tempDir('nlr-fulldisk-');
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir.path]).status === 0;
    try {
      assert.ok(mounted, 'mount a 2 MB tmpfs');
      const env = { NEURALLOG_REDIS_PASSWORD: server.passwords.backup! };
      const url = `redis://backup@127.0.0.1:${server.port}`;
      const first = cli(['backup', '--url', url, '--to', dir.path, '--compress', 'none'], env);
      assert.equal(first.code, 0, first.stderr);
      const earlier = finalFiles(dir.path);
      const admin = await server.connect('admin');
      await admin.sendCommand(['DEBUG', 'POPULATE', '100000', 'logs:big', '100']);
      await closeConnection(admin);
      const full = cli(['backup', '--url', url, '--to', dir.path, '--compress', 'none'], env);
      assert.equal(full.code, 1);
      assert.match(full.stderr, /disk is full/);
      assert.deepEqual(finalFiles(dir.path), earlier);
      assert.equal(cli(['backups', 'verify', first.stdout.trim()]).code, 0);
    } finally {
      if (mounted) spawnSync('umount', [dir.path]);
      await server.stop();
      dir.remove();
    }
  });

  test('two backups into one directory at once: the second is refused by the lock', async () => {
    const dir = tempDir('nlr-lock-');
    try {
      writeFileSync(join(dir.path, '.neurallog-backup.lock'), '1\n');
      const r = cli(['backup', '--from-file', join(ROOT, 'test', 'fixtures', 'guide-redis.conf'), '--to', dir.path]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /another backup \(pid 1\)/);
    } finally {
      dir.remove();
    }
  });
});

for (const engine of testEngines())
  describe(`point-in-time consistency (${engine.label})`, () => {
    test(`${engine.label}: a backup taken while loadgen writes is a consistent snapshot`, async () => {
      const server = await startTestServer({ engine, args: ['--enable-debug-command', 'local'] });
      const dir = tempDir('nlr-pit-');
      try {
        const app = await server.connect('app');
        const writing = loadgen(app, { logs: 60_000, seed: 'pit' });
        await new Promise((r) => setTimeout(r, 300));
        const r = cli(['backup', '--url', `redis://backup@127.0.0.1:${server.port}`, '--to', dir.path, '--compress', 'none'], {
          NEURALLOG_REDIS_PASSWORD: server.passwords.backup!,
        });
        await writing;
        await closeConnection(app);
        assert.equal(r.code, 0, r.stderr);
        const snap = await startTestServerOnRdb(readFileSync(r.stdout.trim()), engine);
        try {
          const c = await snap.connect('admin');
          const indexed = (await c.sendCommand(['ZRANGE', 'idx:logs:time', '0', '-1'])) as string[];
          const logKeys: string[] = [];
          let cursor = '0';
          do {
            const [next, batch] = (await c.sendCommand(['SCAN', cursor, 'MATCH', 'logs:*', 'COUNT', '10000'])) as [string, string[]];
            cursor = next;
            logKeys.push(...batch);
          } while (cursor !== '0');
          await closeConnection(c);
          assert.ok(indexed.length > 0 && indexed.length < 60_000, `a mid-write snapshot (${indexed.length} indexed)`);
          const ids = new Set(logKeys.map((k) => k.slice('logs:'.length)));
          for (const id of indexed) assert.ok(ids.has(id), `indexed log ${id} has its entry`);
          assert.ok(ids.size - indexed.length <= 1, 'at most the one log being written is not indexed yet');
        } finally {
          await snap.stop();
        }
      } finally {
        await server.stop();
        dir.remove();
      }
    });
  });

describe('the guide script', () => {
  test("redis/scripts/backup-redis.sh works with the guide's usage", async () => {
    const d = await upTestDeployment();
    const dir = tempDir('nlr-script-');
    try {
      const r = spawnSync(join(ROOT, 'redis', 'scripts', 'backup-redis.sh'), [], {
        encoding: 'utf8',
        env: { ...process.env, BACKUP_DIR: dir.path, REDIS_DIR: d.dir, ...cliScriptEnv() },
        timeout: 60_000,
      });
      assert.equal(r.status, 0, r.stderr);
      const m = /^Redis backup created: (.+)$/m.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.ok(existsSync(m[1]!));
    } finally {
      await d.cleanup();
      dir.remove();
    }
  });
});

describe('backup --nice', () => {
  test('lowers the priority of the backup process (never raises it) and refuses values out of range', () => {
    const module = pathToFileURL(join(ROOT, 'src', 'cli', 'backup.ts')).href;
    const code = `import { getPriority } from 'node:os';
const m = await import(${JSON.stringify(module)});
m.applyNiceness('7'); const lowered = getPriority();
const { readdirSync, readFileSync } = await import('node:fs');
const threadNice = readdirSync('/proc/self/task').map((tid) => Number(readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16]));
m.applyNiceness('3'); const kept = getPriority();
let refused = ''; try { m.applyNiceness('25'); } catch (e) { refused = e.message; }
let notNumber = ''; try { m.applyNiceness('high'); } catch (e) { notNumber = e.message; }
console.log(JSON.stringify({ lowered, kept, refused, notNumber, threadNice }));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.lowered, 7);
    assert.ok(out.threadNice.length > 1 && out.threadNice.every((n: number) => n === 7), `every thread at nice 7: ${out.threadNice}`);
    assert.equal(out.kept, 7, 'a smaller value does not raise the priority again');
    assert.match(out.refused, /--nice takes 0 to 19/);
    assert.match(out.notNumber, /--nice takes a whole number/);
  });
});

describe('backups verify and its early SHA-256', () => {
  const openssl = spawnSync('openssl', ['version']).status === 0 && spawnSync('mkfifo', ['--version']).status === 0;

  test('a verify that ends before it needs the digest stops the openssl it started early', { skip: !openssl }, async () => {
    // the "backup" is a FIFO that a writer holds open without writing: openssl would wait on it
    // forever, and so would the CLI, which waits for its children, unless it stops openssl
    const dir = tempDir('nlr-verify-early-');
    const fifo = join(dir.path, 'redis-backup-20260101T000000Z.rdb.gz.enc');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const writer = spawn('sh', ['-c', 'exec sleep 600 > "$0"', fifo], { stdio: 'ignore' });
    try {
      const r = cli(['backups', 'verify', fifo]);
      assert.notEqual(r.code, null, 'the CLI exited (it was not killed by the test timeout)');
      assert.equal(r.code, 2);
      // a FIFO may never end: refused before openssl or the verifier open it (issue 12, item 9)
      assert.match(r.stderr, /is a pipe \(FIFO\), not a backup file/);
    } finally {
      writer.kill('SIGKILL');
      dir.remove();
    }
  });
});

describe('backup over TLS', () => {
  const openssl = spawnSync('openssl', ['version']).status === 0;

  test("rediss:// pulls through TLS (a CA of the test's own, given to node by NODE_EXTRA_CA_CERTS) and stores the same data", { skip: !openssl }, async () => {
    const certs = tempDir('nlr-tls-');
    const backups = tempDir('nlr-tls-backups-');
    const run = (args: string[]) => assert.equal(spawnSync('openssl', args, { cwd: certs.path, stdio: 'ignore' }).status, 0, `openssl ${args.join(' ')}`);
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=nlr-test-ca', '-days', '1']);
    run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(join(certs.path, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    run([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '1',
      '-extfile',
      'san.ext',
    ]);
    const tlsPort = await freePort();
    const file = (name: string) => join(certs.path, name);
    const source = await startTestServer({
      args: [
        '--enable-debug-command',
        'local',
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        file('server.crt'),
        '--tls-key-file',
        file('server.key'),
        '--tls-ca-cert-file',
        file('ca.crt'),
        '--tls-auth-clients',
        'no',
      ],
    });
    try {
      const app = await source.connect('app');
      // enough for many 256 KiB blocks and TLS records of every size
      await loadgen(app, { logs: 5000, seed: 'tls' });
      await closeConnection(app);
      const env = { NEURALLOG_REDIS_PASSWORD: source.passwords.backup!, NODE_EXTRA_CA_CERTS: file('ca.crt') };
      const r = cli(['backup', '--url', `rediss://backup@127.0.0.1:${tlsPort}`, '--to', backups.path, '--compress', 'none', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout);
      assert.match(result.manifest.source.address, /^rediss:\/\/backup@127\.0\.0\.1:/);
      const stored = await digestOfBackup(readFileSync(result.path));
      assert.equal(stored.digest, await digest(source));
      // without the CA the server's certificate is refused, with a message that says so
      const refused = cli(['backup', '--url', `rediss://backup@127.0.0.1:${tlsPort}`, '--to', backups.path], {
        NEURALLOG_REDIS_PASSWORD: source.passwords.backup!,
      });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /certificate/i);
    } finally {
      await source.stop();
      certs.remove();
      backups.remove();
    }
  });
});
