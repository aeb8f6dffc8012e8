/**
 * The Sentinel and Cluster renders, run for real on loopback (no Docker, no Kubernetes): the rendered
 * ConfigMap (redis.conf, topology.conf, sentinel.conf) and Secret (users.acl, the passwords, the
 * Sentinels' users) as files; each pod's rendered start script run by sh with its addresses pointing
 * here (the pod's DNS name becomes `localhost`, or 127.0.0.1 for the Debian 13 root's engines, which
 * have no /etc/hosts; ports become free ports); then the rendered server command with the engine's
 * binary. That proves the servers accept every rendered directive and that the rendered users are
 * enough for replication, for Sentinel's watch and failover and for `--cluster create`.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { profile } from '../src/config/profiles.js';
import type { Deployment } from '../src/config/schema.js';
import { generatePassword } from '../src/connect/secrets.js';
import { usersNeedingPasswords, withTopologyUsers } from '../src/render/index.js';
import type { HaNet } from '../src/render/kubernetes/ha-model.js';
import { clusterCreateScript, clusterNodeScript, sentinelNodeScript, sentinelPreStopScript, sentinelScript } from '../src/render/kubernetes/ha-scripts.js';
import { RUN_DIR, dataNodeCommand, sentinelCommand } from '../src/render/kubernetes/ha-workloads.js';
import { PATHS } from '../src/render/kubernetes/names.js';
import { freePort } from '../src/runtime/index.js';
import { cli, kill, renderedFiles, stop, runScript, scriptEnv, startProcess, stopAll, until, writeFiles, type Proc } from './helpers/ha-live.js';
import { tempDir, testEngines, type TestEngine } from './helpers/redis.js';

const GiB = 1024 ** 3;

function model(kind: 'sentinel' | 'cluster'): Deployment {
  const d = profile('neurallog');
  d.topology.kind = kind;
  d.container.memoryLimit = GiB;
  d.topology.sentinel.replicas = 1;
  d.topology.sentinel.downAfterMilliseconds = 2000; // not 1 s: a 1 s stall of the loaded CI machine could fail the master over
  d.topology.sentinel.failoverTimeout = 10_000;
  return d;
}

function passwordsFor(d: Deployment): Record<string, string> {
  return Object.fromEntries(usersNeedingPasswords(withTopologyUsers(d)).map((u) => [u, generatePassword()]));
}

interface Dirs {
  conf: string;
  run: string;
  data: string;
}

/** The pod's paths in a rendered command, moved to this test's directories. */
function localArgs(command: string[], dirs: Dirs, secretDir: string): string[] {
  const moves: [string, string][] = [
    [PATHS.secretDir, secretDir],
    [RUN_DIR, dirs.run],
    [PATHS.configDir, dirs.conf],
    [PATHS.data, dirs.data],
  ];
  return command.slice(1).map((arg) => {
    const hit = moves.find(([from]) => arg === from || arg.startsWith(`${from}/`));
    return hit ? `${hit[1]}${arg.slice(hit[0].length)}` : arg;
  });
}

class Layout {
  readonly secretDir: string;
  constructor(
    /** this trial's processes */
    readonly procs: Set<Proc>,
    readonly base: string,
    readonly d: Deployment,
    readonly engine: TestEngine,
    readonly host: string,
    readonly nodePorts: number[],
    readonly sentinelPorts: number[],
    readonly files: { config: Record<string, string>; secret: Record<string, string> },
  ) {
    this.secretDir = join(base, 'secrets');
    writeFiles(this.secretDir, files.secret);
  }

  dirs(role: string, i: number): Dirs {
    const root = join(this.base, `${role}-${i}`);
    const dirs = { conf: join(root, 'conf'), run: join(root, 'run'), data: join(root, 'data') };
    for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFiles(dirs.conf, this.files.config, 0o644);
    return dirs;
  }

  net(role: 'node' | 'sentinel', i: number, dirs: Dirs): HaNet {
    const ports = role === 'node' ? this.nodePorts : this.sentinelPorts;
    return {
      ordinal: String(i),
      self: this.host,
      selfPort: String(ports[i]),
      nodes: this.nodePorts.map((p) => ({ host: this.host, port: String(p) })),
      sentinels: this.sentinelPorts.map((p) => ({ host: this.host, port: String(p) })),
      secretDir: this.secretDir,
      runDir: dirs.run,
      dataDir: dirs.data,
      configDir: dirs.conf,
    };
  }

  /** runs the node's start script, then its server command; returns the script's output and the process */
  async startNode(i: number, script: (d: Deployment, net: HaNet) => string): Promise<{ out: string; proc: Proc }> {
    const dirs = this.dirs('node', i);
    const out = await runScript(script(this.d, this.net('node', i, dirs)), scriptEnv(this.engine));
    const args = [...localArgs(dataNodeCommand(this.d), dirs, this.secretDir), '--port', String(this.nodePorts[i]), '--bind', '127.0.0.1'];
    const proc = startProcess(this.engine.server, args, dirs.data, join(dirs.run, '..', 'server.log'), this.procs);
    await until(`node ${i} answers`, async () => (await this.admin(i, 'PING')) === 'PONG', 20_000, [proc.log]);
    return { out, proc };
  }

  async startSentinel(i: number): Promise<Proc> {
    const dirs = this.dirs('sentinel', i);
    await runScript(sentinelScript(this.d, this.net('sentinel', i, dirs)), scriptEnv(this.engine));
    const args = [...localArgs(sentinelCommand(this.d), dirs, this.secretDir), '--port', String(this.sentinelPorts[i]), '--bind', '127.0.0.1'];
    const proc = startProcess(this.engine.server, args, dirs.run, join(dirs.run, '..', 'sentinel.log'), this.procs);
    await until(`Sentinel ${i} answers`, async () => (await this.sentinel(i, 'PING')) === 'PONG', 20_000, [proc.log]);
    return proc;
  }

  admin(i: number, ...args: string[]): Promise<string> {
    return cli(this.engine, this.nodePorts[i]!, 'admin', this.files.secret['admin-password']!, ...args);
  }

  /** a Sentinel, as the `sentinel` user (or `user`, e.g. the app) */
  sentinel(i: number, ...args: string[]): Promise<string> {
    return cli(this.engine, this.sentinelPorts[i]!, 'sentinel', this.files.secret['sentinel-password']!, ...args);
  }

  sentinelAs(user: string, i: number, ...args: string[]): Promise<string> {
    return cli(this.engine, this.sentinelPorts[i]!, user, this.files.secret[`${user}-password`]!, ...args);
  }
}

const info = (text: string, field: string) => new RegExp(`^${field}:(.*)$`, 'm').exec(text.replaceAll('\r', ''))?.[1];

async function ports(n: number, clusterBus = false): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await freePort('127.0.0.1', { clusterBus });
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

async function sentinelTrial(engine: TestEngine): Promise<void> {
  const d = model('sentinel');
  const temp = tempDir('nlr-ha-', engine.tempParent);
  const procs = new Set<Proc>();
  try {
    const host = engine.inRoot ? '127.0.0.1' : 'localhost';
    const l = new Layout(procs, temp.path, d, engine, host, await ports(2), await ports(3), renderedFiles(d, passwordsFor(d)));
    const first = await l.startNode(0, sentinelNodeScript);
    assert.match(first.out, /no Sentinel or data node answered: node 0 is the master/);
    const second = await l.startNode(1, sentinelNodeScript);
    assert.match(second.out, new RegExp(`says it is the master|starting as a replica of ${host}:${l.nodePorts[0]}`));
    // the replica logs in as `replica` (masteruser/masterauth): the link comes up
    await until('the replica is linked', async () => info(await l.admin(1, 'INFO', 'replication'), 'master_link_status') === 'up', 20_000, [first.proc.log]);
    const sentinels = [await l.startSentinel(0), await l.startSentinel(1), await l.startSentinel(2)];
    const logs = sentinels.map((s) => s.log);
    // Sentinels find each other (sentinel-user/sentinel-pass) and the replica (auth-user on the data nodes)
    for (let i = 0; i < 3; i++) {
      await until(
        `Sentinel ${i} knows 2 peers and 1 replica`,
        async () => {
          const master = await l.sentinel(i, 'SENTINEL', 'MASTER', d.topology.sentinel.masterName);
          return /\nnum-other-sentinels\n2(\n|$)/.test(master) && /\nnum-slaves\n1(\n|$)/.test(master);
        },
        20_000,
        logs,
      );
    }
    // NeuralLog's user may ask where the master is, and nothing that changes the Sentinels
    assert.equal(await l.sentinelAs('app', 2, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster'), `${host}\n${l.nodePorts[0]}`);
    assert.match(await l.sentinelAs('app', 2, 'SENTINEL', 'FAILOVER', 'mymaster'), /NOPERM/);
    assert.match(await cli(engine, l.sentinelPorts[0]!, 'default', '', 'PING'), /NOAUTH|WRONGPASS|NOPERM|invalid username-password/i);
    const masterIs = (i: number) => async () => (await l.sentinel(0, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')) === `${host}\n${l.nodePorts[i]}`;
    // a planned stop of the master (the rendered preStop hook): writes paused, a Sentinel fails over, then SHUTDOWN SAVE
    assert.equal(await l.admin(0, 'SET', 'ha:acknowledged', 'yes'), 'OK');
    assert.equal(await l.admin(0, 'WAIT', '1', '5000'), '1');
    const preStop = sentinelPreStopScript(d, l.net('node', 0, l.dirs('node', 0)), join(l.secretDir, 'admin-password'));
    assert.match(await runScript(preStop, scriptEnv(engine), 60_000), /handed the master role over/);
    await first.proc.exited;
    await until('the Sentinels hand the master role to node 1', masterIs(1), 10_000, logs);
    assert.equal(info(await l.admin(1, 'INFO', 'replication'), 'role'), 'master');
    assert.equal(await l.admin(1, 'GET', 'ha:acknowledged'), 'yes');
    // the old master restarts: its start script asks the Sentinels and comes back as a replica (no split brain)
    const again = await l.startNode(0, sentinelNodeScript);
    assert.match(again.out, new RegExp(`says the master is ${host}:${l.nodePorts[1]}`));
    await until(
      'the old master replicates from the new one',
      async () => {
        const repl = await l.admin(0, 'INFO', 'replication');
        return info(repl, 'role') === 'slave' && info(repl, 'master_link_status') === 'up' && info(repl, 'master_port') === String(l.nodePorts[1]);
      },
      20_000,
      [again.proc.log],
    );
    // kill -9 the new master: the Sentinels promote node 0 again (REPLICAOF NO ONE as the `sentinel` user)
    await kill(second.proc);
    await until('the Sentinels promote node 0', masterIs(0), 30_000, logs);
    await until('node 0 is a master', async () => info(await l.admin(0, 'INFO', 'replication'), 'role') === 'master', 10_000, logs);
    assert.equal(await l.admin(0, 'GET', 'ha:acknowledged'), 'yes');
  } finally {
    await stopAll(procs);
    temp.remove();
  }
}

async function clusterTrial(engine: TestEngine): Promise<void> {
  const d = model('cluster');
  const temp = tempDir('nlr-ha-', engine.tempParent);
  const procs = new Set<Proc>();
  try {
    const host = engine.inRoot ? '127.0.0.1' : 'localhost';
    const l = new Layout(procs, temp.path, d, engine, host, await ports(6, true), [], renderedFiles(d, passwordsFor(d)));
    const nodes = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => l.startNode(i, clusterNodeScript)));
    const create = clusterCreateScript(d, l.net('node', 0, l.dirs('job', 0)), 60);
    const env = scriptEnv(engine, { REDISCLI_AUTH: l.files.secret['admin-password']! });
    const roles = (field: string) => Promise.all(nodes.map(async (_, i) => info(await l.admin(i, 'INFO', 'replication'), field)));
    const out = await runScript(create, env, 120_000);
    assert.match(out, /cluster_state:ok/);
    const clusterInfo = await l.admin(0, 'CLUSTER', 'INFO');
    assert.equal(info(clusterInfo, 'cluster_known_nodes'), '6');
    assert.equal(info(clusterInfo, 'cluster_size'), '3');
    // every replica logs in to its master as `replica`
    await until('three replicas linked', async () => (await roles('master_link_status')).filter((v) => v === 'up').length === 3, 30_000);
    // the announced hostname is what clients are sent (cluster-preferred-endpoint-type hostname)
    assert.match(await l.admin(0, 'CLUSTER', 'NODES'), new RegExp(`,${host.replaceAll('.', '\\.')}[ ,]`));
    // NeuralLog's user reads the slot map and follows MOVED to the announced hostname
    const app = (...args: string[]) => cli(engine, l.nodePorts[0]!, 'app', l.files.secret['app-password']!, ...args);
    assert.doesNotMatch(await app('CLUSTER', 'SHARDS'), /NOPERM/);
    const keys = ['logs:a', 'logs:b', 'logs:c', 'rules:1'];
    for (const key of keys) assert.equal(await app('-c', 'SET', key, 'v'), 'OK', key);
    // the bootstrap is idempotent
    assert.match(await runScript(create, env), /already knows 6 nodes: the cluster exists/);
    // every node stops (SIGTERM: Redis saves) and restarts at once on its nodes.conf, which its start
    // script rewrites with the peers' current addresses: the cluster re-forms with every key
    await Promise.all(nodes.map((n) => stop(n.proc)));
    const back = await Promise.all(nodes.map((_, i) => l.startNode(i, clusterNodeScript)));
    for (const b of back) assert.match(b.out, /refreshed the peers' addresses in nodes.conf/);
    await until(
      'the restarted cluster re-forms (every node: cluster_state:ok, 6 known nodes)',
      async () =>
        (await Promise.all(nodes.map((_, i) => l.admin(i, 'CLUSTER', 'INFO')))).every(
          (ci) => info(ci, 'cluster_state') === 'ok' && info(ci, 'cluster_known_nodes') === '6',
        ),
      30_000,
      back.map((b) => b.proc.log),
    );
    for (const key of keys) assert.equal(await app('-c', 'GET', key), 'v', key);
    assert.ok(readFileSync(join(temp.path, 'node-0', 'data', 'nodes.conf'), 'utf8').includes('myself'));
  } finally {
    await stopAll(procs);
    temp.remove();
  }
}

// the trials mostly wait (hello messages, down-after, the cluster's join): run them side by side
describe('the Sentinel and Cluster renders run on loopback', { concurrency: true }, () => {
  for (const engine of testEngines()) {
    test(`${engine.label}: rendered Sentinel set: replication, Sentinel auth, preStop handover, the old master returns as a replica, failover`, async () => {
      await sentinelTrial(engine);
    });
    test(`${engine.label}: rendered cluster nodes and bootstrap script: created once, replicas linked, a full restart re-forms from nodes.conf with every key`, async () => {
      await clusterTrial(engine);
    });
  }
});
