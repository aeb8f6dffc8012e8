/**
 * resp/'s request/reply client (RespClient), the one the topology lookups (discover/) use: replies as
 * node-redis maps them, refusals read as connect/'s errors, every wait within its deadline, replies
 * that arrive a byte at a time; on every engine of the matrix.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RespClient, RespReplyError } from '../src/resp/index.js';
import { startTestServer, testEngines, type TestServer } from './helpers/redis.js';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const local = (port: number, username?: string, password?: string) => ({ host: '127.0.0.1', port, tls: false, db: 0, username, password });

type Failure = Error & { code?: string; exitCode?: number };

for (const engine of testEngines()) {
  describe(`RespClient on ${engine.label}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ engine });
    });
    after(async () => {
      await server?.stop();
    });

    test(`${engine.label}: replies as node-redis maps them; an error reply rejects with the server's text`, async () => {
      const client = await RespClient.open(server.endpoint('admin'));
      try {
        assert.equal(await client.sendCommand(['SET', 'rc:k', 'välue']), 'OK');
        assert.equal(await client.sendCommand(['GET', 'rc:k']), 'välue');
        assert.equal(await client.sendCommand(['GET', 'rc:none']), null);
        assert.equal(await client.sendCommand(['RPUSH', 'rc:l', 'a', 'b']), 2);
        assert.deepEqual(await client.sendCommand(['LRANGE', 'rc:l', '0', '-1']), ['a', 'b']);
        assert.match(await client.info('server'), /^# Server\r\n/);
        // call(): the decoder's own values (bulk strings as bytes, an error as a value)
        assert.deepEqual(await client.call(['GET', 'rc:k']), Buffer.from('välue'));
        await assert.rejects(client.sendCommand(['LPUSH', 'rc:k', 'x']), (e: RespReplyError) => {
          assert.ok(e instanceof RespReplyError);
          assert.equal(e.kind, 'WRONGTYPE');
          return true;
        });
        // the connection stays in step after an error reply
        assert.equal(await client.sendCommand(['PING']), 'PONG');
      } finally {
        await client.close();
      }
    });

    test(`${engine.label}: refusals: a wrong password, no password, a missing right`, async () => {
      await assert.rejects(RespClient.open(local(server.port, 'admin', 'wrong')), (e: Failure) => {
        assert.equal(e.code, 'E_AUTH');
        assert.equal(e.exitCode, 2);
        assert.match(e.message, /authentication failed .* for user "admin"/);
        return true;
      });
      await assert.rejects(RespClient.open(local(server.port)), (e: Failure) => e.code === 'E_AUTH' && /requires authentication/.test(e.message));
      // the app user may not run INFO: the reply is rejected, the client goes on
      const app = await RespClient.open(server.endpoint('app'));
      try {
        await assert.rejects(app.info('server'), (e: RespReplyError) => e.kind === 'NOPERM');
        assert.equal(await app.sendCommand(['SET', 'logs:rc-app', '1']), 'OK');
      } finally {
        app.destroy();
      }
    });

    test(`${engine.label}: a command past its deadline fails, and so does every command after it`, async () => {
      const client = await RespClient.open(server.endpoint('admin'), { commandTimeoutMs: 300 });
      try {
        // BLPOP would answer null after 1 s: a rejection with E_TIMEOUT is the deadline's doing
        await assert.rejects(
          client.sendCommand(['BLPOP', 'rc:empty', '1']),
          (e: Failure) => e.code === 'E_TIMEOUT' && /no answer from 127\.0\.0\.1:\d+ within 300 ms/.test(e.message),
        );
        await assert.rejects(client.sendCommand(['PING']), (e: Failure) => e.code === 'E_TIMEOUT');
      } finally {
        client.destroy();
      }
    });
  });
}

describe('RespClient against servers that are not Redis, or are slow', () => {
  const silent = createServer(() => {
    // accepts and never says a word
  });
  const http = createServer((socket) => socket.on('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')));
  // answers every command, one byte per write: the decoder sees each reply in pieces
  const dribble = createServer((socket: Socket) => {
    socket.setNoDelay(true);
    socket.on('data', async (chunk: Buffer) => {
      const commands = chunk.toString('latin1').split('*').length - 1;
      for (let i = 0; i < commands; i++) {
        for (const byte of Buffer.from('*2\r\n$5\r\nhello\r\n:42\r\n')) {
          socket.write(Buffer.from([byte]));
          await new Promise((r) => setImmediate(r));
        }
      }
    });
  });
  const ports = { silent: 0, http: 0, dribble: 0 };
  before(async () => {
    ports.silent = await listen(silent);
    ports.http = await listen(http);
    ports.dribble = await listen(dribble);
  });
  after(() => {
    for (const s of [silent, http, dribble]) {
      s.close();
      s.unref();
    }
  });

  test('a port that accepts and never answers ends at the handshake deadline', async () => {
    await assert.rejects(RespClient.open(local(ports.silent, 'app', 'pw'), { connectTimeoutMs: 500 }), (e: Failure) => {
      assert.equal(e.code, 'E_TIMEOUT');
      assert.match(e.message, new RegExp(`no answer from 127\\.0\\.0\\.1:${ports.silent}`));
      return true;
    });
  });

  test('an HTTP server is "not a Redis server", with what answered', async () => {
    for (const password of [undefined, 'pw']) {
      await assert.rejects(RespClient.open(local(ports.http, password && 'app', password)), (e: Failure) => {
        assert.equal(e.code, 'E_NOT_REDIS');
        assert.match(e.message, /is not a Redis server: an HTTP server answered/);
        return true;
      });
    }
  });

  test('replies that arrive a byte at a time are read whole, in order', async () => {
    const client = await RespClient.open(local(ports.dribble));
    try {
      const replies = await Promise.all([client.sendCommand(['X']), client.sendCommand(['Y'])]);
      assert.deepEqual(replies, [
        ['hello', 42],
        ['hello', 42],
      ]);
    } finally {
      client.destroy();
    }
  });
});
