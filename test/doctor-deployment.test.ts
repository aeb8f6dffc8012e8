/**
 * doctor on deployments made by `up`, on every engine: a healthy one gets a clean report (exit 0, as
 * the ops user from the secrets file); with its data directory on a 4 MB file system it is short of
 * space; its AOF damaged, it does not start, and
 * doctor names the log line that says why; the guide's configuration (protected mode, no password)
 * seen from another host (a network namespace this test makes) is connection.denied with its remedies.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DoctorReport } from '../src/doctor/finding.js';
import { runDoctor } from '../src/doctor/run.js';
import { upDeployment } from '../src/runtime/index.js';
import { expectFinding } from './doctor-helpers.js';
import { tempDir, testEngines, upTestDeployment } from './helpers/redis.js';
import { cliArgv, REPO_ROOT, runCli } from './helpers/run-cli.js';

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

for (const engine of testEngines()) {
  test(`${engine.label}: a healthy deployment gets a clean report; damaged, doctor names the fatal log line`, async () => {
    const d = await upTestDeployment({ engine });
    try {
      const run = await runCli(['doctor', '--dir', d.dir, '--json', '--no-host']);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const report = JSON.parse(run.stdout) as DoctorReport;
      assert.equal(report.reach, 'connected');
      for (const f of report.findings) assert.ok(f.severity === 'ok' || f.severity === 'info', `${f.id}: ${f.severity} ${f.title} (${f.evidence})`);
      assert.ok(!report.findings.some((f) => f.id === 'doctor.config'), 'the ops user reads CONFIG');
      assert.ok(!report.findings.some((f) => f.id.startsWith('host.')));
      // with the kernel checks: the only findings above info are this machine's own settings
      const withHost = await runDoctor({ dir: d.dir });
      for (const f of withHost.findings.filter((x) => x.severity === 'warning' || x.severity === 'critical'))
        assert.match(f.id, /^host\./, `${f.id}: ${f.title}`);
      const overcommit = expectFinding(withHost, 'host.overcommit');
      assert.equal(overcommit.severity, readProc('/proc/sys/vm/overcommit_memory') === '1' ? 'ok' : 'warning');
      expectFinding(withHost, 'persistence.data-dir', 'ok');
      expectFinding(withHost, 'log.http-probe', 'ok');

      await d.down();
      // the data directory on a 4 MB file system: 3 MB of data leave less free than a save needs
      const data = join(d.dir, 'data');
      must('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', data]);
      try {
        await upDeployment({ dir: d.dir, port: d.result.port, server: engine.server, readyTimeoutMs: 10_000 });
        const admin = await d.connect('admin');
        for (let i = 0; i < 3; i++) await admin.sendCommand(['SET', `logs:fill:${i}`, 'f'.repeat(1024 * 1024)]);
        await admin.close();
        const full = await runDoctor({ dir: d.dir, host: false });
        const f = expectFinding(full, 'persistence.data-dir', 'critical');
        assert.match(f.evidence, /free of 4\.0 MiB/);
        assert.equal(full.exitCode, 1);
      } finally {
        // stopped before the file system under it goes (a failed assertion leaves it running)
        await d.down().catch(() => undefined);
        sh('umount', [data]);
      }
      const stopped = await runDoctor({ dir: d.dir });
      expectFinding(stopped, 'start.not-running', 'critical');
      assert.equal(stopped.exitCode, 1);
      const aofDir = join(d.dir, 'data', 'appendonlydir');
      const incr = readdirSync(aofDir).find((f) => f.endsWith('.incr.aof'))!;
      writeFileSync(join(aofDir, incr), '!garbage\r\n*1\r\n$4\r\nPING\r\n');
      await assert.rejects(upDeployment({ dir: d.dir, port: d.result.port, server: engine.server, readyTimeoutMs: 10_000 }));
      const broken = await runDoctor({ dir: d.dir });
      const fatal = expectFinding(broken, 'start.fatal', 'critical');
      assert.match(fatal.evidence, /Bad file format reading the append only file/);
      assert.equal(broken.reach, 'not-running');
      assert.equal(broken.exitCode, 1);
    } finally {
      await d.cleanup();
    }
  });
}

for (const engine of testEngines()) {
  test(`${engine.label}: rename-command in the deployment's redis.conf is security.rename-command (info)`, async () => {
    const model = tempDir('nlr-doctor-model-');
    const config = join(model.path, 'model.yaml');
    writeFileSync(
      config,
      'profile: neurallog\nextraDirectives:\n  - { name: repl-diskless-sync-max-replicas, args: ["1"] }\n  - { name: rename-command, args: ["KEYS", "NEURALLOG_KEYS"] }\n',
    );
    const d = await upTestDeployment({ engine, config });
    try {
      const report = await runDoctor({ dir: d.dir, host: false });
      const f = expectFinding(report, 'security.rename-command', 'info');
      assert.match(f.title, /KEYS/);
      assert.equal(report.exitCode, 0);
    } finally {
      await d.cleanup();
      model.remove();
    }
  });
}

const id = `${process.pid % 200}`;
const NS = `nlr-doctor-${process.pid}`;
const HOST_IF = `nldh${process.pid % 100000}`;
const NS_IF = `nldn${process.pid % 100000}`;
const HOST_ADDR = `10.214.${id}.1`;
const NS_ADDR = `10.214.${id}.2`;

function sh(cmd: string, args: string[]): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

function must(cmd: string, args: string[]): void {
  const r = sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.out}`);
}

const canMakeNamespaces = process.getuid?.() === 0 && sh('ip', ['netns', 'list']).code === 0;

describe('doctor from another host (a network namespace the test creates)', { skip: canMakeNamespaces ? false : 'needs root and iproute2 (ip netns)' }, () => {
  before(() => {
    must('ip', ['netns', 'add', NS]);
    must('ip', ['link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF]);
    must('ip', ['link', 'set', NS_IF, 'netns', NS]);
    must('ip', ['addr', 'add', `${HOST_ADDR}/24`, 'dev', HOST_IF]);
    must('ip', ['link', 'set', HOST_IF, 'up']);
    must('ip', ['netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_ADDR}/24`, 'dev', NS_IF]);
    must('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up']);
    must('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  });
  after(() => {
    sh('ip', ['link', 'del', HOST_IF]);
    sh('ip', ['netns', 'del', NS]);
  });

  for (const engine of testEngines()) {
    test(`${engine.label}: protected mode refusing the other host is connection.denied, with the remedies`, async () => {
      const d = await upTestDeployment({
        engine,
        bind: ['0.0.0.0'],
        config: join(import.meta.dirname, 'fixtures', 'guide-with-admin.yaml'),
        allowInsecure: true,
      });
      try {
        const r = spawnSync('ip', ['netns', 'exec', NS, ...cliArgv('doctor', '--url', `redis://${HOST_ADDR}:${d.result.port}`, '--json').flat()], {
          cwd: REPO_ROOT,
          encoding: 'utf8',
          timeout: 60_000,
        });
        assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
        const report = JSON.parse(r.stdout) as DoctorReport;
        const f = expectFinding(report, 'connection.denied', 'critical');
        assert.match(f.fix, /protected mode/);
        assert.match(f.fix, /server\.bind/);
        assert.equal(report.local, false);
      } finally {
        await d.cleanup();
      }
    });
  }
});
