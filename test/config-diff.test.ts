/**
 * `config diff`: the normalisation rules on their own, then, on each engine, an `up` deployment that
 * matches its model (exit 0), the same after a value changed by hand with CONFIG SET, a changed user
 * and an extra one (exit 1, each named, no password or whole hash printed), a model whose difference
 * needs a restart (--url, --config), and the runs that cannot compare (exit 2).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { profile } from '../src/config/index.js';
import { closeConnection, deploymentPaths, readDeploymentModel } from '../src/connect/index.js';
import {
  canonicalName,
  changeKind,
  diffDeployment,
  liveValues,
  modelValues,
  normaliseValue,
  openSession,
  refusalKind,
  resolveDriftSource,
  shownValue,
} from '../src/drift/index.js';
import { passwordHash } from '../src/render/index.js';
import { freePort } from '../src/runtime/index.js';
import { testEngines, upTestDeployment, type TestDeployment } from './helpers/redis.js';
import { runCli } from './helpers/run-cli.js';
import { driftJson, formatDrift } from '../src/cli/config-diff.js';

interface DiffJson {
  clean: boolean;
  differences: number;
  directives: Array<{ name: string; model: string; live?: string; change: string }>;
  users: Array<{ name: string; status: string; differences: Array<{ field: string; model: string; live: string }> }>;
  error?: { code: string };
}

describe('config diff: normalisation', () => {
  const target = { engine: 'redis' as const, version: '7.0.15' };
  test('sizes in bytes, yes/no in lower case, the replica client class under either name', () => {
    assert.equal(normaliseValue('maxmemory', '256mb'), '268435456');
    assert.equal(normaliseValue('maxmemory', '1gb'), String(1024 ** 3));
    assert.equal(normaliseValue('repl-backlog-size', '1k'), '1000');
    assert.equal(normaliseValue('appendonly', 'YES'), 'yes');
    assert.equal(
      normaliseValue('client-output-buffer-limit', 'normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60'),
      'normal 0 0 0 replica 268435456 67108864 60 pubsub 33554432 8388608 60',
    );
    assert.equal(normaliseValue('dbfilename', 'dump.rdb'), 'dump.rdb');
    assert.equal(normaliseValue('save', ''), '');
  });
  test('aliases go under the name the release uses; the server lists both, once is compared', () => {
    assert.equal(canonicalName(target, 'slave-read-only'), 'replica-read-only');
    assert.equal(canonicalName(target, 'hash-max-ziplist-entries'), 'hash-max-listpack-entries');
    const live = liveValues(['hash-max-ziplist-entries', '128', 'hash-max-listpack-entries', '128', 'maxmemory', '0'], target);
    assert.deepEqual([...live.keys()], ['hash-max-listpack-entries', 'maxmemory']);
  });
  test("the model's values: every modelled directive, extra directives by their modern name, a later line winning", () => {
    const d = profile('neurallog');
    d.extraDirectives = [
      { name: 'slave-read-only', args: ['no'] },
      { name: 'repl-backlog-size', args: ['1mb'] },
      { name: 'repl-backlog-size', args: ['2mb'] },
      { name: 'rename-command', args: ['FLUSHALL', ''] },
    ];
    const values = modelValues(d, target);
    assert.equal(values.get('maxmemory')?.value, String(d.memory.maxmemory));
    assert.equal(values.get('save')?.value, d.persistence.save.map((p) => `${p.seconds} ${p.changes}`).join(' '));
    assert.equal(values.get('replica-read-only')?.value, 'no');
    assert.deepEqual(values.get('repl-backlog-size'), { text: '2mb', value: String(2 * 1024 * 1024) });
    assert.equal(values.has('rename-command'), false);
  });
  test('a password directive is compared, and shown only as a hash prefix', () => {
    const shown = shownValue('masterauth', 'the-replication-password');
    assert.match(shown, /^\(secret #[0-9a-f]{8}…\)$/);
    assert.equal(shown.includes(passwordHash('the-replication-password')), false);
    assert.equal(shownValue('maxmemory', '100'), '100');
  });
  test('what changes only at restart, from the table and from CONFIG SET refusals', () => {
    assert.equal(changeKind('databases'), 'restart');
    assert.equal(changeKind('dbfilename'), 'protected');
    assert.equal(changeKind('maxmemory'), 'runtime');
    assert.deepEqual(refusalKind("ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"), {
      name: 'databases',
      kind: 'restart',
    });
  });
});

const deployments: TestDeployment[] = [];
after(async () => {
  await Promise.all(deployments.map((d) => d.cleanup()));
});

async function diff(args: string[]): Promise<{ code: number; json: DiffJson; stdout: string; stderr: string }> {
  const run = await runCli(['config', 'diff', ...args, '--json'], { timeoutMs: 60_000 });
  return { code: run.code, json: JSON.parse(run.stdout) as DiffJson, stdout: run.stdout, stderr: run.stderr };
}

describe('config diff on every engine', { concurrency: true }, () => {
  for (const engine of testEngines()) {
    describe(`config diff on ${engine.label}`, { concurrency: false }, () => {
      let dep: TestDeployment;
      test(`${engine.label}: clean, then a value set by hand, a changed and an extra user are found`, async () => {
        dep = await upTestDeployment({ engine });
        deployments.push(dep);
        // clean, through the library (the CLI's exit 0 is config-apply.test.ts's last step)
        const session = await openSession(dep.endpoint('admin'));
        try {
          const clean = await diffDeployment(session, readDeploymentModel(deploymentPaths(dep.dir)), dep.passwords());
          assert.deepEqual({ directives: clean.directives, users: clean.users, differences: clean.differences }, { directives: [], users: [], differences: 0 });
        } finally {
          await session.close();
        }

        const client = await dep.connect('admin');
        const intruderPassword = 'intruder-password-for-the-test';
        try {
          await client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru', 'maxmemory', '300mb']);
          await client.sendCommand(['ACL', 'SETUSER', 'intruder', 'on', `>${intruderPassword}`, '~*', '+@all']);
          await client.sendCommand(['ACL', 'SETUSER', 'app', '+flushall']);
        } finally {
          await closeConnection(client);
        }
        const found = await diff(['--dir', dep.dir]);
        assert.equal(found.code, 1, found.stdout + found.stderr);
        assert.equal(found.json.clean, false);
        const byName = new Map(found.json.directives.map((d) => [d.name, d]));
        assert.deepEqual(byName.get('maxmemory-policy'), {
          name: 'maxmemory-policy',
          model: 'noeviction',
          live: 'allkeys-lru',
          change: 'runtime',
        });
        assert.equal(byName.get('maxmemory')?.live, String(300 * 1024 * 1024));
        assert.equal(found.json.directives.length, 2);
        const users = new Map(found.json.users.map((u) => [u.name, u]));
        assert.equal(users.get('intruder')?.status, 'extra');
        assert.equal(users.get('app')?.status, 'different');
        assert.deepEqual(
          users.get('app')?.differences.map((f) => f.field),
          ['commands'],
        );
        // the people's form too (the same report through the command's formatter; one CLI start per
        // engine is what these tests can afford): never a password, never a whole hash
        const again = await openSession(dep.endpoint('admin'));
        let human: string;
        try {
          human = formatDrift(await diffDeployment(again, readDeploymentModel(deploymentPaths(dep.dir)), dep.passwords())).join('\n');
        } finally {
          await again.close();
        }
        assert.match(human, /maxmemory-policy +noeviction +allkeys-lru +runtime/);
        assert.match(human, /user intruder: on the server, not in the model/);
        const texts = [found.stdout, found.stderr, human];
        const secrets = [intruderPassword, ...Object.values(dep.passwords())];
        for (const text of texts) {
          for (const secret of secrets) {
            assert.ok(!text.includes(secret), 'a password was printed');
            assert.ok(!text.includes(passwordHash(secret)), 'a whole password hash was printed');
          }
        }
      });

      test(`${engine.label}: --url with another model names a restart-only directive; a changed password by its hash prefix`, async () => {
        const stored = JSON.parse(readFileSync(join(dep.dir, 'deployment.json'), 'utf8')) as Record<string, unknown>;
        const model = structuredClone(stored) as { server: { databases: number } };
        model.server.databases = 32;
        const modelFile = join(dep.dir, 'other-model.yaml');
        writeFileSync(modelFile, JSON.stringify(model));
        const passwordFile = join(dep.dir, 'admin-password');
        writeFileSync(passwordFile, dep.passwords().admin!, { mode: 0o600 });
        const secretsFile = join(dep.dir, 'other-secrets.json');
        writeFileSync(secretsFile, JSON.stringify({ version: 1, users: { ...dep.passwords(), backup: 'not-the-live-password' } }), { mode: 0o600 });
        const url = `redis://admin@127.0.0.1:${dep.result.port}`;
        // what `config diff --url URL --password-file F --config M --secrets S --json` prints, in this process
        const source = await resolveDriftSource({ url, passwordFile, config: modelFile, secrets: secretsFile });
        const session = await openSession(source.endpoint);
        let found: { json: ReturnType<typeof driftJson> };
        try {
          found = { json: driftJson(await diffDeployment(session, source.model, source.secrets)) };
        } finally {
          await session.close();
        }
        assert.equal(found.json.clean, false);
        const databases = found.json.directives.find((d) => d.name === 'databases');
        assert.deepEqual(databases && { model: databases.model, live: databases.live, change: databases.change }, {
          model: '32',
          live: '16',
          change: 'restart',
        });
        const backup = found.json.users.find((u) => u.name === 'backup');
        assert.deepEqual(
          backup?.differences.map((f) => f.field),
          ['passwords'],
        );
        assert.equal(backup!.differences[0]!.model, `#${passwordHash('not-the-live-password').slice(0, 8)}…`);
        assert.equal(backup!.differences[0]!.live, `#${passwordHash(dep.passwords().backup!).slice(0, 8)}…`);
      });
    });
  }
});

describe('config diff: could not compare (exit 2)', () => {
  test('a closed port', async () => {
    const port = await freePort();
    const run = await diff(['--url', `redis://admin@127.0.0.1:${port}`]);
    assert.equal(run.code, 2);
    assert.equal(run.json.error?.code, 'E_UNREACHABLE');
  });
  test('a user without CONFIG (the monitor user): NOPERM, named with the fix', async () => {
    const engine = testEngines()[0]!;
    // a deployment from the tests above (any engine: the refusal is the same)
    const dep = deployments[0] ?? (await upTestDeployment({ engine }));
    if (!deployments.includes(dep)) deployments.push(dep);
    const passwordFile = join(dep.dir, 'monitor-password');
    writeFileSync(passwordFile, dep.passwords().monitor!, { mode: 0o600 });
    const run = await diff(['--url', `redis://monitor@127.0.0.1:${dep.result.port}`, '--password-file', passwordFile]);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.equal(run.json.error?.code, 'E_NOPERM');
    assert.match(run.stderr, /administrator/);
  });
});
