import assert from 'node:assert/strict';
import { createReadStream, createWriteStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { parseInfo, type RedisConnection } from '../src/connect/index.js';
import { encodeCommand, RespDecoder, type RespReply } from '../src/resp/index.js';
import { pullRdb, serveRdbAsMaster, type ReplicaInfo } from '../src/replication/index.js';
import { isAlive, sleep } from '../src/runtime/index.js';
import { killTestServer, restartTestServer, startTestServer, tempDir, testEngines, type TestServer } from './helpers/redis.js';

const DEBUG_ARGS = ['--enable-debug-command', 'local', '--repl-diskless-sync-delay', '0'];

async function info(client: RedisConnection, section: string): Promise<Record<string, string>> {
  return parseInfo(String(await client.sendCommand(['INFO', section])));
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function digest(client: RedisConnection): Promise<string> {
  return String(await client.sendCommand(['DEBUG', 'DIGEST']));
}

async function fill(client: RedisConnection, tag: string, keys: number): Promise<void> {
  for (let db = 0; db < 2; db++) {
    await client.sendCommand(['SELECT', String(db)]);
    for (let i = 0; i < keys; i++) await client.sendCommand(['SET', `${tag}:s:${i}`, `${tag}-value-${i}`]);
    await client.sendCommand(['RPUSH', `${tag}:list`, ...Array.from({ length: 300 }, (_, i) => `${tag}${i}`)]);
    await client.sendCommand(['HSET', `${tag}:hash`, 'a', '1', 'b', '2']);
    await client.sendCommand(['ZADD', `${tag}:zset`, '1', 'x', '2.5', 'y']);
    await client.sendCommand(['SADD', `${tag}:set`, '1', '2', '3']);
    await client.sendCommand(['SET', `${tag}:ttl`, 'soon', 'PX', '86400000']);
    await client.sendCommand(['XADD', `${tag}:stream`, '1-1', 'f', 'v']);
    await client.sendCommand(['XADD', `${tag}:stream`, '2-1', 'f', 'w']);
    await client.sendCommand(['XGROUP', 'CREATE', `${tag}:stream`, 'g', '0']);
    await client.sendCommand(['XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', `${tag}:stream`, '>']);
  }
  await client.sendCommand(['SELECT', '0']);
}

/** The replica side of the handshake over a raw socket: sends `steps`, collects bytes until `done`. */
async function fakeReplica(port: number, steps: Buffer[], done: (received: string) => boolean): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer; got ${JSON.stringify(received.slice(0, 300))}`));
    }, 5000);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (done(received)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received);
      }
    });
    socket.write(Buffer.concat(steps));
  });
}

describe('serveRdbAsMaster: the protocol, with a scripted replica', () => {
  test('PING, AUTH, REPLCONF, PSYNC get +PONG, +OK, +OK, +FULLRESYNC, then $len + the bytes, then PINGs; REPLCONF ACK gets nothing', async () => {
    const rdb = Buffer.from('REDIS0010 pretend these are RDB bytes');
    const connected: ReplicaInfo[] = [];
    const progress: number[] = [];
    const master = await serveRdbAsMaster({
      rdb: () => Readable.from([rdb.subarray(0, 10), rdb.subarray(10)]),
      rdbBytes: rdb.length,
      replId: 'a'.repeat(40),
      replOffset: 7,
      pingIntervalMs: 50,
      onReplicaConnected: (r) => connected.push(r),
      onTransferProgress: (b) => progress.push(b),
    });
    try {
      assert.equal(master.host, '127.0.0.1');
      const steps = [
        Buffer.from('PING\r\n'), // inline, as some clients send it
        encodeCommand(['AUTH', 'whoever', 'whatever']),
        encodeCommand(['REPLCONF', 'listening-port', '7777']),
        encodeCommand(['REPLCONF', 'capa', 'eof', 'capa', 'psync2']),
        encodeCommand(['PSYNC', '?', '-1']),
        encodeCommand(['REPLCONF', 'ACK', '0']),
      ];
      const expected = `+PONG\r\n+OK\r\n+OK\r\n+OK\r\n+FULLRESYNC ${'a'.repeat(40)} 7\r\n$${rdb.length}\r\n${rdb.toString('latin1')}*1\r\n$4\r\nPING\r\n`;
      const received = await fakeReplica(master.port, steps, (r) => r.length >= expected.length + 14);
      // after the payload only PINGs: nothing answers the REPLCONF ACK
      assert.equal(received, expected + '*1\r\n$4\r\nPING\r\n'.repeat((received.length - expected.length) / 14));
      await master.transferred;
      assert.deepEqual(progress, [10, rdb.length]);
      assert.equal(connected.length, 1);
      assert.equal(connected[0]!.listeningPort, 7777);
      assert.deepEqual(connected[0]!.capabilities, ['eof', 'psync2']);
      assert.equal(connected[0]!.command, 'PSYNC');
    } finally {
      await master.close();
    }
  });

  test('only the first PSYNC/SYNC gets the RDB: then the listener stops accepting, and a PSYNC on an older connection is refused', async () => {
    const rdb = Buffer.from('0123456789');
    const master = await serveRdbAsMaster({ rdb: () => Readable.from([rdb]), rdbBytes: rdb.length });
    try {
      const early = connect(master.port, '127.0.0.1');
      const replies: RespReply[] = [];
      let wake: () => void = () => {};
      const decoder = new RespDecoder((r) => {
        replies.push(r);
        wake();
      });
      const next = (count: number): Promise<void> => new Promise<void>((resolve) => (wake = () => replies.length >= count && resolve()));
      early.on('data', (c: Buffer) => decoder.write(c));
      let waiting = next(2);
      early.write(Buffer.concat([encodeCommand(['PING']), encodeCommand(['GET', 'x'])]));
      await waiting;
      assert.equal(replies[0], 'PONG');
      assert.match(String(replies[1]), /ERR unknown command 'GET': this listener only serves a restore/);

      const first = await fakeReplica(master.port, [encodeCommand(['SYNC'])], (r) => r.length >= 15);
      assert.ok(first.startsWith('$10\r\n0123456789'), `SYNC gets no +FULLRESYNC line: ${JSON.stringify(first)}`);
      await master.transferred;

      waiting = next(3);
      early.write(encodeCommand(['PSYNC', '?', '-1']));
      await waiting;
      assert.match(String(replies[2]), /ERR this restore listener serves one replica once/);
      early.destroy();
      await assert.rejects(
        fakeReplica(master.port, [encodeCommand(['PING'])], () => true),
        /ECONNREFUSED/,
      );
    } finally {
      await master.close();
    }
  });

  test('a source with fewer bytes than announced fails the transfer and drops the replica', async () => {
    const master = await serveRdbAsMaster({ rdb: () => Readable.from([Buffer.from('short')]), rdbBytes: 100 });
    try {
      const socket = connect(master.port, '127.0.0.1');
      const closed = new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('close', () => resolve(Buffer.concat(chunks)));
      });
      socket.write(encodeCommand(['PSYNC', '?', '-1']));
      await assert.rejects(master.transferred, /ended after 5 of the 100 bytes/);
      const got = (await closed).toString('latin1');
      assert.match(got, /^\+FULLRESYNC [0-9a-f]{40} 0\r\n\$100\r\n$/, 'the held-back (last) chunk was never sent');
    } finally {
      await master.close();
    }
  });
});

for (const engine of testEngines())
  describe(`serveRdbAsMaster: restoring a real ${engine.label} (replace)`, () => {
    let source: TestServer;
    let work: ReturnType<typeof tempDir>;
    let rdbFile: string;
    let digestA: string;

    before(async () => {
      work = tempDir('nlr-serve-', engine.tempParent);
      source = await startTestServer({ engine, args: DEBUG_ARGS });
      const admin = await source.connect('admin');
      await fill(admin, 'A', 2000);
      await admin.sendCommand(['FUNCTION', 'LOAD', "#!lua name=nl\nredis.register_function('nlf', function() return 1 end)"]);
      digestA = await digest(admin);
      await admin.close();
      const pulled = await pullRdb({ endpoint: source.endpoint('backup') });
      rdbFile = join(work.path, 'a.rdb');
      await pipeline(pulled.stream, createWriteStream(rdbFile));
    });
    after(async () => {
      await source?.stop();
      work?.remove();
    });

    test(`${engine.label}: REPLICAOF the fake master, then REPLICAOF NO ONE: the target holds exactly A, rewrote its AOF, and keeps A after SIGKILL + restart`, async (t) => {
      const target = await startTestServer({ engine, args: DEBUG_ARGS });
      let restartedPid: number | undefined;
      try {
        const admin = await target.connect('admin');
        await fill(admin, 'B', 500);
        const digestB = await digest(admin);
        assert.notEqual(digestB, digestA);
        const aofBefore = await info(admin, 'persistence');
        assert.equal(aofBefore.aof_enabled, '1');

        const rdbBytes = statSync(rdbFile).size;
        let progress = 0;
        const master = await serveRdbAsMaster({
          rdb: () => createReadStream(rdbFile, { highWaterMark: 16 * 1024 }),
          rdbBytes,
          onTransferProgress: (b) => (progress = b),
        });
        const started = Date.now();
        try {
          assert.equal(await admin.sendCommand(['REPLICAOF', '127.0.0.1', String(master.port)]), 'OK');
          await master.transferred;
          assert.equal(progress, rdbBytes);
          await until('the link to be up and the load done', async () => {
            const repl = await info(admin, 'replication');
            const persistence = await info(admin, 'persistence');
            return repl.master_link_status === 'up' && repl.master_sync_in_progress === '0' && persistence.loading === '0';
          });
          const loadedMs = Date.now() - started;
          assert.equal(await admin.sendCommand(['REPLICAOF', 'NO', 'ONE']), 'OK');
          t.diagnostic(`transfer + load of ${rdbBytes} bytes: ${loadedMs} ms`);
        } finally {
          await master.close();
        }
        assert.equal((await info(admin, 'replication')).role, 'master');
        assert.equal(await digest(admin), digestA, 'the target holds exactly A');
        assert.match(JSON.stringify(await admin.sendCommand(['FUNCTION', 'LIST'])), /"nl"/, 'functions came along');
        await until('the AOF rewrite to finish', async () => {
          const p = await info(admin, 'persistence');
          return p.aof_rewrite_in_progress === '0' && p.aof_rewrite_scheduled === '0';
        });
        const aofAfter = await info(admin, 'persistence');
        assert.equal(aofAfter.aof_last_bgrewrite_status, 'ok');
        assert.equal(aofAfter.aof_enabled, '1');
        const manifest = readFileSync(join(target.dir, 'appendonlydir', 'appendonly.aof.manifest'), 'utf8');
        assert.match(manifest, /file appendonly\.aof\.2\.base\.rdb seq 2 type b/, `a new AOF base was written:\n${manifest}`);
        assert.ok(readdirSync(target.dir).includes('dump.rdb'), 'the replica kept the received RDB as its dump.rdb');
        await admin.close();

        // kill -9 right after, start again on the same directory, conf and ACL file
        await killTestServer(target);
        restartedPid = (await restartTestServer(target, { args: DEBUG_ARGS })).pid;
        const again = await target.connect('admin');
        assert.equal(await digest(again), digestA, 'A survived SIGKILL and restart');
        assert.equal((await info(again, 'replication')).role, 'master');
        await again.close();
      } finally {
        if (restartedPid !== undefined && isAlive(restartedPid)) process.kill(restartedPid, 'SIGKILL');
        await target.stop();
      }
    });

    test(`${engine.label}: a source stream that fails half way: the replica never gets the last bytes and keeps B`, async () => {
      const target = await startTestServer({ engine, args: DEBUG_ARGS });
      try {
        const admin = await target.connect('admin');
        await fill(admin, 'B', 500);
        const digestB = await digest(admin);
        const bytes = readFileSync(rdbFile);
        const half = Math.floor(bytes.length / 2);
        const failing = (): Readable =>
          Readable.from(
            (async function* () {
              for (let at = 0; at < half; at += 8192) yield bytes.subarray(at, Math.min(at + 8192, half));
              await sleep(100);
              throw new Error('CRC mismatch at byte 12345 (simulated)');
            })(),
          );
        let progress = 0;
        const master = await serveRdbAsMaster({ rdb: failing, rdbBytes: bytes.length, onTransferProgress: (b) => (progress = b) });
        try {
          await admin.sendCommand(['REPLICAOF', '127.0.0.1', String(master.port)]);
          await assert.rejects(master.transferred, /CRC mismatch at byte 12345/);
          assert.ok(progress > 0 && progress < half, `${progress} bytes went out, less than the ${half} read`);
          // the replica notices the lost link and retries; it is refused, and never loads anything
          await until('the replica to see its link down', async () => (await info(admin, 'replication')).master_link_status === 'down');
          await sleep(1200);
          assert.equal((await info(admin, 'replication')).master_sync_in_progress, '0');
          assert.equal(await admin.sendCommand(['REPLICAOF', 'NO', 'ONE']), 'OK');
        } finally {
          await master.close();
        }
        assert.equal(await digest(admin), digestB, 'the target still holds exactly B');
        const log = readFileSync(join(target.dir, 'redis.log'), 'utf8');
        // Valkey says primary where Redis says master
        assert.match(log, /receiving \d+ bytes from (master|primary) to disk/);
        assert.match(log, /I\/O error trying to sync with (MASTER|PRIMARY): connection lost/);
        assert.doesNotMatch(log, /Loading DB in memory/);
        assert.deepEqual(
          readdirSync(target.dir).filter((f) => f.startsWith('temp-')),
          [],
          'no partial transfer file left behind',
        );
        await admin.close();
      } finally {
        await target.stop();
      }
    });
  });
