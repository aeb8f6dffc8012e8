/**
 * The rendered pod's checks on every engine of the matrix: the readiness and liveness probes, the
 * Compose healthcheck and the preStop hook, exactly as rendered for a model of that engine (their CLI
 * is redis-cli or valkey-cli, the one the engine's image ships), run by `sh -c` against a real server
 * of that engine (Redis 7.0.15 on the host, Redis 8.0.2 and Valkey 8.1.1 from the Debian 13 root).
 * The premise they rest on is checked too: the CLI exits 0 on NOAUTH, so only reading the reply tells.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cliProgram, defaultImage } from '../src/config/engines.js';
import { profile } from '../src/config/profiles.js';
import type { Deployment } from '../src/config/schema.js';
import { composeHealthcheck } from '../src/render/compose.js';
import { kubernetesObjects } from '../src/render/index.js';
import { livenessScript, preStopScript, readinessScript } from '../src/render/kubernetes/index.js';
import { waitFor, isAlive } from '../src/runtime/index.js';
import { startTestServer, testEngines, type TestEngine, type TestServer } from './helpers/redis.js';

const fixtures = { app: 'app-pw', backup: 'backup-pw', monitor: 'monitor-pw', commander: 'commander-pw', ops: 'ops-pw', admin: 'admin-pw' };

function modelFor(engine: TestEngine): Deployment {
  const d = profile('neurallog');
  d.engine = engine.identity.engine;
  d.version = engine.identity.version;
  d.container.image = defaultImage(d.engine, d.version);
  return d;
}

/** A directory whose `redis-cli` or `valkey-cli` is the engine's own CLI, first on PATH for the scripts. */
function cliBin(engine: TestEngine): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'nlr-cli-bin-'));
  symlinkSync(engine.cli, join(dir, cliProgram(engine.identity.engine)));
  return { path: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function run(script: string, bin: string, env: Record<string, string> = {}): { code: number | null; out: string } {
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', timeout: 20_000, env: { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, ...env } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

for (const engine of testEngines()) {
  describe(`the rendered checks on ${engine.label}`, () => {
    const bin = cliBin(engine);
    let server: TestServer | undefined;
    after(async () => {
      await server?.stop();
      bin.remove();
    });

    test(`${engine.label}: the manifests run ${engine.identity.engine}-server and ${cliProgram(engine.identity.engine)} from ${defaultImage(engine.identity.engine, engine.identity.version)}`, () => {
      const d = modelFor(engine);
      const set = kubernetesObjects(d, fixtures).find((o) => o.manifest.kind === 'StatefulSet')!.manifest as Record<string, any>;
      const c = set.spec.template.spec.containers[0];
      assert.equal(c.image, defaultImage(engine.identity.engine, engine.identity.version));
      assert.equal(c.command[0], `${engine.identity.engine}-server`);
      for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe, c.lifecycle.preStop])
        assert.match(probe.exec.command[2], new RegExp(`\\b${cliProgram(engine.identity.engine)} --user`));
    });

    test(`${engine.label}: probes and healthcheck pass on PONG and fail on NOAUTH, although the CLI exits 0 there`, async () => {
      server = await startTestServer({ engine, model: modelFor(engine) });
      const d = server.model;
      const right = { REDISCLI_AUTH: server.passwords.monitor! };
      const wrong = { REDISCLI_AUTH: 'not-the-password' };
      const raw = run(`${cliProgram(d.engine)} --user monitor -p ${d.server.port} PING`, bin.path, wrong);
      assert.equal(raw.code, 0, 'the CLI itself exits 0 on NOAUTH/WRONGPASS');
      assert.match(raw.out, /WRONGPASS|NOAUTH|invalid/i);
      for (const [name, script] of [
        ['readiness', readinessScript(d)],
        ['liveness', livenessScript(d)],
      ] as const) {
        assert.equal(run(script, bin.path, right).code, 0, `${name} with the monitor password`);
        assert.notEqual(run(script, bin.path, wrong).code, 0, `${name} with a wrong password`);
      }
      const secrets = mkdtempSync(join(tmpdir(), 'nlr-health-'));
      try {
        // the healthcheck reads /run/secrets/redis/monitor-password; point it at a file of ours
        writeFileSync(join(secrets, 'monitor-password'), server.passwords.monitor!);
        const health = composeHealthcheck(d).replace('/run/secrets/redis/monitor-password', join(secrets, 'monitor-password'));
        assert.equal(run(health, bin.path).code, 0, 'Compose healthcheck');
        writeFileSync(join(secrets, 'monitor-password'), 'wrong');
        assert.notEqual(run(health, bin.path).code, 0, 'Compose healthcheck, wrong password');
      } finally {
        rmSync(secrets, { recursive: true, force: true });
      }
    });

    test(`${engine.label}: the preStop hook saves and stops the server as admin`, async () => {
      assert.ok(server, 'the server of the previous test');
      const client = await server.connect('admin');
      await client.set('logs:prestop', 'kept');
      await client.quit();
      const dir = mkdtempSync(join(tmpdir(), 'nlr-prestop-'));
      try {
        writeFileSync(join(dir, 'admin-password'), server.passwords.admin!);
        const r = run(preStopScript(server.model, join(dir, 'admin-password')), bin.path);
        assert.ok(await waitFor(() => !isAlive(server!.pid), 20_000), `the server stops (preStop: ${r.out})`);
        assert.ok(existsSync(join(server.dir, server.model.persistence.dbfilename)), 'SHUTDOWN SAVE wrote the RDB');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
