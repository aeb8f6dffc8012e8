/**
 * Clients on another host: a network namespace made by this test (veth pair, private addresses) plays
 * the NeuralLog server pod, on every engine of the matrix (Redis 7.0, 8.0, Valkey 8.1; the engine's own CLI). With `up --bind 0.0.0.0` the app user gets in and an anonymous client is
 * refused; the guide's own config (protected mode, no password) refuses even the legitimate client
 * with -DENIED, which is why the neurallog profile changes it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testEngines, upTestDeployment, type TestDeployment, type TestEngine } from './helpers/redis.js';

const id = `${process.pid % 200}`;
const NS = `nlr-remote-${process.pid}`;
const HOST_IF = `nlrh${process.pid % 100000}`;
const NS_IF = `nlrn${process.pid % 100000}`;
const HOST_ADDR = `10.213.${id}.1`;
const NS_ADDR = `10.213.${id}.2`;

function sh(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

function must(cmd: string, args: string[]): void {
  const r = sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.out}`);
}

/** The engine's CLI run inside the test's namespace; the password travels in the environment. */
function remoteCli(engine: TestEngine, port: number, args: string[], auth?: { user: string; password: string }): string {
  const r = spawnSync('ip', ['netns', 'exec', NS, engine.cli, '-h', HOST_ADDR, '-p', String(port), ...(auth ? ['--user', auth.user] : []), ...args], {
    encoding: 'utf8',
    timeout: 15_000,
    env: { ...process.env, ...(auth ? { REDISCLI_AUTH: auth.password } : {}) },
  });
  return `${r.stdout}${r.stderr}`.trim();
}

const canMakeNamespaces = process.getuid?.() === 0 && sh('ip', ['netns', 'list']).code === 0;

describe('clients from another host (a network namespace the test creates)', { skip: canMakeNamespaces ? false : 'needs root and iproute2 (ip netns)' }, () => {
  before(() => {
    must('ip', ['netns', 'add', NS]);
    must('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF]);
    must('ip', ['link', 'set', NS_IF, 'netns', NS]);
    must('ip', ['addr', 'add', `${HOST_ADDR}/24`, 'dev', HOST_IF]);
    must('ip', ['link', 'set', HOST_IF, 'up']);
    must('ip', ['netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_ADDR}/24`, 'dev', NS_IF]);
    must('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up']);
    must('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  });
  after(() => {
    sh('ip', ['link', 'del', HOST_IF]);
    sh('ip', ['netns', 'del', NS]);
  });

  for (const engine of testEngines()) {
    describe(`up --bind 0.0.0.0 (neurallog profile) on ${engine.label}`, () => {
      let d: TestDeployment;
      before(async () => {
        d = await upTestDeployment({ bind: ['0.0.0.0'], engine });
      });
      after(async () => {
        await d.cleanup();
      });

      test(`${engine.label}: the app user reaches the server from the other host`, () => {
        const auth = { user: 'app', password: d.passwords().app! };
        assert.equal(remoteCli(engine, d.result.port, ['SET', 'logs:remote', 'yes'], auth), 'OK');
        assert.equal(remoteCli(engine, d.result.port, ['GET', 'logs:remote'], auth), 'yes');
      });

      test(`${engine.label}: an anonymous client from the other host is refused`, () => {
        assert.match(remoteCli(engine, d.result.port, ['PING']), /NOAUTH/);
        assert.match(remoteCli(engine, d.result.port, ['GET', 'logs:remote']), /NOAUTH/);
      });
    });

    test(`${engine.label}: the guide's redis.conf as written refuses the other host with -DENIED`, async () => {
      const d = await upTestDeployment({
        engine,
        bind: ['0.0.0.0'],
        config: join(import.meta.dirname, 'fixtures', 'guide-with-admin.yaml'),
        allowInsecure: true,
      });
      try {
        assert.match(remoteCli(engine, d.result.port, ['PING']), /DENIED/);
      } finally {
        await d.cleanup();
      }
    });
  }
});
