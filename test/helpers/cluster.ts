/**
 * Real Redis Clusters and Sentinel setups for tests: nodes from startTestServer (cluster-enabled yes),
 * joined with CLUSTER MEET, slots shared evenly with CLUSTER ADDSLOTSRANGE, replicas attached with
 * CLUSTER REPLICATE; and a master, replicas and a Sentinel (the engine's redis-sentinel or
 * valkey-sentinel). Every node shares one admin password (set after start with ACL SETUSER). All
 * stopped by `stop()`, which the tests call from `finally`/`t.after`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { profile } from '../../src/config/index.js';
import { closeConnection, openConnection, parseInfo, type Endpoint, type RedisConnection } from '../../src/connect/index.js';
import { keySlot } from '../../src/connect/hash-slot.js';
import { freePort } from '../../src/runtime/index.js';
import { startTestServer, tempDir, type TestEngine, type TestServer } from './redis.js';

export interface TestCluster {
  engine: TestEngine;
  masters: TestServer[];
  replicas: TestServer[];
  /** the shared admin password */
  password: string;
  /** `host:port,host:port,...` of the masters */
  seeds: string;
  endpoint(node: TestServer): Endpoint;
  /** a connection to the master serving `key`'s slot */
  masterFor(key: string): TestServer;
  /** records that slots from-to now belong to `master` (after the test moved them) */
  moveSlots(from: number, to: number, master: TestServer): void;
  stop(): Promise<void>;
}

const poll = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function adminCommand(endpoint: Endpoint, args: string[]): Promise<unknown> {
  const client = await openConnection(endpoint);
  try {
    return await client.sendCommand(args);
  } finally {
    await closeConnection(client);
  }
}

/** Starts a node and gives its admin user `password`. */
async function startNode(engine: TestEngine, password: string | undefined, cluster: boolean): Promise<{ server: TestServer; password: string }> {
  const model = profile('neurallog');
  if (cluster) model.extraDirectives.push({ name: 'cluster-enabled', args: ['yes'] }, { name: 'cluster-node-timeout', args: ['2000'] });
  const server = await startTestServer({ engine, model });
  const shared = password ?? server.passwords.admin!;
  if (password !== undefined) {
    await adminCommand(server.endpoint('admin'), ['ACL', 'SETUSER', 'admin', 'resetpass', `>${shared}`]);
    server.passwords.admin = shared;
  }
  return { server, password: shared };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  try {
    return await waitFor0(what, check, timeoutMs);
  } finally {
    if (process.env.HAD_DEBUG) console.log(what, Date.now() - t0);
  }
}
async function waitFor0(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await poll(100);
  }
}

/** A cluster of `masters` masters (1 or more) with `replicasPerMaster` replicas each, cluster_state:ok. */
export async function startTestCluster(engine: TestEngine, masters: number, replicasPerMaster = 0): Promise<TestCluster> {
  const nodes: TestServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
  };
  try {
    const first = await startNode(engine, undefined, true);
    nodes.push(first.server);
    const password = first.password;
    const others = await Promise.allSettled(Array.from({ length: masters * (1 + replicasPerMaster) - 1 }, () => startNode(engine, password, true)));
    for (const o of others) if (o.status === 'fulfilled') nodes.push(o.value.server);
    for (const o of others) if (o.status === 'rejected') throw o.reason;
    const ep = (n: TestServer) => n.endpoint('admin');
    for (const node of nodes.slice(1)) await adminCommand(ep(node), ['CLUSTER', 'MEET', '127.0.0.1', String(nodes[0]!.port)]);
    const masterNodes = nodes.slice(0, masters);
    for (const [i, node] of masterNodes.entries()) {
      const from = Math.floor((16384 * i) / masters);
      const to = Math.floor((16384 * (i + 1)) / masters) - 1;
      await adminCommand(ep(node), ['CLUSTER', 'ADDSLOTSRANGE', String(from), String(to)]);
    }
    await waitFor('every node to know every other', async () => {
      for (const node of nodes) {
        const text = String(await adminCommand(ep(node), ['CLUSTER', 'NODES']));
        if (text.trim().split('\n').length !== nodes.length || /handshake|noaddr/.test(text)) return false;
      }
      return true;
    });
    const replicaNodes = nodes.slice(masters);
    for (const [i, replica] of replicaNodes.entries()) {
      const master = masterNodes[i % masters]!;
      const id = String(await adminCommand(ep(master), ['CLUSTER', 'MYID']));
      await adminCommand(ep(replica), ['CONFIG', 'SET', 'masteruser', 'admin']);
      await adminCommand(ep(replica), ['CONFIG', 'SET', 'masterauth', password]);
      await adminCommand(ep(replica), ['CLUSTER', 'REPLICATE', id]);
    }
    await waitFor('cluster_state:ok everywhere', async () => {
      for (const node of nodes) {
        const info = parseInfo(String(await adminCommand(ep(node), ['CLUSTER', 'INFO'])));
        if (info.cluster_state !== 'ok' || Number(info.cluster_slots_assigned) !== 16384) return false;
      }
      for (const replica of replicaNodes) {
        if (parseInfo(String(await adminCommand(ep(replica), ['INFO', 'replication']))).master_link_status !== 'up') return false;
      }
      return true;
    });
    // the split above gives master i the slots floor(16384 i / n) .. floor(16384 (i+1) / n) - 1
    const moved = new Map<number, TestServer>();
    const masterFor = (key: string) => {
      const slot = keySlot(key);
      const owner = moved.get(slot);
      if (owner) return owner;
      return masterNodes.find((_, i) => slot < Math.floor((16384 * (i + 1)) / masters))!;
    };
    return {
      engine,
      masters: masterNodes,
      replicas: replicaNodes,
      password,
      seeds: masterNodes.map((n) => `127.0.0.1:${n.port}`).join(','),
      endpoint: ep,
      masterFor,
      moveSlots: (from, to, master) => {
        for (let slot = from; slot <= to; slot++) moved.set(slot, master);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface TestSentinelSetup {
  master: TestServer;
  replicas: TestServer[];
  sentinelPort: number;
  masterName: string;
  password: string;
  stop(): Promise<void>;
}

/** A master with `replicas` replicas and one Sentinel (quorum 1) watching it as `masterName`. */
export async function startTestSentinel(engine: TestEngine, replicas = 1, masterName = 'mymaster'): Promise<TestSentinelSetup> {
  if (!engine.sentinel) throw new Error(`${engine.label} has no Sentinel binary`);
  const nodes: TestServer[] = [];
  let sentinel: ChildProcess | undefined;
  const dir = tempDir('nlr-sentinel-', engine.tempParent);
  const stop = async () => {
    if (sentinel && sentinel.exitCode === null) {
      const exited = new Promise((r) => sentinel!.once('exit', r));
      sentinel.kill('SIGKILL');
      await exited;
    }
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    dir.remove();
  };
  try {
    const first = await startNode(engine, undefined, false);
    nodes.push(first.server);
    const password = first.password;
    for (let i = 0; i < replicas; i++) {
      const replica = (await startNode(engine, password, false)).server;
      nodes.push(replica);
      const ep = replica.endpoint('admin');
      await adminCommand(ep, ['CONFIG', 'SET', 'masteruser', 'admin']);
      await adminCommand(ep, ['CONFIG', 'SET', 'masterauth', password]);
      await adminCommand(ep, ['REPLICAOF', '127.0.0.1', String(first.server.port)]);
    }
    await waitFor('the replicas to be in sync', async () => {
      for (const r of nodes.slice(1))
        if (parseInfo(String(await adminCommand(r.endpoint('admin'), ['INFO', 'replication']))).master_link_status !== 'up') return false;
      return true;
    });
    const sentinelPort = await freePort();
    const conf = join(dir.path, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir.path}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${first.server.port} 1`,
        `sentinel auth-user ${masterName} admin`,
        `sentinel auth-pass ${masterName} ${password}`,
        `sentinel down-after-milliseconds ${masterName} 5000`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    sentinel = spawn(engine.sentinel, [conf], { stdio: 'ignore' });
    const sentinelEndpoint: Endpoint = { host: '127.0.0.1', port: sentinelPort, tls: false, db: 0 };
    await waitFor('the Sentinel to see the replicas', async () => {
      const reply = (await adminCommand(sentinelEndpoint, ['SENTINEL', 'REPLICAS', masterName])) as string[][];
      return reply.length === replicas && reply.every((r) => r[r.indexOf('master-link-status') + 1] === 'ok');
    });
    return { master: first.server, replicas: nodes.slice(1), sentinelPort, masterName, password, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The commands that write key `i` of a test dataset: strings, hashes, lists, sets, sorted sets; every third key with a TTL. */
export function datasetCommands(i: number): string[][] {
  const key = i % 5 === 0 ? `{tenant${i % 40}}:k${i}` : `k:${i}`;
  const write = [
    ['SET', key, `value-${i}`],
    ['HSET', key, 'a', String(i), 'b', `x${i}`],
    ['RPUSH', key, 'one', String(i), 'three'],
    ['SADD', key, 'm1', `m${i}`],
    ['ZADD', key, '1', 'a', String(i), 'b'],
  ][i % 5]!;
  return i % 3 === 0 ? [write, ['PEXPIRE', key, String(600_000 + i)]] : [write];
}

/** The key of dataset item `i`. */
export function datasetKey(i: number): string {
  return i % 5 === 0 ? `{tenant${i % 40}}:k${i}` : `k:${i}`;
}

/** Writes dataset items 0..count-1, each to `route(key)`'s connection. */
export async function writeDataset(count: number, route: (key: string) => RedisConnection): Promise<void> {
  const pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < count; i++) {
    const client = route(datasetKey(i));
    for (const command of datasetCommands(i)) pending.push(client.sendCommand(command));
    if (pending.length >= 2000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

export type { RedisConnection };
