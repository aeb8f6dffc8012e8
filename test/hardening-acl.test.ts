/**
 * Issue 12, item 7: least privilege. The neurallog profile's `app` user may not replace or delete the
 * server's functions and scripts, list key or channel names outside its patterns, or use another
 * database; `monitor` may not reset the latency history. Each denial is tried with a real client as
 * that user on every engine of the matrix (not ACL DRYRUN), next to what NeuralLog needs and keeps:
 * its own keys, EVAL/EVALSHA/SCRIPT LOAD, FCALL of functions an operator installed, SELECT 0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closeConnection, type RedisConnection } from '../src/connect/index.js';
import { startTestServer, testEngines, type TestServer } from './helpers/redis.js';

const LIBRARY = "#!lua name=neurallog\nredis.register_function('nl_count', function(keys, args) return redis.call('INCR', keys[1]) end)";

/** The denials of item 7, as a real client sends them. */
const APP_DENIED: string[][] = [
  ['FUNCTION', 'FLUSH'],
  ['FUNCTION', 'DELETE', 'neurallog'],
  ['FUNCTION', 'LOAD', 'REPLACE', LIBRARY],
  ['FUNCTION', 'RESTORE', 'x'],
  ['SCRIPT', 'FLUSH'],
  ['SCRIPT', 'DEBUG', 'NO'],
  ['SCAN', '0'],
  ['SCAN', '0', 'MATCH', 'secret:*'],
  ['RANDOMKEY'],
  ['PUBSUB', 'CHANNELS'],
  ['PUBSUB', 'SHARDCHANNELS'],
  ['SELECT', '1'],
  ['SELECT', '15'],
  ['MOVE', 'logs:1', '1'],
  ['COPY', 'logs:1', 'logs:copy', 'DB', '1'],
];

async function denied(client: RedisConnection, command: string[]): Promise<void> {
  await assert.rejects(client.sendCommand(command), /NOPERM/, `${command.slice(0, 2).join(' ')} must be refused with NOPERM`);
}

for (const engine of testEngines()) {
  describe(`least privilege on ${engine.label}`, () => {
    let server: TestServer;
    let admin: RedisConnection;
    let app: RedisConnection;
    let monitor: RedisConnection;
    before(async () => {
      server = await startTestServer({ engine });
      admin = await server.connect('admin');
      app = await server.connect('app');
      monitor = await server.connect('monitor');
      await admin.sendCommand(['FUNCTION', 'LOAD', LIBRARY]);
      await admin.sendCommand(['SET', 'secret:other', 'not for app']);
      await admin.sendCommand(['SELECT', '1']);
      await admin.sendCommand(['SET', 'db1:key', 'x']);
      await admin.sendCommand(['SELECT', '0']);
      await app.set('logs:1', 'entry');
    });
    after(async () => {
      for (const c of [app, monitor, admin]) await closeConnection(c);
      await server.stop();
    });

    test(`${engine.label}: item 7: app may not FUNCTION FLUSH/DELETE/LOAD/RESTORE, SCRIPT FLUSH/DEBUG, SCAN, RANDOMKEY, PUBSUB CHANNELS, SELECT another db, MOVE, COPY`, async () => {
      for (const command of APP_DENIED) await denied(app, command);
      // nothing of the above happened
      assert.equal(await admin.sendCommand(['EXISTS', 'secret:other']), 1);
      assert.equal(
        (await admin.sendCommand(['FUNCTION', 'LIST'])) instanceof Array && ((await admin.sendCommand(['FUNCTION', 'LIST'])) as unknown[]).length,
        1,
        'the library is still loaded',
      );
      assert.equal(await app.get('logs:1'), 'entry', 'MOVE did not move it away');
    });

    test(`${engine.label}: item 7: inside a script app is held to the same rules`, async () => {
      await assert.rejects(app.sendCommand(['EVAL', "return redis.call('SCAN', '0')", '0']), /NOPERM|permission|can't run this command/i);
      await assert.rejects(app.sendCommand(['EVAL', "return redis.call('SELECT', '1')", '0']), /NOPERM|permission|can't run this command/i);
      await assert.rejects(app.sendCommand(['EVAL', "return redis.call('FUNCTION', 'FLUSH')", '0']), /NOPERM|permission|not allowed|can't run this command/i);
    });

    test(`${engine.label}: item 7: what NeuralLog needs still works: its keys, SELECT 0, EVAL, SCRIPT LOAD + EVALSHA, FCALL, FUNCTION LIST`, async () => {
      assert.equal(await app.sendCommand(['SELECT', '0']), 'OK');
      assert.equal(await app.sendCommand(['EVAL', "return redis.call('GET', KEYS[1])", '1', 'logs:1']), 'entry');
      const sha = String(await app.sendCommand(['SCRIPT', 'LOAD', "return redis.call('EXISTS', KEYS[1])"]));
      assert.equal(await app.sendCommand(['EVALSHA', sha, '1', 'logs:1']), 1);
      assert.equal(await app.sendCommand(['FCALL', 'nl_count', '1', 'rules:count']), 1);
      assert.ok(Array.isArray(await app.sendCommand(['FUNCTION', 'LIST'])));
      assert.equal(await app.sendCommand(['HSET', 'idx:logs:by-level', 'info', '1']), 1);
      await assert.rejects(app.sendCommand(['GET', 'secret:other']), /NOPERM/);
    });

    test(`${engine.label}: item 7: monitor may not LATENCY RESET; it still reads latency, INFO, SLOWLOG LEN, CLIENT LIST`, async () => {
      await denied(monitor, ['LATENCY', 'RESET']);
      assert.ok(Array.isArray(await monitor.sendCommand(['LATENCY', 'LATEST'])));
      assert.match(String(await monitor.sendCommand(['INFO', 'server'])), /process_id/);
      assert.equal(typeof (await monitor.sendCommand(['SLOWLOG', 'LEN'])), 'number');
      assert.match(String(await monitor.sendCommand(['CLIENT', 'LIST'])), /id=/);
    });
  });
}
