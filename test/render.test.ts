import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { profile } from '../src/config/profiles.js';
import { tokenizeConf } from '../src/config/redis-conf-syntax.js';
import type { Deployment } from '../src/config/schema.js';
import { ConfigError } from '../src/errors.js';
import { aclRules, passwordHash, renderAcl, renderRedisConf, usersNeedingPasswords } from '../src/render/index.js';

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
const fixtureSecrets = (JSON.parse(readFileSync(here('./fixtures/secrets.json'), 'utf8')) as { version: 1; users: Record<string, string> }).users;
const PROFILES = ['neurallog', 'guide'] as const;

/** Compares with a committed golden file byte for byte; `UPDATE_GOLDEN=1` rewrites it instead. */
function assertGolden(relative: string, actual: string): void {
  const path = here(relative);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  let expected: Buffer;
  try {
    expected = readFileSync(path);
  } catch {
    assert.fail(`golden file ${relative} is missing; create it with \`UPDATE_GOLDEN=1 node --import tsx --test test/render.test.ts\``);
  }
  assert.ok(
    Buffer.from(actual, 'utf8').equals(expected),
    `${relative} differs from the rendered output. If the change is intended, regenerate with ` +
      `\`UPDATE_GOLDEN=1 node --import tsx --test test/render.test.ts\` and review the diff.\n` +
      `--- expected\n${expected.toString('utf8')}\n--- actual\n${actual}`,
  );
}

describe('renderRedisConf', () => {
  for (const name of PROFILES) {
    test(`${name}: deterministic`, () => {
      const first = renderRedisConf(profile(name));
      assert.equal(renderRedisConf(profile(name)), first);
      assert.equal(renderRedisConf(structuredClone(profile(name))), first);
      assert.ok(first.endsWith('\n') && !first.endsWith('\n\n'));
    });

    test(`${name}: no machine paths and no passwords`, () => {
      const text = renderRedisConf(profile(name));
      const names = tokenizeConf(text).map((l) => l.name);
      for (const forbidden of ['dir', 'aclfile', 'requirepass', 'pidfile', 'unixsocket', 'include', 'user', 'masterauth']) {
        assert.ok(!names.includes(forbidden), `"${forbidden}" must not be rendered`);
      }
      assert.ok(!/requirepass/i.test(text));
      for (const { args } of tokenizeConf(text)) {
        for (const arg of args) assert.ok(!arg.startsWith('/') && !/^[A-Za-z]:\\/.test(arg), `absolute path "${arg}"`);
      }
    });
  }

  test('a model with extra directives renders them last, in order', () => {
    const d = profile('neurallog');
    d.extraDirectives = [
      { name: 'lazyfree-lazy-eviction', args: ['yes'] },
      { name: 'notify-keyspace-events', args: ['Ex'] },
    ];
    const lines = renderRedisConf(d).trimEnd().split('\n');
    assert.deepEqual(lines.slice(-3), ['# Additional directives', 'lazyfree-lazy-eviction yes', 'notify-keyspace-events Ex']);
  });

  test('the profile name is in the header', () => {
    assert.match(renderRedisConf(profile('guide')), /from the "guide" profile/);
    assert.match(renderRedisConf(profile('neurallog')), /from the "neurallog" profile/);
  });
});

describe('renderAcl', () => {
  test('neurallog: the default user is switched off first', () => {
    const acl = renderAcl(profile('neurallog'), fixtureSecrets);
    assert.ok(acl.startsWith('user default off resetpass -@all\n'), acl);
    assert.deepEqual(
      acl
        .trimEnd()
        .split('\n')
        .map((l) => l.split(' ')[1]),
      ['default', 'app', 'backup', 'monitor', 'commander', 'ops', 'admin'],
    );
  });

  test('only SHA-256 hashes, never a plaintext password', () => {
    const acl = renderAcl(profile('neurallog'), fixtureSecrets);
    for (const password of Object.values(fixtureSecrets)) assert.ok(!acl.includes(password), `plaintext "${password}" in users.acl`);
    for (const line of acl.trimEnd().split('\n')) {
      const rules = line.split(' ').slice(2);
      assert.ok(!rules.some((r) => r.startsWith('>') || r.startsWith('<')), line);
      for (const hash of rules.filter((r) => r.startsWith('#'))) assert.match(hash, /^#[0-9a-f]{64}$/);
    }
    for (const [user, password] of Object.entries(fixtureSecrets)) {
      const line = acl.split('\n').find((l) => l.startsWith(`user ${user} `))!;
      const expected = createHash('sha256').update(password).digest('hex');
      assert.equal(passwordHash(password), expected);
      assert.ok(line.split(' ').includes(`#${expected}`), line);
    }
  });

  test('an enabled user without a password is a ConfigError naming the user', () => {
    const { backup: _backup, ...secrets } = fixtureSecrets;
    assert.throws(
      () => renderAcl(profile('neurallog'), secrets),
      (error: unknown) => error instanceof ConfigError && /"backup"/.test(error.message) && !error.message.includes('fixture-password'),
    );
  });

  test('nopass users ignore the secrets; disabled users without one get resetpass', () => {
    assert.equal(renderAcl(profile('guide'), {}), 'user default on nopass ~* &* +@all\n');
    assert.equal(renderAcl(profile('guide'), { default: 'ignored' }), 'user default on nopass ~* &* +@all\n');
    const off = profile('neurallog').security.users[0]!;
    assert.deepEqual(aclRules(off, {}), ['off', 'resetpass', '-@all']);
    assert.equal(aclRules(off, { default: 'x' })[1], `#${passwordHash('x')}`);
  });

  test('usersNeedingPasswords lists the enabled users that log in with one', () => {
    assert.deepEqual(usersNeedingPasswords(profile('neurallog')), ['app', 'backup', 'monitor', 'commander', 'ops', 'admin']);
    assert.deepEqual(usersNeedingPasswords(profile('guide')), []);
  });

  test('deterministic', () => {
    const d: Deployment = profile('neurallog');
    assert.equal(renderAcl(d, fixtureSecrets), renderAcl(structuredClone(d), { ...fixtureSecrets }));
  });
});

describe('golden files', () => {
  test('test/golden/neurallog/redis.conf', () => {
    assertGolden('./golden/neurallog/redis.conf', renderRedisConf(profile('neurallog')));
  });

  test('test/golden/neurallog/users.acl (with test/fixtures/secrets.json)', () => {
    assertGolden('./golden/neurallog/users.acl', renderAcl(profile('neurallog'), fixtureSecrets));
  });

  test('redis/conf/redis.conf is the rendered neurallog profile', () => {
    const path = here('../redis/conf/redis.conf');
    let committed = '';
    try {
      committed = readFileSync(path, 'utf8');
    } catch {
      // reported below
    }
    assert.ok(
      committed === renderRedisConf(profile('neurallog')),
      'redis/conf/redis.conf has drifted from renderRedisConf(profile("neurallog")); regenerate it with ' +
        '`npm run build && node bin/neurallog-redis render conf --out redis/conf` and commit the result.',
    );
  });
});
