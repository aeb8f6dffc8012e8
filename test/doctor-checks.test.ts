/**
 * doctor's checks against one real server per engine that the test makes sick, one problem at a
 * time, and puts right again: eviction, memory near maxmemory, persistence off, a failing save, slow
 * commands and latency spikes, error replies, KEYS, connections at maxclients, big client buffers,
 * an HTTP request at the port, maxclients lowered by the fd limit, an anonymous default user.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseInfo } from '../src/connect/client.js';
import { persistenceChecks } from '../src/doctor/checks-persistence.js';
import { collectFacts } from '../src/doctor/collect.js';
import { doctor, expectFinding, until, urlAs } from './doctor-helpers.js';
import type { RedisConnection } from '../src/connect/client.js';
import { closeConnection, startTestServer, testEngines, type TestServer } from './helpers/redis.js';

for (const engine of testEngines()) {
  describe(`doctor finds each problem on ${engine.label}`, () => {
    let server: TestServer;
    let admin: RedisConnection;
    const info = async () => parseInfo(String(await admin.sendCommand(['INFO', 'ALL'])));
    const run = () => doctor(urlAs(server, 'admin'));
    /** no save or AOF rewrite running (a BGSAVE would be refused) */
    const idle = () =>
      until(
        async () => {
          const i = await info();
          return i.rdb_bgsave_in_progress === '0' && i.aof_rewrite_in_progress === '0' && i.aof_rewrite_scheduled === '0';
        },
        10_000,
        'no child process',
      );
    before(async () => {
      // maxclients above the fd limit's reach: the server lowers it and logs why
      server = await startTestServer({ engine, args: ['--enable-debug-command', 'local', '--maxclients', '100000'] });
      admin = await server.connect('admin');
    });
    after(async () => {
      await closeConnection(admin);
      await server.stop();
    });

    test(`${engine.label}: the neurallog profile as started is clean but for what the test set`, async () => {
      const report = await run();
      for (const f of report.findings.filter((x) => !x.id.startsWith('host.') && !x.id.startsWith('log.')))
        assert.ok(f.severity === 'ok' || f.severity === 'info', `${f.id}: ${f.severity} ${f.title} (${f.evidence})`);
      expectFinding(report, 'security.debug-command', 'info');
      expectFinding(report, 'log.fd-limit', 'warning');
      expectFinding(report, 'security.anonymous', 'ok');
      expectFinding(report, 'persistence.data-dir', 'ok');
    });

    test(`${engine.label}: allkeys-lru on a primary store is a warning; keys evicted are critical`, async () => {
      await admin.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
      try {
        const report = await run();
        expectFinding(report, 'memory.eviction-policy', 'warning');
        assert.equal(report.exitCode, 1);
        const used = Number((await info()).used_memory);
        await admin.sendCommand(['CONFIG', 'SET', 'maxmemory', String(used + 2 * 1024 * 1024)]);
        const value = 'e'.repeat(100_000);
        for (let i = 0; i < 40; i++) await admin.sendCommand(['SET', `logs:evict:${i}`, value]);
        const evicted = expectFinding(await run(), 'memory.eviction-policy', 'critical');
        assert.match(evicted.evidence, /evicted_keys:[1-9]/);
      } finally {
        await admin.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction', 'maxmemory', String(server.model.memory.maxmemory)]);
        await admin.sendCommand(['FLUSHALL']);
        await admin.sendCommand(['CONFIG', 'RESETSTAT']);
      }
    });

    test(`${engine.label}: no maxmemory on a data store is a warning`, async () => {
      await admin.sendCommand(['CONFIG', 'SET', 'maxmemory', '0']);
      try {
        expectFinding(await run(), 'memory.headroom', 'warning');
      } finally {
        await admin.sendCommand(['CONFIG', 'SET', 'maxmemory', String(server.model.memory.maxmemory)]);
      }
    });

    test(`${engine.label}: half the small keys deleted leaves fragmentation, a warning`, async () => {
      await admin.sendCommand(['DEBUG', 'POPULATE', '300000', 'logs:f', '100']);
      await admin.sendCommand(['EVAL', "for i = 0, 299999, 2 do redis.call('DEL', 'logs:f:' .. i) end return 1", '0']);
      try {
        expectFinding(await run(), 'memory.fragmentation', 'warning');
      } finally {
        await admin.sendCommand(['FLUSHALL']);
      }
    });

    test(`${engine.label}: memory near maxmemory is critical; the peak left after deleting is reported`, async () => {
      const value = 'x'.repeat(100_000);
      for (let i = 0; i < 120; i++) await admin.sendCommand(['SET', `logs:big:${i}`, value]);
      const used = Number((await info()).used_memory);
      await admin.sendCommand(['CONFIG', 'SET', 'maxmemory', String(Math.round(used * 1.04))]);
      try {
        const report = await run();
        expectFinding(report, 'memory.headroom', 'critical');
        assert.equal(report.exitCode, 1);
      } finally {
        await admin.sendCommand(['CONFIG', 'SET', 'maxmemory', String(server.model.memory.maxmemory)]);
        await admin.sendCommand(['FLUSHALL']);
      }
      expectFinding(await run(), 'memory.peak', 'info');
    });

    test(`${engine.label}: persistence off is critical`, async () => {
      await admin.sendCommand(['CONFIG', 'SET', 'save', '', 'appendonly', 'no']);
      try {
        const report = await run();
        expectFinding(report, 'persistence.off', 'critical');
        assert.equal(report.exitCode, 1);
      } finally {
        await admin.sendCommand(['CONFIG', 'SET', 'save', '900 1 300 10 60 10000', 'appendonly', 'yes']);
      }
    });

    test(`${engine.label}: a save that cannot be written is critical; a save 49 h old with changes is a warning`, async () => {
      // a directory where dump.rdb goes: the finished save cannot be renamed into place (root ignores modes)
      const blocker = join(server.dir, 'dump.rdb');
      rmSync(blocker, { force: true });
      mkdirSync(blocker);
      writeFileSync(join(blocker, 'keep'), '');
      try {
        await idle();
        await admin.sendCommand(['BGSAVE']);
        await until(async () => (await info()).rdb_bgsave_in_progress === '0' && (await info()).rdb_last_bgsave_status === 'err', 10_000, 'the failed save');
        const report = await run();
        expectFinding(report, 'persistence.rdb-failed', 'critical');
        assert.equal(report.exitCode, 1);
      } finally {
        rmSync(blocker, { recursive: true, force: true });
      }
      await idle();
      await admin.sendCommand(['BGSAVE']);
      await until(async () => (await info()).rdb_bgsave_in_progress === '0', 10_000, 'the save');
      await admin.sendCommand(['SET', 'logs:changed', '1']);
      expectFinding(await run(), 'persistence.rdb-failed', 'ok');
      expectFinding(await run(), 'persistence.fork-cost', 'ok');
      // the same server's facts, read 49 h later: the age rule, without waiting two days
      const facts = await collectFacts(admin, server.endpoint('admin'), 3000);
      const later = persistenceChecks({ ...facts, now: facts.now + 49 * 3600 }, undefined);
      assert.equal(later.find((f) => f.id === 'persistence.save-age')?.severity, 'warning');
    });

    test(`${engine.label}: an AOF rewrite that cannot be put in place is a warning`, async () => {
      await idle();
      const aofDir = join(server.dir, 'appendonlydir');
      const manifest = readFileSync(join(aofDir, 'appendonly.aof.manifest'), 'utf8');
      const base = Math.max(...[...manifest.matchAll(/\.(\d+)\.base\.rdb seq \d+ type b/g)].map((m) => Number(m[1])));
      // a directory where the next base file goes: the finished rewrite cannot be renamed into place
      const blocker = join(aofDir, `appendonly.aof.${base + 1}.base.rdb`);
      mkdirSync(blocker);
      writeFileSync(join(blocker, 'keep'), '');
      try {
        await admin.sendCommand(['BGREWRITEAOF']);
        await until(async () => (await info()).aof_last_bgrewrite_status === 'err', 10_000, 'the failed rewrite');
        const report = await run();
        const f = expectFinding(report, 'persistence.aof-failed', 'warning');
        assert.match(f.evidence, /aof_last_bgrewrite_status:err/);
      } finally {
        rmSync(blocker, { recursive: true, force: true });
      }
      await idle();
      await admin.sendCommand(['BGREWRITEAOF']);
      await until(async () => (await info()).aof_last_bgrewrite_status === 'ok', 10_000, 'a rewrite that succeeds');
      expectFinding(await run(), 'persistence.aof-failed', 'ok');
    });

    test(`${engine.label}: slow commands and latency spikes are warnings`, async () => {
      await admin.sendCommand(['CONFIG', 'SET', 'latency-monitor-threshold', '10']);
      try {
        await admin.sendCommand(['DEBUG', 'SLEEP', '0.03']);
        const report = await run();
        const slow = expectFinding(report, 'commands.slowlog', 'warning');
        assert.match(slow.evidence, /debug/);
        expectFinding(report, 'latency.spikes', 'warning');
      } finally {
        await admin.sendCommand(['SLOWLOG', 'RESET']);
        await admin.sendCommand(['LATENCY', 'RESET']);
        await admin.sendCommand(['CONFIG', 'SET', 'latency-monitor-threshold', '0']);
      }
      await admin.sendCommand(['CONFIG', 'SET', 'slowlog-log-slower-than', '-1']);
      try {
        expectFinding(await run(), 'commands.slowlog', 'warning');
      } finally {
        await admin.sendCommand(['CONFIG', 'SET', 'slowlog-log-slower-than', '10000']);
      }
    });

    test(`${engine.label}: many error replies and KEYS calls are warnings`, async () => {
      await admin.sendCommand(['CONFIG', 'RESETSTAT']);
      await admin.sendCommand(['SET', 'logs:string', 'v']);
      for (let i = 0; i < 150; i++) await admin.sendCommand(['LPUSH', 'logs:string', 'x']).catch(() => undefined);
      await admin.sendCommand(['KEYS', 'logs:*']);
      try {
        const report = await run();
        const errors = expectFinding(report, 'commands.errors', 'warning');
        assert.match(errors.evidence, /WRONGTYPE:150/);
        expectFinding(report, 'security.dangerous-commands', 'warning');
      } finally {
        await admin.sendCommand(['CONFIG', 'RESETSTAT']);
      }
    });

    test(`${engine.label}: connections at maxclients are critical`, async () => {
      await admin.sendCommand(['CONFIG', 'SET', 'maxclients', '2']);
      try {
        const report = await run();
        expectFinding(report, 'clients.limit', 'critical');
        assert.equal(report.exitCode, 1);
      } finally {
        await admin.sendCommand(['CONFIG', 'SET', 'maxclients', '10000']);
        await admin.sendCommand(['CONFIG', 'RESETSTAT']);
      }
    });

    test(`${engine.label}: a client holding a large query buffer is a warning`, async () => {
      const socket = connect(server.port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      // logged in (the server closes anonymous clients that send large arguments), then a command whose
      // 20 MB argument is still arriving: its bytes wait in the query buffer
      const password = server.passwords.admin!;
      socket.write(`*3\r\n$4\r\nAUTH\r\n$5\r\nadmin\r\n$${Buffer.byteLength(password)}\r\n${password}\r\n`);
      socket.write(`*3\r\n$3\r\nSET\r\n$9\r\nlogs:slow\r\n$${20 * 1024 * 1024}\r\n`);
      socket.write('y'.repeat(6 * 1024 * 1024));
      try {
        await until(async () => Number((await info()).mem_clients_normal) > 3 * 1024 * 1024, 5000, 'the query buffer');
        expectFinding(await run(), 'clients.buffers', 'warning');
      } finally {
        socket.destroy();
      }
    });

    test(`${engine.label}: an HTTP request at the Redis port is found in the log`, async () => {
      const socket = connect(server.port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write('POST / HTTP/1.1\r\nHost: example\r\n\r\n');
      await new Promise((r) => socket.once('close', r));
      const report = await run();
      expectFinding(report, 'log.http-probe', 'warning');
    });

    test(`${engine.label}: a default user without a password is a warning`, async () => {
      await admin.sendCommand(['ACL', 'SETUSER', 'default', 'on', 'nopass', '+@all', '~*']);
      try {
        const report = await run();
        expectFinding(report, 'security.anonymous', 'warning');
        const anonymous = await doctor(`redis://127.0.0.1:${server.port}`);
        expectFinding(anonymous, 'security.anonymous', 'warning');
      } finally {
        await admin.sendCommand(['ACL', 'SETUSER', 'default', 'off', 'resetpass', '-@all']);
      }
    });
  });
}
