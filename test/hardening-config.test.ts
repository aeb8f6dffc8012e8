/**
 * Issue 12, item 8 and the lint parts of item 13: an included file's lines are never printed (only
 * its name, the line number, and a directive's name when the target knows it); plaintext
 * masterauth/primaryauth and an absurdly small maxmemory are findings; key-load-delay, which every
 * release of the matrix accepts, is not called unknown.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { lintDeployment, profile, readConfig } from '../src/config/index.js';
import { closeConnection } from '../src/connect/index.js';
import { startTestServer, tempDir, testEngines } from './helpers/redis.js';
import { runCliSync } from './helpers/run-cli.js';

const cli = (args: string[]) => runCliSync(args, { timeoutMs: 60_000 });

describe('item 8: an included file is named, never echoed', () => {
  const temp = tempDir();
  after(() => temp.remove());
  // a stand-in for /etc/shadow: single-word lines, and lines that start with real directives
  const SECRETS = [
    'root:$y$j9T$SECRETHASHroot:19000:0:99999:7:::',
    'SECRETWORD-alone',
    'SECRETVALUE1',
    'SECRETVALUE2',
    'SECRETVALUE3',
    'SECRETUSER',
    'SECRETPASS',
  ];
  const shadow = join(temp.path, 'shadow');
  writeFileSync(
    shadow,
    [
      SECRETS[0],
      SECRETS[1],
      `maxmemory ${SECRETS[2]}`,
      `appendfsync ${SECRETS[3]}`,
      `client-output-buffer-limit slave ${SECRETS[4]} 1 1`,
      `user ${SECRETS[5]} on >${SECRETS[6]} ~* +@all`,
    ].join('\n') + '\n',
  );
  const conf = join(temp.path, 'redis.conf');
  writeFileSync(conf, `port 7000\ninclude ${shadow}\n`);

  const assertNoSecret = (text: string) => {
    // names are lowercased by the reader: compare without case
    for (const secret of SECRETS)
      assert.ok(!text.toLowerCase().includes(secret.toLowerCase()), `the output repeats "${secret}" of the included file:\n${text}`);
  };

  test('item 8: config lint names file and line, and no content of the included lines (text and --json)', () => {
    const text = cli(['config', 'lint', conf]);
    assert.equal(text.code, 1);
    assertNoSecret(text.out);
    assert.match(text.out, new RegExp(`${shadow}:1\\b`));
    assert.match(text.out, new RegExp(`${shadow}:2\\b`));
    assert.match(text.out, /"maxmemory" at line 3 of the included file/, 'a directive the server knows is named');
    const json = cli(['config', 'lint', conf, '--json']);
    assertNoSecret(json.out);
  });

  test('item 8: up --config stops with the file and line only', () => {
    const dir = join(temp.path, 'deployment');
    const r = cli(['up', '--dir', dir, '--config', conf, '--detach']);
    assert.equal(r.code, 2);
    assertNoSecret(r.out);
    assert.match(r.out, new RegExp(`${shadow}:1`));
  });

  test('item 8: the main file itself is still quoted (it is the one the user asked about)', () => {
    const own = join(temp.path, 'own.conf');
    writeFileSync(own, 'maxmemroy 1gb\n');
    assert.match(cli(['config', 'lint', own]).out, /"maxmemroy" is not a directive/);
  });
});

/** What `config lint FILE` reports: the reader's findings and the rules'. */
function lintFile(file: string, target: { engine?: 'redis' | 'valkey'; version?: string } = {}) {
  const loaded = readConfig(file, target);
  return lintDeployment(loaded);
}

describe('item 13: lint findings the hostile pass missed', () => {
  const temp = tempDir();
  after(() => temp.remove());
  const lint = (text: string, target?: { engine: 'redis' | 'valkey'; version: string }) => {
    const file = join(temp.path, `t${Math.random().toString(36).slice(2)}.conf`);
    writeFileSync(file, text);
    return lintFile(file, target);
  };

  test('item 13: a plaintext masterauth or primaryauth is reported, without the password', () => {
    const masterauth = lint('masterauth hunter2-secret\n', { engine: 'redis', version: '7.0' }).filter((f) => f.rule === 'plaintext-password');
    assert.equal(masterauth.length, 1);
    assert.equal(masterauth[0]!.severity, 'error');
    assert.ok(!JSON.stringify(masterauth).includes('hunter2-secret'));
    const primaryauth = lint('primaryauth hunter2-secret\n', { engine: 'valkey', version: '8.1' }).filter((f) => f.rule === 'plaintext-password');
    assert.equal(primaryauth.length, 1);
    const yaml = join(temp.path, 'm.yaml');
    writeFileSync(yaml, 'extraDirectives:\n  - { name: masterauth, args: ["hunter2-secret"] }\n');
    assert.ok(lintFile(yaml).some((f) => f.rule === 'plaintext-password' && f.place?.path === 'extraDirectives.0.args'));
  });

  test("item 13: maxmemory 1 (and anything under 4 MiB) is an error; 4mb and 0 are not this rule's", () => {
    assert.ok(lint('maxmemory 1\n').some((f) => f.rule === 'maxmemory-too-small' && f.severity === 'error'));
    assert.ok(lint('maxmemory 3mb\n').some((f) => f.rule === 'maxmemory-too-small'));
    assert.ok(!lint('maxmemory 4mb\n').some((f) => f.rule === 'maxmemory-too-small'));
    assert.ok(!lint('maxmemory 0\n').some((f) => f.rule === 'maxmemory-too-small'));
    const yaml = join(temp.path, 'small.yaml');
    writeFileSync(yaml, 'memory:\n  maxmemory: 1\n');
    assert.ok(lintFile(yaml).some((f) => f.rule === 'maxmemory-too-small' && f.place?.path === 'memory.maxmemory'));
  });

  for (const engine of testEngines()) {
    const target = { engine: engine.identity.engine, version: engine.identity.version };

    test(`${engine.label}: item 13: key-load-delay is accepted by lint, and by the server`, async () => {
      assert.deepEqual(
        lint('key-load-delay 0\n', target).filter((f) => f.rule === 'unknown-directive'),
        [],
      );
      const model = profile('neurallog');
      model.extraDirectives.push({ name: 'key-load-delay', args: ['0'] });
      const server = await startTestServer({ model, engine });
      await server.stop();
    });

    test(`${engine.label}: item 13: what maxmemory-too-small says is so: with maxmemory 1 the first write fails with OOM`, async () => {
      const server = await startTestServer({ engine });
      try {
        const admin = await server.connect('admin');
        try {
          await admin.sendCommand(['CONFIG', 'SET', 'maxmemory', '1']);
          await assert.rejects(admin.sendCommand(['SET', 'logs:1', 'x']), /OOM/);
        } finally {
          await closeConnection(admin);
        }
      } finally {
        await server.stop();
      }
    });
  }
});
