import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Finding } from '../src/config/findings.js';
import { profile } from '../src/config/profiles.js';
import { parseRedisConfText, readRedisConfFile, type ParsedRedisConf } from '../src/config/redis-conf.js';
import type { Deployment } from '../src/config/schema.js';
import { renderRedisConf } from '../src/render/redis-conf.js';

const GUIDE_CONF = fileURLToPath(new URL('./fixtures/guide-redis.conf', import.meta.url));
const MB = 1024 * 1024;

const tmp = mkdtempSync(join(tmpdir(), 'neurallog-redis-conf-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function write(relative: string, text: string): string {
  const path = join(tmp, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const errors = (p: ParsedRedisConf): Finding[] => p.findings.filter((f) => f.severity === 'error');

function parseClean(text: string): Deployment {
  const parsed = parseRedisConfText(text, 'test.conf');
  assert.deepEqual(errors(parsed), [], `unexpected error findings for:\n${text}`);
  return parsed.deployment;
}

/** What a redis.conf can say: users live in users.acl; profile, name, container and retention are model-only. */
function confView(d: Deployment) {
  const { server, memory, persistence, logging, performance, advanced, extraDirectives } = d;
  return { server, memory, persistence, logging, performance, advanced, extraDirectives };
}

/** The guide's model as a redis.conf read for its release gives it: the official image of that release (the guide's image is a moving tag). */
function guideAsRead(): Deployment {
  const d = profile('guide');
  d.container.image = `redis:${d.version}-alpine`;
  return d;
}

function roundTrip(d: Deployment): Deployment {
  const text = renderRedisConf(d);
  const parsed = parseRedisConfText(text, 'rendered.conf', { engine: d.engine, version: d.version });
  assert.deepEqual(parsed.findings, [], `rendering ${d.profile} gave findings when read back:\n${text}`);
  return parsed.deployment;
}

describe("the guide's redis.conf", () => {
  test("reads into exactly profile('guide')", () => {
    const parsed = readRedisConfFile(GUIDE_CONF, { engine: 'redis', version: profile('guide').version });
    assert.deepEqual(errors(parsed), []);
    assert.deepEqual(parsed.secrets, {});
    assert.deepStrictEqual(parsed.deployment, guideAsRead());
  });

  test('records every directive with its file and line', () => {
    const parsed = readRedisConfFile(GUIDE_CONF);
    assert.ok(parsed.directives.every((d) => d.file === GUIDE_CONF && d.line > 0));
    assert.deepEqual(parsed.directives[0], { name: 'port', args: ['6379'], file: GUIDE_CONF, line: 4 });
    assert.equal(parsed.directives.filter((d) => d.name === 'save').length, 3);
  });
});

describe('render -> read round trip', () => {
  test('guide profile (whole model)', () => {
    assert.deepStrictEqual(roundTrip(profile('guide')), guideAsRead());
  });

  test('neurallog profile (everything a redis.conf holds)', () => {
    assert.deepStrictEqual(confView(roundTrip(profile('neurallog'))), confView(profile('neurallog')));
  });

  test('save disabled, extra directives, a logfile with spaces and quotes, odd sizes', () => {
    const d = profile('neurallog');
    d.persistence.save = [];
    d.logging.logfile = 'logs/redis server #1 "main".log';
    d.server.bind = ['127.0.0.1', '-::1'];
    d.memory.maxmemory = 1_000_000;
    d.advanced.clientOutputBufferLimit.pubsub = { hardLimit: 1536 * 1024, softLimit: 1000, softSeconds: 5 };
    d.advanced.listMaxListpackSize = 128;
    d.extraDirectives = [
      { name: 'lazyfree-lazy-eviction', args: ['yes'] },
      { name: 'notify-keyspace-events', args: ['Ex'] },
      { name: 'rename-command', args: ['FLUSHALL', ''] },
      { name: 'rename-command', args: ['CONFIG', 'hidden config'] },
    ];
    const text = renderRedisConf(d);
    assert.match(text, /^save ""$/m);
    assert.match(text, /^logfile "logs\/redis server #1 \\"main\\".log"$/m);
    assert.match(text, /^rename-command FLUSHALL ""$/m);
    assert.deepStrictEqual(confView(roundTrip(d)), confView(d));
  });
});

describe('save', () => {
  test('repeated save lines replace the built-in save points and accumulate', () => {
    assert.deepEqual(parseClean('save 900 1\nsave 300 10\n').persistence.save, [
      { seconds: 900, changes: 1 },
      { seconds: 300, changes: 10 },
    ]);
    assert.deepEqual(parseClean('save 900 1 300 10\n').persistence.save, [
      { seconds: 900, changes: 1 },
      { seconds: 300, changes: 10 },
    ]);
  });

  test('save "" disables snapshots, and later lines start again from nothing', () => {
    assert.deepEqual(parseClean('save ""\n').persistence.save, []);
    assert.deepEqual(parseClean('save 900 1\nsave ""\n').persistence.save, []);
    assert.deepEqual(parseClean('save 900 1\nsave ""\nsave 60 5\n').persistence.save, [{ seconds: 60, changes: 5 }]);
  });

  test('without any save line the Redis 7.0 built-in save points apply', () => {
    assert.deepEqual(parseClean('port 6379\n').persistence.save, [
      { seconds: 3600, changes: 1 },
      { seconds: 300, changes: 100 },
      { seconds: 60, changes: 10000 },
    ]);
  });

  test('an odd number of save arguments is an error', () => {
    const parsed = parseRedisConfText('save 900\n', 'x.conf');
    assert.equal(errors(parsed).length, 1);
    assert.deepEqual(errors(parsed)[0]!.place, { file: 'x.conf', line: 1 });
  });
});

describe('aliases', () => {
  test('client-output-buffer-limit slave ... sets the replica class', () => {
    const d = parseClean('client-output-buffer-limit slave 512mb 128mb 30\n');
    assert.deepEqual(d.advanced.clientOutputBufferLimit.replica, { hardLimit: 512 * MB, softLimit: 128 * MB, softSeconds: 30 });
    assert.match(renderRedisConf(d), /^client-output-buffer-limit replica 512mb 128mb 30$/m);
    assert.doesNotMatch(renderRedisConf(d), /slave/);
  });

  test('several classes on one line', () => {
    const d = parseClean('client-output-buffer-limit normal 1mb 0 0 replica 2mb 1mb 10 pubsub 3mb 1k 5\n');
    assert.deepEqual(d.advanced.clientOutputBufferLimit, {
      normal: { hardLimit: MB, softLimit: 0, softSeconds: 0 },
      replica: { hardLimit: 2 * MB, softLimit: MB, softSeconds: 10 },
      pubsub: { hardLimit: 3 * MB, softLimit: 1000, softSeconds: 5 },
    });
  });

  test('ziplist names set the listpack fields and render as listpack', () => {
    const d = parseClean(
      [
        'hash-max-ziplist-entries 100',
        'hash-max-ziplist-value 32',
        'list-max-ziplist-size -3',
        'zset-max-ziplist-entries 64',
        'zset-max-ziplist-value 16',
      ].join('\n'),
    );
    assert.equal(d.advanced.hashMaxListpackEntries, 100);
    assert.equal(d.advanced.hashMaxListpackValue, 32);
    assert.equal(d.advanced.listMaxListpackSize, -3);
    assert.equal(d.advanced.zsetMaxListpackEntries, 64);
    assert.equal(d.advanced.zsetMaxListpackValue, 16);
    const text = renderRedisConf(d);
    assert.doesNotMatch(text, /ziplist/);
    assert.match(text, /^hash-max-listpack-entries 100$/m);
    assert.match(text, /^list-max-listpack-size -3$/m);
  });

  test('directive names and enum values are case-insensitive', () => {
    const d = parseClean('MAXMEMORY 1GB\nMaxmemory-Policy ALLKEYS-LFU\nAppendOnly YES\n');
    assert.equal(d.memory.maxmemory, 1024 * MB);
    assert.equal(d.memory.maxmemoryPolicy, 'allkeys-lfu');
    assert.equal(d.persistence.appendonly, true);
  });
});

describe('include', () => {
  test('paths are relative to the including file, nested includes too', () => {
    write('inc/sub/more.conf', 'save 5 5\nhz 20\n');
    write('inc/sub/extra.conf', 'maxmemory 1mb\ninclude more.conf\n');
    const main = write('inc/main.conf', 'port 7000\ninclude sub/extra.conf\nmaxmemory-policy volatile-ttl\n');
    const parsed = readRedisConfFile(main);
    assert.deepEqual(errors(parsed), []);
    assert.equal(parsed.deployment.server.port, 7000);
    assert.equal(parsed.deployment.memory.maxmemory, MB);
    assert.equal(parsed.deployment.memory.maxmemoryPolicy, 'volatile-ttl');
    assert.equal(parsed.deployment.performance.hz, 20);
    assert.deepEqual(parsed.deployment.persistence.save, [{ seconds: 5, changes: 5 }]);
    assert.deepEqual(
      parsed.directives.map((d) => [d.name, d.file, d.line]),
      [
        ['port', main, 1],
        ['include', main, 2],
        ['maxmemory', join(tmp, 'inc/sub/extra.conf'), 1],
        ['include', join(tmp, 'inc/sub/extra.conf'), 2],
        ['save', join(tmp, 'inc/sub/more.conf'), 1],
        ['hz', join(tmp, 'inc/sub/more.conf'), 2],
        ['maxmemory-policy', main, 3],
      ],
    );
  });

  test('a problem in an included file names that file and line', () => {
    const inner = write('inc-bad/inner.conf', '\nappendonly maybe\n');
    const main = write('inc-bad/main.conf', 'include inner.conf\n');
    const found = errors(readRedisConfFile(main));
    assert.equal(found.length, 1);
    assert.deepEqual(found[0]!.place, { file: inner, line: 2 });
  });

  test('a missing include is reported at the include line', () => {
    const main = write('inc-missing/main.conf', 'port 6380\ninclude nowhere.conf\n');
    const found = errors(readRedisConfFile(main));
    assert.equal(found.length, 1);
    assert.deepEqual(found[0]!.place, { file: main, line: 2 });
    assert.match(found[0]!.message, /nowhere\.conf/);
  });

  test('include loops are detected, once, where they close', () => {
    const a = write('loop/a.conf', 'save 1 1\ninclude b.conf\n');
    const b = write('loop/b.conf', 'hz 11\ninclude a.conf\n');
    const parsed = readRedisConfFile(a);
    const found = errors(parsed);
    assert.equal(found.length, 1);
    assert.match(found[0]!.message, /loop/);
    assert.deepEqual(found[0]!.place, { file: b, line: 2 });
    assert.deepEqual(parsed.deployment.persistence.save, [{ seconds: 1, changes: 1 }], 'no file is read twice');

    const self = write('loop/self.conf', 'include ./self.conf\n');
    const selfFound = errors(readRedisConfFile(self));
    assert.equal(selfFound.length, 1);
    assert.match(selfFound[0]!.message, /loop/);
  });

  test('the same file included twice (not a loop) is fine', () => {
    write('twice/common.conf', 'hz 15\n');
    const main = write('twice/main.conf', 'include common.conf\ninclude common.conf\n');
    const parsed = readRedisConfFile(main);
    assert.deepEqual(errors(parsed), []);
    assert.equal(parsed.deployment.performance.hz, 15);
  });
});

describe('passwords and users', () => {
  test('requirepass lands in secrets, not in the model', () => {
    const parsed = parseRedisConfText('requirepass s3cret-Passw0rd\n', 'x.conf');
    assert.deepEqual(errors(parsed), []);
    assert.deepEqual(parsed.secrets, { default: 's3cret-Passw0rd' });
    const user = parsed.deployment.security.users.find((u) => u.name === 'default');
    assert.equal(user?.nopass, false);
    assert.equal(user?.enabled, true);
    assert.ok(!JSON.stringify(parsed.deployment).includes('s3cret-Passw0rd'));
  });

  test('requirepass "" means no password', () => {
    const parsed = parseRedisConfText('requirepass ""\n', 'x.conf');
    assert.deepEqual(parsed.secrets, {});
    assert.equal(parsed.deployment.security.users.find((u) => u.name === 'default')?.nopass, true);
  });

  test('user lines become model users; their plaintext passwords land in secrets', () => {
    const text = [
      'user default off resetpass -@all',
      'user app on >app-pw ~logs:* ~idx:logs:* &neurallog:* +@all -@admin',
      `user hashed on #${'ab'.repeat(32)} ~* +@read`,
    ].join('\n');
    const parsed = parseRedisConfText(text, 'x.conf');
    assert.deepEqual(errors(parsed), []);
    assert.deepEqual(parsed.secrets, { app: 'app-pw' });
    assert.deepEqual(parsed.deployment.security.users, [
      { name: 'default', enabled: false, nopass: false, keys: [], channels: [], commands: ['-@all'] },
      { name: 'app', enabled: true, nopass: false, keys: ['~logs:*', '~idx:logs:*'], channels: ['&neurallog:*'], commands: ['+@all', '-@admin'] },
      { name: 'hashed', enabled: true, nopass: false, keys: ['~*'], channels: [], commands: ['+@read'] },
    ]);
    const json = JSON.stringify(parsed.deployment);
    assert.ok(!json.includes('app-pw'));
    assert.ok(!json.includes('ab'.repeat(32)));
  });

  test('a later user line for the same user replaces it', () => {
    const parsed = parseRedisConfText('user app on >one ~a:*\nuser app on nopass ~b:*\n', 'x.conf');
    assert.deepEqual(parsed.secrets, {});
    const apps = parsed.deployment.security.users.filter((u) => u.name === 'app');
    assert.equal(apps.length, 1);
    assert.deepEqual(apps[0]!.keys, ['~b:*']);
    assert.equal(apps[0]!.nopass, true);
  });

  test('a bad ACL rule or a user name the model cannot hold is an error with its line', () => {
    for (const line of ['user app on bogus', 'user app on #nothex', 'user "my app" on ~*']) {
      const parsed = parseRedisConfText(`port 6379\n${line}\n`, 'acl.conf');
      const found = errors(parsed);
      assert.equal(found.length, 1, line);
      assert.deepEqual(found[0]!.place, { file: 'acl.conf', line: 2 }, line);
    }
  });
});

describe('problems are findings with file and line', () => {
  test('a Redis 7.2 directive is an unknown directive on 7.0', () => {
    const parsed = parseRedisConfText('port 6379\n\nset-max-listpack-entries 128\n', 'x.conf', { engine: 'redis', version: '7.0' });
    const found = errors(parsed);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.rule, 'unknown-directive');
    assert.deepEqual(found[0]!.place, { file: 'x.conf', line: 3 });
    assert.match(found[0]!.message, /set-max-listpack-entries/);
    assert.deepEqual(parsed.deployment.extraDirectives, []);
  });

  test('bad values, each at its own line', () => {
    const file = write(
      'bad/values.conf',
      ['# comment', 'maxmemory 12zb', 'maxmemory-policy lru', 'appendonly maybe', 'hz 0', 'port 0', 'dbfilename "my dump.rdb"'].join('\n'),
    );
    const found = errors(readRedisConfFile(file));
    assert.deepEqual(
      found.map((f) => [f.rule, f.place?.file, f.place?.line]),
      [2, 3, 4, 5, 6, 7].map((line) => ['bad-value', file, line]),
    );
    assert.match(found[0]!.message, /"12zb" is not a size/);
    assert.match(found[1]!.message, /"lru" is not one of: noeviction, allkeys-lru/);
    assert.match(found[2]!.message, /"maybe" is not "yes" or "no"/);
  });

  test('a syntax error is a finding with its line', () => {
    const parsed = parseRedisConfText('port 6379\nlogfile "unterminated\n', 'x.conf');
    const found = errors(parsed);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.rule, 'syntax');
    assert.deepEqual(found[0]!.place, { file: 'x.conf', line: 2 });
  });

  test('a repeated single-valued directive is a warning at the second line', () => {
    const parsed = parseRedisConfText('port 1\nport 2\n', 'x.conf');
    assert.deepEqual(errors(parsed), []);
    assert.deepEqual(
      parsed.findings.map((f) => [f.rule, f.severity, f.place?.line]),
      [['duplicate-directive', 'warning', 2]],
    );
    assert.equal(parsed.deployment.server.port, 2);
  });

  test('machine paths are left out with an info finding', () => {
    const parsed = parseRedisConfText('dir /var/lib/redis\naclfile /etc/redis/users.acl\n', 'x.conf');
    assert.deepEqual(
      parsed.findings.map((f) => [f.rule, f.severity, f.place?.line]),
      [
        ['machine-path', 'info', 1],
        ['machine-path', 'info', 2],
      ],
    );
    assert.ok(!renderRedisConf(parsed.deployment).includes('/var/lib/redis'));
  });
});

describe('known Redis 7.0 directives the model does not cover', () => {
  test('land in extraDirectives and render back', () => {
    const d = parseClean('lazyfree-lazy-eviction yes\nnotify-keyspace-events "Ex"\n');
    assert.deepEqual(d.extraDirectives, [
      { name: 'lazyfree-lazy-eviction', args: ['yes'] },
      { name: 'notify-keyspace-events', args: ['Ex'] },
    ]);
    const text = renderRedisConf(d);
    assert.match(text, /^lazyfree-lazy-eviction yes$/m);
    assert.match(text, /^notify-keyspace-events Ex$/m);
    assert.deepEqual(parseClean(text).extraDirectives, d.extraDirectives);
  });
});
