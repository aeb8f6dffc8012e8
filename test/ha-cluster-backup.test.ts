/**
 * Cluster backup sets on real clusters: a 3-master cluster's keys (every type, hash tags, TTLs, spread
 * over all slots) backed up concurrently into one set, verified, restored onto a 2-master cluster and
 * onto a single server: every key's DUMP and PTTL match the source. A restore aborted part-way
 * resumes from its progress file and ends with the same data.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { takeClusterBackup } from '../src/backup/topology-backup.js';
import { verifyBackupSet } from '../src/backup/set-verify.js';
import { listBackups } from '../src/backup/catalog.js';
import { closeConnection, openConnection, type RedisConnection } from '../src/connect/index.js';
import { parseSeeds } from '../src/connect/topology-target.js';
import { restoreSet } from '../src/restore/set-restore.js';
import { closeTopologyConnection, openTopologyConnection } from '../src/connect/topology-client.js';
import { datasetKey, startTestCluster, writeDataset, type TestCluster } from './helpers/cluster.js';
import { startTestServer, tempDir, testEngines, type TestServer } from './helpers/redis.js';

const KEYS = 3000;

async function connectAll(cluster: TestCluster): Promise<Map<TestServer, RedisConnection>> {
  const map = new Map<TestServer, RedisConnection>();
  for (const m of cluster.masters) map.set(m, await openConnection(cluster.endpoint(m)));
  return map;
}

async function closeAll(map: Map<TestServer, RedisConnection>): Promise<void> {
  await Promise.all([...map.values()].map((c) => closeConnection(c)));
}

/** Gives slots `from`-`to` (empty) of the first master to the second, on every node. */
async function moveEmptySlots(cluster: TestCluster, from: number, to: number): Promise<void> {
  const [a, b] = cluster.masters as [TestServer, TestServer];
  // the old owner first (it stops claiming them), then the new one, whose epoch is bumped so its claim wins
  const clients = await Promise.all([a, b].map((n) => openConnection(cluster.endpoint(n))));
  try {
    const id = String(await clients[1]!.sendCommand(['CLUSTER', 'MYID']));
    for (const c of clients) for (let slot = from; slot <= to; slot++) await c.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', id]);
    await clients[1]!.sendCommand(['CLUSTER', 'BUMPEPOCH']);
  } finally {
    for (const c of clients) await closeConnection(c);
  }
  cluster.moveSlots(from, to, b);
}

/** A key's type and contents, order-free where the type is. */
async function canonical(c: RedisConnection, key: string): Promise<unknown> {
  const type = String(await c.sendCommand(['TYPE', key]));
  const sorted = async (args: string[]) => ((await c.sendCommand(args)) as string[]).map(String).sort();
  if (type === 'set') return [type, await sorted(['SMEMBERS', key])];
  if (type === 'hash') return [type, await sorted(['HGETALL', key])];
  return [type, await c.sendCommand(['DUMP', key])];
}

/** Every dataset key's DUMP and PTTL at the source and at the target (a function of the key). */
async function compareKeys(source: (key: string) => RedisConnection, target: (key: string) => RedisConnection): Promise<void> {
  const keys = Array.from({ length: KEYS }, (_, i) => datasetKey(i));
  const read = (route: (key: string) => RedisConnection) =>
    Promise.all(
      keys.map(async (key) => {
        const c = route(key);
        const [dump, pttl] = await Promise.all([c.sendCommand(['DUMP', key]) as Promise<string | null>, c.sendCommand(['PTTL', key]) as Promise<number>]);
        return { dump, pttl };
      }),
    );
  const [from, to] = await Promise.all([read(source), read(target)]);
  let withTtl = 0;
  for (const [i, key] of keys.entries()) {
    assert.notEqual(to[i]!.dump, null, `${key} is missing at the target`);
    // a hash table's DUMP lists members in its table's order, which a reload may change: compare contents then
    if (to[i]!.dump !== from[i]!.dump) assert.deepEqual(await canonical(target(key), key), await canonical(source(key), key), `${key}'s value differs`);
    if (from[i]!.pttl < 0) assert.equal(to[i]!.pttl, from[i]!.pttl, `${key} has a TTL at the target only`);
    else {
      withTtl++;
      assert.ok(Math.abs(to[i]!.pttl - from[i]!.pttl) < 5000, `${key}'s TTL ${to[i]!.pttl} ms differs from ${from[i]!.pttl} ms`);
    }
  }
  assert.equal(withTtl, Math.ceil(KEYS / 3));
}

for (const engine of testEngines()) {
  describe(`cluster backup sets (${engine.label})`, () => {
    it(`${engine.label}: a 3-master set restores onto 2 masters and onto a single server, with TTLs; an aborted restore resumes`, async () => {
      const backups = tempDir('nlr-set-');
      const clusters: TestCluster[] = [];
      const singles: TestServer[] = [];
      const conns: Array<Map<TestServer, RedisConnection>> = [];
      const extra: RedisConnection[] = [];
      try {
        const [source, smaller] = await Promise.all([startTestCluster(engine, 3), startTestCluster(engine, 2)]);
        clusters.push(source, smaller);
        const sourceConns = await connectAll(source);
        conns.push(sourceConns);
        const viaSource = (key: string) => sourceConns.get(source.masterFor(key))!;
        await writeDataset(KEYS, viaSource);
        for (const m of source.masters) assert.ok(Number(await sourceConns.get(m)!.sendCommand(['DBSIZE'])) > KEYS / 5, 'the keys spread over every master');

        const credentials = { username: 'admin', password: source.password };
        const taken = await takeClusterBackup(
          { kind: 'cluster', seeds: parseSeeds(source.seeds, '--cluster'), credentials },
          { toDir: backups.path, compression: 'gzip' },
        );
        assert.equal(taken.manifest.shards.length, 3);
        assert.equal(taken.manifest.keys, KEYS);
        assert.deepEqual(taken.manifest.shards.flatMap((s) => s.slots).sort((a, b) => a[0] - b[0])[0], [0, Math.floor(16384 / 3) - 1]);
        assert.ok(taken.manifest.shards.every((s) => s.engine === engine.identity.engine && s.rdbVersion > 0 && /^[0-9a-f]{40}$/.test(s.nodeId)));
        const verified = await verifyBackupSet(taken.path);
        assert.deepEqual(verified.problems, []);
        assert.equal(verified.status, 'ok');
        const listed = listBackups(backups.path);
        assert.equal(listed.length, 1);
        assert.equal(listed[0]!.set?.keys, KEYS);
        assert.equal(listed[0]!.problem, undefined);

        // onto a cluster of 2 masters; as the first pair starts, slots 0-99 move from the first master
        // to the second (still empty: CLUSTER SETSLOT NODE on every node), so that master answers MOVED
        let moved = false;
        const onCluster = await restoreSet({
          setDir: taken.path,
          target: { kind: 'cluster', seeds: parseSeeds(smaller.seeds, '--cluster'), credentials: { username: 'admin', password: smaller.password } },
          onPair: async (e) => {
            if (moved || e.state !== 'start') return;
            moved = true;
            await moveEmptySlots(smaller, 0, 99);
          },
        });
        assert.ok(onCluster.replans >= 1, 'the MOVED replies made the restore ask for the slot map again');
        assert.equal(onCluster.written, KEYS, 'every key written once (those of the stopped pair before the MOVED included)');
        const smallerConns = await connectAll(smaller);
        conns.push(smallerConns);
        await compareKeys(viaSource, (key) => smallerConns.get(smaller.masterFor(key))!);
        // node-redis's cluster client (connect/topology-client.ts) finds the keys where their slots went
        const topology = await openTopologyConnection({
          kind: 'cluster',
          seeds: parseSeeds(smaller.seeds, '--cluster'),
          credentials: { username: 'admin', password: smaller.password },
        });
        try {
          assert.equal(topology.kind, 'cluster');
          const keys = [0, 5, 10, 15].map((i) => datasetKey(i));
          assert.deepEqual(await Promise.all(keys.map((k) => topology.client.get(k))), ['value-0', 'value-5', 'value-10', 'value-15']);
        } finally {
          await closeTopologyConnection(topology);
        }

        // onto a single server, aborted after the first shard file, then resumed
        const single = await startTestServer({ engine });
        singles.push(single);
        const abort = new AbortController();
        const target = { kind: 'single' as const, endpoint: single.endpoint('admin') };
        const events: string[] = [];
        await assert.rejects(
          restoreSet({
            setDir: taken.path,
            target,
            signal: abort.signal,
            onPair: (e) => {
              events.push(`${e.file}:${e.state}`);
              if (e.state === 'start' && e.file === 'shard-1.rdb.gz') abort.abort();
            },
          }),
          (error: Error & { code?: string }) => error.code === 'E_ABORTED',
        );
        assert.deepEqual(events, ['shard-0.rdb.gz:start', 'shard-0.rdb.gz:done', 'shard-1.rdb.gz:start']);
        const singleConn = await single.connect('admin');
        extra.push(singleConn);
        const partial = Number(await singleConn.sendCommand(['DBSIZE']));
        assert.equal(partial, taken.manifest.shards[0]!.keys);
        assert.ok(
          readdirSync(taken.path).some((f) => f.startsWith('.restore-')),
          'progress is kept beside the set',
        );
        const resumed = await restoreSet({ setDir: taken.path, target });
        assert.deepEqual(
          resumed.pairs.map((p) => [p.file, p.skipped]),
          [
            ['shard-0.rdb.gz', true],
            ['shard-1.rdb.gz', false],
            ['shard-2.rdb.gz', false],
          ],
        );
        assert.equal(resumed.written, KEYS - partial);
        await compareKeys(viaSource, () => singleConn);
      } finally {
        for (const c of extra) await closeConnection(c);
        for (const m of conns) await closeAll(m);
        await Promise.all([...clusters.map((c) => c.stop()), ...singles.map((s) => s.stop())]);
        backups.remove();
      }
    });
  });
}
