/**
 * `status --watch`: the `redis-cli --stat` view of a deployment made by `up`, as its monitor user
 * (nobody types a password), on every engine: the header, one line per interval with keys, memory,
 * clients and requests growing by what was sent between lines, and --json as one object a line.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closeConnection } from '../src/connect/client.js';
import { statLine, shortBytes } from '../src/monitor/stat-line.js';
import { runCli } from './helpers/run-cli.js';
import { testEngines, upTestDeployment } from './helpers/redis.js';

describe('status --watch', () => {
  test('a stat line from INFO: keys over every database, short sizes, requests since the last line', () => {
    const before = new Map([['total_commands_processed', '100']]);
    const now = new Map([
      ['db0', 'keys=10,expires=0,avg_ttl=0'],
      ['db3', 'keys=5,expires=1,avg_ttl=9'],
      ['used_memory', String(1.5 * 1024 * 1024)],
      ['connected_clients', '3'],
      ['blocked_clients', '1'],
      ['total_commands_processed', '160'],
      ['total_connections_received', '7'],
      ['rdb_bgsave_in_progress', '1'],
    ]);
    assert.deepEqual(statLine(now, before).split(/\s+/), ['15', '1.50M', '3', '1', '160', '(+60)', '7', 'RDB']);
    assert.deepEqual([shortBytes(512), shortBytes(2048), shortBytes(3 * 1024 ** 3)], ['512B', '2.00K', '3.00G']);
  });

  for (const engine of testEngines()) {
    test(`three lines as the monitor user, requests grow with what is sent (${engine.label})`, async () => {
      const deployment = await upTestDeployment({ engine });
      try {
        const app = await deployment.connect('app');
        const writer = setInterval(() => void app.set(`logs:${Date.now()}`, 'x').catch(() => undefined), 20);
        const r = await runCli(['status', '--dir', deployment.dir, '--watch', '--count', '3', '--interval', '1s']);
        clearInterval(writer);
        await closeConnection(app);
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.trim().split('\n');
        assert.match(lines[0]!, /^------- data ------/);
        assert.match(lines[1]!, /^keys\s+mem\s+clients\s+blocked\s+requests\s+connections$/);
        const rows = lines.slice(2).map((l) => l.split(/\s+/));
        assert.equal(rows.length, 3);
        assert.ok(Number(rows[2]![0]) > Number(rows[0]![0]), `keys grew: ${lines.join(' | ')}`);
        assert.match(lines[3]!, /\(\+\d+\)/);
        assert.doesNotMatch(r.stdout + r.stderr, new RegExp(deployment.passwords().monitor!));
        const json = await runCli(['status', '--dir', deployment.dir, '--watch', '--count', '2', '--json']);
        assert.equal(json.code, 0, json.stderr);
        const objects = json.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { version: number; connected_clients: number });
        assert.equal(objects.length, 2);
        assert.ok(objects.every((o) => o.version === 1 && o.connected_clients >= 1));
      } finally {
        await deployment.cleanup();
      }
    });
  }

  test('--watch of a directory with no running deployment: exit 2, and a bad --interval is refused', async () => {
    const r = await runCli(['status', '--dir', '/nonexistent-nlr', '--watch', '--count', '1']);
    assert.equal(r.code, 2);
    const bad = await runCli(['status', '--watch', '--interval', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--interval takes 1s to 1h/);
  });
});
