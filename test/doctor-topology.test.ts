/**
 * doctor on replicas, Sentinels and Cluster nodes, on every engine: a replica far behind its master
 * (stopped with SIGSTOP while the master takes more writes than its backlog holds), the full resync
 * that follows, a replica whose master is gone, a Sentinel whose master is down and whose quorum
 * cannot be reached, a Cluster node with no slots.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseInfo, type RedisConnection } from '../src/connect/client.js';
import { freePort } from '../src/runtime/index.js';
import { doctor, expectFinding, until, urlAs } from './doctor-helpers.js';
import { closeConnection, startTestServer, tempDir, testEngines, type TestServer } from './helpers/redis.js';

const infoOf = async (c: RedisConnection) => parseInfo(String(await c.sendCommand(['INFO', 'ALL'])));

for (const engine of testEngines()) {
  describe(`doctor on a master and its replica on ${engine.label}`, () => {
    let master: TestServer;
    let replica: TestServer;
    let m: RedisConnection;
    let r: RedisConnection;
    before(async () => {
      master = await startTestServer({ engine });
      replica = await startTestServer({
        engine,
        // the replica logs in to its master as admin (the test's shortcut; a deployment uses its replica user)
        args: ['--replicaof', '127.0.0.1', String(master.port), '--masteruser', 'admin', '--masterauth', master.passwords.admin!],
      });
      m = await master.connect('admin');
      r = await replica.connect('admin');
      await until(async () => (await infoOf(r)).master_link_status === 'up', 10_000, 'the replica link');
    });
    after(async () => {
      try {
        process.kill(replica.pid, 'SIGCONT');
      } catch {
        // gone
      }
      await closeConnection(m);
      await closeConnection(r);
      await replica.stop();
      await master.stop();
    });

    test(`${engine.label}: a linked replica is replication.link ok`, async () => {
      expectFinding(await doctor(urlAs(replica, 'ops')), 'replication.link', 'ok');
      expectFinding(await doctor(urlAs(master, 'ops')), 'replication.lag', 'ok');
    });

    test(`${engine.label}: a replica further behind than the backlog is critical; its resync is a warning`, async () => {
      process.kill(replica.pid, 'SIGSTOP');
      try {
        // more than the socket buffers between them hold, so the replica really misses what the backlog dropped
        const value = 'z'.repeat(1024 * 1024);
        for (let i = 0; i < 24; i++) await m.sendCommand(['SET', `logs:lag:${i}`, value]);
        const report = await doctor(urlAs(master, 'ops'));
        expectFinding(report, 'replication.lag', 'critical');
        assert.equal(report.exitCode, 1);
        await m.sendCommand(['CLIENT', 'KILL', 'TYPE', 'replica']);
      } finally {
        process.kill(replica.pid, 'SIGCONT');
      }
      await until(async () => Number((await infoOf(m)).sync_partial_err) > 0, 15_000, 'the refused partial resync');
      expectFinding(await doctor(urlAs(master, 'ops')), 'replication.resync', 'warning');
    });

    test(`${engine.label}: a replica whose master is gone is replication.link critical`, async () => {
      await m.sendCommand(['CLIENT', 'PAUSE', '60000']).catch(() => undefined);
      process.kill(master.pid, 'SIGKILL');
      await until(async () => (await infoOf(r)).master_link_status === 'down', 10_000, 'the link to go down');
      const report = await doctor(urlAs(replica, 'ops'));
      const f = expectFinding(report, 'replication.link', 'critical');
      assert.match(f.evidence, new RegExp(`master 127.0.0.1:${master.port}`));
      assert.equal(report.exitCode, 1);
    });
  });

  test(`${engine.label}: a Sentinel whose master is down and short of its quorum is sentinel.master critical`, async () => {
    const dir = tempDir('nlr-doctor-sentinel-', engine.tempParent);
    const port = await freePort();
    const gone = await freePort();
    const conf = join(dir.path, 'sentinel.conf');
    writeFileSync(
      conf,
      `port ${port}\nbind 127.0.0.1\ndir ${dir.path}\nsentinel monitor mymaster 127.0.0.1 ${gone} 2\nsentinel down-after-milliseconds mymaster 200\n`,
    );
    const child: ChildProcess = spawn(engine.sentinel!, [conf], { cwd: dir.path, stdio: 'ignore' });
    try {
      await until(
        async () => {
          const r = await doctor(`redis://127.0.0.1:${port}`);
          return r.role === 'sentinel' && r.findings.some((f) => f.id === 'sentinel.master' && /sdown|odown/.test(f.evidence));
        },
        10_000,
        'the Sentinel to see its master down',
      );
      const report = await doctor(`redis://127.0.0.1:${port}`);
      const f = expectFinding(report, 'sentinel.master', 'critical');
      assert.match(f.evidence, /CKQUORUM: NOQUORUM/);
      expectFinding(report, 'sentinel.tilt', 'ok');
      assert.equal(report.exitCode, 1);
      // a Sentinel stalled for more than 2 s (its timer sees the jump) enters TILT for 30 s
      process.kill(child.pid!, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 2500));
      process.kill(child.pid!, 'SIGCONT');
      await until(
        async () => (await doctor(`redis://127.0.0.1:${port}`)).findings.some((f) => f.id === 'sentinel.tilt' && f.severity === 'critical'),
        10_000,
        'the stalled Sentinel to enter TILT',
      );
      assert.match(expectFinding(await doctor(`redis://127.0.0.1:${port}`), 'sentinel.tilt', 'critical').evidence, /sentinel_tilt:1/);
    } finally {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      dir.remove();
    }
  });

  test(`${engine.label}: a Cluster node without slots is cluster.state critical`, async () => {
    const node = await startTestServer({ engine, args: ['--cluster-enabled', 'yes'] });
    try {
      const report = await doctor(urlAs(node, 'ops'));
      const f = expectFinding(report, 'cluster.state', 'critical');
      assert.match(f.evidence, /cluster_state:fail/);
      assert.equal(report.exitCode, 1);
    } finally {
      await node.stop();
    }
  });

  test(`${engine.label}: a master stopped in a cluster that serves on (full coverage off): its slots fail, cluster.state critical`, async () => {
    // three masters, no replicas, node timeout 500 ms; cluster-require-full-coverage no keeps
    // cluster_state ok while the stopped master's slots are marked PFAIL, then FAIL
    const args = ['--cluster-enabled', 'yes', '--cluster-node-timeout', '500', '--cluster-require-full-coverage', 'no'];
    const nodes = await Promise.all([0, 1, 2].map(() => startTestServer({ engine, args })));
    try {
      const ranges = [
        [0, 5460],
        [5461, 10922],
        [10923, 16383],
      ];
      for (const [i, node] of nodes.entries()) {
        const c = await node.connect('admin');
        try {
          await c.sendCommand(['CLUSTER', 'ADDSLOTSRANGE', String(ranges[i]![0]), String(ranges[i]![1])]);
          if (i > 0) await c.sendCommand(['CLUSTER', 'MEET', '127.0.0.1', String(nodes[0]!.port)]);
        } finally {
          await closeConnection(c);
        }
      }
      const first = await nodes[0]!.connect('admin');
      try {
        const state = async () => parseInfo(String(await first.sendCommand(['CLUSTER', 'INFO'])).replaceAll(/\r?\n/g, '\r\n'));
        await until(async () => (await state()).cluster_state === 'ok' && (await state()).cluster_known_nodes === '3', 20_000, 'the cluster to form');
        // with a 500 ms node timeout a stall of the loaded machine can mark a node PFAIL for a moment
        // (doctor: warning), so the healthy verdict is polled for, not read once
        await until(
          async () => (await doctor(urlAs(nodes[0]!, 'ops'))).findings.some((f) => f.id === 'cluster.state' && f.severity === 'ok'),
          20_000,
          'doctor to find the formed cluster ok',
        );
        process.kill(nodes[2]!.pid, 'SIGSTOP');
        await until(async () => Number((await state()).cluster_slots_fail) > 0, 20_000, "the stopped master's slots to fail");
        const report = await doctor(urlAs(nodes[0]!, 'ops'));
        const f = expectFinding(report, 'cluster.state', 'critical');
        assert.match(f.evidence, /cluster_state:ok, .*cluster_slots_fail:5461/);
        assert.equal(report.exitCode, 1);
      } finally {
        await closeConnection(first);
      }
    } finally {
      process.kill(nodes[2]!.pid, 'SIGCONT');
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });
}
