/**
 * Hardening (issue 12, item 2, the connect side): `--dir COPY` of a running deployment's copied
 * directory (`cp -a`) must not reach the original's server through the copied state.json: backup,
 * loadgen and restore refuse with "not running"; `url` still prints the address.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { testEngines, upTestDeployment } from './helpers/redis.js';
import { runCli } from './helpers/run-cli.js';

const cli = runCli;

for (const engine of testEngines()) {
  test(`item 2: ${engine.label}: --dir of a copied deployment refuses instead of acting on the original's server`, async () => {
    const original = await upTestDeployment({ engine });
    const copy = `${original.dir}-copy`;
    try {
      const admin = await original.connect('admin');
      await admin.sendCommand(['SET', 'logs:1', 'original']);
      const keysBefore = Number(await admin.sendCommand(['DBSIZE']));
      await admin.close();
      cpSync(original.dir, copy, { recursive: true });

      const backups = join(copy, 'backups');
      const backup = await cli(['backup', '--dir', copy, '--to', backups]);
      assert.equal(backup.code, 2, backup.stderr);
      assert.match(backup.stderr, /the deployment in .*-copy is not running: pid \d+ is the server of another directory/);
      assert.equal(backup.stdout, '');
      assert.ok(!existsSync(backups) || readdirSync(backups).length === 0, 'nothing was backed up');

      const load = await cli(['loadgen', '--dir', copy, '--logs', '10']);
      assert.equal(load.code, 2, load.stderr);
      assert.match(load.stderr, /is not running/);

      const url = await cli(['url', '--dir', copy, '--user', 'app']);
      assert.equal(url.code, 0, url.stderr);
      assert.match(url.stdout, /^redis:\/\/app@127\.0\.0\.1:\d+\n$/);

      const check = await original.connect('admin');
      assert.equal(Number(await check.sendCommand(['DBSIZE'])), keysBefore, "the original's data was not touched");
      await check.close();

      // the original's own --dir still works
      const own = await cli(['loadgen', '--dir', original.dir, '--logs', '10']);
      assert.equal(own.code, 0, own.stderr);
    } finally {
      rmSync(copy, { recursive: true, force: true });
      await original.cleanup();
    }
  });
}

test('a stopped deployment: --dir says "not running" and how to start it', async () => {
  const d = await upTestDeployment();
  try {
    await d.down();
    const run = await cli(['loadgen', '--dir', d.dir, '--logs', '1']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /is not running; start it with `neurallog-redis up --dir /);
  } finally {
    await d.cleanup();
  }
});
