/**
 * Issue 12, the backup and restore parts of items 9-14: inputs that never end, a port that is not
 * Redis, flags checked before any work, a schedule that fills the disk, messages that tell the truth
 * (no permission, a database the target lacks, a wrong key), and how `--load auto` chooses.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { takeBackup } from '../src/backup/index.js';
import { waitOrAbort } from '../src/cli/backup.js';
import { closeConnection, parseInfo } from '../src/connect/index.js';
import { chooseLoad } from '../src/restore/index.js';
import { startTestServer, tempDir, testEngines, type TestServer } from './helpers/redis.js';
import { cliArgv, runCli, runCliSync } from './helpers/run-cli.js';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliSync(args, { env, timeoutMs: 60_000 });

/** the CLI without blocking this process (a server in this process must go on answering) */
const cliAsync = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { env, timeoutMs: 60_000 });

describe('item 9: backups verify of input that never ends', () => {
  test('item 9: /dev/zero and a FIFO are refused at once, exit 2', () => {
    const zero = cli(['backups', 'verify', '/dev/zero']);
    assert.equal(zero.code, 2, zero.stderr);
    assert.ok(zero.seconds < 15, `took ${zero.seconds} s`);
    assert.match(zero.stderr, /\/dev\/zero is a character device, not a backup file/);
    const dir = tempDir('nlr-fifo-');
    try {
      const fifo = join(dir.path, 'pipe');
      spawnSync('mkfifo', [fifo]);
      const r = cli(['backups', 'verify', fifo]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is a pipe \(FIFO\), not a backup file/);
    } finally {
      dir.remove();
    }
  });
});

describe('item 10: backup --url to a server that is not Redis', () => {
  let http: Server;
  let port: number;
  before(async () => {
    http = createServer((_q, r) => r.end('hello'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as { port: number }).port;
  });
  after(() => http.close());
  test('item 10: an HTTP server is named as such, exit 2 (not "RESP protocol error", exit 1)', async () => {
    const dir = tempDir('nlr-http-');
    try {
      for (const url of [`redis://127.0.0.1:${port}`, `redis://backup@127.0.0.1:${port}`]) {
        const r = await cliAsync(['backup', '--url', url, '--to', dir.path], { NEURALLOG_REDIS_PASSWORD: 'x' });
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /is not a Redis server: an HTTP server answered/);
        assert.doesNotMatch(r.stderr, /RESP protocol error/);
      }
      assert.deepEqual(
        readdirSync(dir.path).filter((f) => !f.startsWith('.')),
        [],
      );
    } finally {
      dir.remove();
    }
  });
});

describe('item 11: backup --every waits without piling up abort listeners', () => {
  test('item 11: twenty intervals leave no listener on the signal', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 20; i++) await waitOrAbort(1, controller.signal);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    const waiting = waitOrAbort(60_000, controller.signal);
    controller.abort();
    await waiting;
  });
});

describe('item 14: --load auto', () => {
  const GiB = 1024 ** 3;
  test('item 14: swapdb into an empty target or where both fit the host with headroom; disk otherwise', () => {
    const empty = { maxmemory: 0, usedMemory: 1_000_000, totalSystemMemory: 16 * GiB };
    assert.equal(chooseLoad(empty, 300_000_000), 'swapdb');
    // the old dataset is small next to the backup: swapdb needs hardly more than disk, whatever the host
    assert.equal(chooseLoad({ ...empty, totalSystemMemory: 0 }, 300_000_000), 'swapdb');
    // both fit in half the host's memory
    assert.equal(chooseLoad({ maxmemory: 0, usedMemory: 2 * GiB, totalSystemMemory: 16 * GiB }, 3 * GiB), 'swapdb');
    // they do not: disk
    assert.equal(chooseLoad({ maxmemory: 0, usedMemory: 6 * GiB, totalSystemMemory: 16 * GiB }, 6 * GiB), 'disk');
    // unknown host memory and a large old dataset: disk
    assert.equal(chooseLoad({ maxmemory: 0, usedMemory: 6 * GiB, totalSystemMemory: 0 }, 6 * GiB), 'disk');
    // unknown backup size: disk
    assert.equal(chooseLoad(empty, undefined), 'disk');
    // under maxmemory as before
    assert.equal(chooseLoad({ maxmemory: GiB, usedMemory: 100e6, totalSystemMemory: 16 * GiB }, 200e6), 'swapdb');
    assert.equal(chooseLoad({ maxmemory: GiB, usedMemory: 600e6, totalSystemMemory: 16 * GiB }, 600e6), 'disk');
  });
});

for (const engine of testEngines())
  describe(`item 1: a target that dies while it loads (${engine.label})`, () => {
    test(`item 1 (${engine.label}): the restore ends within seconds and says what the target is now, not "previous data"`, async () => {
      const server = await startTestServer({ engine, args: ['--enable-debug-command', 'local'] });
      const dir = tempDir('nlr-dies-', engine.tempParent);
      try {
        const c = await server.connect('admin');
        await c.sendCommand(['DEBUG', 'POPULATE', '600000', 'logs:', '120']);
        await closeConnection(c);
        const file = (await takeBackup({ source: { kind: 'replication', endpoint: server.endpoint('backup') }, toDir: dir.path, compression: 'none' })).path;
        const child = spawn(...cliArgv('restore', file, '--url', `redis://admin@127.0.0.1:${server.port}`, '--load', 'disk'), {
          env: { ...process.env, NEURALLOG_REDIS_PASSWORD: server.passwords.admin! },
        });
        let stderr = '';
        child.stderr.on('data', (b) => (stderr += b));
        const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
        const deadline = Date.now() + 60_000;
        while (!/Serving the backup/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        // killed once the target is seen loading (a fixed wait could outlast the load)
        let ended = false;
        void exited.then(() => (ended = true));
        const watcher = await server.connect('admin');
        try {
          for (;;) {
            const info = parseInfo(String(await watcher.sendCommand(['INFO', 'persistence'])));
            if (info.loading === '1') break;
            assert.ok(!ended, `the restore ended before the target was seen loading (the window was missed): ${stderr}`);
            assert.ok(Date.now() < deadline, `the target never loaded the backup: ${stderr}`);
            await new Promise((r) => setTimeout(r, 10));
          }
        } finally {
          watcher.destroy();
        }
        process.kill(server.pid, 'SIGKILL');
        const killedAt = Date.now();
        const code = await exited;
        const seconds = (Date.now() - killedAt) / 1000;
        assert.equal(code, 1, stderr);
        assert.ok(seconds < 20, `the CLI took ${seconds} s to notice`);
        assert.match(stderr, /the target does not answer now/);
        assert.doesNotMatch(stderr, /previous data/);
      } finally {
        await server.stop();
        dir.remove();
      }
    });
  });

for (const engine of testEngines())
  describe(`items 12, 13: flags and messages of backup and restore (${engine.label})`, () => {
    let server: TestServer;
    let dir: { path: string; remove(): void };
    let backupFile: string;
    let encryptedFile: string;
    let url: (user: string) => string;
    before(async () => {
      server = await startTestServer({ engine });
      dir = tempDir('nlr-hardening-backup-', engine.tempParent);
      url = (user) => `redis://${user}@127.0.0.1:${server.port}`;
      const c = await server.connect('admin');
      try {
        await c.sendCommand(['SET', 'logs:1', 'x']);
      } finally {
        await closeConnection(c);
      }
      backupFile = (
        await takeBackup({ source: { kind: 'replication', endpoint: server.endpoint('backup') }, toDir: join(dir.path, 'plain'), compression: 'gzip' })
      ).path;
      const key = join(dir.path, 'key');
      writeFileSync(key, randomBytes(32), { mode: 0o600 });
      encryptedFile = (
        await takeBackup({
          source: { kind: 'replication', endpoint: server.endpoint('backup') },
          toDir: join(dir.path, 'enc'),
          compression: 'gzip',
          encryptionKey: randomBytes(32),
        })
      ).path;
    });
    after(async () => {
      await server?.stop();
      dir?.remove();
    });

    test(`item 13 (${engine.label}): backup --keep-last 0 is refused before any pull or publish`, () => {
      const to = join(dir.path, 'keep0');
      spawnSync('mkdir', [to]);
      const r = cli(['backup', '--url', url('backup'), '--to', to, '--keep-last', '0'], { NEURALLOG_REDIS_PASSWORD: server.passwords.backup });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /keep nothing/);
      assert.deepEqual(readdirSync(to), []);
    });

    test(`item 13 (${engine.label}): backup --every without retention warns that the disk fills`, async () => {
      const to = join(dir.path, 'every');
      spawnSync('mkdir', [to]);
      const child = spawn(...cliArgv('backup', '--url', url('backup'), '--to', to, '--every', '1h'), {
        env: { ...process.env, NEURALLOG_REDIS_PASSWORD: server.passwords.backup },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b) => (stdout += b));
      child.stderr.on('data', (b) => (stderr += b));
      const deadline = Date.now() + 30_000;
      while (!/\.rdb\.gz/.test(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      assert.match(stdout, /\.rdb\.gz/);
      assert.match(stderr, /Warning: no retention policy .* until the disk of .* is full/);
    });

    test(`item 12 (${engine.label}): restore --dry-run as app (NOPERM) says which user it needs, exit 2`, () => {
      const r = cli(['restore', backupFile, '--url', url('app'), '--dry-run'], { NEURALLOG_REDIS_PASSWORD: server.passwords.app });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /may not run .*a restore needs an administrative user/);
      assert.doesNotMatch(r.stderr, /unexpected error/);
    });

    test(`item 13 (${engine.label}): merge --db-map 0:99 --dry-run names the missing database, not damage`, () => {
      const r = cli(['restore', backupFile, '--url', url('admin'), '--mode', 'merge', '--db-map', '0:99', '--dry-run'], {
        NEURALLOG_REDIS_PASSWORD: server.passwords.admin,
      });
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stdout, /damaged/);
      assert.match(r.stdout, /ok +the backup is intact/);
      assert.match(r.stdout, /FAIL the backup writes database 99 but the target has 16/);
    });

    test(`item 13 (${engine.label}): backups verify with the wrong key says so, exit 2 (as restore does)`, () => {
      const wrong = join(dir.path, 'key');
      const v = cli(['backups', 'verify', encryptedFile, '--encrypt-key-file', wrong]);
      assert.equal(v.code, 2, v.stdout + v.stderr);
      assert.match(v.stderr, /not the one this backup was encrypted with/);
      assert.doesNotMatch(v.stdout, /DAMAGED/);
      const r = cli(['restore', encryptedFile, '--url', url('admin'), '--dry-run', '--encrypt-key-file', wrong], {
        NEURALLOG_REDIS_PASSWORD: server.passwords.admin,
      });
      assert.equal(r.code, 2);
    });
  });
