/**
 * The installed command, bin/neurallog-redis, runs the esbuild bundle in dist/bundle (scripts/bundle-cli.mjs),
 * not the sources the other tests run through tsx. These tests run the bundle itself, so that a module
 * the bundler dropped or a chunk that fails to load shows here: every command's help (each command is a
 * lazily loaded chunk), and a deployment's life and a backup end to end against real redis-server.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../src/runtime/index.js';
import { tempDir } from './helpers/redis.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'neurallog-redis');

function bin(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the bundled command (bin/neurallog-redis -> dist/bundle)', () => {
  test('is built, and reports the package version', () => {
    assert.ok(existsSync(join(ROOT, 'dist', 'bundle', 'main.js')), 'dist/bundle/main.js is missing: `npm run build` makes it');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = bin(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  test('every command and subcommand loads and prints its help', () => {
    const top = bin(['--help']);
    assert.equal(top.code, 0, top.stderr);
    const commands = [...top.stdout.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    assert.ok(commands.includes('backup') && commands.includes('restore') && commands.includes('up'), `commands found: ${commands.join(' ')}`);
    for (const command of commands) {
      const r = bin([command, '--help']);
      assert.equal(r.code, 0, `${command} --help: ${r.stderr}`);
      const subs = [...r.stdout.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
      if (!/^Commands:/m.test(r.stdout)) continue;
      for (const sub of subs) {
        const s = bin([command, sub, '--help']);
        assert.equal(s.code, 0, `${command} ${sub} --help: ${s.stderr}`);
      }
    }
  });

  test('with --debug, the stack trace of an error names the TypeScript sources (source maps of the bundle)', () => {
    const r = bin(['backups', 'verify', join(ROOT, 'no-such-backup.rdb.gz'), '--debug']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /does not exist/);
    assert.match(r.stderr, /src\/backup\/verify\.ts:\d+/, r.stderr);
    const plain = bin(['backups', 'verify', join(ROOT, 'no-such-backup.rdb.gz')]);
    assert.doesNotMatch(plain.stderr, /\n\s+at /, 'no stack trace without --debug');
  });

  describe('against real redis-server', () => {
    const temp = tempDir('nlr-bundle-');
    const dep = join(temp.path, 'dep');
    let port = 0;
    before(async () => {
      port = await freePort();
      const up = bin(['up', '--dir', dep, '--port', String(port), '--detach', '--json']);
      assert.equal(up.code, 0, up.stderr);
    });
    after(() => {
      bin(['down', '--dir', dep]);
      temp.remove();
    });

    test('status, loadgen, backup, backups verify and list, restore', () => {
      const status = bin(['status', '--dir', dep, '--json']);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(JSON.parse(status.stdout).running, true, status.stdout);

      const load = bin(['loadgen', '--dir', dep, '--logs', '2000', '--json']);
      assert.equal(load.code, 0, load.stderr);

      const backups = join(temp.path, 'backups');
      const taken = bin(['backup', '--dir', dep, '--to', backups]);
      assert.equal(taken.code, 0, taken.stderr);
      const stored = taken.stdout.trim();
      assert.ok(existsSync(stored), `backup printed ${stored}`);

      const verified = bin(['backups', 'verify', stored, '--json']);
      assert.equal(verified.code, 0, verified.stderr);
      assert.equal(JSON.parse(verified.stdout).ok, true);

      const listed = bin(['backups', 'list', '--to', backups, '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal(JSON.parse(listed.stdout).backups.length, 1);

      const restored = bin(['restore', stored, '--dir', dep, '--yes', '--json']);
      assert.equal(restored.code, 0, restored.stderr);
    });
  });
});
