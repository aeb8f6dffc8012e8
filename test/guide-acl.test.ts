/**
 * The guide's ACL examples ("Redis ACLs" in its Advanced Configuration) are expressible in the model:
 * read from redis.conf `user` lines into model users (passwords into the secrets, not the model), and
 * rendered to an ACL file that real redis-server enforces as the guide means.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseRedisConfText, profile } from '../src/config/index.js';
import { closeConnection } from '../src/connect/index.js';
import { renderAcl } from '../src/render/index.js';
import { startTestServer, type TestServer } from './helpers/redis.js';

const GUIDE_ACL = ['user default on >password ~* +@all', 'user readonly on >password ~* +@read'];

describe("the guide's ACL examples", () => {
  const parsed = parseRedisConfText(`${GUIDE_ACL.join('\n')}\n`, 'guide-acl.conf');

  test('read into model users, with the passwords kept out of the model', () => {
    assert.deepEqual(parsed.findings.filter((f) => f.severity === 'error'), []);
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

  describe('enforced by redis-server 7.0', () => {
    let server: TestServer;
    before(async () => {
      const model = profile('neurallog');
      // the guide's two users, plus the admin user the test helper administers the server with
      model.security.users = [...parsed.deployment.security.users, ...profile('neurallog').security.users.filter((u) => u.name === 'admin')];
      server = await startTestServer({ model });
    });
    after(async () => {
      await server.stop();
    });

    test('the readonly user reads but cannot write', async () => {
      const admin = await server.connect('admin');
      await admin.set('logs:1', 'hello');
      await closeConnection(admin);
      const reader = await server.connect('readonly');
      try {
        assert.equal(await reader.get('logs:1'), 'hello');
        await assert.rejects(reader.set('logs:1', 'changed'), /NOPERM/);
      } finally {
        await closeConnection(reader);
      }
      const writer = await server.connect('default');
      try {
        assert.equal(await writer.set('logs:1', 'changed'), 'OK');
      } finally {
        await closeConnection(writer);
      }
    });
  });
});
