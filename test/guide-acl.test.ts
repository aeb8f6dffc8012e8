/**
 * The guide's ACL examples ("Redis ACLs" in its Advanced Configuration) are expressible in the model:
 * read from redis.conf `user` lines into model users (passwords into the secrets, not the model), and
 * rendered to an ACL file that every engine of the matrix (Redis 7.0, 8.0, Valkey 8.1) enforces as the guide means.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { parseRedisConfText, profile } from '../src/config/index.js';
import { closeConnection } from '../src/connect/index.js';
import { renderAcl } from '../src/render/index.js';
import { startTestServer, testEngines, type TestServer } from './helpers/redis.js';

const GUIDE_ACL = ['user default on >password ~* +@all', 'user readonly on >password ~* +@read'];

describe("the guide's ACL examples", () => {
  const parsed = parseRedisConfText(`${GUIDE_ACL.join('\n')}\n`, 'guide-acl.conf');

  test('read into model users, with the passwords kept out of the model', () => {
    assert.deepEqual(
      parsed.findings.filter((f) => f.severity === 'error'),
      [],
    );
    assert.deepEqual(parsed.deployment.security.users, [
      { name: 'default', enabled: true, nopass: false, keys: ['~*'], channels: [], commands: ['+@all'] },
      { name: 'readonly', enabled: true, nopass: false, keys: ['~*'], channels: [], commands: ['+@read'] },
    ]);
    assert.deepEqual(parsed.secrets, { default: 'password', readonly: 'password' });
    assert.ok(!JSON.stringify(parsed.deployment).includes('password"'), 'no password in the model');
  });

  test('rendered with hashes only', () => {
    const acl = renderAcl(parsed.deployment, parsed.secrets);
    assert.match(acl, /^user default on #[0-9a-f]{64} ~\* \+@all$/m);
    assert.match(acl, /^user readonly on #[0-9a-f]{64} ~\* \+@read$/m);
    assert.doesNotMatch(acl, />password/);
  });

  for (const engine of testEngines())
    describe(`enforced by ${engine.label}`, () => {
      let server: TestServer;
      before(async () => {
        const model = profile('neurallog');
        // the guide's two users, plus the admin user the test helper administers the server with
        model.security.users = [...parsed.deployment.security.users, ...profile('neurallog').security.users.filter((u) => u.name === 'admin')];
        server = await startTestServer({ model, engine });
      });
      after(async () => {
        await server.stop();
      });

      test(`${engine.label}: the readonly user reads but cannot write`, async () => {
        const admin = await server.connect('admin');
        await admin.set('logs:1', 'hello');
        await closeConnection(admin);
        // the engine's own CLI: the guide's readonly user has no +ping, which a node-redis connection
        // of this project sends at the end of its handshake (connect/client.ts)
        const as = (user: string, ...args: string[]) => {
          const r = spawnSync(engine.cli, ['-p', String(server.port), '--user', user, ...args], {
            encoding: 'utf8',
            timeout: 15_000,
            env: { ...process.env, REDISCLI_AUTH: server.passwords[user]! },
          });
          return `${r.stdout}${r.stderr}`.trim();
        };
        assert.equal(as('readonly', 'GET', 'logs:1'), 'hello');
        assert.match(as('readonly', 'SET', 'logs:1', 'changed'), /NOPERM/);
        assert.equal(as('default', 'SET', 'logs:1', 'changed'), 'OK');
        assert.equal(as('readonly', 'GET', 'logs:1'), 'changed');
      });
    });
});
