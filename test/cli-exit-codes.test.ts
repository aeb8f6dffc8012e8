/**
 * Hardening (issue 12, item 11): a usage error exits 2 at every level of the command tree, as the
 * README promises, not commander's own 1 for nested commands.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './helpers/run-cli.js';

const cli = runCli;

const USAGE_ERRORS: Array<[string[], RegExp]> = [
  [['config', 'lint'], /missing required argument/],
  [['config', 'lint', '--no-such-flag', 'x.conf'], /unknown option '--no-such-flag'/],
  [['backups', 'list'], /--to/],
  [['backups', 'prune'], /--to/],
  [['backups', 'verify'], /missing required argument/],
  [['no-such-command'], /unknown command/],
  [['backup', '--to', 'backups', '--no-such-flag'], /unknown option '--no-such-flag'/],
];

for (const [args, message] of USAGE_ERRORS) {
  test(`item 11: \`${args.join(' ')}\` is a usage error: exit 2`, async () => {
    const run = await cli(args);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, message);
  });
}

test('item 11: --help of a nested command exits 0', async () => {
  for (const args of [['config', 'lint', '--help'], ['backups', 'list', '--help'], ['--help']]) {
    const run = await cli(args);
    assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
  }
});

test('item 13: with --json, a failure is one JSON object on stdout (and the message on stderr)', async () => {
  for (const [args, code, exitCode] of [
    [['loadgen', '--url', 'redis://127.0.0.1:1', '--logs', '1', '--json'], 'E_UNREACHABLE', 2],
    [['backups', 'list', '--json'], 'E_USAGE', 2],
    [['status', '--dir', '/nonexistent/deployment', '--json'], 'E_USAGE', 2],
  ] as const) {
    const { code: exit, stdout, stderr } = await runCli(args);
    assert.equal(exit, exitCode, `${args.join(' ')}: ${stderr}`);
    const parsed = JSON.parse(stdout) as { version: number; ok: boolean; error: { code: string; message: string; exitCode: number } };
    assert.equal(parsed.version, 1);
    assert.equal(parsed.ok, false);
    assert.equal(parsed.error.code, code);
    assert.equal(parsed.error.exitCode, exitCode);
    assert.ok(stderr.includes(parsed.error.message), 'the same message on stderr');
  }
});
