/**
 * What the real servers load, measured: each engine starts with a hand-made file as its dump.rdb.
 * The reader must agree: where the server loads a file that is not as servers write it (a stream
 * whose declared length differs from its entries, bytes after the checksum), the reader gives a
 * warning with the offset (an error with strict); where the server refuses, the reader refuses.
 * Hand-made files in formats the newer servers here read (types 20-25, SLOT_INFO) are loaded by them
 * before the reader's view of those bytes counts (test/rdb-formats.test.ts builds on them).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadsRdb, rdbVersionWritten } from '../src/engine/index.js';
import { RdbFormatError, RdbStreamParser, type RdbSummary } from '../src/rdb/index.js';
import { rdbEncode as E } from './fixtures/rdb/encode.js';
import {
  aux,
  fileWithHeader,
  hashListpackExValue,
  hashMetadataValue,
  setListpackValue,
  slotInfo,
  streamValue,
  type FieldSpec,
} from './fixtures/rdb/formats.js';
import { testEngines, type TestEngine } from './helpers/redis.js';
import { bufs, compareValue, MiniClient, startRdbServer, text } from './rdb-helpers.js';
import { decodeValue } from '../src/rdb/index.js';

/** starts `engine` on `rdb` as its dump.rdb: the running server, or the reason it refused (its log) */
async function load(
  engine: TestEngine,
  rdb: Buffer,
  args: string[] = [],
): Promise<{ loaded: true; client: MiniClient; stop(): Promise<void> } | { loaded: false; log: string }> {
  try {
    const server = await startRdbServer(args, rdb, engine);
    return { loaded: true, client: server.client, stop: () => server.stop() };
  } catch (error) {
    return { loaded: false, log: (error as Error).message };
  }
}

function readLenient(rdb: Buffer): RdbSummary {
  const parser = new RdbStreamParser({ source: 'dump.rdb' });
  parser.write(rdb);
  return parser.end();
}

function strictError(rdb: Buffer): string {
  const parser = new RdbStreamParser({ source: 'dump.rdb', strict: true });
  try {
    parser.write(rdb);
    parser.end();
  } catch (error) {
    assert.ok(error instanceof RdbFormatError, String(error));
    return error.message;
  }
  return 'ok';
}

const stringRecord = E.record(0, 'k', E.str('v'));
const future = Date.now() + 86_400_000;

for (const engine of testEngines()) {
  const own = rdbVersionWritten(engine.identity)!;
  describe(`what ${engine.label} loads (RDB ${own})`, () => {
    test(`${engine.label}: a stream whose declared length differs from its entries loads; the reader warns at the length's offset`, async () => {
      const value = streamValue({ entries: [10, 11], length: 3, version: 2, group: true });
      const items = [Buffer.from([0xfe, 0]), E.record(19, 'stream', value)];
      const rdb = E.file(own, items);
      const server = await load(engine, rdb);
      assert.equal(server.loaded, true, server.loaded ? '' : server.log);
      if (!server.loaded) return;
      try {
        assert.equal(await server.client.send('XLEN', 'stream'), 3, 'the server keeps the declared length');
        assert.equal(((await server.client.send('XRANGE', 'stream', '-', '+')) as unknown[]).length, 2);
      } finally {
        await server.stop();
      }
      const summary = readLenient(rdb);
      assert.equal(summary.warningCount, 1);
      const warning = summary.warnings[0]!;
      assert.equal(warning.code, 'stream-length');
      // the length follows the node count, the node key and the listpack
      const lengthAt = rdb.indexOf(value) + value.indexOf(E.len(3), 1 + 17);
      assert.equal(warning.offset, lengthAt);
      assert.match(
        warning.message,
        new RegExp(`^dump\\.rdb at byte ${lengthAt}: key "stream": stream declares length 3 but its listpacks hold 2 live entries`),
      );
      assert.match(strictError(rdb), /stream declares length 3 but its listpacks hold 2 live entries/);
    });

    test(`${engine.label}: bytes after the checksum (an AOF tail) are ignored by the server; the reader warns`, async () => {
      const rdb = E.file(own, [Buffer.from([0xfe, 0]), stringRecord]);
      const withTail = Buffer.concat([rdb, Buffer.from('*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n'), Buffer.alloc(100, 0x41)]);
      const server = await load(engine, withTail);
      assert.equal(server.loaded, true, server.loaded ? '' : server.log);
      if (!server.loaded) return;
      try {
        assert.equal(text(await server.client.send('GET', 'k')), 'v');
        assert.equal(await server.client.send('DBSIZE'), 1);
      } finally {
        await server.stop();
      }
      const summary = readLenient(withTail);
      assert.equal(summary.trailingBytes, withTail.length - rdb.length);
      assert.equal(summary.warnings[0]!.offset, rdb.length);
      assert.match(strictError(withTail), new RegExp(`at byte ${rdb.length}: \\d+ bytes follow the end of the RDB`));
    });

    test(`${engine.label}: a stream with a length but no listpacks is refused by the server and by the reader`, async () => {
      const rdb = E.file(own, [
        Buffer.from([0xfe, 0]),
        E.record(19, 'stream', Buffer.concat([E.len(0), E.len(1), E.len(5), E.len(0), E.len(0), E.len(0), E.len(0), E.len(0), E.len(1), E.len(0)])),
      ]);
      const server = await load(engine, rdb);
      if (server.loaded) await server.stop();
      assert.equal(server.loaded, false, 'the server loaded it');
      assert.throws(() => readLenient(rdb), /stream declares length 1 but has no listpacks/);
    });

    test(`${engine.label}: a later version than its own is refused, as engine/rdb-versions.ts says`, async () => {
      for (const [header, version] of [
        [`REDIS${String(own + 1).padStart(4, '0')}`, own + 1],
        ['VALKEY080', 80],
      ] as const) {
        if (version === own) continue;
        const server = await load(engine, fileWithHeader(header, [Buffer.from([0xfe, 0]), stringRecord]));
        if (server.loaded) await server.stop();
        assert.equal(server.loaded, false, `${header} loaded`);
        assert.equal(loadsRdb(engine.identity, version).loads, false);
      }
    });

    if (own >= 11) {
      test(`${engine.label}: hand-made RDB 11 types 20 (set listpack) and 21 (stream with active times) load as the reader reads them`, async () => {
        const items = [
          aux('redis-ver', '7.2.0'),
          Buffer.from([0xfe, 0]),
          E.record(20, 'set:lp', setListpackValue(['a', 'b', 7, -300])),
          E.record(21, 'stream:v3', streamValue({ entries: [5, 6, 9], version: 3, group: true })),
        ];
        await loadsAsRead(engine, E.file(11, items));
      });
    }

    if (own >= 12) {
      test(`${engine.label}: hand-made RDB 12 hashes with field expiries (types 22-25) and SLOT_INFO load as the reader reads them`, async () => {
        const fields: FieldSpec[] = [
          { field: 'a', value: '1', expireAt: future + 5000 },
          { field: 'b', value: '2' },
          { field: 'c', value: '3', expireAt: future },
        ];
        const items = [
          Buffer.from([0xfe, 0]),
          slotInfo(12182, 4, 0),
          E.record(24, 'h:meta', hashMetadataValue(fields)),
          E.record(25, 'h:lpex', hashListpackExValue(fields)),
          E.record(22, 'h:meta-pre-ga', hashMetadataValue(fields, true)),
          E.record(23, 'h:lpex-pre-ga', hashListpackExValue(fields, true)),
          E.record(25, 'h:lpex-none', hashListpackExValue([{ field: 'x', value: 'y' }])),
        ];
        await loadsAsRead(engine, E.file(12, items));
      });
    }

    if (engine.identity.engine === 'valkey') {
      test(`${engine.label}: rdb-version-check relaxed: Redis 7.4's RDB 12 is still refused; a later Valkey version is tried`, async () => {
        const redis12 = await load(engine, E.file(12, [Buffer.from([0xfe, 0]), stringRecord]), ['--rdb-version-check', 'relaxed']);
        if (redis12.loaded) await redis12.stop();
        assert.equal(redis12.loaded, false, 'RDB 12 loaded with relaxed');
        assert.equal(loadsRdb(engine.identity, 12, { relaxed: true }).loads, rdbVersionWritten(engine.identity)! >= 80);
        const valkey80 = await load(engine, fileWithHeader('VALKEY080', [Buffer.from([0xfe, 0]), stringRecord]), ['--rdb-version-check', 'relaxed']);
        assert.equal(valkey80.loaded, true, valkey80.loaded ? '' : valkey80.log);
        if (valkey80.loaded) {
          assert.equal(text(await valkey80.client.send('GET', 'k')), 'v');
          await valkey80.stop();
        }
        assert.equal(loadsRdb(engine.identity, 80, { relaxed: true }).loads, true);
        assert.equal(loadsRdb(engine.identity, 80).loads, false);
      });
    }
  });
}

/** `rdb` loads into `engine`, and every record the reader gives matches what the server holds */
async function loadsAsRead(engine: TestEngine, rdb: Buffer): Promise<void> {
  const records: Array<{ key: Buffer; type: number; value: Buffer }> = [];
  const parser = new RdbStreamParser({
    source: 'hand-made.rdb',
    onRecord: (r) => records.push({ key: Buffer.from(r.key), type: r.type, value: Buffer.from(r.value) }),
  });
  parser.write(rdb);
  const summary = parser.end();
  assert.equal(summary.warningCount, 0);
  const server = await load(engine, rdb);
  assert.equal(server.loaded, true, server.loaded ? '' : server.log);
  if (!server.loaded) return;
  try {
    assert.equal(await server.client.send('DBSIZE'), records.length);
    for (const r of records) await compareValue(server.client, r.key, decodeValue(r.type, r.value, { rdbVersion: summary.version }));
    assert.deepEqual(bufs(await server.client.send('KEYS', '*')).length, records.length);
  } finally {
    await server.stop();
  }
}
