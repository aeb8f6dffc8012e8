/**
 * `render kubernetes` and `render compose`: golden files for the default profile, determinism, the
 * refusals (each naming the field to change), the command line (files holding secrets are 0600, the
 * ConfigMap's redis.conf is byte for byte `render conf`), and Debian's `docker-compose config -q`.
 */
import assert from 'node:assert/strict';
import { parseYamlModel } from '../src/config/load.js';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { profile } from '../src/config/profiles.js';
import type { Deployment } from '../src/config/schema.js';
import { writeSecrets } from '../src/connect/secrets.js';
import { ConfigError } from '../src/errors.js';
import { refusals, renderCompose, renderKubernetes, renderRedisConf, type RenderedFile } from '../src/render/index.js';
import { runCliSync } from './helpers/run-cli.js';

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
const ROOT = here('..');
const fixtureSecrets = (JSON.parse(readFileSync(here('./fixtures/secrets.json'), 'utf8')) as { users: Record<string, string> }).users;
const REGENERATE = 'UPDATE_GOLDEN=1 node --import tsx --test test/deploy-render.test.ts';

const temps: string[] = [];
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nlr-deploy-'));
  temps.push(dir);
  return dir;
}
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => runCliSync(args, { cwd: ROOT, timeoutMs: 30_000, env: { NO_COLOR: '1' } });

/** Every golden file in `dir` equals the rendered file of the same name, and no file is missing or extra. */
function assertGoldenTree(dir: string, files: readonly RenderedFile[]): void {
  const root = here(`./golden/${dir}`);
  if (process.env.UPDATE_GOLDEN === '1') {
    rmSync(root, { recursive: true, force: true });
    for (const f of files) {
      mkdirSync(dirname(join(root, f.path)), { recursive: true });
      writeFileSync(join(root, f.path), f.content);
    }
    return;
  }
  const listed = (d: string, prefix = ''): string[] =>
    existsSync(d)
      ? readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listed(join(d, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
      : [];
  assert.deepEqual(
    listed(root).sort(),
    files.map((f) => f.path).sort(),
    `test/golden/${dir} does not hold exactly the rendered files; regenerate with \`${REGENERATE}\``,
  );
  for (const f of files) {
    const expected = readFileSync(join(root, f.path), 'utf8');
    assert.ok(
      expected === f.content,
      `test/golden/${dir}/${f.path} differs from the rendered file. If the change is intended, regenerate with \`${REGENERATE}\` and review the diff.\n--- expected\n${expected}\n--- actual\n${f.content}`,
    );
  }
}

function model(change: (d: Deployment) => void): Deployment {
  const d = profile('neurallog');
  change(d);
  return d;
}

describe('golden files (neurallog profile, test/fixtures/secrets.json)', () => {
  test('test/golden/kubernetes/', () => {
    assertGoldenTree('kubernetes', renderKubernetes(profile('neurallog'), fixtureSecrets));
  });
  test('test/golden/compose/', () => {
    assertGoldenTree('compose', renderCompose(profile('neurallog'), fixtureSecrets));
  });
});

describe('rendering is deterministic and keeps its promises', () => {
  test('the same model and secrets give the same bytes, whatever the key order of the inputs', () => {
    const d = profile('neurallog');
    const shuffled = Object.fromEntries(Object.entries(fixtureSecrets).reverse());
    assert.deepEqual(renderKubernetes(structuredClone(d), shuffled), renderKubernetes(d, fixtureSecrets));
    assert.deepEqual(renderCompose(structuredClone(d), shuffled), renderCompose(d, fixtureSecrets));
  });

  test('apiVersion, kind and metadata come first in every object; only the Secret files are marked secret', () => {
    for (const f of renderKubernetes(profile('neurallog'), fixtureSecrets)) {
      const keys = Object.keys(parse(f.content) as object);
      if (f.path === 'kustomization.yaml') assert.deepEqual(keys.slice(0, 2), ['apiVersion', 'kind']);
      else assert.deepEqual(keys.slice(0, 3), ['apiVersion', 'kind', 'metadata'], f.path);
      assert.equal(f.secret, f.path === 'secret.yaml', f.path);
    }
    const composeSecrets = renderCompose(profile('neurallog'), fixtureSecrets)
      .filter((f) => f.secret)
      .map((f) => f.path);
    assert.deepEqual(composeSecrets, [
      'secrets/users.acl',
      'secrets/admin-password',
      'secrets/app-password',
      'secrets/backup-password',
      'secrets/commander-password',
      'secrets/monitor-password',
      'secrets/ops-password',
      'secrets/redis-commander.json',
    ]);
  });

  test('the ConfigMap and the Compose redis.conf are byte for byte `render conf`; no password outside the secret files', () => {
    const d = profile('neurallog');
    const files = renderKubernetes(d, fixtureSecrets);
    const cm = parse(files.find((f) => f.path === 'configmap.yaml')!.content) as { data: Record<string, string> };
    assert.equal(cm.data['redis.conf'], renderRedisConf(d));
    assert.equal(renderCompose(d, fixtureSecrets).find((f) => f.path === 'redis.conf')!.content, renderRedisConf(d));
    for (const f of [...files, ...renderCompose(d, fixtureSecrets)].filter((x) => !x.secret)) {
      for (const pw of Object.values(fixtureSecrets)) {
        assert.ok(!f.content.includes(pw) && !f.content.includes(Buffer.from(pw).toString('base64')), `${f.path} holds a password`);
      }
    }
  });

  test('the Secret holds users.acl and <user>-password for every user with a password (app-password for NeuralLog)', () => {
    const secret = parse(renderKubernetes(profile('neurallog'), fixtureSecrets).find((f) => f.path === 'secret.yaml')!.content) as {
      data: Record<string, string>;
    };
    assert.deepEqual(Object.keys(secret.data), [
      'admin-password',
      'app-password',
      'backup-password',
      'commander-password',
      'monitor-password',
      'ops-password',
      'redis-commander.json',
      'users.acl',
    ]);
    assert.equal(Buffer.from(secret.data['app-password']!, 'base64').toString(), fixtureSecrets.app);
  });

  test('namespace, image and sizes come from the model', () => {
    const d = model((x) => {
      x.deploy.namespace = 'logging';
      x.container.image = 'redis:7.0.14-alpine';
      x.container.memoryLimit = 1024 ** 3;
      x.container.storage = 5 * 1024 ** 3;
    });
    const files = Object.fromEntries(renderKubernetes(d, fixtureSecrets).map((f) => [f.path, parse(f.content)]));
    assert.equal(files['kustomization.yaml'].namespace, 'logging');
    const sts = files['statefulset.yaml'];
    assert.equal(sts.metadata.namespace, 'logging');
    assert.equal(sts.spec.template.spec.containers[0].image, 'redis:7.0.14-alpine');
    assert.equal(sts.spec.template.spec.containers[0].resources.limits.memory, '1Gi');
    assert.equal(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, '5Gi');
    assert.equal(sts.spec.template.spec.containers[0].startupProbe.failureThreshold, 52, '5 GiB at 10 MiB/s = 512 s');
  });
});

describe('render refuses unsafe models, naming the field', () => {
  test("directives the model's release refuses: extraDirectives (the pod would crash-loop)", () => {
    const d = parseYamlModel('version: "7.0"\nextraDirectives:\n  - {name: set-max-listpack-entries, args: ["128"]}\n', 'old.yaml').deployment;
    assert.deepEqual(
      refusals(d, 'kubernetes').map((r) => r.path),
      ['extraDirectives.0.name'],
    );
    d.version = '7.2';
    assert.deepEqual(refusals(d, 'compose'), []);
  });

  const refused = (d: Deployment, target: 'kubernetes' | 'compose' = 'kubernetes') => refusals(d, target).map((r) => r.path);

  test('the neurallog profile renders', () => {
    assert.deepEqual(refused(profile('neurallog')), []);
    assert.deepEqual(refused(profile('neurallog'), 'compose'), []);
  });

  test('maxmemory without headroom: container.memoryLimit', () => {
    const d = model((x) => (x.container.memoryLimit = 256 * 1024 * 1024));
    assert.deepEqual(refused(d), ['container.memoryLimit']);
    assert.match(refusals(d, 'kubernetes')[0]!.fix, /at least 384Mi/);
    assert.deepEqual(refused(model((x) => (x.memory.maxmemory = 0))), ['memory.maxmemory']);
  });

  test('persistence off: persistence.appendonly', () => {
    assert.deepEqual(
      refused(
        model((x) => {
          x.persistence.appendonly = false;
          x.persistence.save = [];
        }),
      ),
      ['persistence.appendonly'],
    );
  });

  test("no authentication: the guide's profile (protected mode, default user nopass) and a nopass user", () => {
    const guide = profile('guide');
    guide.container.memoryLimit = 384 * 1024 * 1024;
    const paths = refused(guide);
    assert.ok(paths.includes('server.protectedMode') && paths.includes('security.users'), String(paths));
    const nopass = model((x) => (x.security.users[1]!.nopass = true));
    assert.deepEqual(refused(nopass), ['security.users.1']);
  });

  test('a PDB that blocks every eviction: deploy.podDisruptionBudget.maxUnavailable (Kubernetes only)', () => {
    const d = model((x) => (x.deploy.podDisruptionBudget.maxUnavailable = 0));
    assert.deepEqual(refused(d), ['deploy.podDisruptionBudget.maxUnavailable']);
    assert.deepEqual(refused(d, 'compose'), []);
  });

  test('container concerns: loopback bind, a log file, missing role users, an open NetworkPolicy', () => {
    assert.deepEqual(refused(model((x) => (x.server.bind = ['127.0.0.1']))), ['server.bind']);
    assert.deepEqual(refused(model((x) => (x.logging.logfile = '/var/log/redis.log'))), ['logging.logfile']);
    assert.deepEqual(refused(model((x) => (x.security.users = x.security.users.filter((u) => u.name !== 'monitor')))), ['security.users']);
    assert.deepEqual(refused(model((x) => (x.deploy.networkPolicy.clientPodLabels = []))), ['deploy.networkPolicy.clientPodLabels']);
  });

  test('renderKubernetes throws one ConfigError listing every refusal with its field', () => {
    const d = model((x) => {
      x.container.memoryLimit = 256 * 1024 * 1024;
      x.deploy.podDisruptionBudget.maxUnavailable = 0;
    });
    assert.throws(
      () => renderKubernetes(d, fixtureSecrets),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.code === 'E_RENDER_REFUSED' &&
        /- container\.memoryLimit: /.test(e.message) &&
        /- deploy\.podDisruptionBudget\.maxUnavailable: /.test(e.message),
    );
  });
});

/** Runs the command in this process (as main.ts would), capturing what it prints. */
async function inProcess(artifact: string, flags: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string; error?: unknown }> {
  const { renderCommand } = await import('../src/cli/render.js');
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    return { code: await renderCommand(artifact, flags), stdout, stderr };
  } catch (error) {
    return { code: (error as { exitCode?: number }).exitCode ?? 1, stdout, stderr, error };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describe('the command line', () => {
  test('render kubernetes --secrets FILE (the real CLI): creates the secrets 0600, writes secret.yaml 0600 and the rest 0644', async () => {
    const dir = temp();
    const r = cli(['render', 'kubernetes', '--secrets', join(dir, 'secrets.json'), '--out', join(dir, 'k8s')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), join(dir, 'k8s'));
    assert.match(r.stderr, /Generated passwords for app, backup, monitor, commander, ops, admin/);
    assert.equal(statSync(join(dir, 'secrets.json')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'k8s', 'secret.yaml')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'k8s', 'statefulset.yaml')).mode & 0o077, 0o044);
    // same secrets, same bytes
    const again = await inProcess('kubernetes', { secrets: join(dir, 'secrets.json'), out: join(dir, 'k8s-2') });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, '', 'nothing generated the second time');
    for (const name of readdirSync(join(dir, 'k8s')))
      assert.equal(readFileSync(join(dir, 'k8s-2', name), 'utf8'), readFileSync(join(dir, 'k8s', name), 'utf8'), name);
    // `render conf` prints exactly the ConfigMap's redis.conf
    const conf = await inProcess('conf', {});
    const cm = parse(readFileSync(join(dir, 'k8s', 'configmap.yaml'), 'utf8')) as { data: Record<string, string> };
    assert.equal(cm.data['redis.conf'], conf.stdout);
  });

  test("render compose --dir: the deployment's passwords; secrets/ is 0700 with 0600 files", async () => {
    const dir = temp();
    const dep = join(dir, 'dep');
    mkdirSync(dep);
    const local = profile('neurallog');
    local.server.bind = ['127.0.0.1'];
    local.server.port = 6390;
    writeFileSync(join(dep, 'deployment.json'), JSON.stringify(local));
    writeSecrets(join(dep, 'secrets.json'), { version: 1, users: fixtureSecrets });
    const r = await inProcess('compose', { dir: dep, out: join(dir, 'c') });
    assert.equal(r.code, 0, String(r.error));
    assert.match(r.stderr, /bind 0\.0\.0\.0 port 6379/);
    assert.equal(statSync(join(dir, 'c', 'secrets')).mode & 0o777, 0o700);
    for (const name of readdirSync(join(dir, 'c', 'secrets'))) assert.equal(statSync(join(dir, 'c', 'secrets', name)).mode & 0o777, 0o600, name);
    for (const f of renderCompose(profile('neurallog'), fixtureSecrets)) assert.equal(readFileSync(join(dir, 'c', f.path), 'utf8'), f.content, f.path);
  });

  test('a refusal exits 2 with one clear message (the real CLI) and writes nothing; usage errors are exit 2', async () => {
    const dir = temp();
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'deploy:\n  podDisruptionBudget:\n    maxUnavailable: 0\ncontainer:\n  memoryLimit: 256Mi\n');
    const r = cli(['render', 'kubernetes', '--config', bad, '--secrets', join(dir, 's.json'), '--out', join(dir, 'k')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /render kubernetes refused/);
    assert.match(r.stderr, /container\.memoryLimit/);
    assert.match(r.stderr, /deploy\.podDisruptionBudget\.maxUnavailable/);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
    assert.ok(!existsSync(join(dir, 'k')), 'nothing written');
    assert.equal((await inProcess('kubernetes', { secrets: join(dir, 's.json') })).code, 2, 'no --out');
    const noSecrets = await inProcess('compose', { out: join(dir, 'c') });
    assert.equal(noSecrets.code, 2);
    assert.match(String((noSecrets.error as Error).message), /--secrets FILE/);
    assert.equal((await inProcess('kubernetes', { secrets: join(dir, 's.json'), dir, out: join(dir, 'k') })).code, 2, '--secrets and --dir');
  });
});

const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;

describe("Debian's docker-compose config -q", { skip: hasCompose ? false : 'docker-compose (Debian package) is not installed' }, () => {
  const compose = (dir: string) =>
    new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn('docker-compose', ['config', '-q'], { cwd: dir, env: { ...process.env, COMPOSE_PROJECT_NAME: 'nlrtest' } });
      let stderr = '';
      child.stderr.on('data', (b) => (stderr += b));
      child.on('close', (status) => resolve({ status, stderr }));
    });
  const write = (files: readonly RenderedFile[]) => {
    const dir = temp();
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.content, { mode: f.secret ? 0o600 : 0o644 });
    }
    return dir;
  };

  test('accepts the rendered directory, and a changed model (port, tools image, interval)', async () => {
    const d = model((x) => {
      x.server.port = 6380;
      x.deploy.toolsImage = 'registry.example.com/neurallog-redis:0.1.0';
      x.deploy.backup.every = '15m';
    });
    const [plain, changed] = await Promise.all([
      compose(write(renderCompose(profile('neurallog'), fixtureSecrets))),
      compose(write(renderCompose(d, fixtureSecrets))),
    ]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(changed.status, 0, changed.stderr);
  });

  test('accepts the Valkey rendering (engine: valkey): valkey-server and valkey-cli in the official image', async () => {
    const valkey = parseYamlModel('engine: valkey\n', 'valkey.yaml').deployment;
    const files = renderCompose(valkey, fixtureSecrets);
    const doc = parse(files.find((f) => f.path === 'docker-compose.yml')!.content);
    assert.equal(doc.services.redis.image, `valkey/valkey:${valkey.version}-alpine`);
    assert.equal(doc.services['redis-secrets'].image, doc.services.redis.image);
    assert.equal(doc.services.redis.command[0], 'valkey-server');
    assert.match(doc.services.redis.healthcheck.test[1], /\bvalkey-cli --user monitor/);
    assert.doesNotMatch(files.find((f) => f.path === 'docker-compose.yml')!.content, /redis-(cli|server)/);
    const checked = await compose(write(files));
    assert.equal(checked.status, 0, checked.stderr);
  });

  test('and rejects a broken file (an unknown key, an unescaped $)', async () => {
    const files = renderCompose(profile('neurallog'), fixtureSecrets);
    const unknown = files.map((f) =>
      f.path === 'docker-compose.yml'
        ? { ...f, content: f.content.replace('    restart: unless-stopped\n', '    restart: unless-stopped\n    restart_policy: always\n') }
        : f,
    );
    const dollar = files.map((f) => (f.path === 'docker-compose.yml' ? { ...f, content: f.content.replaceAll('$$', '$') } : f));
    const results = await Promise.all([compose(write(unknown)), compose(write(dollar))]);
    assert.notEqual(results[0].status, 0);
    assert.match(results[0].stderr, /restart_policy/);
    assert.notEqual(results[1].status, 0);
    assert.match(results[1].stderr, /interpolation/i);
  });
});
