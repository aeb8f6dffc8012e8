/**
 * loadgen to a Redis Cluster (three masters with a replica each, `up --topology cluster`) against
 * loadgen to one server of the same engine, in one run: the same workload (--logs, seed 1), each
 * round on emptied data; commands/s per round, the median of each, and their ratio.
 *
 *   node --import tsx bench/loadgen-cluster.ts [--logs N] [--rounds K] [--engine redis-7.0|redis-8.0|valkey-8.1]
 */
import { parseArgs } from 'node:util';
import { closeConnection, openConnection, type Endpoint } from '../src/connect/index.js';
import { loadgen, loadgenCluster } from '../src/workload/index.js';
import { upTestTopology } from '../test/helpers/ha.js';
import { engineById, startTestServer } from '../test/helpers/redis.js';

const { values } = parseArgs({
  options: { logs: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' }, engine: { type: 'string', default: 'redis-7.0' } },
});
const logs = Number(values.logs);
const rounds = Number(values.rounds);
const engine = engineById(values.engine);
if (!engine) throw new Error(`no engine ${values.engine} on this machine`);

async function flush(endpoints: Endpoint[]): Promise<void> {
  for (const e of endpoints) {
    const c = await openConnection(e);
    try {
      await c.sendCommand(['FLUSHALL']);
    } finally {
      await closeConnection(c);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

const single = await startTestServer({ engine });
const cluster = await upTestTopology(engine, { kind: 'cluster', settings: { nodeTimeout: 5000 } });
try {
  const masters = cluster.record().nodes.filter((n) => n.role === 'master');
  const seeds = cluster.record().nodes.map((n) => ({ host: n.host, port: n.port }));
  const credentials = { username: 'app', password: cluster.secrets().app };
  const one: number[] = [];
  const many: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await flush([single.endpoint('admin')]);
    one.push((await loadgen(single.endpoint('app'), { logs, seed: '1' })).commandsPerSecond);
    await flush(masters.map((m) => cluster.endpoint(m.port)));
    const r = await loadgenCluster(seeds, credentials, { logs, seed: '1' });
    many.push(r.commandsPerSecond);
    console.log(
      `round ${i + 1}: single ${fmt(one.at(-1)!)} commands/s, cluster ${fmt(r.commandsPerSecond)} commands/s (${r.masters.map((m) => m.commands).join(' / ')} per master)`,
    );
  }
  console.log(
    `${engine.label}, ${logs} logs, ${rounds} rounds: single median ${fmt(median(one))}, cluster median ${fmt(median(many))} commands/s; cluster / single ${(median(many) / median(one)).toFixed(2)}`,
  );
} finally {
  await cluster.cleanup();
  await single.stop();
}
