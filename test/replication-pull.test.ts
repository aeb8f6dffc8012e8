import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { takeBackup } from '../src/backup/index.js';
import { ConnectionError } from '../src/errors.js';
import { crc64Bytes, crc64Init, crc64Update } from '../src/rdb/index.js';
import { encodeCommand, RespDecoder, type RespReply } from '../src/resp/index.js';
import { pullRdb, PULL_ACL_RULES, type PulledRdb } from '../src/replication/index.js';
import { rdbMagic, rdbVersionWritten } from '../src/engine/index.js';
import { freePort } from '../src/runtime/index.js';
import { startTestServer, tempDir, testEngines, type TestEngine, type TestServer } from './helpers/redis.js';

/** CRC-64/Jones as Redis computes it (reflected, init 0, no final xor): a small table version. */
const CRC_TABLE = (() => {
  const poly = 0x95ac9329ac4bc9b5n; // 0xad93d23594c935a9 reflected
  const table: bigint[] = [];
  for (let i = 0n; i < 256n; i++) {
    let crc = i;
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
    table.push(crc);
  }
  return table;
})();

function crc64(bytes: Buffer): bigint {
  let crc = 0n;
  for (const byte of bytes) crc = CRC_TABLE[Number((crc ^ BigInt(byte)) & 0xffn)]! ^ (crc >> 8n);
  return crc;
}

/**
 * Header (the engine's own RDB version), EOF opcode and a matching CRC: the file is one whole RDB and
 * nothing else; the engine's own check-rdb accepts it.
 */
function assertWholeRdb(file: string, engine: TestEngine): Buffer {
  const bytes = readFileSync(file);
  assert.equal(bytes.subarray(0, 9).toString('latin1'), rdbMagic(rdbVersionWritten(engine.identity)!));
  assert.equal(bytes[bytes.length - 9], 0xff, 'the EOF opcode sits right before the 8-byte CRC');
  assert.equal(bytes.readBigUInt64LE(bytes.length - 8), crc64(bytes.subarray(0, bytes.length - 8)), 'CRC-64 matches');
  const check = execFileSync(engine.checkRdb ?? 'redis-check-rdb', [file], { encoding: 'utf8' });
  assert.match(check, /RDB looks OK/);
  return bytes;
}

/** A pull that aborts itself at the first keepalive: rejects with AbortError; how many waits it reported. */
async function waitsBeforeAbort(endpoint: Parameters<typeof pullRdb>[0]['endpoint']): Promise<number> {
  const controller = new AbortController();
  let waits = 0;
  const onWaiting = () => {
    waits++;
    controller.abort();
  };
  await assert.rejects(pullRdb({ endpoint, signal: controller.signal, onWaiting }), (e: Error) => e.name === 'AbortError');
  return waits;
}

async function expectConnectionError(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<ConnectionError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConnectionError, `a ConnectionError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    assert.equal(error.exitCode, 2);
    return error;
  }
  assert.fail(`expected ${code}`);
}

for (const engine of testEngines())
  describe(`pullRdb against ${engine.label}`, () => {
    let server: TestServer;
    const work = tempDir('nlr-pull-', engine.tempParent);

    before(async () => {
      server = await startTestServer({ engine, args: ['--repl-diskless-sync-delay', '0'] });
      const admin = await server.connect('admin');
      for (let db = 0; db < 3; db++) {
        await admin.sendCommand(['SELECT', String(db)]);
        for (let i = 0; i < 500; i++) await admin.sendCommand(['SET', `log:${db}:${i}`, `line ${i} `.repeat(i % 50)]);
        await admin.sendCommand(['RPUSH', `list:${db}`, ...Array.from({ length: 200 }, (_, i) => `item-${i}`)]);
        await admin.sendCommand(['SET', `ttl:${db}`, 'x', 'EX', '3600']);
      }
      await admin.sendCommand(['ACL', 'SETUSER', 'nosync', 'on', '>pw-nosync', '-@all', '+ping', '+info', '+replconf', '+psync']);
      await admin.sendCommand(['ACL', 'SETUSER', 'noinfo', 'on', '>pw-noinfo', '-@all', '+ping', '+sync', '+replconf', '+psync']);
      await admin.close();
    });
    after(async () => {
      await server?.stop();
      work.remove();
    });

    describe(`${engine.label}: diskless pull as the backup user`, () => {
      let pulled: PulledRdb;
      let file: string;
      let elapsed = 0;
      before(async () => {
        const started = Date.now();
        pulled = await pullRdb({ endpoint: server.endpoint('backup') });
        file = join(work.path, 'diskless.rdb');
        await pipeline(pulled.stream, createWriteStream(file));
        elapsed = Date.now() - started;
      });

      test(`${engine.label}: the header facts: mode, rdb-only, the server's engine, version, role and ids, INFO persistence`, () => {
        assert.equal(pulled.mode, 'diskless');
        assert.equal(pulled.declaredBytes, undefined);
        assert.equal(pulled.rdbOnly, true);
        assert.deepEqual(pulled.notes, []);
        assert.equal(pulled.server.engine, engine.identity.engine);
        assert.equal(pulled.server.version, engine.identity.version, "the engine's own version (Valkey's valkey_version, not its redis_version)");
        assert.equal(pulled.server.role, 'master');
        assert.match(pulled.server.runId, /^[0-9a-f]{40}$/);
        assert.match(pulled.server.replId, /^[0-9a-f]{40}$/);
        assert.equal(typeof pulled.server.replOffset, 'number');
        assert.equal(pulled.info.aof_enabled, '1', 'INFO persistence was read');
      });

      test(`${engine.label}: a whole RDB that redis-check-rdb reads: every key and expiry`, (t) => {
        assertWholeRdb(file, engine);
        assert.match(execFileSync(engine.checkRdb ?? 'redis-check-rdb', [file], { encoding: 'utf8' }), /1506 keys read\n\[info\] 3 expires/);
        t.diagnostic(`diskless pull of ${readFileSync(file).length} bytes: header after ${pulled.waitedMs} ms, done after ${elapsed} ms`);
      });

      test(`${engine.label}: nothing written on the server: no dump.rdb, no temp RDB`, () => {
        assert.ok(!existsSync(join(server.dir, 'dump.rdb')), 'no dump.rdb in the server directory');
        assert.deepEqual(
          readdirSync(server.dir).filter((f) => f.endsWith('.rdb')),
          [],
          'no temp RDB either',
        );
      });

      // repl-diskless-sync-delay 0: the transfer starts at SYNC, so no keepalive newline precedes it
      // (a pull that waited would have seen one a second)
      test(`${engine.label}: the server sends the RDB at once: no keepalive before it`, () => {
        assert.equal(pulled.keepalives, 0, `header after ${pulled.waitedMs} ms`);
      });
    });

    test(`${engine.label}: a password alone authenticates as the default user (refused here: default is off)`, async () => {
      const endpoint = { ...server.endpoint('backup'), username: undefined };
      await expectConnectionError(pullRdb({ endpoint }), 'E_AUTH', /authentication failed .* user "default"/);
    });

    test(`${engine.label}: wrong password: E_AUTH naming the user, never the password`, async () => {
      const endpoint = { ...server.endpoint('backup'), password: 'not-the-password' };
      const error = await expectConnectionError(
        pullRdb({ endpoint }),
        'E_AUTH',
        /authentication failed at redis:\/\/backup@127\.0\.0\.1:\d+ for user "backup"/,
      );
      assert.doesNotMatch(error.message, /not-the-password/);
    });

    test(`${engine.label}: no credentials on a server that needs them: E_AUTH saying how to give them`, async () => {
      const endpoint = { ...server.endpoint('backup'), username: undefined, password: undefined };
      await expectConnectionError(pullRdb({ endpoint }), 'E_AUTH', /requires authentication/);
    });

    test(`${engine.label}: a user without +sync: E_NOPERM naming the ACL rules the user needs`, async () => {
      const endpoint = { ...server.endpoint('backup'), username: 'nosync', password: 'pw-nosync' };
      const error = await expectConnectionError(pullRdb({ endpoint }), 'E_NOPERM', /user "nosync" is not allowed to run SYNC/);
      assert.ok(error.message.includes(PULL_ACL_RULES), error.message);
      assert.ok(error.message.includes(`ACL SETUSER nosync ${PULL_ACL_RULES}`));
      assert.equal(PULL_ACL_RULES, '+sync +psync +replconf +ping +info');
    });

    test(`${engine.label}: a user without +info is stopped at the first INFO, with the same advice`, async () => {
      const endpoint = { ...server.endpoint('backup'), username: 'noinfo', password: 'pw-noinfo' };
      const error = await expectConnectionError(pullRdb({ endpoint }), 'E_NOPERM', /not allowed to run INFO server/);
      assert.ok(error.message.includes(PULL_ACL_RULES));
    });

    test(`${engine.label}: nothing listening: E_UNREACHABLE`, async () => {
      const endpoint = { ...server.endpoint('backup'), port: await freePort() };
      await expectConnectionError(pullRdb({ endpoint }), 'E_UNREACHABLE', /connection refused/);
    });

    // The neurallog profile sets repl-diskless-sync-max-replicas 1, so with a delay the fork starts at
    // the next 1 Hz replication cron tick (one keepalive, 0.6-0.9 s); with max-replicas 0 the delay rules.
    test(`${engine.label}: keepalive newlines while the server waits (repl-diskless-sync-delay 2) are skipped and reported`, async () => {
      const admin = await server.connect('admin');
      await admin.sendCommand(['CONFIG', 'SET', 'repl-diskless-sync-delay', '2', 'repl-diskless-sync-max-replicas', '0']);
      try {
        const seen: number[] = [];
        const pulled = await pullRdb({ endpoint: server.endpoint('backup'), onWaiting: (n) => seen.push(n) });
        assert.ok(seen.length >= 1, 'at least one keepalive');
        assert.deepEqual(
          seen,
          seen.map((_, i) => i + 1),
        );
        assert.equal(pulled.keepalives, seen.length);
        // a lower bound the server guarantees (it waits repl-diskless-sync-delay 2 s), not a speed
        assert.ok(pulled.waitedMs >= 1000, `waited ${pulled.waitedMs} ms`);
        const file = join(work.path, 'delayed.rdb');
        await pipeline(pulled.stream, createWriteStream(file));
        assertWholeRdb(file, engine);
      } finally {
        await admin.sendCommand(['CONFIG', 'SET', 'repl-diskless-sync-delay', '0', 'repl-diskless-sync-max-replicas', '1']);
        await admin.close();
      }
    });

    test(`${engine.label}: an abort while the server prepares rejects the pull`, async () => {
      const admin = await server.connect('admin');
      await admin.sendCommand(['CONFIG', 'SET', 'repl-diskless-sync-delay', '5', 'repl-diskless-sync-max-replicas', '0']);
      try {
        // the server would go on waiting for 5 s with a keepalive a second: the pull stopped at the first
        assert.equal(await waitsBeforeAbort(server.endpoint('backup')), 1, 'no keepalive was read after the abort');
      } finally {
        await admin.sendCommand(['CONFIG', 'SET', 'repl-diskless-sync-delay', '0', 'repl-diskless-sync-max-replicas', '1']);
        await admin.close();
      }
    });

    test(`${engine.label}: disk-based replication (repl-diskless-sync no): mode disk, exactly the declared bytes, and the server wrote dump.rdb`, async () => {
      const admin = await server.connect('admin');
      await admin.sendCommand(['CONFIG', 'SET', 'repl-diskless-sync', 'no']);
      let pulled: PulledRdb;
      try {
        pulled = await pullRdb({ endpoint: server.endpoint('backup') });
      } finally {
        await admin.sendCommand(['CONFIG', 'SET', 'repl-diskless-sync', 'yes']);
        await admin.close();
      }
      assert.equal(pulled.mode, 'disk');
      assert.equal(pulled.rdbOnly, true);
      const file = join(work.path, 'disk.rdb');
      await pipeline(pulled.stream, createWriteStream(file));
      const bytes = assertWholeRdb(file, engine);
      assert.equal(bytes.length, pulled.declaredBytes);
      assert.ok(existsSync(join(server.dir, 'dump.rdb')), 'the server saved dump.rdb, as a BGSAVE would');
    });
  });

for (const engine of testEngines())
  describe(`pullRdb when ${engine.label} dies mid-transfer`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ engine, args: ['--enable-debug-command', 'local', '--repl-diskless-sync-delay', '0'] });
      const admin = await server.connect('admin');
      await admin.sendCommand(['DEBUG', 'POPULATE', '2000000']);
      await admin.close();
    });
    after(async () => server?.stop());

    test(`${engine.label}: SIGKILL after the first chunk: the stream errors with E_PULL_TRUNCATED; a slow consumer holds the socket`, async (t) => {
      const pulled = await pullRdb({ endpoint: server.endpoint('backup') });
      const reader = pulled.stream[Symbol.asyncIterator]();
      const first = await reader.next();
      assert.ok(!first.done && first.value.length > 0);
      // the consumer stops reading: the stream buffers at most its high-water mark plus a socket read,
      // while the RDB is ~50 MB
      await new Promise((resolve) => setTimeout(resolve, 300));
      const buffered = pulled.stream.readableLength;
      assert.ok(buffered < 2 * 1024 * 1024, `buffered ${buffered} bytes`);
      process.kill(server.pid, 'SIGKILL');
      let received = first.value.length as number;
      await assert.rejects(
        (async () => {
          for (;;) {
            const next = await reader.next();
            if (next.done) return;
            received += next.value.length;
          }
        })(),
        (error: unknown) => {
          assert.ok(error instanceof ConnectionError);
          assert.equal(error.code, 'E_PULL_TRUNCATED');
          assert.match(error.message, /closed after \d+ bytes of a diskless RDB, before its end-of-file mark: the copy is incomplete/);
          return true;
        },
      );
      assert.ok(received < 50_000_000, `received ${received} bytes before the stream failed`);
      t.diagnostic(`stream buffer while the consumer paused: ${buffered} bytes; received before the failure: ${received} bytes`);
    });
  });

/**
 * A scripted server, to reach what the real engines never do: an older server without rdb-only, payloads
 * dribbled a byte at a time, bytes after the payload, garbage, silence.
 */
async function scriptedServer(answer: (command: string[], socket: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    const decoder = new RespDecoder((reply: RespReply) =>
      answer(
        (reply as Buffer[]).map((b) => b.toString()),
        socket,
      ),
    );
    socket.on('data', (chunk: Buffer) => decoder.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const INFO_REPLY = (section: string): string => {
  const text =
    section === 'server'
      ? '# Server\r\nredis_version:6.2.14\r\nrun_id:' + 'r'.repeat(40) + '\r\n'
      : section === 'replication'
        ? '# Replication\r\nrole:master\r\nmaster_replid:' + 'f'.repeat(40) + '\r\nmaster_repl_offset:1234\r\n'
        : '# Persistence\r\nloading:0\r\n';
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
};

/** Writes bytes one per event-loop turn, so the client sees them in many separate reads. */
async function dribble(socket: Socket, bytes: Buffer): Promise<void> {
  for (const byte of bytes) {
    if (socket.destroyed) return;
    socket.write(Buffer.from([byte]));
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

function olderServer(payload: (socket: Socket) => void): (command: string[], socket: Socket) => void {
  return (command, socket) => {
    const name = command[0]!.toUpperCase();
    if (name === 'AUTH') socket.write('+OK\r\n');
    else if (name === 'INFO') socket.write(INFO_REPLY(command[1]!));
    else if (name === 'REPLCONF' && command[1] === 'rdb-only') socket.write('-ERR Unrecognized REPLCONF option: rdb-only\r\n');
    else if (name === 'REPLCONF') socket.write('+OK\r\n');
    else if (name === 'SYNC') payload(socket);
  };
}

async function readAll(pulled: PulledRdb): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of pulled.stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('pullRdb against scripted servers', () => {
  const rdb = Buffer.concat([Buffer.from('REDIS0009'), Buffer.alloc(100, 7), Buffer.from([0xff]), Buffer.alloc(8, 1)]);
  const mark = 'm'.repeat(40);

  test('a server that refuses and closes at once (protected mode, a full server) is reported by its refusal, not by the close', async () => {
    for (const [said, code, pattern] of [
      [
        '-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.',
        'E_DENIED',
        /refused us in protected mode/,
      ],
      ['-ERR max number of clients reached', 'E_PULL_REFUSED', /answered AUTH with an error: ERR max number of clients reached/],
    ] as const) {
      // as Redis does: the error on accept, then the close, whatever the client sends (read and
      // dropped, so that this end sees the client's close)
      const server = createServer((socket) => {
        socket.on('error', () => {});
        socket.resume();
        socket.end(`${said}\r\n`);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      try {
        await expectConnectionError(pullRdb({ endpoint: { host: '127.0.0.1', port, tls: false, db: 0, password: 'x' } }), code, pattern);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }
  });

  test('the handshake is one round trip: a server that answers only once it holds all six commands still gives its RDB', async () => {
    const held: Array<{ command: string[]; socket: Socket }> = [];
    const answerOlder = olderServer((socket) => socket.write(Buffer.concat([Buffer.from(`$EOF:${mark}\r\n`), rdb, Buffer.from(mark)])));
    const server = await scriptedServer((command, socket) => {
      if (command[0]!.toUpperCase() === 'SYNC') return answerOlder(command, socket);
      held.push({ command, socket });
      // AUTH, INFO x3, REPLCONF x2: a client that waited for each reply would wait here forever
      if (held.length === 6) for (const h of held) answerOlder(h.command, h.socket);
    });
    try {
      const pulled = await pullRdb({ endpoint: { host: '127.0.0.1', port: server.port, tls: false, db: 0, password: 'x' }, idleTimeoutMs: 2000 });
      assert.deepEqual(
        held.map((h) => h.command.slice(0, 2).join(' ')),
        ['AUTH x', 'INFO server', 'INFO replication', 'INFO persistence', 'REPLCONF capa', 'REPLCONF rdb-only'],
      );
      assert.equal(pulled.server.version, '6.2.14');
      assert.ok((await readAll(pulled)).equals(rdb));
    } finally {
      await server.close();
    }
  });

  test('keepalives that arrive together: an abort at the first stops the reading (one wait reported, not three)', async () => {
    // a stalled client reads several of the server's once-a-second newlines in one chunk
    const server = await scriptedServer(olderServer((socket) => socket.write('\n\n\n')));
    try {
      assert.equal(await waitsBeforeAbort({ host: '127.0.0.1', port: server.port, tls: false, db: 0, password: 'x' }), 1);
    } finally {
      await server.close();
    }
  });

  test('no rdb-only (an older server): noted; keepalives and a diskless payload dribbled byte by byte; ends at the mark without a close', async () => {
    const server = await scriptedServer(
      olderServer((socket) => {
        void (async () => {
          await dribble(socket, Buffer.from('\n\n\n'));
          await dribble(socket, Buffer.concat([Buffer.from(`$EOF:${mark}\r\n`), rdb, Buffer.from(mark)]));
          // an older server keeps the link as a replica stream: it must not leak into the RDB
          setTimeout(() => socket.write(encodeCommand(['PING'])), 50);
        })();
      }),
    );
    try {
      const seen: number[] = [];
      const pulled = await pullRdb({ endpoint: { host: '127.0.0.1', port: server.port, tls: false, db: 0, password: 'x' }, onWaiting: (n) => seen.push(n) });
      assert.equal(pulled.rdbOnly, false);
      assert.match(pulled.notes.join(), /refused REPLCONF rdb-only .*Unrecognized REPLCONF option/);
      assert.deepEqual(seen, [1, 2, 3]);
      assert.deepEqual(pulled.server, {
        engine: 'redis',
        version: '6.2.14',
        redisVersion: '6.2.14',
        runId: 'r'.repeat(40),
        role: 'master',
        replId: 'f'.repeat(40),
        replOffset: 1234,
      });
      assert.equal(pulled.mode, 'diskless');
      assert.ok((await readAll(pulled)).equals(rdb));
    } finally {
      await server.close();
    }
  });

  test('disk payload split at every byte, followed by replica-stream bytes: exactly the declared bytes', async () => {
    const server = await scriptedServer(
      olderServer((socket) => {
        void dribble(socket, Buffer.concat([Buffer.from('\n'), Buffer.from(`$${rdb.length}\r\n`), rdb, encodeCommand(['PING'])]));
      }),
    );
    try {
      const pulled = await pullRdb({ endpoint: { host: '127.0.0.1', port: server.port, tls: false, db: 0 } });
      assert.equal(pulled.mode, 'disk');
      assert.equal(pulled.declaredBytes, rdb.length);
      assert.ok((await readAll(pulled)).equals(rdb));
    } finally {
      await server.close();
    }
  });

  test('a disk payload cut short: the stream fails with E_PULL_TRUNCATED and the counts', async () => {
    const server = await scriptedServer(
      olderServer((socket) => {
        socket.end(Buffer.concat([Buffer.from(`$${rdb.length}\r\n`), rdb.subarray(0, 50)]));
      }),
    );
    try {
      const pulled = await pullRdb({ endpoint: { host: '127.0.0.1', port: server.port, tls: false, db: 0 } });
      await assert.rejects(
        readAll(pulled),
        (e: unknown) => e instanceof ConnectionError && e.code === 'E_PULL_TRUNCATED' && /closed after 50 of the 118 RDB bytes it announced/.test(e.message),
      );
    } finally {
      await server.close();
    }
  });

  test('a diskless payload whose mark never comes: E_PULL_TRUNCATED', async () => {
    const server = await scriptedServer(
      olderServer((socket) => {
        socket.end(Buffer.concat([Buffer.from(`$EOF:${mark}\r\n`), rdb]));
      }),
    );
    try {
      const pulled = await pullRdb({ endpoint: { host: '127.0.0.1', port: server.port, tls: false, db: 0 } });
      await assert.rejects(
        readAll(pulled),
        (e: unknown) => e instanceof ConnectionError && e.code === 'E_PULL_TRUNCATED' && /before its end-of-file mark/.test(e.message),
      );
    } finally {
      await server.close();
    }
  });

  test('large payloads in pieces of every size: the bytes exactly; a mark inside the data is not the end', async () => {
    // 3 MiB of data holding the mark itself at the end of one piece (an rdb-only server ends with a
    // close, so that is not taken for the end), written in pieces of 1 byte to 200 KiB
    const size = 3 << 20;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
    const markAt = 1_500_000;
    data.write(mark, markAt, 'latin1');
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const pieces = (bytes: Buffer): Buffer[] => {
      const out: Buffer[] = [];
      for (let at = 0; at < bytes.length;) {
        const n = at === 0 ? markAt + 40 : Math.max(1, Math.floor(random() ** 3 * 200_000));
        out.push(bytes.subarray(at, at + n));
        at += n;
      }
      return out;
    };
    const send = async (socket: Socket, parts: Buffer[]) => {
      for (const part of parts) {
        if (socket.destroyed) return;
        if (!socket.write(part)) await new Promise((resolve) => socket.once('drain', resolve));
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const modern = (payload: (socket: Socket) => Promise<void>) => {
      const older = olderServer((socket) => void payload(socket));
      return (command: string[], socket: Socket) => (command[0] === 'REPLCONF' && command[1] === 'rdb-only' ? socket.write('+OK\r\n') : older(command, socket));
    };
    const diskless = await scriptedServer(
      modern(async (socket) => {
        socket.write(`$EOF:${mark}\r\n`);
        await send(socket, pieces(Buffer.concat([data, Buffer.from(mark)])));
        socket.end();
      }),
    );
    const disk = await scriptedServer(
      modern(async (socket) => {
        socket.write(`$${size}\r\n`);
        await send(socket, pieces(data));
      }),
    );
    try {
      for (const server of [diskless, disk]) {
        const pulled = await pullRdb({ endpoint: { host: '127.0.0.1', port: server.port, tls: false, db: 0 } });
        assert.ok((await readAll(pulled)).equals(data), `${pulled.mode}: the payload exactly`);
      }
    } finally {
      await Promise.all([diskless.close(), disk.close()]);
    }
  });

  test('an rdb-only server that has not closed yet: the pull ends at the mark once its consumer has the whole RDB, not at other counts', async () => {
    let linkClosed = false;
    const server = await scriptedServer((command, socket) => {
      const name = command[0]!.toUpperCase();
      if (name === 'INFO') socket.write(INFO_REPLY(command[1]!));
      else if (name === 'REPLCONF') socket.write('+OK\r\n');
      else if (name === 'SYNC') {
        // the payload and its mark, and then the link stays open (a server still reaping its fork)
        socket.write(Buffer.concat([Buffer.from(`$EOF:${mark}\r\n`), rdb, Buffer.from(mark)]));
        socket.on('close', () => (linkClosed = true));
      }
    });
    try {
      const pulled = await pullRdb({ endpoint: { host: '127.0.0.1', port: server.port, tls: false, db: 0 } });
      assert.equal(pulled.rdbOnly, true);
      const chunks: Buffer[] = [];
      let got = 0;
      const ended = new Promise<void>((resolve, reject) => {
        pulled.stream.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          got += chunk.length;
          // another count is not the end: the pull goes on waiting
          pulled.rdbComplete(got - 1);
          if (got === rdb.length) pulled.rdbComplete(got);
        });
        pulled.stream.on('end', resolve);
        pulled.stream.on('error', reject);
      });
      // the link's own wait for the server to close is 2 s: a deadline well inside it
      const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the pull did not end at the confirmed mark')), 1500).unref());
      await Promise.race([ended, deadline]);
      assert.ok(Buffer.concat(chunks).equals(rdb), 'the RDB exactly, without the mark');
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(linkClosed, true, 'the pull closed the link itself');
    } finally {
      await server.close();
    }
  });

  test('a backup from an rdb-only server that has not closed yet ends once its verifier has the whole RDB', async () => {
    // an empty RDB 9: header, EOF opcode, the CRC-64 of both
    const body = Buffer.concat([Buffer.from('REDIS0009'), Buffer.from([0xff])]);
    const valid = Buffer.concat([body, crc64Bytes(crc64Update(crc64Init(), body))]);
    const server = await scriptedServer((command, socket) => {
      const name = command[0]!.toUpperCase();
      if (name === 'INFO') socket.write(INFO_REPLY(command[1]!));
      else if (name === 'REPLCONF') socket.write('+OK\r\n');
      // the payload and its mark; the link stays open (a server still reaping its fork)
      else if (name === 'SYNC') socket.write(Buffer.concat([Buffer.from(`$EOF:${mark}\r\n`), valid, Buffer.from(mark)]));
    });
    const dir = tempDir('nlr-pull-end-');
    try {
      const taken = takeBackup({
        source: { kind: 'replication', endpoint: { host: '127.0.0.1', port: server.port, tls: false, db: 0 } },
        toDir: dir.path,
        compression: 'none',
      });
      // without the verifier's word the pull would wait 2 s for the close: a deadline well inside that
      const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the backup did not end at the verified mark')), 1500).unref());
      const result = await Promise.race([taken, deadline]);
      assert.ok(readFileSync(result.path).equals(valid), 'the stored RDB is the payload without its mark');
      assert.equal(result.manifest.keyspace.keys, 0);
    } finally {
      await server.close();
      dir.remove();
    }
  });

  test('an error after keepalives (a failed BGSAVE), garbage instead of a header, and silence', async () => {
    const failing = await scriptedServer(olderServer((socket) => socket.write("\n\n-ERR BGSAVE failed, replication can't continue\r\n")));
    const garbage = await scriptedServer(olderServer((socket) => socket.write('hello\r\n')));
    const silent = await scriptedServer(olderServer(() => {}));
    const at = (port: number) => ({ host: '127.0.0.1', port, tls: false, db: 0 });
    try {
      await expectConnectionError(pullRdb({ endpoint: at(failing.port) }), 'E_SYNC_REFUSED', /refused SYNC: ERR BGSAVE failed/);
      await expectConnectionError(pullRdb({ endpoint: at(garbage.port) }), 'E_PROTOCOL', /SYNC answered "hello" instead of a payload header/);
      await expectConnectionError(
        pullRdb({ endpoint: at(silent.port), idleTimeoutMs: 300 }),
        'E_PULL_TIMEOUT',
        /sent nothing for 0.3 s during SYNC; the pull was given up/,
      );
    } finally {
      await Promise.all([failing.close(), garbage.close(), silent.close()]);
    }
  });
});
