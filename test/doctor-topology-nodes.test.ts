/**
 * `doctor` on a Sentinel and a Cluster topology (issue 15: doctor covers every node), on every engine:
 * each node examined, the topology judged as a whole, and broken on purpose (a second master, a
 * replica killed). Also `backup --dir` of a Sentinel deployment, which takes the Sentinels' password
 * from the deployment's secrets.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeConnection, openConnection, type Endpoint } from '../src/connect/index.js';
import { clusterTopologyChecks, type SeenNode } from '../src/doctor/topology.js';
import type { ServerFacts } from '../src/doctor/collect.js';
import { SENTINEL_SECRET } from '../src/runtime/index.js';
import { upTestTopology, type TestTopology } from './helpers/ha.js';
import { testEngines } from './helpers/redis.js';
import { runCli } from './helpers/run-cli.js';

interface NodeJson {
  name: string;
  address: string;
  reach: string;
  role?: string;
  exitCode: number;
  findings: Array<{ id: string; severity: string }>;
}
interface TopologyJson {
  kind: string;
  nodes: NodeJson[];
  findings: Array<{ id: string; severity: string; title: string }>;
  exitCode: number;
}

async function doctor(args: string[], expectExit?: number, host = false): Promise<TopologyJson> {
  // a generous deadline: on CI's loaded 2 cores a node of a fresh cluster once took over 3 s to answer
  const r = await runCli(['doctor', ...args, ...(host ? [] : ['--no-host']), '--timeout', '10s', '--json']);
  let report: TopologyJson;
  try {
    report = JSON.parse(r.stdout) as TopologyJson;
  } catch {
    throw new Error(`doctor printed no report (exit ${r.code}): ${r.stderr}`);
  }
  const problems = [...report.findings, ...report.nodes.flatMap((n) => n.findings.map((f) => ({ ...f, id: `${n.name}: ${f.id}` })))].filter(
    (f) => f.severity === 'warning' || f.severity === 'critical',
  );
  if (expectExit !== undefined) assert.equal(r.code, expectExit, `doctor exit ${r.code}; problems: ${JSON.stringify(problems)}`);
  assert.equal(r.code, report.exitCode);
  return report;
}

const severityOf = (report: TopologyJson, id: string) => report.findings.find((f) => f.id === id)?.severity;

async function command(endpoint: Endpoint, args: string[]): Promise<unknown> {
  const c = await openConnection(endpoint, { connectTimeoutMs: 3000 });
  try {
    return await c.sendCommand(args);
  } finally {
    await closeConnection(c);
  }
}

function secretFile(t: TestTopology, name: string, value: string): string {
  const path = join(t.dir, '..', `${name}.pw`);
  writeFileSync(path, value, { mode: 0o600 });
  return path;
}

for (const engine of testEngines()) {
  describe(`${engine.label}: doctor on a Sentinel topology`, () => {
    let t: TestTopology;
    before(async () => {
      t = await upTestTopology(engine, { kind: 'sentinel', settings: { downAfterMilliseconds: 5000, failoverTimeout: 60_000 } });
    });
    after(async () => t?.cleanup());

    test(`${engine.label}: --dir examines the 3 data nodes and 3 Sentinels, and the topology is healthy`, async () => {
      const report = await doctor(['--dir', t.dir], 0);
      assert.equal(report.kind, 'sentinel');
      assert.equal(report.nodes.length, 6);
      assert.ok(
        report.nodes.every((n) => n.reach === 'connected'),
        JSON.stringify(report.nodes.map((n) => [n.name, n.reach])),
      );
      assert.deepEqual(report.nodes.map((n) => n.role).sort(), ['master', 'sentinel', 'sentinel', 'sentinel', 'slave', 'slave']);
      for (const id of ['topology.masters', 'topology.replicas', 'topology.sentinels']) assert.equal(severityOf(report, id), 'ok', id);
      // with the machine's checks: the data nodes get the kernel's (forks, memory), the Sentinels not
      const withHost = await doctor(['--dir', t.dir], undefined, true);
      for (const n of withHost.nodes) {
        const kernel = n.findings.filter((f) => f.id === 'host.overcommit' || f.id === 'host.thp');
        if (n.role === 'sentinel') assert.deepEqual(kernel, [], `${n.name}: no kernel checks on a Sentinel`);
        else assert.equal(kernel.length, 2, `${n.name}: overcommit and THP judged`);
      }
    });

    test(`${engine.label}: --sentinel with --master-name finds the same nodes through the Sentinels`, async () => {
      const secrets = t.secrets();
      const sentinels = t.record().sentinels.map((s) => `${s.host}:${s.port}`);
      const report = await doctor([
        '--sentinel',
        sentinels.join(','),
        '--master-name',
        t.record().masterName ?? 'mymaster',
        '--user',
        'ops',
        '--password-file',
        secretFile(t, 'ops', secrets.ops!),
        '--sentinel-password-file',
        secretFile(t, 'sentinel', secrets[SENTINEL_SECRET]!),
      ]);
      assert.equal(report.nodes.length, 6);
      assert.ok(report.nodes.every((n) => n.reach === 'connected'));
      assert.equal(severityOf(report, 'topology.masters'), 'ok');
    });

    test(`${engine.label}: backup --dir pulls through the deployment's Sentinels (their password from its secrets)`, async () => {
      const r = await runCli(['backup', '--dir', t.dir, '--to', join(t.dir, '..', 'backups'), '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { path: string; pulledFrom: { role: string; address: { port: number } }; manifest: { verified: boolean } };
      const replicaPorts = t
        .record()
        .nodes.filter((n) => n.role === 'replica')
        .map((n) => n.port);
      assert.equal(out.pulledFrom.role, 'replica', 'through the Sentinels, from a healthy replica');
      assert.ok(replicaPorts.includes(out.pulledFrom.address.port), JSON.stringify(out.pulledFrom));
      assert.equal(out.manifest.verified, true);
    });

    test(`${engine.label}: a replica made a master is a split brain (critical); a killed replica cannot be examined (exit 2)`, async () => {
      const record = t.record();
      const replicas = record.nodes.filter((n) => n.role === 'replica');
      const master = record.nodes.find((n) => n.role === 'master')!;
      const rogue = replicas[0]!;
      await command(t.endpoint(rogue.port), ['REPLICAOF', 'NO', 'ONE']);
      try {
        const split = await doctor(['--dir', t.dir], 1);
        assert.equal(severityOf(split, 'topology.masters'), 'critical');
        assert.match(split.findings.find((f) => f.id === 'topology.masters')!.title, /2 data nodes are masters/);
      } finally {
        await command(t.endpoint(rogue.port), ['REPLICAOF', master.host, String(master.port)]);
      }
      process.kill(replicas[1]!.pid, 'SIGKILL');
      const broken = await doctor(['--dir', t.dir], 2);
      const dead = broken.nodes.find((n) => n.name === replicas[1]!.name)!;
      assert.equal(dead.reach, 'unreachable');
      assert.equal(dead.exitCode, 2);
      assert.ok(
        broken.nodes.filter((n) => n !== dead).every((n) => n.reach === 'connected'),
        'the other nodes are still examined',
      );
    });
  });

  describe(`${engine.label}: doctor on a Cluster topology`, () => {
    let t: TestTopology;
    before(async () => {
      t = await upTestTopology(engine, { kind: 'cluster', settings: { nodeTimeout: 5000 } });
    });
    after(async () => t?.cleanup());

    test(`${engine.label}: --dir and --cluster examine all 6 nodes; the cluster is ok and every master has a replica`, async () => {
      const byDir = await doctor(['--dir', t.dir], 0);
      assert.equal(byDir.kind, 'cluster');
      assert.equal(byDir.nodes.length, 6);
      assert.equal(severityOf(byDir, 'topology.cluster-state'), 'ok');
      assert.equal(severityOf(byDir, 'topology.cluster-replicas'), 'ok');
      const seed = t.record().nodes[0]!;
      const bySeed = await doctor(['--cluster', `${seed.host}:${seed.port}`, '--user', 'ops', '--password-file', secretFile(t, 'ops', t.secrets().ops!)]);
      assert.equal(bySeed.nodes.length, 6);
      assert.deepEqual(bySeed.nodes.map((n) => n.address).sort(), byDir.nodes.map((n) => n.address).sort());
    });

    test(`${engine.label}: a killed replica leaves its master alone (warning) and cannot be examined (exit 2)`, async () => {
      const replica = t.record().nodes.find((n) => n.role === 'replica')!;
      process.kill(replica.pid, 'SIGKILL');
      const report = await doctor(['--dir', t.dir], 2);
      assert.equal(report.nodes.find((n) => n.name === replica.name)!.reach, 'unreachable');
      assert.equal(severityOf(report, 'topology.cluster-replicas'), 'warning');
      assert.equal(severityOf(report, 'topology.cluster-state'), 'critical');
    });
  });
}

describe('doctor on a topology: bad input', () => {
  test('--url with --cluster is refused; a cluster seed that nothing answers is exit 2 naming it', async () => {
    const both = await runCli(['doctor', '--url', 'redis://127.0.0.1:1', '--cluster', '127.0.0.1:2']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either --url or a topology/);
    const none = await runCli(['doctor', '--cluster', '127.0.0.1:1', '--timeout', '1s']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no cluster seed answered CLUSTER NODES \(127\.0\.0\.1:1: .*refused/);
  });
});

describe('the cluster replicas judgement (pure)', () => {
  const node = (name: string, address: string, info?: Record<string, string>): SeenNode => ({
    name,
    address,
    sentinel: false,
    ...(info ? { facts: { info, cluster: { cluster_state: 'ok' } } as unknown as ServerFacts } : {}),
  });
  const master = node('master-a', '127.0.0.1:7000', {
    role: 'master',
    connected_slaves: '1',
    slave0: 'ip=127.0.0.1,port=7003,state=online,offset=98,lag=0',
  });
  const replicas = (seen: SeenNode[]) => clusterTopologyChecks(seen).find((f) => f.id === 'topology.cluster-replicas')!;

  test('a replica the master lists and that answered counts', () => {
    const f = replicas([master, node('replica-d', '127.0.0.1:7003', { role: 'slave', master_link_status: 'up' })]);
    assert.equal(f.severity, 'ok');
    assert.match(f.evidence, /master-a: 1 replica\(s\)/);
  });

  test('a replica the master still lists but that did not answer (killed, its socket not yet closed) does not count', () => {
    const f = replicas([master, node('replica-d', '127.0.0.1:7003')]);
    assert.equal(f.severity, 'warning');
    assert.match(f.evidence, /master-a: 0 replica\(s\) \(replica-d listed but unreachable\)/);
  });

  test('a replica listed under an address that was not examined counts, as the master says', () => {
    const f = replicas([master, node('replica-d', '10.0.0.9:7003')]);
    assert.equal(f.severity, 'ok');
  });
});
