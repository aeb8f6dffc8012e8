/**
 * Hardening (issue 12, items 9 and 10): a port that accepts and never answers, a port that is not
 * Redis, and TLS asked of a plain server all end promptly with exit 2 and a message that says which.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { closeConnection, openConnection } from '../src/connect/index.js';
import { startTestServer, testEngines } from './helpers/redis.js';
import { runCli } from './helpers/run-cli.js';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const cli = runCli;

describe('connections that would hang or mislead', () => {
  const silent = createServer(() => {
    // accepts and never says a word
  });
  const http = createServer((socket) => socket.on('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')));
  let silentPort = 0;
  let httpPort = 0;
  before(async () => {
    silentPort = await listen(silent);
    httpPort = await listen(http);
  });
  after(() => {
    silent.close();
    http.close();
    for (const s of [silent, http]) s.unref();
  });

  for (const password of [undefined, 'some-password']) {
    test(`item 9: a port that accepts and never answers ends at the handshake deadline (${password ? 'AUTH' : 'no password'})`, async () => {
      await assert.rejects(
        openConnection({ host: '127.0.0.1', port: silentPort, tls: false, db: 0, username: password && 'app', password }, { connectTimeoutMs: 1000 }),
        (e: Error & { code?: string; exitCode?: number }) => {
          assert.equal(e.code, 'E_TIMEOUT');
          assert.equal(e.exitCode, 2);
          assert.match(e.message, new RegExp(`no answer from 127\\.0\\.0\\.1:${silentPort} within 1 s`));
          return true;
        },
      );
    });
  }

  test('item 10: an HTTP server is "not a Redis server", exit 2, with what answered', async () => {
    for (const password of [undefined, 'pw']) {
      await assert.rejects(
        openConnection({ host: '127.0.0.1', port: httpPort, tls: false, db: 0, username: password && 'app', password }),
        (e: Error & { code?: string; exitCode?: number }) => {
          assert.equal(e.code, 'E_NOT_REDIS');
          assert.equal(e.exitCode, 2);
          assert.match(e.message, /is not a Redis server: an HTTP server answered \("HTTP\/1\.1 400 Bad Request"\)/);
          return true;
        },
      );
    }
  });

  test('item 10: rediss:// to a plain HTTP port says the TLS handshake failed and to use redis://', async () => {
    await assert.rejects(openConnection({ host: '127.0.0.1', port: httpPort, tls: true, db: 0 }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_TLS');
      assert.match(e.message, /TLS handshake failed .*use redis:\/\//);
      assert.doesNotMatch(e.message, /\n/, 'one line, not an OpenSSL dump');
      return true;
    });
  });

  test('item 9: CLI loadgen --url to a silent port exits 2 with "no answer" (default deadline)', async () => {
    const run = await cli(['loadgen', '--url', `redis://127.0.0.1:${silentPort}`, '--logs', '10']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /no answer from 127\.0\.0\.1:\d+ within 10 s/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });
});

for (const engine of testEngines()) {
  test(`item 10: rediss:// to a plain ${engine.label} names TLS and the redis:// fix`, async () => {
    const server = await startTestServer({ engine });
    try {
      await assert.rejects(
        openConnection({ ...server.endpoint('admin'), tls: true }, { connectTimeoutMs: 2000 }),
        (e: Error & { code?: string; exitCode?: number }) => {
          assert.ok(e.code === 'E_TLS' || e.code === 'E_TIMEOUT', `${e.code}: ${e.message}`);
          assert.equal(e.exitCode, 2);
          assert.match(e.message, /redis:\/\//);
          assert.doesNotMatch(e.message, new RegExp(server.passwords.admin!), 'no password in the message');
          return true;
        },
      );
    } finally {
      await server.stop();
    }
  });
}

for (const engine of testEngines()) {
  test(`${engine.label}: a handshake that finishes after its deadline is closed then (it kept \`up --topology\` from exiting)`, async () => {
    const server = await startTestServer({ engine });
    const admin = await server.connect('admin');
    try {
      // the server stopped: the kernel accepts the connection, AUTH waits in its queue
      process.kill(server.pid, 'SIGSTOP');
      try {
        await assert.rejects(openConnection(server.endpoint('admin'), { connectTimeoutMs: 300, name: 'late-handshake' }), { code: 'E_TIMEOUT' });
      } finally {
        process.kill(server.pid, 'SIGCONT');
      }
      // the server now answers AUTH and SETNAME; the client must go as soon as it has
      let clients = '';
      for (let i = 0; i < 100; i++) {
        clients = String(await admin.sendCommand(['CLIENT', 'LIST']));
        if (!clients.includes('name=late-handshake')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.doesNotMatch(clients, /name=late-handshake/, 'the late connection was closed');
    } finally {
      await closeConnection(admin);
      await server.stop();
    }
  });
}
