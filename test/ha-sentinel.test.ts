/**
 * Sentinel failover on real servers and Sentinels (issue 15): a master, two replicas and three
 * Sentinels made by `up --topology sentinel`. down-after-milliseconds is 1000 here (the guide's is
 * 5000) and failover-timeout 10000, to keep the tests fast; the checks scale with them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closeConnection, openConnection, parseInfo, type Endpoint, type RedisConnection } from '../src/connect/index.js';
import { SENTINEL_SECRET, sleep } from '../src/runtime/index.js';
import { upTestTopology, type TestTopology } from './helpers/ha.js';
import { testEngines } from './helpers/redis.js';

const DOWN_AFTER_MS = 1000;

async function role(endpoint: Endpoint): Promise<string | undefined> {
  try {
    const c = await openConnection(endpoint, { connectTimeoutMs: 2000 });
    try {
      return parseInfo(String(await c.sendCommand(['INFO', 'replication']))).role;
    } finally {
      await closeConnection(c);
    }
  } catch {
    return undefined;
  }
}

async function masters(t: TestTopology): Promise<number[]> {
  const ports = t.record().nodes.map((n) => n.port);
  const roles = await Promise.all(ports.map((p) => role(t.endpoint(p))));
  return ports.filter((_, i) => roles[i] === 'master');
}

async function sentinelMaster(t: TestTopology, port: number): Promise<number | undefined> {
  try {
    const c = await openConnection(t.sentinelEndpoint(port), { connectTimeoutMs: 2000 });
    try {
      const reply = (await c.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster'])) as string[] | null;
      return reply ? Number(reply[1]) : undefined;
    } finally {
      await closeConnection(c);
    }
  } catch {
    return undefined;
  }
}

async function refused(endpoint: Endpoint, args: string[]): Promise<string> {
  const c = await openConnection(endpoint);
  try {
    await c.sendCommand(args);
    return 'allowed';
  } catch (error) {
    return (error as Error).message;
  } finally {
    await closeConnection(c);
  }
}

/** Writes SET + WAIT 1 through node-redis's Sentinel client until `stop()`; the keys a replica acknowledged. */
async function writeLoop(t: TestTopology, stop: () => boolean, progress: { acked: number }): Promise<{ acked: string[]; failed: number }> {
  const { createSentinel } = await import('@redis/client');
  const secrets = t.secrets();
  const sentinel = createSentinel({
    name: 'mymaster',
    sentinelRootNodes: t.record().sentinels.map((s) => ({ host: s.host, port: s.port })),
    sentinelClientOptions: { password: secrets[SENTINEL_SECRET], socket: { connectTimeout: 2000 } },
    // a command on the lost master fails (not queued for ever): the writer tries again, through the new one
    nodeClientOptions: {
      username: 'app',
      password: secrets.app,
      socket: { connectTimeout: 2000 },
      disableOfflineQueue: true,
      commandOptions: { timeout: 3000 },
    },
    scanInterval: 250,
  });
  sentinel.on('error', () => undefined);
  await sentinel.connect();
  const acked: string[] = [];
  let failed = 0;
  const deadline = Date.now() + 60_000;
  try {
    for (let i = 0; !stop() && Date.now() < deadline; i++) {
      const key = `logs:ha:${i}`;
      try {
        const replicas = await sentinel.use(async (c) => {
          await c.set(key, String(i));
          return c.wait(1, 1000);
        });
        if (replicas >= 1) progress.acked = acked.push(key);
      } catch {
        failed++;
        await sleep(50);
      }
    }
  } finally {
    await sentinel.destroy();
  }
  return { acked, failed };
}

async function missingKeys(endpoint: Endpoint, keys: string[]): Promise<number> {
  const c: RedisConnection = await openConnection(endpoint);
  try {
    let present = 0;
    for (let i = 0; i < keys.length; i += 500) present += Number(await c.sendCommand(['EXISTS', ...keys.slice(i, i + 500)]));
    return keys.length - present;
  } finally {
    await closeConnection(c);
  }
}

describe('Sentinel topology', { concurrency: true }, () => {
  for (const engine of testEngines()) {
    // the engines run side by side; each engine's tests in order
    describe(`on ${engine.label}`, { concurrency: 1 }, () => {
      let t: TestTopology;
      before(async () => {
        t = await upTestTopology(engine, { kind: 'sentinel', settings: { downAfterMilliseconds: DOWN_AFTER_MS, failoverTimeout: 10_000 } });
      });
      after(async () => {
        await t?.cleanup();
      });

      test(`${engine.label}: least privilege: replica and sentinel users cannot read or write keys; Sentinels need a password`, async () => {
        const master = t.record().nodes.find((n) => n.role === 'master')!;
        assert.match(await refused(t.endpoint(master.port, 'replica'), ['GET', 'logs:1']), /NOPERM/);
        assert.match(await refused(t.endpoint(master.port, 'sentinel'), ['GET', 'logs:1']), /NOPERM/);
        assert.match(await refused(t.endpoint(master.port, 'sentinel'), ['SET', 'logs:1', 'x']), /NOPERM/);
        const sentinel = t.record().sentinels[0]!;
        await assert.rejects(openConnection({ host: sentinel.host, port: sentinel.port, tls: false, db: 0 }), /NOAUTH|auth/i);
        await assert.rejects(openConnection({ host: master.host, port: master.port, tls: false, db: 0 }), /NOAUTH|auth/i);
        assert.equal(await sentinelMaster(t, sentinel.port), master.port);
      });

      test(
        `${engine.label}: kill -9 the master under SET + WAIT 1: promoted within down-after + 2 s, no acknowledged write lost, old master returns as a replica`,
        { timeout: 120_000 },
        async () => {
          const old = t.record().nodes.find((n) => n.role === 'master')!;
          const replicas = t.record().nodes.filter((n) => n.role === 'replica');
          let stop = false;
          let ackedBefore = 0;
          const progress = { acked: 0 };
          const writer = writeLoop(t, () => stop, progress);
          let promotedMs: number | undefined;
          let newMaster: number | undefined;
          try {
            await sleep(1000);
            const killedAt = Date.now();
            process.kill(old.pid, 'SIGKILL');
            while (promotedMs === undefined && Date.now() - killedAt < DOWN_AFTER_MS + 10_000) {
              const roles = await Promise.all(replicas.map((r) => role(t.endpoint(r.port))));
              if (roles.includes('master')) promotedMs = Date.now() - killedAt;
              else await sleep(25);
            }
            assert.ok(promotedMs !== undefined, 'no replica was promoted');
            [newMaster] = await masters(t);
            assert.ok(newMaster !== undefined && newMaster !== old.port);
            // the writer goes on through the client once it learns the new master
            const before = progress.acked;
            const until = Date.now() + 20_000;
            while (progress.acked < before + 50 && Date.now() < until) await sleep(50);
          } finally {
            stop = true;
          }
          const { acked, failed } = await writer;
          ackedBefore = acked.length;
          const lastIndex = Number(acked.at(-1)?.split(':')[2]);
          assert.ok(acked.length >= 50 && lastIndex >= acked.length - 1, `the writer continued (${acked.length} acknowledged, ${failed} failed attempts)`);
          assert.equal(await missingKeys(t.endpoint(newMaster!), acked), 0, `every acknowledged write (${ackedBefore}) is on the new master`);
          process.stderr.write(
            `# ${engine.label}: promoted ${promotedMs} ms after kill -9; ${acked.length} writes acknowledged, ${failed} attempts failed during the failover\n`,
          );
          assert.ok(promotedMs <= DOWN_AFTER_MS + 2000, `promoted in ${promotedMs} ms (goal <= ${DOWN_AFTER_MS + 2000})`);
          // `up` again restarts the killed master, as a replica of the new one: no split brain
          const again = await t.up();
          assert.deepEqual(again.started, [old.name]);
          assert.equal(await role(t.endpoint(old.port)), 'slave');
          assert.deepEqual(await masters(t), [newMaster]);
          await sleep(DOWN_AFTER_MS * 2);
          assert.deepEqual(await masters(t), [newMaster], 'still one master once the Sentinels have seen the old one back');
        },
      );

      test(`${engine.label}: kill -9 every process at once, then up: exactly one master, and the Sentinels agree`, { timeout: 120_000 }, async () => {
        t.killAll();
        await sleep(200);
        const result = await t.up();
        assert.equal(result.started.length, t.record().nodes.length + t.record().sentinels.length);
        const [only, ...others] = await masters(t);
        assert.equal(others.length, 0, 'exactly one master');
        for (const s of t.record().sentinels) assert.equal(await sentinelMaster(t, s.port), only);
        await sleep(DOWN_AFTER_MS * 3);
        assert.deepEqual(await masters(t), [only], 'still one master after the Sentinels settle');
      });
    });
  }
});
