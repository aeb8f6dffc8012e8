/**
 * Issue 12, item 1: a backup holding module data (a MODULE_AUX record and a `ReJSON-RL` value) restored
 * onto a server without the module. Such a server exits while loading, after dropping its data; the
 * restore must refuse before it changes anything, in every mode, within seconds.
 *
 * No module is installed on this machine, so the backup is hand-made with the test RDB writer
 * (test/fixtures/rdb/encode.ts): the parser and redis-check-rdb accept the module opcodes (see
 * test/rdb-legacy.test.ts), and the ids are those RedisJSON writes (type name `ReJSON-RL`).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { takeBackup } from '../src/backup/index.js';
import { closeConnection } from '../src/connect/index.js';
import { moduleVerdict } from '../src/restore/modules.js';
import { moduleId, rdbEncode as E } from './fixtures/rdb/encode.js';
import { startTestServer, tempDir, testEngines, type TestServer } from './helpers/redis.js';
import { runCliSync } from './helpers/run-cli.js';

const DEBUG = ['--enable-debug-command', 'local'];

const JSON_TYPE = moduleId('ReJSON-RL', 3);
const aux = (k: string, v: string) => Buffer.concat([Buffer.from([0xfa]), E.str(k), E.str(v)]);
const moduleAux = (when: 1 | 2) => Buffer.concat([Buffer.from([0xf7]), E.len(JSON_TYPE), E.len(2), E.len(when), E.len(2), E.len(0), E.len(0)]);

/** RDB 10 (every engine here loads it): module AUX before the keys, a plain string, then a ReJSON-RL value (a merge that checks late writes the string) */
function moduleRdb(withAux: boolean): Buffer {
  return E.file(10, [
    aux('redis-ver', '7.0.15'),
    ...(withAux ? [moduleAux(1)] : []),
    Buffer.from([0xfe]),
    E.len(0),
    E.record(0, 'plain', E.str('value')),
    E.record(7, 'json:doc', E.len(JSON_TYPE), E.len(5), E.str('{"level":"error"}'), E.len(0)),
  ]);
}

const cli = (args: string[], password: string) => runCliSync(args, { env: { NEURALLOG_REDIS_PASSWORD: password }, timeoutMs: 60_000 });

async function command(server: TestServer, ...args: string[]): Promise<unknown> {
  const c = await server.connect('admin');
  try {
    return await c.sendCommand(args);
  } finally {
    await closeConnection(c);
  }
}

describe('item 1: which modules a backup needs, against MODULE LIST', () => {
  const needs = { aux: ['ReJSON-RL'], values: { 'ReJSON-RL': 2 }, unnamedValues: 0 };
  test('item 1: a known type without its module is refused; with it (Redis or Valkey name) accepted', () => {
    assert.equal(moduleVerdict(needs, [])?.ok, false);
    assert.match(moduleVerdict(needs, [])!.message, /ReJSON-RL \(module ReJSON or json\)/);
    assert.equal(moduleVerdict(needs, ['bf'])?.ok, false);
    assert.equal(moduleVerdict(needs, ['ReJSON'])?.ok, true);
    assert.equal(moduleVerdict(needs, ['json'])?.ok, true);
    assert.equal(moduleVerdict({ aux: [], values: {}, unnamedValues: 0 }, []), undefined);
  });
  test('item 1: an unknown type needs some module the table does not account for; merge counts values only', () => {
    const custom = { aux: ['neurallog'], values: {}, unnamedValues: 0 };
    assert.equal(moduleVerdict(custom, [])?.ok, false);
    assert.equal(moduleVerdict(custom, ['bf'])?.ok, false);
    const taken = moduleVerdict(custom, ['mymodule'])!;
    assert.equal(taken.ok, true);
    assert.match(taken.note ?? '', /neurallog.*mymodule/);
    assert.equal(moduleVerdict(custom, [], { valuesOnly: true }), undefined);
  });
});

for (const engine of testEngines())
  describe(`item 1: a module-bearing backup onto ${engine.label} without the module`, () => {
    let server: TestServer;
    let dir: { path: string; remove(): void };
    let url: string;
    let password: string;
    let digestBefore: string;
    const files: Record<string, string> = {};

    before(async () => {
      server = await startTestServer({ engine, args: DEBUG });
      dir = tempDir('nlr-modules-', engine.tempParent);
      password = server.passwords.admin!;
      url = `redis://admin@127.0.0.1:${server.port}`;
      await command(server, 'SET', 'target:keep', 'mine');
      await command(server, 'HSET', 'target:hash', 'f', 'v');
      digestBefore = String(await command(server, 'DEBUG', 'DIGEST'));
      files.plain = join(dir.path, 'modules.rdb');
      writeFileSync(files.plain, moduleRdb(true));
      files.valuesOnly = join(dir.path, 'module-values.rdb');
      writeFileSync(files.valuesOnly, moduleRdb(false));
      // the same file through `backup --from-file`: a manifest that records the module AUX names and types
      const backup = await takeBackup({ source: { kind: 'file', path: files.plain }, toDir: join(dir.path, 'catalogued'), compression: 'gzip' });
      files.catalogued = backup.path;
      assert.deepEqual(backup.manifest.keyspace.moduleAux, ['ReJSON-RL']);
    });
    after(async () => {
      await server?.stop();
      dir?.remove();
    });

    const untouched = async () => {
      assert.equal(String(await command(server, 'DEBUG', 'DIGEST')), digestBefore, 'the target data changed');
      const role = String(await command(server, 'ROLE'));
      assert.match(role, /^master/);
    };

    for (const which of ['plain', 'catalogued'] as const) {
      test(`item 1 (${engine.label}): replace of ${which === 'plain' ? 'a plain RDB' : 'a catalogued backup'} is refused before any change, exit 2, within seconds`, async () => {
        const r = cli(['restore', files[which]!, '--url', url, '--yes'], password);
        assert.equal(r.code, 2, r.stderr);
        assert.ok(r.seconds < 20, `took ${r.seconds} s`);
        assert.match(r.stderr, /needs modules the target lacks: ReJSON-RL \(module ReJSON or json\)/);
        assert.match(r.stderr, /module AUX data of ReJSON-RL and module values \(1 ReJSON-RL\)|module AUX data of ReJSON-RL/);
        assert.match(r.stderr, /Nothing was changed/);
        await untouched();
      });
    }

    test(`item 1 (${engine.label}): --dry-run lists the module data and fails the check, exit 2`, async () => {
      const r = cli(['restore', files.plain!, '--url', url, '--dry-run', '--json'], password);
      assert.equal(r.code, 2, r.stderr);
      const plan = JSON.parse(r.stdout);
      const check = plan.checks.find((c: { what: string }) => /module/.test(c.what));
      assert.ok(check && !check.ok, r.stdout);
      assert.match(check.what, /module AUX data of ReJSON-RL and module values \(1 ReJSON-RL\)/);
      await untouched();
    });

    test(`item 1 (${engine.label}): merge refuses before its first write (module values, no AUX), exit 2`, async () => {
      const r = cli(['restore', files.valuesOnly!, '--url', url, '--mode', 'merge', '--on-conflict', 'skip', '--yes'], password);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /not merging: the backup needs modules the target lacks: ReJSON-RL/);
      assert.equal(await command(server, 'EXISTS', 'plain'), 0, 'the merge wrote a key');
      await untouched();
    });
  });
