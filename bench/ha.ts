/**
 * Sentinel failover time (issue 15): a master, two replicas and three Sentinels made by
 * `up --topology sentinel`; each trial kills the current master with SIGKILL and times (a) until a
 * replica reports role master (the promotion: the replica the Sentinels then name) and (b) until a Sentinel names the new master (what
 * clients are told); then `up` brings the killed node back as a replica, and the next trial starts
 * once every Sentinel names one master and every other node is its linked replica.
 * Goal: the worst promotion within down-after-milliseconds + 2 s.
 *
 *   node --import tsx bench/ha.ts [--trials N] [--down-after MS] [--engine redis-7.0|redis-8.0|valkey-8.1]
 */
import { closeConnection, openConnection, parseInfo, type Endpoint } from '../src/connect/index.js';
import { sleep } from '../src/runtime/index.js';
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

async function trial(t: TestTopology): Promise<{ promotedMs: number; switchedMs: number }> {
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
  await t.up(); // the killed node comes back as a replica; up waits until the Sentinels see it
  return { promotedMs, switchedMs };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, worst: s.at(-1)! };
};

const t = await upTestTopology(engine, { kind: 'sentinel', settings: { downAfterMilliseconds: downAfter, failoverTimeout: 10_000 } });
const results: { promotedMs: number; switchedMs: number }[] = [];
try {
  for (let i = 0; i < trials; i++) {
    const r = await trial(t);
    results.push(r);
    console.log(`trial ${i + 1}: promoted ${r.promotedMs.toFixed(0)} ms, Sentinel names the new master at ${r.switchedMs.toFixed(0)} ms`);
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
