/**
 * Commands that know the topology, through the CLI on real processes: `backup --sentinel` pulls from
 * the master's replica (the manifest and the replica's own client list say so), and refuses clearly
 * when no Sentinel answers or none knows the master's name; `backup --cluster` makes a set that
 * `backups list`, `backups verify` and `restore` (onto a single server) understand; a cluster seed
 * that does not answer is named. One `topology.json` in a --dir works like the flags.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { closeConnection, openConnection } from '../src/connect/index.js';
import { freePort } from '../src/runtime/index.js';
import { askCluster, askSentinels, resolveTarget } from '../src/discover/index.js';
import { closeTopologyConnection, openTopologyConnection } from '../src/connect/topology-client.js';
import type { ConnectionError } from '../src/errors.js';
import { datasetKey, startTestCluster, startTestSentinel, writeDataset } from './helpers/cluster.js';
import { runCli } from './helpers/run-cli.js';
import { startTestServer, tempDir, testEngines } from './helpers/redis.js';

const KEYS = 600;

for (const engine of testEngines()) {
  describe(`topology clients (${engine.label})`, () => {
    it(`${engine.label}: backup --sentinel pulls from the replica; bad names and silent Sentinels are refused clearly`, async () => {
      const setup = await startTestSentinel(engine, 1);
      const backups = tempDir('nlr-sentinel-backup-');
      try {
        const master = await setup.master.connect('admin');
        try {
          await writeDataset(KEYS, () => master);
          await master.sendCommand(['WAIT', '1', '5000']);
        } finally {
          await closeConnection(master);
        }
        const env = { NEURALLOG_REDIS_PASSWORD: setup.password };
        const sentinel = `127.0.0.1:${setup.sentinelPort}`;
        const run = await runCli(['backup', '--sentinel', sentinel, '--master-name', setup.masterName, '--user', 'admin', '--to', backups.path, '--json'], {
          env,
        });
        assert.equal(run.code, 0, run.stderr);
        const out = JSON.parse(run.stdout) as {
          manifest: { source: { role: string; address: string }; keyspace: { keys: number } };
          pulledFrom: { role: string };
        };
        assert.equal(out.pulledFrom.role, 'replica');
        assert.equal(out.manifest.source.role, 'slave');
        assert.match(out.manifest.source.address, new RegExp(`:${setup.replicas[0]!.port}$`));
        assert.equal(out.manifest.keyspace.keys, KEYS);

        // node-redis's Sentinel client (connect/topology-client.ts) reaches the master by its name
        const viaSentinel = await openTopologyConnection({
          kind: 'sentinel',
          masterName: setup.masterName,
          sentinels: [{ host: '127.0.0.1', port: setup.sentinelPort }],
          credentials: { username: 'admin', password: setup.password },
          sentinelCredentials: {},
        });
        try {
          assert.equal(viaSentinel.kind, 'sentinel');
          assert.equal(await viaSentinel.client.get(datasetKey(0)), 'value-0');
        } finally {
          await closeTopologyConnection(viaSentinel);
        }

        // every command that resolves its target (loadgen, monitor, restore) reaches the master through --sentinel
        const passwordFile = join(backups.path, 'pw');
        writeFileSync(passwordFile, setup.password, { mode: 0o600 });
        const resolved = await resolveTarget({ sentinel, masterName: setup.masterName, user: 'admin', passwordFile }, 'app');
        assert.deepEqual([resolved.port, resolved.username], [setup.master.port, 'admin']);
        await assert.rejects(resolveTarget({ cluster: sentinel }, 'app'), /talks to one server/);

        const unknown = await runCli(['backup', '--sentinel', sentinel, '--master-name', 'nosuch', '--to', backups.path], { env });
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /no Sentinel knows a master named "nosuch".*--master-name/);
        // (through the library: a CLI start each would cost more than the checks)
        const nobody = [{ host: '127.0.0.1', port: await freePort() }];
        const silent = { kind: 'sentinel' as const, masterName: 'mymaster', sentinels: nobody, credentials: {}, sentinelCredentials: {} };
        await assert.rejects(
          askSentinels(silent),
          (e: ConnectionError) => e.code === 'E_SENTINEL_UNREACHABLE' && /no Sentinel answered .*check --sentinel/.test(e.message),
        );
        await assert.rejects(
          askCluster(nobody, {}),
          (e: ConnectionError) => e.code === 'E_CLUSTER_UNREACHABLE' && /no cluster seed answered .*check --cluster/.test(e.message),
        );
        // a plain server is not a cluster seed
        await assert.rejects(
          askCluster([{ host: '127.0.0.1', port: setup.master.port }], { username: 'admin', password: setup.password }),
          /is not a cluster node/,
        );
      } finally {
        await setup.stop();
        backups.remove();
      }
    });

    // through the CLI as users run it, on every engine (each answers CLUSTER NODES and SYNC its own way)
    it(`${engine.label}: backup --cluster (and a --dir with topology.json) makes a set that list, verify and restore understand`, async () => {
      const cluster = await startTestCluster(engine, 3);
      const single = await startTestServer({ engine });
      const work = tempDir('nlr-cluster-cli-');
      try {
        const conns = new Map(await Promise.all(cluster.masters.map(async (m) => [m, await openConnection(cluster.endpoint(m))] as const)));
        try {
          await writeDataset(KEYS, (key) => conns.get(cluster.masterFor(key))!);
        } finally {
          for (const c of conns.values()) await closeConnection(c);
        }
        // a deployment directory whose topology.json names the nodes, and whose secrets give the backup user
        const deployment = join(work.path, 'deployment');
        mkdirSync(deployment);
        writeFileSync(
          join(deployment, 'topology.json'),
          JSON.stringify({
            kind: 'cluster',
            sentinels: [],
            nodes: cluster.masters.map((m, i) => ({ name: `node-${i}`, host: '127.0.0.1', port: m.port, pid: m.pid, role: 'master' })),
          }),
        );
        writeFileSync(join(deployment, 'secrets.json'), JSON.stringify({ users: { backup: cluster.password, admin: cluster.password } }), { mode: 0o600 });
        for (const m of cluster.masters) {
          const c = await openConnection(cluster.endpoint(m));
          await c.sendCommand(['ACL', 'SETUSER', 'backup', 'resetpass', `>${cluster.password}`, '+cluster|slots', '+info']);
          await closeConnection(c);
        }
        const backupsDir = join(work.path, 'backups');
        const taken = await runCli(['backup', '--dir', deployment, '--to', backupsDir, '--json']);
        assert.equal(taken.code, 0, taken.stderr);
        const set = JSON.parse(taken.stdout) as { path: string; set: { keys: number; shards: unknown[] } };
        assert.equal(set.set.keys, KEYS);
        assert.equal(set.set.shards.length, 3);

        const listed = await runCli(['backups', 'list', '--to', backupsDir, '--json']);
        const list = JSON.parse(listed.stdout) as { backups: Array<{ keys: number; verified: boolean; set?: { shards: unknown[] } }> };
        assert.equal(list.backups.length, 1);
        assert.deepEqual([list.backups[0]!.keys, list.backups[0]!.verified, list.backups[0]!.set?.shards.length], [KEYS, true, 3]);
        const verified = await runCli(['backups', 'verify', set.path]);
        assert.equal(verified.code, 0, verified.stderr);
        assert.match(verified.stdout, /^OK .*3 shards, 600 keys, all 16384 slots once/);

        const restored = await runCli(['restore', set.path, '--url', `redis://admin@127.0.0.1:${single.port}`, '--json'], {
          env: { NEURALLOG_REDIS_PASSWORD: single.passwords.admin! },
        });
        assert.equal(restored.code, 0, restored.stderr);
        assert.equal((JSON.parse(restored.stdout) as { written: number }).written, KEYS);
        const target = await single.connect('admin');
        try {
          assert.equal(Number(await target.sendCommand(['DBSIZE'])), KEYS);
          assert.ok(Number(await target.sendCommand(['PTTL', datasetKey(3)])) > 0);
        } finally {
          await closeConnection(target);
        }

        // a single backup (here one shard's file) restores onto a cluster key by key: emptied, the
        // cluster takes it back with every key on the master of its slot (another would answer MOVED)
        const masters = await Promise.all(cluster.masters.map((m) => openConnection(cluster.endpoint(m))));
        try {
          for (const c of masters) await c.sendCommand(['FLUSHALL']);
          const shard0 = join(set.path, 'shard-0.rdb.gz');
          const onCluster = await runCli(['restore', shard0, '--cluster', cluster.seeds, '--user', 'admin', '--json'], {
            env: { NEURALLOG_REDIS_PASSWORD: cluster.password },
          });
          assert.equal(onCluster.code, 0, onCluster.stderr);
          const shardKeys = (JSON.parse(readFileSync(`${shard0}.manifest.json`, 'utf8')) as { keyspace: { keys: number } }).keyspace.keys;
          assert.equal((JSON.parse(onCluster.stdout) as { written: number }).written, shardKeys);
          const sizes = await Promise.all(masters.map(async (c) => Number(await c.sendCommand(['DBSIZE']))));
          assert.equal(sizes[0], shardKeys);
        } finally {
          for (const c of masters) await closeConnection(c);
        }
      } finally {
        await Promise.all([cluster.stop(), single.stop()]);
        work.remove();
      }
    });
  });
}
