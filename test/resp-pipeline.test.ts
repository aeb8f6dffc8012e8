/**
 * resp/'s pipelined writer against a real server, on every engine: the bounds on unanswered commands
 * and bytes hold, replies reach their tags in order, a server that stops reading makes write() return
 * false (DEBUG SLEEP stops its event loop) and `settle` wait for 'drain' (or give up at its deadline, or on an abort), a wait without any
 * progress fails with E_TIMEOUT, and a refused handshake reads like any refused connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closeConnection, type RedisConnection } from '../src/connect/index.js';
import { ERROR_REPLY, openPipeline } from '../src/resp/index.js';
import { startTestServer, testEngines, type TestServer } from './helpers/redis.js';

for (const engine of testEngines()) {
  describe(`pipelined writer against ${engine.label}`, () => {
    let server: TestServer;
    let admin: RedisConnection;
    before(async () => {
      server = await startTestServer({ engine, args: ['--enable-debug-command', 'local'] });
      admin = await server.connect('admin');
    });
    after(async () => {
      if (admin) await closeConnection(admin);
      await server?.stop();
    });
    /**
     * Stops the server (SIGSTOP) until the test resumes it: the kernel still takes its clients' bytes,
     * and nothing is read or answered. No timer: a stall of the loaded machine cannot wake the server
     * before the assertions that need it stopped have run (DEBUG SLEEP, used before, took effect some
     * time after it was sent and ended on the server's clock).
     */
    const stopServer = (): { resume(): void } => {
      process.kill(server.pid, 'SIGSTOP');
      let stopped = true;
      return {
        resume() {
          if (stopped) process.kill(server.pid, 'SIGCONT');
          stopped = false;
        },
      };
    };

    test('settle keeps the unanswered commands and bytes within bounds; replies reach their tags in order', async () => {
      const seen: number[] = [];
      const pipe = await openPipeline<number>(server.endpoint('admin'), { onReply: (tag, type) => (type === ERROR_REPLY ? seen.push(-tag) : seen.push(tag)) });
      const value = Buffer.alloc(20_000, 0x76);
      let worstCommands = 0;
      let worstBytes = 0;
      try {
        for (let i = 0; i < 3000; i++) {
          pipe.send(['SET', `logs:pipe:${i}`, value], i);
          assert.equal(await pipe.settle(100, 256 * 1024), true);
          worstCommands = Math.max(worstCommands, pipe.inFlight);
          worstBytes = Math.max(worstBytes, pipe.bytesInFlight);
        }
        pipe.send(['NOSUCHCOMMAND'], 3000);
        await pipe.settle(0);
        assert.ok(worstCommands <= 100 && worstBytes <= 256 * 1024, `${worstCommands} commands, ${worstBytes} bytes in flight at most`);
        assert.deepEqual(seen, [...Array.from({ length: 3000 }, (_, i) => i), -3000]);
        assert.equal(pipe.errors, 1);
        assert.equal(pipe.firstError?.index, 3000);
        assert.match(pipe.firstError?.message ?? '', /unknown command/i);
        assert.equal(Number(await admin.sendCommand(['EXISTS', 'logs:pipe:0', 'logs:pipe:2999'])), 2);
      } finally {
        await pipe.close();
      }
    });

    test('a server that stops reading: write() backs up, settle waits for drain, or gives up at its deadline or abort', async () => {
      const pipe = await openPipeline<number>(server.endpoint('admin'));
      const stopped = stopServer();
      try {
        const value = Buffer.alloc(512 * 1024, 0x62);
        for (let i = 0; i < 128; i++) pipe.send(['SET', `logs:busy:${i}`, value], i);
        pipe.flush();
        let started = Date.now();
        // no bound on commands or bytes: only a socket whose write() returned false keeps settle waiting
        assert.equal(await pipe.settle(1e9, Number.MAX_SAFE_INTEGER, { deadline: Date.now() + 300 }), false, 'the socket had not drained by the deadline');
        assert.ok(Date.now() - started >= 290);
        const abort = new AbortController();
        setTimeout(() => abort.abort(), 100);
        started = Date.now();
        assert.equal(await pipe.settle(0, undefined, { signal: abort.signal }), false, 'aborted');
        assert.ok(Date.now() - started < 1000);
        stopped.resume();
        assert.equal(await pipe.settle(0), true);
        assert.equal(pipe.answered, 128);
        assert.deepEqual(pipe.firstError, undefined);
      } finally {
        stopped.resume();
        await pipe.close();
      }
    });

    test('one command larger than the byte bound: once it is the oldest unanswered, the bound holds for those behind it', async () => {
      const pipe = await openPipeline<number>(server.endpoint('admin'));
      const stopped = stopServer();
      try {
        // the server is stopped, so nothing is answered while the bounds are tested
        pipe.send(['SET', 'logs:large', Buffer.alloc(256 * 1024, 0x6c)], 0);
        for (let i = 1; i <= 3; i++) pipe.send(['SET', `logs:small:${i}`, Buffer.alloc(4 * 1024, 0x73)], i);
        // 268 KiB in flight against a 64 KiB bound, but 12 KiB of it behind the large one
        assert.equal(await pipe.settle(100, 64 * 1024, { deadline: Date.now() + 500 }), true, 'the small ones behind the large one are within the bound');
        assert.equal(pipe.answered, 0, 'nothing was answered: the server is stopped');
        for (let i = 4; i <= 20; i++) pipe.send(['SET', `logs:small:${i}`, Buffer.alloc(4 * 1024, 0x73)], i);
        // now 80 KiB wait behind it: over the bound until the server answers
        assert.equal(await pipe.settle(100, 64 * 1024, { deadline: Date.now() + 100 }), false, 'the bound holds for the commands behind the large one');
        stopped.resume();
        assert.equal(await pipe.settle(100, 64 * 1024), true);
        await pipe.settle(0);
        assert.equal(pipe.answered, 21);
      } finally {
        stopped.resume();
        await pipe.close();
      }
    });

    test('held commands count against the bounds but reach the server only on release; destroy drops them unsent', async () => {
      const pipe = await openPipeline<number>(server.endpoint('admin'), { stallTimeoutMs: 200 });
      try {
        pipe.hold();
        for (let i = 0; i < 10; i++) pipe.send(['SET', `logs:held:${i}`, 'x'], i);
        // over the bound while held: settle waits for the release (no stall failure), here until its deadline
        assert.equal(await pipe.settle(5, undefined, { deadline: Date.now() + 400 }), false);
        assert.equal(Number(await admin.sendCommand(['EXISTS', 'logs:held:0'])), 0, 'nothing was sent while held');
        pipe.release();
        assert.equal(await pipe.settle(0), true);
        assert.equal(pipe.answered, 10);
        assert.equal(Number(await admin.sendCommand(['EXISTS', 'logs:held:0', 'logs:held:9'])), 2);
      } finally {
        await pipe.close();
      }
      const dropped = await openPipeline<number>(server.endpoint('admin'));
      dropped.hold();
      dropped.send(['SET', 'logs:dropped', 'x'], 0);
      dropped.flush();
      dropped.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(Number(await admin.sendCommand(['EXISTS', 'logs:dropped'])), 0, 'destroyed while held: never sent');
    });

    test('a wait that sees no progress at all fails with E_TIMEOUT, naming the server', async () => {
      const pipe = await openPipeline<number>(server.endpoint('admin'), { stallTimeoutMs: 300 });
      const stopped = stopServer();
      try {
        pipe.send(['PING'], 1);
        await assert.rejects(pipe.settle(0), (e: Error & { code?: string }) => {
          assert.equal(e.code, 'E_TIMEOUT');
          assert.match(e.message, new RegExp(`no answer from 127\\.0\\.0\\.1:${server.port} within 0 s \\(1 command unanswered\\)`));
          return true;
        });
      } finally {
        stopped.resume();
        await pipe.close();
      }
    });

    test('a refused handshake is a connection error that names the fix, without the password', async () => {
      const endpoint = { ...server.endpoint('admin'), password: 'not-the-password' };
      await assert.rejects(openPipeline(endpoint), (e: Error & { code?: string; exitCode?: number }) => {
        assert.equal(e.exitCode, 2);
        assert.match(e.message, /WRONGPASS|password/i);
        assert.doesNotMatch(e.message, /not-the-password/);
        return true;
      });
    });
  });
}
