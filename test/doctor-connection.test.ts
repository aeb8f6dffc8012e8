/**
 * doctor classifies every way of not reaching a server, with its remedy and exit code: refused,
 * timeout, DNS, not a Redis port (no server engine is involved in these four: they run once), and on
 * every engine TLS to a plain port, NOAUTH, WRONGPASS, NOPERM, BUSY (a long script) and LOADING (a
 * data set loaded slowly on purpose with key-load-delay).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { profile } from '../src/config/index.js';
import { openConnection, type RedisConnection } from '../src/connect/client.js';
import { freePort, startRedisServer, type StartedServer } from '../src/runtime/index.js';
import { doctor, expectFinding, until, urlAs } from './doctor-helpers.js';
import { closeConnection, killTestServer, startTestServer, testEngines, type TestServer } from './helpers/redis.js';
import { runCli } from './helpers/run-cli.js';

describe('doctor: unreachable servers (no server engine involved)', () => {
  test('a closed port is connection.refused, exit 2 (through the CLI, --json)', async () => {
    const port = await freePort();
    const run = await runCli(['doctor', '--url', `redis://127.0.0.1:${port}`, '--json']);
    assert.equal(run.code, 2, run.stderr);
    const report = JSON.parse(run.stdout) as { findings: { id: string; severity: string }[] };
    assert.deepEqual(
      report.findings.map((f) => [f.id, f.severity]),
      [['connection.refused', 'critical']],
    );
  });

  test('a port that accepts and never answers is connection.timeout (bench/doctor.ts times the deadline)', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as { port: number }).port;
    try {
      const report = await doctor(`redis://127.0.0.1:${port}`, { timeoutMs: 500 });
      expectFinding(report, 'connection.timeout', 'critical');
      assert.equal(report.exitCode, 2);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  test('an unknown host is connection.dns', async () => {
    const report = await doctor('redis://doctor-test.invalid:6390');
    expectFinding(report, 'connection.dns', 'critical');
    assert.equal(report.exitCode, 2);
  });

  test('an HTTP server at the port is connection.not-redis', async () => {
    const http = createHttpServer((_, response) => response.end('hello'));
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    try {
      const report = await doctor(`redis://127.0.0.1:${(http.address() as { port: number }).port}`);
      const f = expectFinding(report, 'connection.not-redis', 'critical');
      assert.match(f.evidence, /HTTP/);
      assert.equal(report.exitCode, 2);
    } finally {
      http.close();
    }
  });
});

for (const engine of testEngines()) {
  describe(`doctor: refused logins and busy servers on ${engine.label}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ engine, args: ['--busy-reply-threshold', '100'] });
    });
    after(async () => {
      await server.stop();
    });

    test(`${engine.label}: TLS to a plain port is connection.tls`, async () => {
      const report = await doctor(`rediss://127.0.0.1:${server.port}`, { timeoutMs: 1000 });
      const f = expectFinding(report, 'connection.tls', 'critical');
      assert.match(f.fix, /redis:\/\//);
      assert.equal(report.exitCode, 2);
    });

    test(`${engine.label}: no password is connection.noauth, a wrong one connection.wrongpass`, async () => {
      expectFinding(await doctor(`redis://127.0.0.1:${server.port}`), 'connection.noauth', 'critical');
      const wrong = await doctor(`redis://ops:not-the-password@127.0.0.1:${server.port}`);
      expectFinding(wrong, 'connection.wrongpass', 'critical');
      assert.equal(wrong.exitCode, 2);
    });

    test(`${engine.label}: a user without INFO is connection.noperm`, async () => {
      const report = await doctor(urlAs(server, 'app'));
      expectFinding(report, 'connection.noperm', 'critical');
      assert.equal(report.exitCode, 2);
    });

    test(`${engine.label}: a stopped server (SIGSTOP) is connection.timeout`, async () => {
      process.kill(server.pid, 'SIGSTOP');
      try {
        const report = await doctor(urlAs(server, 'ops'), { timeoutMs: 500 });
        expectFinding(report, 'connection.timeout', 'critical');
        assert.equal(report.exitCode, 2);
      } finally {
        process.kill(server.pid, 'SIGCONT');
      }
    });

    test(`${engine.label}: a script that does not return is connection.busy, exit 1 (through the CLI, --password-file)`, async () => {
      const admin = await server.connect('admin');
      const runner = await server.connect('admin');
      const script = runner.sendCommand(['EVAL', 'local i = 0 while true do i = i + 1 end', '0']).catch((e: Error) => e);
      try {
        await until(async () => (await doctor(urlAs(server, 'ops'))).findings[0]?.id === 'connection.busy', 5000, 'BUSY');
        const passwordFile = join(server.dir, 'ops.password');
        writeFileSync(passwordFile, server.passwords.ops!, { mode: 0o600 });
        const run = await runCli(['doctor', '--url', `redis://ops@127.0.0.1:${server.port}`, '--password-file', passwordFile]);
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.match(run.stdout, /CRITICAL.*\[connection\.busy\]/);
        assert.match(run.stdout, /SCRIPT KILL/);
      } finally {
        await admin.sendCommand(['SCRIPT', 'KILL']);
        await script;
        await closeConnection(admin);
        await closeConnection(runner);
      }
    });
  });

  test(`${engine.label}: a server loading its data is connection.loading (anonymous) and server.loading (logged in)`, async () => {
    const guide = profile('guide');
    const server = await startTestServer({ engine, model: guide, args: ['--appendonly', 'no', '--enable-debug-command', 'local'] });
    let slow: StartedServer | undefined;
    try {
      const client = await server.connect();
      await client.sendCommand(['DEBUG', 'POPULATE', '10000', 'logs:load']);
      await client.sendCommand(['SAVE']);
      await closeConnection(client);
      await killTestServer(server);
      // each key waits 1 ms: loading would take 10 s (the test kills the server long before), answering -LOADING meanwhile
      slow = startRedisServer({
        server: engine.server,
        confPath: join(server.dir, 'redis.conf'),
        aclPath: join(server.dir, 'users.acl'),
        dataDir: server.dir,
        logPath: join(server.dir, 'slow.log'),
        args: ['--port', String(server.port), '--appendonly', 'no', '--key-load-delay', '1000', '--loading-process-events-interval-bytes', '1024'],
      });
      let probe: RedisConnection | undefined;
      await until(
        async () => {
          try {
            probe = await openConnection(server.endpoint(), { connectTimeoutMs: 1000 });
            return false;
          } catch (error) {
            return /LOADING/.test(`${(error as Error).message} ${((error as Error).cause as Error)?.message}`);
          }
        },
        5000,
        'LOADING',
      );
      if (probe) await closeConnection(probe);
      const anonymous = await doctor(`redis://127.0.0.1:${server.port}`);
      expectFinding(anonymous, 'connection.loading', 'critical');
      assert.equal(anonymous.exitCode, 1);
      const loggedIn = await doctor(`redis://default:any@127.0.0.1:${server.port}`);
      expectFinding(loggedIn, 'server.loading', 'critical');
      assert.equal(loggedIn.exitCode, 1);
    } finally {
      if (slow) {
        slow.child.ref();
        process.kill(slow.pid, 'SIGKILL');
        await slow.exited;
      }
      await server.stop();
    }
  });
}
