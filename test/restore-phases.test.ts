/**
 * The waits of a replace restore, which no other test reaches: pollInfo's order in each round
 * (signal, the caller's checks, the deadline, INFO), its abort during the pause, a target that is
 * gone; and a real replace that hits its deadline or is aborted while the target loads, which must
 * roll back: the target a master again with its old data and its repl-diskless-load put back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { takeBackup } from '../src/backup/index.js';
import { closeConnection, type RedisConnection } from '../src/connect/index.js';
import { openRestoreSource, replaceRestore, type ReplacePhase } from '../src/restore/index.js';
import { pollInfo, POLL_MS } from '../src/restore/poll-info.js';
import { loadgen } from '../src/workload/index.js';
import { startTestServer, tempDir, testEngines, type TestServer } from './helpers/redis.js';

const DEBUG = ['--enable-debug-command', 'local'];
const never = { at: Number.MAX_SAFE_INTEGER, error: () => new Error('deadline') };

const codeOf = (error: unknown): string | undefined => (error as { code?: string }).code;

for (const engine of testEngines())
  describe(`pollInfo on ${engine.label}`, () => {
    let server: TestServer;
    let client: RedisConnection;
    before(async () => {
      server = await startTestServer({ engine });
      client = await server.connect('admin');
    });
    after(async () => {
      await closeConnection(client);
      await server.stop();
    });

    test(`${engine.label}: asks INFO until \`until\` answers, and returns its answer`, async () => {
      let rounds = 0;
      const result = await pollInfo(client, (i) => (++rounds === 3 && i.role === 'master' ? 'third' : undefined), never, {
        section: 'replication',
        doing: 'testing',
      });
      assert.equal(result, 'third');
      assert.equal(rounds, 3);
    });

    test(`${engine.label}: each round checks the signal, then the caller, then the deadline, before INFO`, async () => {
      let asked = 0;
      const until = () => {
        asked++;
        return undefined;
      };
      const past = { at: 0, error: () => new Error('deadline passed') };
      await assert.rejects(pollInfo(client, until, past, { section: 'server', doing: 'testing' }), /deadline passed/);
      const check = () => {
        throw new Error('the caller refused');
      };
      await assert.rejects(pollInfo(client, until, past, { section: 'server', doing: 'testing', check }), /the caller refused/);
      const signal = AbortSignal.abort();
      await assert.rejects(pollInfo(client, until, past, { section: 'server', doing: 'testing', check, signal }), (e) => codeOf(e) === 'E_ABORTED');
      assert.equal(asked, 0, 'no INFO was asked');
    });

    test(`${engine.label}: an abort during the pause between two INFOs ends the wait at once`, async () => {
      const controller = new AbortController();
      let rounds = 0;
      let abortedAt = 0;
      const until = () => {
        rounds++;
        // the pause that follows this round is cut short
        setTimeout(() => {
          abortedAt = Date.now();
          controller.abort();
        }, 1);
        return undefined;
      };
      await assert.rejects(
        pollInfo(client, until, never, { section: 'server', doing: 'testing', signal: controller.signal }),
        (e) => codeOf(e) === 'E_ABORTED',
      );
      assert.equal(rounds, 1);
      assert.ok(Date.now() - abortedAt < POLL_MS - 10, 'ended within the pause, not at its end');
    });

    test(`${engine.label}: a connection that is gone fails the wait with E_RESTORE_TARGET_LOST`, async () => {
      const gone = await server.connect('admin');
      await closeConnection(gone);
      await assert.rejects(
        pollInfo(gone, () => true, never, { section: 'server', doing: 'testing' }),
        (e: Error) => codeOf(e) === 'E_RESTORE_TARGET_LOST' && /closed the connection while testing/.test(e.message),
      );
    });
  });

for (const engine of testEngines())
  describe(`a replace that does not finish rolls back (${engine.label})`, () => {
    let server: TestServer;
    let admin: RedisConnection;
    const dir = tempDir('nlr-phases-');
    let file = '';
    before(async () => {
      server = await startTestServer({ engine, args: DEBUG });
      const app = await server.connect('app');
      await loadgen(app, { logs: 2000, seed: 'A' });
      await closeConnection(app);
      file = (await takeBackup({ source: { kind: 'replication', endpoint: server.endpoint('backup') }, toDir: dir.path, compression: 'none' })).path;
      const changer = await server.connect('app');
      await loadgen(changer, { logs: 300, seed: 'B' });
      await closeConnection(changer);
      admin = await server.connect('admin');
      // a load of about 4 s that answers INFO all along (events every 1 KiB read)
      const keys = Number(await admin.sendCommand(['DBSIZE']));
      await admin.sendCommand(['CONFIG', 'SET', 'key-load-delay', String(Math.ceil(4_000_000 / keys))]);
      await admin.sendCommand(['CONFIG', 'SET', 'loading-process-events-interval-bytes', '1024']);
    });
    after(async () => {
      await closeConnection(admin);
      await server.stop();
      dir.remove();
    });

    /** A replace with swapdb (the old data is kept until the load succeeds) that must fail with `code`. */
    async function failingReplace(code: string, options: { timeoutMs?: number; abortOn?: ReplacePhase }): Promise<void> {
      const digestB = String(await admin.sendCommand(['DEBUG', 'DIGEST']));
      const controller = new AbortController();
      const phases: ReplacePhase[] = [];
      const source = await openRestoreSource(file);
      const restore = replaceRestore({
        source,
        endpoint: server.endpoint('admin'),
        listenHost: '127.0.0.1',
        load: 'swapdb',
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        signal: controller.signal,
        onPhase: (phase) => {
          phases.push(phase);
          if (phase === options.abortOn) controller.abort();
        },
      });
      await assert.rejects(restore, (e: Error) => {
        assert.equal(codeOf(e), code, e.message);
        assert.match(e.message, /the target is now a writable master, holding \d+ keys, the same number in each database as before the restore/);
        return true;
      });
      assert.ok(phases.includes('rolling-back'), phases.join(', '));
      assert.match(String(await admin.sendCommand(['INFO', 'replication'])), /role:master/);
      assert.equal(String(await admin.sendCommand(['DEBUG', 'DIGEST'])), digestB, 'the target still holds its old data');
      assert.deepEqual(await admin.sendCommand(['CONFIG', 'GET', 'repl-diskless-load']), ['repl-diskless-load', 'disabled']);
    }

    test(`${engine.label}: past its deadline while the target loads: E_RESTORE_TIMEOUT, old data kept`, async () => {
      await failingReplace('E_RESTORE_TIMEOUT', { timeoutMs: 1000 });
    });

    test(`${engine.label}: aborted while the target loads: E_ABORTED, old data kept`, async () => {
      await failingReplace('E_ABORTED', { abortOn: 'loading' });
    });
  });
