/**
 * Every real engine here writes an RDB with every type and encoding it has, and the reader reads it
 * fed whole and one byte at a time, agreeing with what the server holds: keys per database, types,
 * values, key expiries, DUMP payloads byte for byte, each hash field's own expiry (Redis 8.0:
 * HSETEX / HPEXPIREAT, listpack and hashtable forms), listpack sets (7.2+), streams with groups and
 * PELs, a function library, several databases. The file is taken by replication (`redis-cli --rdb`,
 * what a backup does), not SAVE. The engine's own redis-check-rdb accepts the same file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rdbVersionWritten } from '../src/engine/index.js';
import { RDB_TYPE, RdbStreamParser } from '../src/rdb/index.js';
import { testEngines, type TestEngine } from './helpers/redis.js';
import {
  compareWithServer,
  LIBRARY,
  parse,
  plain,
  populateEveryType,
  redisCheckRdb,
  startRdbServer,
  type MiniClient,
  type Parsed,
  type RdbTestServer,
} from './rdb-helpers.js';

/** far enough ahead that nothing expires during the test */
const LATER = Date.now() + 7 * 86_400_000;

/** what this engine adds to populateEveryType: listpack sets (7.2+), hash field expiries (Redis 7.4+) */
async function populateEngineTypes(c: MiniClient, engine: TestEngine, rdb: number): Promise<string[]> {
  const keys: string[] = [];
  if (rdb >= 11) {
    await c.send('CONFIG', 'SET', 'set-max-listpack-entries', '128');
    await c.send('SADD', 'set:listpack', 'alpha', 'beta', '12', '-7', 'x'.repeat(40));
    await c.send('SADD', 'set:listpack-ttl', 'only');
    await c.send('PEXPIREAT', 'set:listpack-ttl', String(LATER));
    keys.push('set:listpack');
  }
  if (engine.identity.engine === 'redis' && rdb >= 12) {
    // listpack form (type 25): HSETEX with a field expiry, a field without one
    await c.send('HSETEX', 'hfe:listpack', 'PXAT', String(LATER), 'FIELDS', '2', 'a', '1', 'b', '2');
    await c.send('HSET', 'hfe:listpack', 'plain', 'no expiry');
    await c.send('HPEXPIREAT', 'hfe:listpack', String(LATER + 1000), 'FIELDS', '1', 'b');
    // hashtable form (type 24): 3,000 fields (> 64 KiB: read field by field without raw values), some
    // with expiries, which the file holds relative to the smallest
    const args: string[] = [];
    for (let i = 0; i < 3000; i++) args.push(`field:${i}`, `value:${i}:${'v'.repeat(i % 30)}`);
    await c.send('HSET', 'hfe:hashtable', ...args);
    await Promise.all(Array.from({ length: 429 }, (_, k) => c.send('HPEXPIREAT', 'hfe:hashtable', String(LATER + k * 7000), 'FIELDS', '1', `field:${k * 7}`)));
    // a hash whose only expiring field was made persistent again: no field expiry left (type 16 or 25)
    await c.send('HSET', 'hfe:persisted', 'f', 'v', 'g', 'w');
    await c.send('HPEXPIRE', 'hfe:persisted', '100000000', 'FIELDS', '1', 'f');
    await c.send('HPERSIST', 'hfe:persisted', 'FIELDS', '1', 'f');
    // and a key expiry on a hash with field expiries
    await c.send('HSETEX', 'hfe:both', 'PX', '86400000', 'FIELDS', '1', 'x', 'y');
    await c.send('PEXPIREAT', 'hfe:both', String(LATER + 5));
    keys.push('hfe:listpack', 'hfe:hashtable');
  }
  return keys;
}

/** the RDB the server sends a replica (redis-cli --rdb), as a backup takes it */
function pullWithCli(engine: TestEngine, server: RdbTestServer): Buffer {
  const path = join(server.dir, 'pulled.rdb');
  const run = spawnSync(engine.cli, ['-p', String(server.port), '--rdb', path], { encoding: 'utf8', cwd: server.dir, timeout: 60_000 });
  assert.equal(run.status, 0, `${engine.cli} --rdb: ${run.stdout}${run.stderr}`);
  return readFileSync(path);
}

for (const engine of testEngines()) {
  const rdbVersion = rdbVersionWritten(engine.identity)!;
  describe(`${engine.label}: every type and encoding it writes (RDB ${rdbVersion})`, () => {
    let server: RdbTestServer;
    let rdb: Buffer;
    let whole: Parsed;
    let special: string[];

    before(async () => {
      server = await startRdbServer([], undefined, engine);
      await populateEveryType(server.client);
      special = await populateEngineTypes(server.client, engine, rdbVersion);
      rdb = pullWithCli(engine, server);
      whole = parse(rdb);
    });
    after(async () => {
      await server?.stop();
    });

    test(`${engine.label}: header, version and the types it wrote`, () => {
      assert.equal(whole.summary.version, rdbVersion);
      assert.equal(whole.summary.header, `REDIS${String(rdbVersion).padStart(4, '0')}`);
      assert.equal(whole.summary.warningCount, 0);
      assert.equal(whole.summary.trailingBytes, 0);
      assert.equal(whole.summary.checksum.verified, true);
      const types = new Set(Object.keys(whole.summary.types).map(Number));
      const expected: number[] = [
        RDB_TYPE.STRING,
        RDB_TYPE.LIST_QUICKLIST_2,
        RDB_TYPE.SET_INTSET,
        RDB_TYPE.SET,
        RDB_TYPE.ZSET_LISTPACK,
        RDB_TYPE.ZSET_2,
        RDB_TYPE.HASH_LISTPACK,
        RDB_TYPE.HASH,
      ];
      expected.push(rdbVersion >= 11 ? RDB_TYPE.STREAM_LISTPACKS_3 : RDB_TYPE.STREAM_LISTPACKS_2);
      if (rdbVersion >= 11) expected.push(RDB_TYPE.SET_LISTPACK);
      if (engine.identity.engine === 'redis' && rdbVersion >= 12) expected.push(RDB_TYPE.HASH_LISTPACK_EX, RDB_TYPE.HASH_METADATA);
      for (const t of expected) assert.ok(types.has(t), `type ${t} not in the file (types: ${[...types].join(', ')})`);
      assert.equal(whole.functions.length, 1);
      assert.equal(whole.functions[0]!.toString(), LIBRARY);
      assert.deepEqual(Object.keys(whole.summary.databases), ['0', '1', '5']);
      const aux = new Map(whole.aux);
      assert.equal(aux.get(engine.identity.engine === 'valkey' ? 'valkey-ver' : 'redis-ver'), engine.identity.version);
    });

    test(`${engine.label}: fed one byte at a time (and in uneven pieces) the reader gives the same records and summary`, () => {
      const expected = plain(whole);
      assert.deepEqual(plain(parse(rdb, () => 1)), expected);
      let n = 0;
      assert.deepEqual(plain(parse(rdb, () => [7, 4096, 1, 65_537, 3][n++ % 5]!)), expected);
      // without raw values, large values (the 3,000-field hash with expiries too) are read element by element
      const lean = new RdbStreamParser({ rawValues: 'none' });
      for (let i = 0; i < rdb.length; i++) lean.write(rdb.subarray(i, i + 1));
      assert.deepEqual(lean.end(), whole.summary);
      // values up to 64 KiB are held whole, larger ones element by element (the 3,000-field hash is ~120 KB)
      assert.ok(lean.maxBufferedBytes < 65 * 1024, `kept ${lean.maxBufferedBytes} bytes`);
    });

    test(`${engine.label}: every record matches the server: values, expiries, field expiries, DUMP payloads`, async () => {
      await compareWithServer(server.client, whole, { resizeHints: false });
      for (const key of special)
        assert.ok(
          whole.records.some((r) => r.key.toString() === key),
          `${key} missing`,
        );
      const hfe = whole.records.filter((r) => r.type === RDB_TYPE.HASH_LISTPACK_EX || r.type === RDB_TYPE.HASH_METADATA);
      if (engine.identity.engine === 'redis' && rdbVersion >= 12) assert.ok(hfe.length >= 3, `${hfe.length} hashes with field expiries`);
    });

    test(`${engine.label}: its own ${engine.checkRdb?.split('/').pop() ?? 'redis-check-rdb'} accepts the same file`, { skip: !engine.checkRdb }, () => {
      const check = redisCheckRdb(rdb, engine);
      assert.equal(check.status, 0, check.stdout);
      assert.match(check.stdout, /RDB looks OK/);
    });
  });
}
