/**
 * Hardening (issue 12, item 12): what the user's file system says (a file given for a directory, a
 * directory for a file, a malformed URL escape) is a plain one-line message and exit 2, never
 * "unexpected error ... please report it".
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseRedisUrl } from '../src/connect/index.js';
import { describeSystemError } from '../src/cli/system-errors.js';
import { runCli } from './helpers/run-cli.js';
const dir = mkdtempSync(join(tmpdir(), 'nlr-syserr-'));
const file = join(dir, 'a-file');
writeFileSync(file, 'x');
after(() => rmSync(dir, { recursive: true, force: true }));

const cli = runCli;

const CASES: Array<[string, string[], RegExp]> = [
  ['down --dir FILE', ['down', '--dir', file], /a part of this path is a file, not a directory \(ENOTDIR\)/],
  ['backups list --to FILE', ['backups', 'list', '--to', file], /cannot list the directory .*a-file.*ENOTDIR/],
  ['render conf --out FILE', ['render', 'conf', '--out', file], /cannot create the directory .*a-file.*EEXIST/],
  ['backup --from-file DIR', ['backup', '--from-file', dir, '--to', join(dir, 'backups')], /this is a directory; a file was expected \(EISDIR\)/],
  [
    'a URL password with a bad % escape',
    ['loadgen', '--url', 'redis://app:se%zzcret@127.0.0.1:1', '--logs', '1'],
    /password in the Redis URL has a malformed %-escape/,
  ],
];

for (const [name, args, message] of CASES) {
  test(`item 12: ${name}: a plain message, exit 2`, async () => {
    const run = await cli(args);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, message);
    assert.doesNotMatch(run.stderr, /unexpected error|please report/);
    assert.doesNotMatch(run.stderr, /se%zzcret|secret/, 'the password is not echoed');
    assert.equal(run.stderr.trim().split('\n').length, 1, 'one line');
  });
}

test('describeSystemError: errno errors only; path and action named', () => {
  const e = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES', syscall: 'open', path: '/x/y' });
  assert.equal(describeSystemError(e), 'cannot open /x/y: permission denied: run as a user who may use this path, or choose another (EACCES)');
  assert.equal(describeSystemError(new Error('plain')), undefined);
  assert.equal(describeSystemError(Object.assign(new Error('x'), { code: 'ECONNRESET', syscall: 'read' })), undefined, 'network errors are not file errors');
  assert.throws(() => parseRedisUrl('redis://u%zz:p@h:1'), { code: 'E_URL', message: /user name in the Redis URL/ });
});

test('item 13: a --password-file readable by others is refused, as key and secrets files are; 0640 is accepted', async () => {
  const open = join(dir, 'pw-0644');
  writeFileSync(open, 'pw\n', { mode: 0o644 });
  const refused = await cli(['loadgen', '--url', 'redis://app@127.0.0.1:1', '--password-file', open, '--logs', '1']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /the password file .*pw-0644 is readable by others \(mode 644\); run `chmod 600/);
  const group = join(dir, 'pw-0640');
  writeFileSync(group, 'pw\n', { mode: 0o640 });
  const accepted = await cli(['loadgen', '--url', 'redis://app@127.0.0.1:1', '--password-file', group, '--logs', '1']);
  assert.equal(accepted.code, 2);
  assert.match(accepted.stderr, /connection refused/, 'it got as far as connecting');
});
