/**
 * freePort / freePortRange: a port handed out is never handed out again by the same process, even
 * before anything binds it (tests start several topologies at once, and a Sentinel binds its port
 * seconds after the draw), and a plain port never lands on a cluster node's bus port (port + 10000).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, freePortRange } from '../src/runtime/index.js';

test('440 draws (800 ports), each kind all at once, nothing bound: every port and bus port distinct', async () => {
  const plain = await Promise.all(Array.from({ length: 300 }, () => freePort()));
  const cluster = await Promise.all(Array.from({ length: 100 }, () => freePort('127.0.0.1', { clusterBus: true })));
  const ranges = await Promise.all(Array.from({ length: 20 }, () => freePortRange(6, '127.0.0.1', { clusterBus: true })));
  const sentinels = await Promise.all(Array.from({ length: 20 }, () => freePortRange(3)));
  const taken = [
    ...plain,
    ...cluster.flatMap((p) => [p, p + 10000]),
    ...ranges.flatMap((base) => Array.from({ length: 6 }, (_, i) => [base + i, base + i + 10000]).flat()),
    ...sentinels.flatMap((base) => [base, base + 1, base + 2]),
  ];
  const seen = new Set<number>();
  const twice = taken.filter((p) => seen.has(p) || !seen.add(p));
  assert.deepEqual(twice, [], `handed out twice: ${twice.join(', ')}`);
  assert.ok(!taken.includes(6379));
});
