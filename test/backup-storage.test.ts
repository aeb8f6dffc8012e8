/**
 * The storage layers of a backup, without a server: chunked authenticated encryption, compression,
 * atomic publication and the lock, file names, and the retention planner.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { planPrune, type CatalogEntry } from '../src/backup/catalog.js';
import { createCompressStream, createDecompressStream, gzipEngine } from '../src/backup/compression.js';
import { sha256OfFile } from '../src/backup/file-digest.js';
import { openPlainRdb } from '../src/backup/layers.js';
import { createDecryptStream, createEncryptStream, keyId, readKeyFile } from '../src/backup/encryption.js';
import { backupFileName, layersFromName, parseBackupFileName } from '../src/backup/naming.js';
import { lockDirectory } from '../src/backup/publish.js';
import { readManifest, type Manifest } from '../src/backup/manifest.js';
import { backupOrigin, describeOrigin, originFromRdb, shortOrigin } from '../src/backup/origin.js';
import { findOnPath } from '../src/runtime/index.js';
import { tempDir } from './helpers/redis.js';

async function through(input: Buffer, ...stages: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const chunks = [];
  for (let i = 0; i < input.length; i += 7919) chunks.push(input.subarray(i, i + 7919));
  await (pipeline as (...streams: unknown[]) => Promise<void>)(Readable.from(chunks), ...stages, async function* (source: AsyncIterable<Buffer>) {
    for await (const c of source) out.push(c);
  });
  return Buffer.concat(out);
}

describe('encryption: AES-256-GCM in chunks', () => {
  const key = randomBytes(32);
  for (const size of [0, 1, 100, 4096, 4097, 8192, 50_000]) {
    test(`round trip of ${size} bytes with 4 KiB chunks`, async () => {
      const plain = randomBytes(size);
      const sealed = await through(plain, createEncryptStream(key, 4096));
      if (size >= 32) assert.ok(!sealed.includes(plain.subarray(0, 32)), 'no plaintext run in the sealed bytes');
      assert.deepEqual(await through(sealed, createDecryptStream(key)), plain);
    });
  }

  test('a wrong key, a flipped byte, a truncation, a dropped last chunk and appended bytes are all refused', async () => {
    const plain = randomBytes(20_000);
    const sealed = await through(plain, createEncryptStream(key, 4096));
    await assert.rejects(through(sealed, createDecryptStream(randomBytes(32))), /fails authentication/);
    for (const offset of [0, 9, 20, 40, 5000, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[offset]! ^= 0x20;
      await assert.rejects(through(bad, createDecryptStream(key)), /E_BACKUP_DECRYPT|authentication|magic|chunk|version|truncated/i, `flip at ${offset}`);
    }
    for (const cut of [10, 29, 100, 4096 + 29 + 20, sealed.length - 1]) {
      await assert.rejects(through(sealed.subarray(0, cut), createDecryptStream(key)), /truncated|ends inside/, `cut at ${cut}`);
    }
    // drop the last chunk exactly at a chunk boundary: every earlier chunk was sealed as "not last"
    const firstChunkEnd = 29 + 4 + 4096 + 16;
    await assert.rejects(through(sealed.subarray(0, firstChunkEnd), createDecryptStream(key)), /truncated/);
    await assert.rejects(through(Buffer.concat([sealed, Buffer.from('xxxxxxxx')]), createDecryptStream(key)), /after the last chunk|chunk/);
  });

  test('key files: raw, hex, base64; refused when readable by others; ids are stable and not the key', () => {
    const temp = tempDir();
    try {
      const raw = join(temp.path, 'raw');
      writeFileSync(raw, key, { mode: 0o600 });
      const hex = join(temp.path, 'hex');
      writeFileSync(hex, `${key.toString('hex')}\n`, { mode: 0o600 });
      const b64 = join(temp.path, 'b64');
      writeFileSync(b64, key.toString('base64'), { mode: 0o600 });
      for (const f of [raw, hex, b64]) assert.deepEqual(readKeyFile(f), key);
      chmodSync(hex, 0o644);
      assert.throws(() => readKeyFile(hex), /readable by others/);
      const short = join(temp.path, 'short');
      writeFileSync(short, 'too short', { mode: 0o600 });
      assert.throws(() => readKeyFile(short), /32 random bytes/);
      assert.equal(keyId(key), keyId(Buffer.from(key)));
      assert.ok(!key.toString('hex').includes(keyId(key)));
    } finally {
      temp.remove();
    }
  });
});

describe('compression', () => {
  const data = Buffer.concat(Array.from({ length: 2000 }, (_, i) => Buffer.from(`logs:${i} {"level":"info","message":"hello ${i}"}\n`)));
  /** runs fn with NEURALLOG_REDIS_GZIP set (or unset) */
  async function withGzipEngine<T>(engine: 'zlib' | undefined, fn: () => Promise<T>): Promise<T> {
    const before = process.env.NEURALLOG_REDIS_GZIP;
    if (engine) process.env.NEURALLOG_REDIS_GZIP = engine;
    else delete process.env.NEURALLOG_REDIS_GZIP;
    try {
      return await fn();
    } finally {
      if (before === undefined) delete process.env.NEURALLOG_REDIS_GZIP;
      else process.env.NEURALLOG_REDIS_GZIP = before;
    }
  }
  const noIgzip = findOnPath('igzip') ? false : 'igzip (Debian package isal) is not installed';
  for (const kind of ['gzip', 'none', 'zstd'] as const) {
    test(`${kind} round trip`, { skip: kind === 'zstd' && !findOnPath('zstd') ? 'zstd is not installed' : false }, async () => {
      const packed = await through(data, createCompressStream(kind));
      if (kind !== 'none') assert.ok(packed.length < data.length / 3, `${kind} compresses`);
      assert.deepEqual(await through(packed, createDecompressStream(kind)), data);
    });
  }
  test('gzip: igzip and node:zlib each read what the other wrote (one format)', { skip: noIgzip }, async () => {
    assert.equal(gzipEngine(), 'igzip');
    const byIgzip = await through(data, createCompressStream('gzip'));
    const byZlib = await withGzipEngine('zlib', async () => {
      assert.equal(gzipEngine(), 'zlib');
      return through(data, createCompressStream('gzip'));
    });
    assert.notDeepEqual(byIgzip, byZlib, 'two different encoders ran');
    assert.deepEqual(gunzipSync(byIgzip), data);
    assert.deepEqual(await withGzipEngine('zlib', () => through(byIgzip, createDecompressStream('gzip'))), data);
    assert.deepEqual(await through(byZlib, createDecompressStream('gzip')), data);
  });
  for (const engine of ['zlib', undefined] as const) {
    test(`corrupt gzip is an error, not silence (${engine ?? 'igzip'})`, { skip: engine ? false : noIgzip }, () =>
      withGzipEngine(engine, async () => {
        const packed = await through(data, createCompressStream('gzip'));
        const bad = Buffer.from(packed);
        bad[packed.length >> 1]! ^= 0xff;
        await assert.rejects(through(bad, createDecompressStream('gzip')));
        await assert.rejects(through(packed.subarray(0, packed.length - 10), createDecompressStream('gzip')), /unexpected end|incorrect|invalid|igzip failed/i);
        await assert.rejects(through(Buffer.from('not gzip at all'), createDecompressStream('gzip')));
      }),
    );
  }
  test('a stored file is decompressed by name, and damage after the last byte still fails the stream', async () => {
    const temp = tempDir();
    try {
      for (const kind of ['gzip', 'zstd', 'none'] as const) {
        if (kind === 'zstd' && !findOnPath('zstd')) continue;
        const file = join(temp.path, `f.${kind}`);
        const packed = await through(data, createCompressStream(kind));
        writeFileSync(file, packed);
        assert.deepEqual(await collect(openPlainRdb(file, { compression: kind, encrypted: false }, undefined)), data, kind);
        if (kind === 'none') continue;
        // the last 4 bytes of both formats are a checksum/size of what came before: every data byte
        // is out before the program can tell the file is damaged
        const bad = Buffer.from(packed);
        bad[bad.length - 2]! ^= 0x55;
        writeFileSync(file, bad);
        await assert.rejects(collect(openPlainRdb(file, { compression: kind, encrypted: false }, undefined)), /failed \(exit/);
      }
    } finally {
      temp.remove();
    }
  });
  test('a reader that stops early stops the decompressing program (the process can exit)', async () => {
    const temp = tempDir();
    try {
      const file = join(temp.path, 'big.gz');
      writeFileSync(file, await through(Buffer.alloc(64 << 20, 'x'), createCompressStream('gzip')));
      const module = pathToFileURL(join(import.meta.dirname, '..', 'src', 'backup', 'layers.ts')).href;
      const code = `const { openPlainRdb } = await import(${JSON.stringify(module)});
const plain = openPlainRdb(${JSON.stringify(file)}, { compression: 'gzip', encrypted: false }, undefined);
plain.once('data', () => { plain.destroy(); console.log('stopped'); });
plain.on('error', () => undefined);`;
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.signal, null, 'the process exited on its own (no program left holding it)');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /stopped/);
    } finally {
      temp.remove();
    }
  });

  test('SHA-256 of a file: openssl and the in-process reader agree', { skip: findOnPath('openssl') ? false : 'openssl is not installed' }, async () => {
    const temp = tempDir();
    try {
      const file = join(temp.path, 'f');
      writeFileSync(file, data);
      const expected = createHash('sha256').update(data).digest('hex');
      assert.equal(await sha256OfFile(file), expected);
      process.env.NEURALLOG_REDIS_SHA = 'node';
      try {
        assert.equal(await sha256OfFile(file), expected);
      } finally {
        delete process.env.NEURALLOG_REDIS_SHA;
      }
      await assert.rejects(sha256OfFile(join(temp.path, 'missing')), /missing/);
      // a name openssl would take for an option, or print escaped
      const odd = join(temp.path, '-odd\nname');
      writeFileSync(odd, data);
      assert.equal(await sha256OfFile(odd), expected);
    } finally {
      temp.remove();
    }
  });
});

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c as Buffer);
  return Buffer.concat(out);
}

describe('names and the lock', () => {
  test('file names carry time, compression and encryption', () => {
    const d = new Date(Date.UTC(2026, 10, 26, 1, 2, 3));
    assert.equal(backupFileName(d, 'gzip', false), 'redis-backup-20261126T010203Z.rdb.gz');
    assert.equal(backupFileName(d, 'zstd', true, 2), 'redis-backup-20261126T010203Z-2.rdb.zst.enc');
    assert.equal(backupFileName(d, 'none', false), 'redis-backup-20261126T010203Z.rdb');
    assert.deepEqual(parseBackupFileName('redis-backup-20261126T010203Z.rdb.gz'), { timestamp: '20261126T010203Z', compression: 'gzip', encrypted: false });
    assert.equal(parseBackupFileName('.redis-backup-20261126T010203Z.rdb.gz.123.tmp'), undefined);
    assert.deepEqual(layersFromName('/x/dump.rdb'), { compression: 'none', encrypted: false });
    assert.deepEqual(layersFromName('a.rdb.zst.enc'), { compression: 'zstd', encrypted: true });
  });

  test('a lock keeps two writers apart; a stale lock is taken over', () => {
    const temp = tempDir();
    try {
      const lock = lockDirectory(temp.path);
      writeFileSync(lock.path, '1\n'); // pid 1 (init) is alive: someone else holds it
      assert.throws(() => lockDirectory(temp.path), /another backup \(pid 1\)/);
      writeFileSync(lock.path, '999999999\n');
      const again = lockDirectory(temp.path);
      again.release();
      assert.equal(existsSync(again.path), false);
      assert.deepEqual(readdirSync(temp.path), []);
    } finally {
      temp.remove();
    }
  });
});

describe('retention planning', () => {
  function entry(iso: string, ok = true): CatalogEntry {
    const takenAt = new Date(iso);
    return {
      file: `redis-backup-${iso}.rdb.gz`,
      path: `/b/${iso}`,
      takenAt,
      storedBytes: 1,
      manifest: ok ? ({ verified: true } as Manifest) : undefined,
      problem: ok ? undefined : 'no manifest',
    };
  }
  const entries = [
    entry('2026-09-30T12:00:00Z'),
    entry('2026-10-31T12:00:00Z'),
    entry('2026-11-20T12:00:00Z'),
    entry('2026-11-24T01:00:00Z'),
    entry('2026-11-24T13:00:00Z'),
    entry('2026-11-25T01:00:00Z'),
    entry('2026-11-25T13:00:00Z'),
    entry('2026-11-26T01:00:00Z'),
    entry('2026-11-26T02:00:00Z', false),
  ];

  test('keep-last keeps the newest N verified; unjudgeable files are left alone', () => {
    const plan = planPrune(entries, { keepLast: 2 });
    assert.deepEqual(
      plan.keep.map((k) => k.entry.takenAt.toISOString()),
      ['2026-11-26T01:00:00.000Z', '2026-11-25T13:00:00.000Z'],
    );
    assert.equal(plan.remove.length, 6);
    assert.equal(plan.untouched.length, 1);
  });

  test('daily, weekly and monthly keep the newest of each period', () => {
    const plan = planPrune(entries, { daily: 3, weekly: 2, monthly: 3 });
    const kept = plan.keep.map((k) => k.entry.takenAt.toISOString().slice(0, 13));
    assert.deepEqual(kept, ['2026-11-26T01', '2026-11-25T13', '2026-11-24T13', '2026-11-20T12', '2026-10-31T12', '2026-09-30T12']);
  });

  test('the newest verified backup is never removed, and a policy is required', () => {
    const plan = planPrune(entries, { daily: 1 });
    assert.ok(plan.keep.some((k) => k.reasons.includes('newest verified')));
    assert.throws(() => planPrune(entries, {}), /say what to keep/);
  });
});

describe('manifests across engines', () => {
  /** a manifest as format 1 wrote it before engines were told apart (Redis 7.0 era): no origin, no source.engine */
  const legacy = {
    format: 1,
    tool: 'neurallog-redis',
    file: 'redis-backup-20261126T012233Z.rdb.gz',
    createdAt: '2026-11-26T01:22:33.000Z',
    durationSeconds: 0.4,
    source: {
      kind: 'replication',
      address: 'redis://backup@10.0.0.5:6379',
      role: 'master',
      redisVersion: '7.0.15',
      runId: 'r'.repeat(40),
      replId: 'f'.repeat(40),
      replOffset: 12,
      transfer: 'diskless',
      serverWroteDump: false,
    },
    rdb: { version: 10, bytes: 1000, crc64: '0123456789abcdef', checksumVerified: true, redisVersion: '7.0.15', ctime: 1, usedMemory: 2 },
    stored: { bytes: 500, sha256: 'a'.repeat(64), compression: 'gzip', encryption: null },
    keyspace: { keys: 3, expires: 0, databases: { '0': { keys: 3, expires: 0 } }, kinds: { string: 3 }, functions: 0 },
    verified: true,
  };

  test('an older manifest still reads, as Redis of its redisVersion; a new one names the engine, Valkey by its own version', () => {
    const temp = tempDir();
    try {
      const path = join(temp.path, 'old.manifest.json');
      writeFileSync(path, JSON.stringify(legacy));
      const old = readManifest(path);
      assert.equal(old.origin, undefined);
      assert.deepEqual(backupOrigin(old), { identity: { engine: 'redis', version: '7.0.15' }, rdbVersion: 10, identifiedBy: 'info' });
      assert.equal(describeOrigin(backupOrigin(old)), 'Redis 7.0.15, RDB 10');
      // a --from-file manifest of that era: the RDB's redis-ver
      const fromFile = { ...legacy, source: { kind: 'file', path: '/x/dump.rdb', transfer: 'file', serverWroteDump: false } };
      writeFileSync(path, JSON.stringify(fromFile));
      assert.deepEqual(backupOrigin(readManifest(path)), { identity: { engine: 'redis', version: '7.0.15' }, rdbVersion: 10, identifiedBy: 'rdb-aux' });
      // nothing to say who wrote it
      const anonymous = { ...fromFile, rdb: { ...legacy.rdb, redisVersion: undefined } };
      writeFileSync(path, JSON.stringify(anonymous));
      assert.deepEqual(backupOrigin(readManifest(path)), { rdbVersion: 10, identifiedBy: 'unknown' });
      assert.equal(describeOrigin(backupOrigin(readManifest(path))), 'RDB 10 (Redis 7.0), writer unknown');
      // today's: Valkey's own version, never the redis_version 7.2.4 it shows old clients
      const valkey = {
        ...legacy,
        source: { ...legacy.source, redisVersion: '7.2.4', engine: 'valkey', version: '8.1.1' },
        origin: { engine: 'valkey', version: '8.1.1', rdbVersion: 11, identifiedBy: 'info' },
        rdb: { ...legacy.rdb, version: 11, redisVersion: undefined },
      };
      writeFileSync(path, JSON.stringify(valkey));
      const m = readManifest(path);
      assert.deepEqual(backupOrigin(m), { identity: { engine: 'valkey', version: '8.1.1' }, rdbVersion: 11, identifiedBy: 'info' });
      assert.equal(shortOrigin(backupOrigin(m)), 'valkey 8.1.1');
      // the writer of a file from its aux fields
      assert.deepEqual(originFromRdb(11, { 'valkey-ver': '8.1.1' }), {
        identity: { engine: 'valkey', version: '8.1.1' },
        rdbVersion: 11,
        identifiedBy: 'rdb-aux',
      });
      assert.deepEqual(originFromRdb(12, { 'redis-ver': '8.0.2' }).identity, { engine: 'redis', version: '8.0.2' });
    } finally {
      temp.remove();
    }
  });
});
