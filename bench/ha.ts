/**
 * Sentinel failover time (issue 15): a master, two replicas and three Sentinels made by
 * `up --topology sentinel`; each trial kills the current master with SIGKILL and times (a) until a
 * replica reports role master (the promotion: the replica the Sentinels then name) and (b) until a Sentinel names the new master (what
 * clients are told); then `up` brings the killed node back as a replica, and the next trial starts
 * once every Sentinel names one master and every other node is its linked replica.
 * Goal: the worst promotion within down-after-milliseconds + 2 s.
 * `--writer client`: an app's writer runs throughout, SET + WAIT 1 through node-redis's Sentinel client
 * as connect/topology-client.ts configures it; each trial also times from the kill until its writes
 * complete again (the app's pause), and at the end every acknowledged write is checked on the master.
 *
 *   node --import tsx bench/ha.ts [--trials N] [--down-after MS] [--engine redis-7.0|redis-8.0|valkey-8.1] [--writer client]
 *
 * The other half, the cluster backup's wall time against `redis-cli --rdb` per master in
 * turn, is bench/ha-backup.ts: it needs a loaded 3-master cluster of its own, not this topology.
 */
import { closeConnection, openConnection, parseInfo, type Endpoint } from '../src/connect/index.js';
import { createSentinelClient } from '../src/connect/topology-client.js';
import { SENTINEL_SECRET, sleep } from '../src/runtime/index.js';
import { upTestTopology, type TestTopology } from '../test/helpers/ha.js';
import { engineById } from '../test/helpers/redis.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const trials = Number(arg('--trials') ?? 10);
const downAfter = Number(arg('--down-after') ?? 1000);
const engine = engineById(arg('--engine') ?? 'redis-7.0');
if (!engine) throw new Error(`no engine ${arg('--engine')} on this machine`);
const withWriter = arg('--writer') === 'client';

/** SET + WAIT 1 in a loop through the Sentinel client; when the last write started and completed. */
async function startWriter(t: TestTopology) {
  const { createSentinel } = await import('@redis/client');
  const secrets = t.secrets();
  const client = createSentinelClient(createSentinel, {
    kind: 'sentinel',
    masterName: 'mymaster',
    sentinels: t.record().sentinels.map((s) => ({ host: s.host, port: s.port })),
    credentials: { username: 'app', password: secrets.app },
    sentinelCredentials: { password: secrets[SENTINEL_SECRET] },
  });
  client.on('error', () => undefined);
  await client.connect();
  const state = { acked: [] as string[], failed: 0, lastStartedAt: 0, lastDoneAt: 0, stop: false };
  const loop = (async () => {
    for (let i = 0; !state.stop; i++) {
      const startedAt = performance.now();
      try {
        await client.set(`logs:bench:${i}`, String(i));
        if (Number(await client.sendCommand(false, ['WAIT', '1', '1000'])) >= 1) state.acked.push(`logs:bench:${i}`);
      } catch {
        state.failed++;
      }
      [state.lastStartedAt, state.lastDoneAt] = [startedAt, performance.now()];
    }
  })();
  return {
    state,
    async stop() {
      state.stop = true;
      await loop;
      await client.destroy();
    },
  };
}
type Writer = Awaited<ReturnType<typeof startWriter>>;

async function ask(endpoint: Endpoint, args: string[]): Promise<unknown> {
  try {
    const c = await openConnection(endpoint, { connectTimeoutMs: 1000 });
    try {
      return await c.sendCommand(args);
    } finally {
      await closeConnection(c);
    }
  } catch {
    return undefined;
  }
}

async function sentinelSays(t: TestTopology): Promise<number | undefined> {
  const reply = await ask(t.sentinelEndpoint(t.record().sentinels[0]!.port), ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster']);
  return Array.isArray(reply) ? Number(reply[1]) : undefined;
}

/** Waits until every Sentinel names one master, it says role master, and every other node is its linked replica. */
async function settled(t: TestTopology): Promise<number> {
  for (const until = performance.now() + 60_000; performance.now() < until; await sleep(100)) {
    const named = await Promise.all(t.record().sentinels.map((s) => ask(t.sentinelEndpoint(s.port), ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster'])));
    const ports = new Set(named.map((r) => (Array.isArray(r) ? Number(r[1]) : 0)));
    if (ports.size !== 1 || ports.has(0)) continue;
    const [port] = [...ports];
    const infos = await Promise.all(t.record().nodes.map((n) => ask(t.endpoint(n.port), ['INFO', 'replication'])));
    const ok = t.record().nodes.every((n, i) => {
      const info = typeof infos[i] === 'string' ? parseInfo(infos[i]) : {};
      return n.port === port ? info.role === 'master' : info.role === 'slave' && info.master_link_status === 'up' && Number(info.master_port) === port;
    });
    if (ok) return port!;
  }
  throw new Error('the topology did not settle within 60 s');
}

async function trial(t: TestTopology, writer?: Writer): Promise<{ promotedMs: number; switchedMs: number; resumedMs?: number }> {
  const masterPort = await settled(t);
  const master = t.record().nodes.find((n) => n.port === masterPort)!;
  const replicas = t.record().nodes.filter((n) => n.port !== masterPort);
  const killedAt = performance.now();
  process.kill(master.pid, 'SIGKILL');
  // when each replica first reports role master; the promotion is the one the Sentinels then name
  const firstMaster = new Map<number, number>();
  let switchedTo: number | undefined;
  let switchedMs: number | undefined;
  while ((switchedTo === undefined || !firstMaster.has(switchedTo)) && performance.now() - killedAt < downAfter + 30_000) {
    const roles = await Promise.all(replicas.map((r) => ask(t.endpoint(r.port), ['INFO', 'replication'])));
    roles.forEach((r, i) => {
      if (typeof r === 'string' && parseInfo(r).role === 'master' && !firstMaster.has(replicas[i]!.port))
        firstMaster.set(replicas[i]!.port, performance.now() - killedAt);
    });
    if (switchedTo === undefined) {
      const now = await sentinelSays(t);
      if (now !== undefined && now !== masterPort) [switchedTo, switchedMs] = [now, performance.now() - killedAt];
    }
    await sleep(20);
  }
  const promotedMs = switchedTo === undefined ? undefined : firstMaster.get(switchedTo);
  if (promotedMs === undefined || switchedMs === undefined) throw new Error('no failover within down-after + 30 s');
  // the app's writes complete again: a write started after the kill is done (one in flight at the
  // kill is sent again by the client to the new master, and its own wait counts too)
  while (writer && writer.state.lastStartedAt <= killedAt && performance.now() - killedAt < 30_000) await sleep(10);
  const resumedMs = writer ? writer.state.lastDoneAt - killedAt : undefined;
  await t.up(); // the killed node comes back as a replica; up waits until the Sentinels see it
  return { promotedMs, switchedMs, resumedMs };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, worst: s.at(-1)! };
};

const t = await upTestTopology(engine, { kind: 'sentinel', settings: { downAfterMilliseconds: downAfter, failoverTimeout: 10_000 } });
const results: { promotedMs: number; switchedMs: number; resumedMs?: number }[] = [];
let lost: string | undefined;
try {
  const writer = withWriter ? await startWriter(t) : undefined;
  try {
    for (let i = 0; i < trials; i++) {
      const r = await trial(t, writer);
      results.push(r);
      const resumed = r.resumedMs === undefined ? '' : `, the client's writes complete again at ${r.resumedMs.toFixed(0)} ms`;
      console.log(`trial ${i + 1}: promoted ${r.promotedMs.toFixed(0)} ms, Sentinel names the new master at ${r.switchedMs.toFixed(0)} ms${resumed}`);
    }
  } finally {
    await writer?.stop();
  }
  if (writer) {
    const port = await settled(t);
    const acked = writer.state.acked;
    const present = acked.length === 0 ? 0 : Number(await ask(t.endpoint(port), ['EXISTS', ...acked]));
    lost = `writer: ${acked.length} writes acknowledged by WAIT 1, ${acked.length - present} missing on the master, ${writer.state.failed} failed`;
  }
} finally {
  await t.cleanup();
}
const p = stats(results.map((r) => r.promotedMs));
const s = stats(results.map((r) => r.switchedMs));
console.log(`${engine.label}, down-after ${downAfter} ms, ${trials} trials`);
console.log(
  `promotion: median ${p.median.toFixed(0)} ms, worst ${p.worst.toFixed(0)} ms (goal: worst <= ${downAfter + 2000} ms) ${p.worst <= downAfter + 2000 ? 'MET' : 'MISSED'}`,
);
console.log(`Sentinel switch: median ${s.median.toFixed(0)} ms, worst ${s.worst.toFixed(0)} ms`);
if (withWriter) {
  const w = stats(results.map((r) => r.resumedMs!));
  console.log(`client writes complete again: median ${w.median.toFixed(0)} ms, worst ${w.worst.toFixed(0)} ms after the kill; ${lost}`);
}
