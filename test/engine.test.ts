import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseInfo } from '../src/connect/index.js';
import {
  compareVersions,
  describeEngine,
  identifyFromInfo,
  identifyFromVersionOutput,
  locateServer,
  releaseLine,
  serverBinaryIdentity,
} from '../src/engine/index.js';
import { startTestServer, testEngines } from './helpers/redis.js';

describe('engine identity', () => {
  test('INFO server: Valkey is told from Redis by valkey_version, not redis_version', () => {
    assert.deepEqual(identifyFromInfo({ redis_version: '7.2.4', server_name: 'valkey', valkey_version: '8.1.1' }), { engine: 'valkey', version: '8.1.1' });
    assert.deepEqual(identifyFromInfo({ redis_version: '8.0.2' }), { engine: 'redis', version: '8.0.2' });
    assert.deepEqual(identifyFromInfo({ redis_version: '7.2.4', server_name: 'valkey' }), { engine: 'valkey', version: '7.2.4' });
  });

  test('--version output of each server; anything else is not a server', () => {
    assert.deepEqual(identifyFromVersionOutput('Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=ae4d7c971a948f0'), {
      engine: 'redis',
      version: '7.0.15',
    });
    assert.deepEqual(identifyFromVersionOutput('Valkey server v=8.1.1 sha=00000000:0 malloc=jemalloc-5.3.0'), { engine: 'valkey', version: '8.1.1' });
    assert.equal(identifyFromVersionOutput('redis-cli 7.0.15'), undefined);
    assert.equal(identifyFromVersionOutput('bash, version 5.2'), undefined);
  });

  test('versions compare numerically, release lines', () => {
    assert.ok(compareVersions('7.10.0', '7.4.2') > 0);
    assert.ok(compareVersions('7.0.15', '7.2.0') < 0);
    assert.equal(compareVersions('8.0', '8.0.0'), 0);
    assert.equal(releaseLine('8.0.2'), '8.0');
    assert.equal(describeEngine({ engine: 'valkey', version: '8.1.1' }), 'Valkey 8.1.1');
  });

  test('a binary that is not a server is refused by name', () => {
    assert.throws(
      () => serverBinaryIdentity('/bin/true'),
      (e: Error & { code?: string }) => e.code === 'E_SERVER_BINARY' && /\/bin\/true is not redis-server or valkey-server/.test(e.message),
    );
    assert.throws(() => serverBinaryIdentity('/nonexistent/redis-server'), { code: 'E_SERVER_BINARY' });
    assert.throws(() => locateServer('no-such-server-here'), { code: 'E_MISSING_TOOL' });
  });
});

for (const engine of testEngines()) {
  test(`${engine.label}: --version and INFO server name the same engine and version`, async () => {
    const fromBinary = serverBinaryIdentity(engine.server);
    assert.deepEqual(locateServer(engine.server).identity, fromBinary);
    const server = await startTestServer({ engine });
    try {
      const client = await server.connect();
      try {
        const info = parseInfo(String(await client.sendCommand(['INFO', 'server'])));
        assert.deepEqual(identifyFromInfo(info), fromBinary);
      } finally {
        await client.close();
      }
    } finally {
      await server.stop();
    }
  });
}
