import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Finding } from '../src/config/findings.js';
import { lintDeployment } from '../src/config/lint.js';
import { readConfig, type LoadedConfig, type TargetChoice } from '../src/config/load.js';
import { profile } from '../src/config/profiles.js';
import { runCliSync } from './helpers/run-cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GUIDE_CONF = fileURLToPath(new URL('./fixtures/guide-redis.conf', import.meta.url));
const HASH = createHash('sha256').update('not-a-real-password').digest('hex');

const tmp = mkdtempSync(join(tmpdir(), 'neurallog-lint-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
function write(text: string, ext = 'conf'): string {
  const path = join(tmp, `case-${++counter}.${ext}`);
  writeFileSync(path, text);
  return path;
}

const lintFile = (path: string, target: TargetChoice = {}): Finding[] => lintDeployment(readConfig(path, target));
const lintText = (text: string, ext = 'conf') => lintFile(write(text, ext));
const find = (findings: Finding[], rule: string) => findings.filter((f) => f.rule === rule);
const rules = (findings: Finding[]) => findings.map((f) => f.rule);

function one(findings: Finding[], rule: string): Finding {
  const hits = find(findings, rule);
  assert.equal(hits.length, 1, `expected one ${rule}, got: ${JSON.stringify(findings.map((f) => [f.rule, f.severity, f.place]))}`);
  return hits[0]!;
}

/** A redis.conf lint has nothing to say about, one directive a line; cases replace lines by key. */
const CLEAN: Array<[string, string]> = [
  ['bind', 'bind 0.0.0.0'],
  ['protected-mode', 'protected-mode yes'],
  ['default', 'user default off resetpass -@all'],
  ['app', `user app on #${HASH} ~logs:* ~idx:logs:* +@all -@admin -@dangerous`],
  ['maxmemory', 'maxmemory 160mb'],
  ['maxmemory-policy', 'maxmemory-policy noeviction'],
  ['appendonly', 'appendonly yes'],
  ['appendfsync', 'appendfsync everysec'],
];
const lineOf = (key: string) => CLEAN.findIndex(([k]) => k === key) + 1;

function conf(changes: Record<string, string> = {}, extra: string[] = []): string {
  return `${[...CLEAN.map(([key, line]) => changes[key] ?? line), ...extra].join('\n')}\n`;
}

function fromModel(deployment = profile('neurallog')): LoadedConfig {
  return { deployment, kind: 'yaml', file: 'model.yaml', secrets: {}, findings: [], directives: [] };
}

describe("the guide's redis.conf", () => {
  const findings = lintFile(GUIDE_CONF);

  test('protected mode refuses remote clients: an error at the protected-mode line', () => {
    const f = one(findings, 'protected-mode-refuses-remote');
    assert.equal(f.severity, 'error');
    assert.deepEqual(f.place, { file: GUIDE_CONF, line: 6 });
    assert.match(f.message, /DENIED/);
    assert.match(f.fix, /user default off resetpass -@all/);
  });

  test('allkeys-lru is a warning at its line, fixed by noeviction', () => {
    const f = one(findings, 'eviction-deletes-primary-data');
    assert.equal(f.severity, 'warning');
    assert.equal(f.place?.line, 11);
    assert.match(f.fix, /noeviction/);
  });

  test('every ziplist alias and the slave class is a deprecated-alias warning naming the Redis 7 name', () => {
    const aliases = find(findings, 'deprecated-alias');
    assert.deepEqual(
      aliases.map((f) => f.place?.line),
      [37, 38, 39, 41, 42, 46],
    );
    assert.ok(aliases.every((f) => f.severity === 'warning'));
    assert.match(aliases[0]!.message, /hash-max-listpack-entries/);
    assert.match(aliases[5]!.message, /"replica"/);
  });

  test('errors come first', () => {
    assert.equal(findings[0]!.severity, 'error');
    assert.equal(findings.filter((f) => f.severity === 'error').length, 1);
  });
});

describe('models', () => {
  test('the neurallog profile has no findings at all', () => {
    assert.deepEqual(lintDeployment(fromModel()), []);
  });

  test('a YAML file with the neurallog profile has none either', () => {
    assert.deepEqual(lintText('profile: neurallog\n', 'yaml'), []);
  });

  test('the guide profile: no headroom, protected mode, eviction and an unpinned image, named by model path', () => {
    const path = write('profile: guide\n', 'yaml');
    const findings = lintFile(path);
    const headroom = one(findings, 'maxmemory-without-headroom');
    assert.equal(headroom.severity, 'error');
    assert.deepEqual(headroom.place, { file: path, path: 'container.memoryLimit' });
    assert.match(headroom.message, /256 MiB/);
    assert.match(headroom.message, /384 MiB/);
    assert.match(headroom.fix, /container\.memoryLimit.*384Mi/);
    assert.deepEqual(one(findings, 'protected-mode-refuses-remote').place, { file: path, path: 'server.protectedMode' });
    assert.deepEqual(one(findings, 'eviction-deletes-primary-data').place, { file: path, path: 'memory.maxmemoryPolicy' });
    assert.equal(one(findings, 'image-not-pinned').severity, 'warning');
  });

  test('replicas add their output buffers to the memory a container needs', () => {
    const d = profile('neurallog');
    d.container.replicas = 1;
    const f = one(lintDeployment(fromModel(d)), 'maxmemory-without-headroom');
    assert.match(f.message, /640 MiB/);
  });

  test("extra directives the model's release does not know are errors; old names are deprecated aliases", () => {
    const findings = lintText(
      'version: "7.0"\nextraDirectives:\n  - {name: set-max-listpack-entries, args: ["128"]}\n  - {name: slaveof, args: [primary, "6379"]}\n',
      'yaml',
    );
    assert.equal(one(findings, 'unknown-directive').place?.path, 'extraDirectives.0.name');
    assert.match(one(findings, 'deprecated-alias').message, /replicaof/);
  });

  test('a default user that is off but has nopass still triggers protected mode', () => {
    const d = profile('neurallog');
    d.security.users[0]!.nopass = true;
    const findings = lintDeployment(fromModel(d));
    assert.equal(one(findings, 'protected-mode-refuses-remote').severity, 'error');
    assert.deepEqual(find(findings, 'no-authentication'), []);
  });
});

describe('each rule on a minimal redis.conf', () => {
  test('the clean file has no findings', () => {
    assert.deepEqual(lintText(conf()), []);
  });

  test('protected-mode-refuses-remote fires with the default user off but nopass', () => {
    const f = one(lintText(conf({ default: 'user default off nopass -@all' })), 'protected-mode-refuses-remote');
    assert.equal(f.severity, 'error');
    assert.equal(f.place?.line, lineOf('protected-mode'));
  });

  test('protected mode on loopback only refuses no one', () => {
    const findings = lintText(conf({ bind: 'bind 127.0.0.1 -::1', default: 'user default off nopass -@all' }));
    assert.deepEqual(find(findings, 'protected-mode-refuses-remote'), []);
  });

  test('no-authentication is an error on a non-loopback address, at the user line', () => {
    const f = one(lintText(conf({ 'protected-mode': 'protected-mode no', default: 'user default on nopass ~* +@all' })), 'no-authentication');
    assert.equal(f.severity, 'error');
    assert.equal(f.place?.line, lineOf('default'));
  });

  test('no-authentication is a warning on loopback only', () => {
    const f = one(lintText(conf({ bind: 'bind 127.0.0.1', default: 'user default on nopass ~* +@all' })), 'no-authentication');
    assert.equal(f.severity, 'warning');
  });

  test('eviction: allkeys-* and volatile-* are warnings', () => {
    const allkeys = one(lintText(conf({ 'maxmemory-policy': 'maxmemory-policy allkeys-lfu' })), 'eviction-deletes-primary-data');
    assert.equal(allkeys.severity, 'warning');
    assert.equal(allkeys.place?.line, lineOf('maxmemory-policy'));
    const volatile = one(lintText(conf({ 'maxmemory-policy': 'maxmemory-policy volatile-ttl' })), 'eviction-deletes-primary-data');
    assert.equal(volatile.severity, 'warning');
    assert.match(volatile.explanation, /retention/);
  });

  test("maxmemory-without-headroom against the guide's 256Mi container, at the maxmemory line", () => {
    const f = one(lintText(conf({ maxmemory: 'maxmemory 256mb' })), 'maxmemory-without-headroom');
    assert.equal(f.place?.line, lineOf('maxmemory'));
    assert.match(f.message, /384 MiB/);
  });

  test('maxmemory-unlimited for 0 and for a file that does not set it', () => {
    assert.equal(one(lintText(conf({ maxmemory: 'maxmemory 0' })), 'maxmemory-unlimited').place?.line, lineOf('maxmemory'));
    const unset = one(lintText(conf({ maxmemory: '# no maxmemory' })), 'maxmemory-unlimited');
    assert.equal(unset.place?.line, undefined);
    assert.match(unset.message, /not set/);
  });

  test('persistence-off: appendonly no and no save points', () => {
    const f = one(lintText(conf({ appendonly: 'appendonly no' }, ['save ""'])), 'persistence-off');
    assert.equal(f.severity, 'error');
    assert.equal(f.place?.line, lineOf('appendonly'));
  });

  test("rdb-only: appendonly no with Redis's default save points", () => {
    const findings = lintText(conf({ appendonly: 'appendonly no' }));
    const f = one(findings, 'rdb-only');
    assert.equal(f.severity, 'warning');
    assert.match(f.explanation, /60 minutes/);
    assert.deepEqual(find(findings, 'persistence-off'), []);
  });

  test('appendfsync no is a warning, always an info', () => {
    assert.equal(one(lintText(conf({ appendfsync: 'appendfsync no' })), 'appendfsync-no').severity, 'warning');
    assert.equal(one(lintText(conf({ appendfsync: 'appendfsync always' })), 'appendfsync-always').severity, 'info');
  });

  test('deprecated-alias for a ziplist name and the slave class', () => {
    const findings = lintText(conf({}, ['zset-max-ziplist-entries 128', 'client-output-buffer-limit slave 256mb 64mb 60']));
    const aliases = find(findings, 'deprecated-alias');
    assert.deepEqual(
      aliases.map((f) => f.place?.line),
      [CLEAN.length + 1, CLEAN.length + 2],
    );
    assert.match(aliases[0]!.message, /zset-max-listpack-entries/);
  });

  test("7.2's set-max-listpack-entries is an unknown-directive error with its line on Redis 7.0", () => {
    const path = write(conf({}, ['set-max-listpack-entries 128']));
    const f = one(lintFile(path, { version: '7.0' }), 'unknown-directive');
    assert.equal(f.severity, 'error');
    assert.deepEqual(f.place, { file: path, line: CLEAN.length + 1 });
    assert.match(f.explanation, /7\.2/);
  });

  test('plaintext-password for requirepass and user >password, without repeating the password', () => {
    const findings = lintText(conf({ app: 'user app on >hunter2-secret ~logs:* +@all' }, ['requirepass hunter2-other']));
    const hits = find(findings, 'plaintext-password');
    assert.deepEqual(
      hits.map((f) => f.place?.line),
      [lineOf('app'), CLEAN.length + 1],
    );
    assert.ok(hits.every((f) => f.severity === 'error'));
    assert.ok(!JSON.stringify(findings).includes('hunter2'));
  });

  test('aclfile with user lines is an error; aclfile alone skips the user rules', () => {
    const both = lintText(conf({}, ['aclfile /etc/redis/users.acl']));
    assert.deepEqual(
      find(both, 'aclfile-with-user-lines').map((f) => f.place?.line),
      [lineOf('default'), lineOf('app')],
    );
    const alone = lintText(conf({ default: '# none', app: '# none' }, ['aclfile /etc/redis/users.acl']));
    assert.equal(one(alone, 'users-not-checked').severity, 'info');
    assert.deepEqual(find(alone, 'protected-mode-refuses-remote'), []);
  });

  test('daemonize-yes is a warning', () => {
    assert.equal(one(lintText(conf({}, ['daemonize yes'])), 'daemonize-yes').place?.line, CLEAN.length + 1);
  });

  test('tcp-keepalive 0 with timeout 0 is an info', () => {
    assert.equal(one(lintText(conf({}, ['tcp-keepalive 0'])), 'tcp-keepalive-off').severity, 'info');
    assert.deepEqual(find(lintText(conf({}, ['tcp-keepalive 0', 'timeout 300'])), 'tcp-keepalive-off'), []);
  });

  test('a file that does not tokenise gets the syntax error alone, not findings about defaults', () => {
    assert.deepEqual(rules(lintText('port 6379\nbind "unbalanced\n')), ['syntax']);
  });
});

describe('neurallog-redis config lint', () => {
  const cli = (...args: string[]) => runCliSync(['config', 'lint', ...args], { cwd: ROOT, env: { NO_COLOR: '1' } });

  test('exit 0 for a clean file', () => {
    const run = cli(write(conf()));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /0 errors, 0 warnings/);
  });

  test('exit 1 for the guide, one block per finding with file:line', () => {
    const run = cli('test/fixtures/guide-redis.conf');
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^error +protected-mode-refuses-remote {2}test\/fixtures\/guide-redis\.conf:6$/m);
    assert.match(run.stdout, /^ {2}fix: /m);
    assert.match(run.stdout, /1 error, 9 warnings/);
  });

  test('--json is one object with a version field', () => {
    const run = cli('test/fixtures/guide-redis.conf', '--json');
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout) as {
      version: number;
      file: string;
      target: { engine: string; version: string };
      findings: Finding[];
      errors: number;
      warnings: number;
    };
    assert.equal(typeof report.version, 'number');
    assert.deepEqual(report.target, { engine: 'redis', version: profile('neurallog').version }, "a redis.conf is judged for the default profile's release");
    assert.equal(report.file, 'test/fixtures/guide-redis.conf');
    assert.equal(report.errors, 1);
    assert.equal(report.warnings, report.findings.filter((f) => f.severity === 'warning').length);
    assert.ok(report.findings.some((f) => f.rule === 'eviction-deletes-primary-data'));
  });

  test('exit 2 and one clear message, no stack trace, for a missing file', () => {
    for (const missing of [join(tmp, 'missing.conf'), join(tmp, 'missing.yaml')]) {
      const run = cli(missing);
      assert.equal(run.code, 2);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /cannot read/);
      assert.doesNotMatch(run.stderr, /\n\s+at /);
    }
  });
});
