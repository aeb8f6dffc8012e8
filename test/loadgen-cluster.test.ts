/**
 * `loadgen --cluster`, `url --cluster` and `status --cluster` on a real cluster made by `up --topology cluster` (three masters with a replica
 * each): every command goes to the master owning its key's slot, the keys land on all three masters,
 * and the DBSIZE sum equals what loadgen reports; a stale slot map is corrected by MOVED (counted, map
 * asked again) with the same keys in the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closeConnection, openConnection } from '../src/connect/index.js';
import { type NodeAddress } from '../src/connect/topology-target.js';
import { askCluster } from '../src/discover/index.js';
import { loadgenCluster } from '../src/workload/index.js';
import { upTestTopology, type TestTopology } from './helpers/ha.js';
import { testEngines } from './helpers/redis.js';
import { runCli } from './helpers/run-cli.js';

const LOGS = 2000;

async function dbsizes(t: TestTopology, masters: NodeAddress[]): Promise<number[]> {
  return Promise.all(
    masters.map(async (m) => {
      const c = await openConnection(t.endpoint(m.port), { connectTimeoutMs: 5000 });
      try {
        return Number(await c.sendCommand(['DBSIZE']));
      } finally {
        await closeConnection(c);
      }
    }),
  );
}

test('url, status and loadgen refuse --master-name without --sentinel, and --sentinel with --cluster', async () => {
  for (const args of [
    ['url', '--user', 'app', '--master-name', 'mymaster'],
    ['status', '--sentinel', '127.0.0.1:1', '--master-name', 'm', '--cluster', '127.0.0.1:2'],
    ['status', '--sentinel', '127.0.0.1:1'],
    ['loadgen', '--logs', '1', '--cluster', 'nohost'],
  ]) {
    const run = await runCli(args, { timeoutMs: 30_000 });
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /--master-name|--sentinel|--cluster/);
  }
});

describe('loadgen --cluster', { concurrency: true }, () => {
  for (const engine of testEngines()) {
    describe(`on ${engine.label}`, { concurrency: 1 }, () => {
      let t: TestTopology;
      before(async () => {
        t = await upTestTopology(engine, { kind: 'cluster', settings: { nodeTimeout: 2000 } });
      });
      after(async () => {
        await t?.cleanup();
      });

      test(
        `${engine.label}: loadgen --cluster SEED writes each key to its slot's master, on all three; DBSIZE sum = keys reported`,
        { timeout: 120_000 },
        async () => {
          const seed = t.record().nodes[0]!;
          const run = await runCli(['loadgen', '--cluster', `${seed.host}:${seed.port}`, '--user', 'app', '--logs', String(LOGS), '--json'], {
            timeoutMs: 90_000,
            env: { NEURALLOG_REDIS_PASSWORD: t.secrets().app! },
          });
          assert.equal(run.code, 0, run.stderr);
          const r = JSON.parse(run.stdout) as { logs: number; keys: number; commands: number; masters: { node: string; commands: number }[]; moved: number };
          assert.equal(r.logs, LOGS);
          assert.equal(r.moved, 0, 'a fresh slot map sends nothing to the wrong master');
          assert.equal(r.masters.length, 3);
          assert.equal(
            r.masters.reduce((n, m) => n + m.commands, 0),
            r.commands,
          );
          const masters = (await askCluster([seed], { username: 'admin', password: t.secrets().admin })).map((s) => s.master);
          const sizes = await dbsizes(t, masters);
          assert.ok(
            sizes.every((n) => n > 0),
            `keys on every master: ${sizes.join(', ')}`,
          );
          assert.equal(
            sizes.reduce((a, b) => a + b, 0),
            r.keys,
          );
          assert.ok(!run.stdout.includes(t.secrets().app!));
        },
      );

      test(
        `${engine.label}: url --cluster names every master as a seed, status --cluster shows roles and slots (--json), no password printed`,
        { timeout: 60_000 },
        async () => {
          const seed = t.record().nodes[0]!;
          const env = { NEURALLOG_REDIS_PASSWORD: t.secrets().app! };
          const url = await runCli(['url', '--cluster', `${seed.host}:${seed.port}`, '--user', 'app', '--json'], { timeoutMs: 60_000, env });
          assert.equal(url.code, 0, url.stderr);
          const u = JSON.parse(url.stdout) as { kind: string; seeds: string[]; user: string; passwordFrom: string };
          assert.equal(u.kind, 'cluster');
          assert.equal(u.seeds.length, 3);
          assert.equal(u.user, 'app');
          assert.match(u.passwordFrom, /NEURALLOG_REDIS_PASSWORD/);
          const status = await runCli(['status', '--cluster', `${seed.host}:${seed.port}`, '--user', 'app', '--json'], { timeoutMs: 60_000, env });
          assert.equal(status.code, 0, status.stderr);
          const s = JSON.parse(status.stdout) as {
            topology: { kind: string; healthy: boolean; clusterState: string; nodes: { role: string; slots?: string[] }[] };
          };
          assert.equal(s.topology.healthy, true);
          assert.equal(s.topology.clusterState, 'ok');
          assert.equal(s.topology.nodes.filter((n) => n.role === 'master' && (n.slots?.length ?? 0) > 0).length, 3);
          assert.equal(s.topology.nodes.filter((n) => n.role.startsWith('replica of')).length, 3);
          const text = await runCli(['status', '--cluster', `${seed.host}:${seed.port}`, '--user', 'app'], { timeoutMs: 60_000, env });
          assert.equal(text.code, 0, text.stderr);
          assert.match(text.stdout, /healthy cluster topology, cluster_state ok/);
          for (const out of [url.stdout, status.stdout, text.stdout]) assert.ok(!out.includes(t.secrets().app!));
        },
      );

      test(`${engine.label}: a stale slot map: MOVED replies are counted, the map is asked again, the same keys land`, { timeout: 120_000 }, async () => {
        const seeds = t.record().nodes.map((n) => ({ host: n.host, port: n.port }));
        const credentials = { username: 'app', password: t.secrets().app };
        const shards = await askCluster(seeds, { username: 'admin', password: t.secrets().admin });
        // every master is told the slots of the next one
        const stale = shards.map((s, i) => ({ ...s, slots: shards[(i + 1) % shards.length]!.slots }));
        const r = await loadgenCluster(seeds, credentials, { logs: LOGS, seed: '1', initialShards: stale });
        assert.ok(r.moved > 0, 'MOVED replies were seen');
        assert.ok(r.mapRefreshes >= 1, 'the slot map was asked again');
        assert.equal(r.ask, 0);
        const sizes = await dbsizes(
          t,
          shards.map((s) => s.master),
        );
        // the same seed writes the same keys again: still exactly those
        assert.equal(
          sizes.reduce((a, b) => a + b, 0),
          r.keys,
        );
        const fresh = await loadgenCluster(seeds, credentials, { logs: 10, seed: '2' });
        assert.equal(fresh.moved, 0);
      });
    });
  }
});
