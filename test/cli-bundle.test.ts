/**
 * The installed command, bin/neurallog-redis, runs the esbuild bundle in dist/bundle (scripts/bundle-cli.mjs),
 * not the sources the other tests run through tsx. These tests run the bundle itself, so that a module
 * the bundler dropped or a chunk that fails to load shows here: every chunk loads, every command and
 * subcommand prints its help, --debug maps stack traces to the sources, and a deployment's life and a
 * backup run end to end against real redis-server. They test the bundle last built: `npm test` builds
 * first; run alone, this file needs `npm run build` after a change.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { freePort, isAlive } from '../src/runtime/index.js';
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

  test('every chunk of the bundle loads (each command is a chunk, imported only when it runs)', async () => {
    const dir = join(ROOT, 'dist', 'bundle');
    // main.js runs the CLI on import; the other files are modules without side effects
    const chunks = readdirSync(dir).filter((f) => f.endsWith('.js') && f !== 'main.js');
    assert.ok(chunks.length >= 10, `chunks: ${chunks.join(' ')}`);
    for (const chunk of chunks) await import(pathToFileURL(join(dir, chunk)).href);
  });

  /** the names listed under "Commands:" in a commander help text */
  const commandsIn = (help: string) => {
    const start = help.search(/^Commands:\n/m);
    if (start < 0) return [];
    const block = help.slice(start).split('\n\n')[0]!;
    return [...block.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
  };

  test('every command and subcommand prints its help', () => {
    const top = bin(['--help']);
    assert.equal(top.code, 0, top.stderr);
    const commands = commandsIn(top.stdout);
    for (const expected of ['up', 'status', 'down', 'backup', 'backups', 'restore', 'render', 'loadgen'])
      assert.ok(commands.includes(expected), `commands found: ${commands.join(' ')}`);
    for (const command of commands) {
      const r = bin([command, '--help']);
      assert.equal(r.code, 0, `${command} --help: ${r.stderr}`);
      for (const sub of commandsIn(r.stdout)) {
        const s = bin([command, sub, '--help']);
        assert.equal(s.code, 0, `${command} ${sub} --help: ${s.stderr}`);
      }
    }
    assert.deepEqual(commandsIn(bin(['backups', '--help']).stdout), ['list', 'verify', 'prune']);
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
    let pid: number | undefined;
    before(async () => {
      port = await freePort();
      const up = bin(['up', '--dir', dep, '--port', String(port), '--detach', '--json']);
      assert.equal(up.code, 0, up.stderr);
      pid = JSON.parse(up.stdout).pid;
    });
    after(() => {
      const down = bin(['down', '--dir', dep]);
      // a failed `down` must not leave the server running
      if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
      temp.remove();
      assert.equal(down.code, 0, down.stderr);
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
