/**
 * `config apply` on each engine: on an `up` deployment drifted by hand (CONFIG SET then CONFIG
 * REWRITE, a changed user, an extra user saved with ACL SAVE), --dry-run changes nothing (CONFIG GET *,
 * ACL LIST and both files identical before and after); apply puts everything back, rewrites
 * redis.conf and users.acl (0600 again), and a second diff is clean (exit 0). A directive only a
 * restart changes is named, whether the table or the server's refusal says so; the user apply is
 * logged in as is never disabled or deleted.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { profile } from '../src/config/index.js';
import { closeConnection, deploymentPaths, readDeploymentModel, type RedisConnection } from '../src/connect/index.js';
import { applyDeployment, openSession } from '../src/drift/index.js';
import { setDirectives } from '../src/drift/apply-directives.js';
import { planUsers } from '../src/drift/apply-users.js';
import { testEngines, upTestDeployment, type TestDeployment } from './helpers/redis.js';
import { runCli } from './helpers/run-cli.js';

interface ApplyJson {
  dryRun: boolean;
  set: Array<{ name: string; from?: string; to: string }>;
  restart: Array<{ name: string; reason: string }>;
  rewrite: { done: boolean; file?: string };
  users: { steps: Array<{ name: string; action: string; shown: string }>; set: string[]; deleted: string[] };
  aclSave: { done: boolean; file?: string };
  remaining: number;
}

async function snapshot(client: RedisConnection): Promise<{ config: string[]; acl: string[] }> {
  const reply = (await client.sendCommand(['CONFIG', 'GET', '*'])) as string[];
  const pairs: string[] = [];
  for (let i = 0; i < reply.length; i += 2) pairs.push(`${reply[i]} ${reply[i + 1]}`);
  return { config: pairs.sort(), acl: (await client.sendCommand(['ACL', 'LIST'])) as string[] };
}

describe('config apply: the user it is logged in as', () => {
  test('is applied last, never deleted, never turned off', () => {
    const model = profile('neurallog');
    const plan = planUsers(
      [
        { name: 'admin', status: 'different', differences: [] },
        { name: 'app', status: 'different', differences: [] },
      ],
      model,
      { admin: 'a', app: 'b', backup: 'c', monitor: 'd' },
      'admin',
    );
    assert.deepEqual(
      plan.steps.map((s) => s.name),
      ['app', 'admin'],
    );
    assert.ok(
      plan.steps.every((s) => !s.shown.includes('ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb')),
      'a whole hash is shown',
    );
    const off = profile('neurallog');
    off.security.users.find((u) => u.name === 'admin')!.enabled = false;
    const turnedOff = planUsers([{ name: 'admin', status: 'different', differences: [] }], off, {}, 'admin');
    const deleted = planUsers([{ name: 'admin', status: 'extra', differences: [] }], model, {}, 'admin');
    for (const refused of [turnedOff, deleted]) {
      assert.deepEqual(refused.steps, []);
      assert.deepEqual(
        refused.skipped.map((s) => s.name),
        ['admin'],
      );
    }
  });
});

const deployments: TestDeployment[] = [];
after(async () => {
  await Promise.all(deployments.map((d) => d.cleanup()));
});

async function apply(args: string[]): Promise<{ code: number; json: ApplyJson; out: string }> {
  const run = await runCli(['config', 'apply', ...args, '--json'], { timeoutMs: 60_000 });
  return { code: run.code, json: JSON.parse(run.stdout) as ApplyJson, out: run.stdout + run.stderr };
}

describe('config apply on every engine', { concurrency: true }, () => {
  for (const engine of testEngines()) {
    describe(`config apply on ${engine.label}`, { concurrency: false }, () => {
      let dep: TestDeployment;
      test(`${engine.label}: --dry-run changes nothing; apply puts the model back and its files; diff is clean`, async () => {
        dep = await upTestDeployment({ engine });
        deployments.push(dep);
        const paths = deploymentPaths(dep.dir);
        const client = await dep.connect('admin');
        try {
          await client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru', 'hz', '20']);
          await client.sendCommand(['CONFIG', 'REWRITE']);
          await client.sendCommand(['ACL', 'SETUSER', 'intruder', 'on', '>intruder-password', '~*', '+@all']);
          await client.sendCommand(['ACL', 'SETUSER', 'app', '+flushall']);
          await client.sendCommand(['ACL', 'SAVE']);
          assert.match(readFileSync(paths.conf, 'utf8'), /^maxmemory-policy allkeys-lru$/m);
          const files = () => ({ conf: readFileSync(paths.conf, 'utf8'), acl: readFileSync(paths.acl, 'utf8') });
          const before = { ...(await snapshot(client)), ...files() };

          // --dry-run as `config apply --dry-run` runs it, in this process (a CLI start costs seconds here)
          const session = await openSession(dep.endpoint('admin'));
          try {
            const dry = await applyDeployment(session, readDeploymentModel(paths), dep.passwords(), { dryRun: true, deployment: paths });
            assert.equal(dry.dryRun, true);
            assert.deepEqual(dry.set.map((s) => s.name).sort(), ['hz', 'maxmemory-policy']);
            assert.deepEqual(dry.userSteps.map((s) => `${s.action} ${s.name}`).sort(), ['deluser intruder', 'setuser app']);
          } finally {
            await session.close();
          }
          assert.deepEqual({ ...(await snapshot(client)), ...files() }, before, '--dry-run changed something');

          const done = await apply(['--dir', dep.dir]);
          assert.equal(done.code, 0, done.out);
          assert.equal(done.json.remaining, 0);
          assert.deepEqual(done.json.set.map((s) => `${s.name} ${s.to}`).sort(), ['hz 10', 'maxmemory-policy noeviction']);
          assert.deepEqual([done.json.users.set, done.json.users.deleted], [['app'], ['intruder']]);
          assert.equal(done.json.rewrite.done, true);
          assert.equal(done.json.aclSave.done, true);
          // CONFIG REWRITE and ACL SAVE made the files match: read them back
          const conf = readFileSync(paths.conf, 'utf8');
          assert.match(conf, /^maxmemory-policy noeviction$/m);
          assert.doesNotMatch(conf, /allkeys-lru/);
          const acl = readFileSync(paths.acl, 'utf8');
          assert.doesNotMatch(acl, /intruder/);
          assert.match(acl, /^user app /m);
          assert.equal(statSync(paths.acl).mode & 0o777, 0o600, 'users.acl holds hashes: 0600 after ACL SAVE');
          const live = await snapshot(client);
          assert.ok(live.config.includes('maxmemory-policy noeviction') && live.config.includes('hz 10'));
        } finally {
          await closeConnection(client);
        }
        const diff = await runCli(['config', 'diff', '--dir', dep.dir], { timeoutMs: 60_000 });
        assert.equal(diff.code, 0, diff.stdout + diff.stderr);
        assert.match(diff.stdout, /No difference/);
      });

      test(`${engine.label}: a directive only a restart changes is named, by the table and by CONFIG SET's refusal; one the release lacks`, async () => {
        const model = readDeploymentModel(deploymentPaths(dep.dir));
        model.server.databases = 32;
        // the server would take a new port now; apply leaves it, as clients would lose the server
        model.server.port = dep.result.port + 1;
        // a directive no release has: the server cannot take it at all
        model.extraDirectives.push({ name: 'neurallog-no-such-directive', args: ['1'] });
        const session = await openSession(dep.endpoint('admin'));
        try {
          const result = await applyDeployment(session, model, dep.passwords());
          assert.deepEqual(
            result.restart.map((r) => r.name),
            ['port', 'databases', 'neurallog-no-such-directive'],
          );
          assert.match(result.restart[0]!.reason, /where clients connect/);
          assert.match(result.restart[1]!.reason, /restart/);
          assert.match(result.restart[2]!.reason, /No Redis or Valkey release this tool knows/);
          assert.equal(result.before.directives[2]!.change, 'unsupported');
          assert.equal(result.remaining, 3);
          assert.deepEqual(await session.send(['CONFIG', 'GET', 'port']), ['port', String(dep.result.port)]);
          assert.deepEqual(result.set, []);
          // the server's own word, for a directive sent as if it could change
          const outcome = await setDirectives(session, {
            set: [
              { name: 'databases', from: '16', to: '32', value: '32' },
              { name: 'tcp-backlog', from: '511', to: '128', value: '128' },
              { name: 'hz', from: '10', to: '11', value: '11' },
            ],
            restart: [],
          });
          assert.deepEqual(
            outcome.set.map((s) => s.name),
            ['hz'],
          );
          assert.deepEqual(outcome.restart.map((r) => r.name).sort(), ['databases', 'tcp-backlog']);
          assert.deepEqual(await session.send(['CONFIG', 'GET', 'databases']), ['databases', '16']);
          await session.send(['CONFIG', 'SET', 'hz', '10']);
        } finally {
          await session.close();
        }
      });
    });
  }
});
