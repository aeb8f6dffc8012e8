/**
 * `monitor` covers every node of a topology (issue 15): `up --topology` starts one monitor for all of
 * it; `/scrape?target=` answers for each data node and Sentinel (and refuses anything else), `/targets`
 * lists them for Prometheus http_sd with their live roles, a killed replica scrapes as redis_up 0 while
 * the others stay 1, and `down` stops the monitor. One Sentinel and one Cluster topology per engine.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deploymentStatus, downDeployment, freePort, freePortRange, isAlive, readTopology, waitFor, type TopologyRecord } from '../src/runtime/index.js';
import { killEverything, upTestTopology } from './helpers/ha.js';
import { startMonitor } from '../src/monitor/run.js';
import { startTestServer, tempDir, testEngines, type TestEngine } from './helpers/redis.js';
import { runCli } from './helpers/run-cli.js';

const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';
const noPrometheus = existsSync(PROMETHEUS) && existsSync(PROMTOOL) ? false : 'prometheus is not installed (apt-get install prometheus)';

interface Group {
  targets: string[];
  labels: Record<string, string>;
}

interface Deployed {
  dir: string;
  url: string;
  pid: number;
  record: TopologyRecord;
  remove(): Promise<void>;
}

/**
 * The Sentinel topology is started by the CLI's `up --topology sentinel`, which starts its monitor.
 * The cluster is started in-process (`up --topology cluster` through the CLI can outlive its output:
 * a node-redis handshake abandoned at its deadline may finish later and hold the process; see the
 * report of this change), then the CLI's `up` again on the running cluster starts the monitor.
 */
async function upWithMonitor(engine: TestEngine, kind: 'sentinel' | 'cluster'): Promise<Deployed> {
  const listen = `127.0.0.1:${await freePort()}`;
  let dir: string;
  let remove: () => Promise<void>;
  let args: string[];
  if (kind === 'cluster') {
    const t = await upTestTopology(engine, { kind: 'cluster', settings: { nodeTimeout: 2000 } });
    dir = t.dir;
    remove = () => t.cleanup();
    args = ['up', '--dir', dir, '--server', engine.server, '--monitor-listen', listen, '--json'];
  } else {
    const temp = tempDir('nlr-montopo-', engine.tempParent);
    const base = await freePortRange(3);
    // shortened from the guide's 5 s, as test/ha-sentinel.test.ts does: the failover below takes ~2.5 s
    const settings = [`    port: ${await freePortRange(3)}`, '    downAfterMilliseconds: 2000', '    failoverTimeout: 10000'];
    const config = join(temp.path, 'model.yaml');
    writeFileSync(config, ['profile: neurallog', 'topology:', '  kind: sentinel', '  sentinel:', ...settings, ''].join('\n'));
    const at = join(temp.path, 'deployment');
    dir = at;
    remove = async () => {
      await downDeployment(at, { timeoutMs: 20_000 }).catch(() => undefined);
      killEverything(at);
      temp.remove();
    };
    args = ['up', '--dir', dir, '--config', config, '--port', String(base), '--server', engine.server, '--monitor-listen', listen, '--json'];
  }
  const run = await runCli(args, { timeoutMs: 120_000 });
  if (run.code !== 0) {
    const logs = [...readdirSafe(join(dir, 'nodes')).map((n) => join(dir, 'nodes', n, `${n}.log`)), join(dir, 'monitor.log')].map((f) => `${f}: ${tail(f)}`);
    await remove();
    assert.fail(`up --topology ${kind} (exit ${run.code}): ${run.stderr}${run.stdout}\n${logs.join('\n')}`);
  }
  const monitor = (JSON.parse(run.stdout) as { monitor?: { url: string; pid: number } | { error: string } }).monitor;
  assert.ok(monitor && 'url' in monitor, `no monitor: ${JSON.stringify(monitor)}`);
  assert.equal(monitor.url, `http://${listen}`);
  return { dir, url: monitor.url, pid: monitor.pid, record: readTopology(dir)!, remove };
}

function readdirSafe(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '(none)';
  }
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, text: await response.text() };
}

async function scrape(d: Deployed, address: string): Promise<string> {
  const { status, text } = await get(`${d.url}/scrape?target=${encodeURIComponent(address)}`);
  assert.equal(status, 200, text);
  return text;
}

async function targets(d: Deployed): Promise<Map<string, Record<string, string>>> {
  const { status, text } = await get(`${d.url}/targets`);
  assert.equal(status, 200, text);
  const groups = JSON.parse(text) as Group[];
  return new Map(groups.map((g) => [g.targets[0]!, g.labels]));
}

const addr = (p: { host: string; port: number }): string => `${p.host}:${p.port}`;
const role = (text: string): string | undefined => /^redis_instance_info\{[^}]*role="(\w+)"/m.exec(text)?.[1];

async function refusals(d: Deployed): Promise<void> {
  for (const target of ['127.0.0.1:1', 'redis://127.0.0.1:1', `redis://monitor:x@${addr(d.record.nodes[0]!)}`, 'example.com:6379', '']) {
    const { status, text } = await get(`${d.url}/scrape?target=${encodeURIComponent(target)}`);
    assert.equal(status, 400, `${target}: ${text}`);
    assert.equal(text.trim().split('\n').length, 1);
  }
}

async function killedReplica(d: Deployed, victim: TopologyRecord['nodes'][number]): Promise<void> {
  process.kill(victim.pid, 'SIGKILL');
  assert.ok(await waitFor(() => !isAlive(victim.pid), 5000));
  assert.match(await scrape(d, addr(victim)), /^redis_up 0$/m);
  for (const other of [...d.record.nodes, ...d.record.sentinels].filter((n) => n.name !== victim.name))
    assert.match(await scrape(d, addr(other)), /^redis_up 1$/m, other.name);
  // the killed node stays a target (Prometheus sees it down), with its last role
  assert.equal((await targets(d)).get(addr(victim))?.role, 'replica');
}

async function downStopsMonitor(d: Deployed): Promise<void> {
  // what `status --json` and `down` run
  assert.deepEqual((await deploymentStatus(d.dir)).monitor, { pid: d.pid, url: d.url });
  await downDeployment(d.dir, { timeoutMs: 20_000 });
  assert.ok(await waitFor(() => !isAlive(d.pid), 5000), 'the monitor outlived `down`');
}

for (const engine of testEngines()) {
  test(`one server (${engine.label}): /targets lists it alone, /scrape answers for it and refuses any other address`, async () => {
    const server = await startTestServer({ engine });
    const monitor = await startMonitor({
      endpoint: server.endpoint('monitor'),
      listen: { host: '127.0.0.1', port: 0 },
      scrapeTimeoutMs: 5000,
      version: 'test',
      pollSeconds: 60,
      samplerSeconds: 0,
    });
    try {
      const address = `127.0.0.1:${server.port}`;
      assert.deepEqual(JSON.parse((await get(`${monitor.url}/targets`)).text), [{ targets: [address], labels: { role: 'master', shard: '' } }]);
      const text = (await get(`${monitor.url}/scrape?target=${address}`)).text;
      assert.match(text, /^redis_up 1$/m);
      assert.doesNotMatch(text, /^process_/m);
      const other = await get(`${monitor.url}/scrape?target=127.0.0.1:${server.port + 1}`);
      assert.equal(other.status, 400);
      assert.match(other.text, /is not a node of the watched topology/);
    } finally {
      await monitor.stop();
      await server.stop();
    }
  });
}

// per engine, the Sentinel and the Cluster topology side by side; each one's tests in order
for (const engine of testEngines()) {
  describe(`monitor of every node (${engine.label})`, { concurrency: true }, () => {
    describe(`monitor of a Sentinel topology (${engine.label})`, { concurrency: 1 }, () => {
      let d: Deployed | undefined;
      before(async () => {
        d = await upWithMonitor(engine, 'sentinel');
      });
      after(async () => d?.remove());

      test('/health answers; /metrics is the master; every node and Sentinel answers /scrape with its role', async () => {
        const t = d!;
        assert.equal((await get(`${t.url}/health`)).status, 200);
        const master = t.record.nodes.find((n) => n.role === 'master')!;
        const metrics = (await get(`${t.url}/metrics`)).text;
        assert.match(metrics, /^redis_up 1$/m);
        assert.match(metrics, new RegExp(`^redis_instance_info\\{[^}]*tcp_port="${master.port}"`, 'm'));
        for (const n of t.record.nodes) {
          const text = await scrape(t, addr(n));
          assert.match(text, /^redis_up 1$/m, n.name);
          assert.equal(role(text), n.role === 'master' ? 'master' : 'slave', n.name);
          if (n.role === 'master') assert.match(text, /^redis_connected_slaves 2$/m);
        }
        for (const s of t.record.sentinels) {
          const text = await scrape(t, `redis://${addr(s)}`);
          assert.match(text, /^redis_up 1$/m, s.name);
          assert.match(text, /^redis_sentinel_masters 1$/m);
          assert.match(text, /^redis_sentinel_master_status\{[^}]*master_status="ok"\} 1$/m);
          assert.match(text, /^redis_sentinel_master_ckquorum_status\{[^}]*\} 1$/m);
          assert.match(text, /^redis_sentinel_master_ok_sentinels\{[^}]*\} 3$/m);
          assert.match(text, /^redis_uptime_in_seconds \d+$/m);
          assert.match(text, /^redis_connected_clients \d+$/m);
        }
        await refusals(t);
      });

      test('/targets lists every node with its role and the master name as shard', async () => {
        const t = d!;
        // the dashboard's node table (its state, polled by the page), filled by the monitor's own poll
        let rows: Array<{ address: string; role: string; up: boolean | null; usedMemory?: number; link?: string }> = [];
        await waitFor(async () => {
          rows = (JSON.parse((await get(`${t.url}/api/state`)).text) as { nodes?: typeof rows }).nodes ?? [];
          return rows.length === 6 && rows.every((r) => r.up === true);
        }, 15_000);
        assert.equal(rows.length, 6, JSON.stringify(rows));
        for (const r of rows) {
          assert.equal(r.up, true, JSON.stringify(r));
          // a Sentinel's INFO has no memory section
          if (r.role !== 'sentinel') assert.ok(r.usedMemory! > 0, JSON.stringify(r));
        }
        assert.deepEqual(
          rows.filter((r) => r.role === 'replica').map((r) => r.link),
          ['up', 'up'],
        );
        assert.deepEqual(
          rows.filter((r) => r.role === 'sentinel').map((r) => r.link),
          ['ok', 'ok', 'ok'],
        );
        const listed = await targets(t);
        assert.equal(listed.size, 6);
        for (const n of t.record.nodes) assert.deepEqual(listed.get(addr(n)), { role: n.role, shard: t.record.masterName, node: n.name });
        for (const s of t.record.sentinels) assert.deepEqual(listed.get(addr(s)), { role: 'sentinel', shard: t.record.masterName, node: s.name });
      });

      test('kill -9 of a replica: its /scrape says redis_up 0, the others 1', async () => {
        const t = d!;
        await killedReplica(
          t,
          t.record.nodes.find((n) => n.role === 'replica')!,
        );
      });

      test('kill -9 of the master: /targets and /metrics follow the promoted replica; down stops the monitor', async () => {
        const t = d!;
        const oldMaster = t.record.nodes.find((n) => n.role === 'master')!;
        const survivor = t.record.nodes.find((n) => n.role === 'replica' && isAlive(n.pid))!;
        process.kill(oldMaster.pid, 'SIGKILL');
        let listed = new Map<string, Record<string, string>>();
        const followed = await waitFor(
          async () => {
            listed = await targets(t);
            return listed.get(addr(survivor))?.role === 'master';
          },
          20_000,
          500,
        );
        assert.ok(followed, `no promotion seen in /targets: ${JSON.stringify([...listed])}`);
        assert.equal(listed.get(addr(oldMaster))?.role, 'replica');
        let metrics = '';
        await waitFor(async () => /^redis_up 1$/m.test((metrics = (await get(`${t.url}/metrics`)).text)), 15_000, 500);
        assert.match(metrics, new RegExp(`^redis_instance_info\\{[^}]*role="master"[^}]*tcp_port="${survivor.port}"`, 'm'));
        await downStopsMonitor(t);
      });
    });

    describe(`monitor of a Cluster topology (${engine.label})`, { concurrency: 1 }, () => {
      let d: Deployed | undefined;
      before(async () => {
        d = await upWithMonitor(engine, 'cluster');
      });
      after(async () => d?.remove());

      test('every node answers /scrape; /targets gives each its role and its shard master', async () => {
        const t = d!;
        const listed = await targets(t);
        assert.equal(listed.size, 6);
        for (const n of t.record.nodes) {
          const text = await scrape(t, addr(n));
          assert.match(text, /^redis_up 1$/m, n.name);
          assert.match(text, /^redis_cluster_enabled 1$/m);
          assert.equal(role(text), n.role === 'master' ? 'master' : 'slave', n.name);
          const labels = listed.get(addr(n));
          assert.equal(labels?.role, n.role, n.name);
          const shardMaster =
            n.role === 'master' ? addr(n) : /^redis_slave_info\{[^}]*master_host="([^"]+)",master_port="(\d+)"/m.exec(text)?.slice(1).join(':');
          assert.equal(labels?.shard, shardMaster, n.name);
        }
        assert.equal(new Set([...listed.values()].map((l) => l.shard)).size, 3);
        await refusals(t);
      });

      // not the servers' behaviour but Prometheus's: once, on the first engine
      const firstOnly = engine.id === testEngines()[0]?.id ? noPrometheus : 'Prometheus runs against the first engine only';
      test('render monitoring: promtool accepts the http_sd config; a real Prometheus scrapes all six nodes', { skip: firstOnly }, async () => {
        await prometheusScrapesEveryNode(d!);
      });

      test('kill -9 of a replica: its /scrape says redis_up 0, the others 1; down stops the monitor', async () => {
        const t = d!;
        await killedReplica(
          t,
          t.record.nodes.find((n) => n.role === 'replica')!,
        );
        await downStopsMonitor(t);
      });
    });
  });
}

async function prometheusScrapesEveryNode(d: Deployed): Promise<void> {
  const out = join(d.dir, '..', 'prom');
  const rendered = await runCli(['render', 'monitoring', '--dir', d.dir, '--out', out, '--target', d.url.replace('http://', '')]);
  assert.equal(rendered.code, 0, rendered.stderr);
  const file = join(out, 'prometheus.yml');
  const yaml = readFileSync(file, 'utf8');
  assert.match(yaml, /http_sd_configs:/);
  assert.match(yaml, /metrics_path: \/scrape/);
  writeFileSync(
    file,
    yaml
      .replace('scrape_interval: 30s', 'scrape_interval: 1s')
      .replace('scrape_timeout: 10s', 'scrape_timeout: 1s')
      .replace('refresh_interval: 30s', 'refresh_interval: 1s'),
  );
  const check = spawnSync(PROMTOOL, ['check', 'config', file], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const port = await freePort();
  const prometheus = spawn(PROMETHEUS, [`--config.file=${file}`, `--storage.tsdb.path=${join(out, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: 'ignore',
  });
  try {
    const query = async (promql: string): Promise<Array<{ metric: Record<string, string> }>> => {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(5000) });
      return ((await response.json()) as { data: { result: Array<{ metric: Record<string, string> }> } }).data.result;
    };
    let series: Array<{ metric: Record<string, string> }> = [];
    for (let attempt = 0; attempt < 60 && series.length < 6; attempt++) {
      await new Promise((r) => setTimeout(r, 500));
      series = await query('redis_up == 1').catch(() => []);
    }
    const byInstance = new Map(series.map((r) => [r.metric.instance, r.metric]));
    for (const n of d.record.nodes) assert.equal(byInstance.get(addr(n))?.role, n.role, `PromQL redis_up of ${n.name}: ${JSON.stringify(series)}`);
  } finally {
    prometheus.kill('SIGTERM');
    await once(prometheus, 'exit');
  }
}
