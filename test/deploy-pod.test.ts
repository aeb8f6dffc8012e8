/**
 * The rendered pod works (root only). Without a cluster, this test does what a kubelet would do with
 * the rendered YAML: it lays out the ConfigMap, the Secret and the volumes as Kubernetes mounts them
 * (atomic-writer symlinks, defaultMode, fsGroup ownership, read-only mounts, a read-only root) in a
 * private mount namespace, inside network namespaces the test creates (a veth pair on 10.214.x.0/24,
 * nothing else), starts the container's command exactly as rendered (redis-server from PATH stands in
 * for the image's) as the pod's user, and runs the probes and the preStop hook with the container's
 * environment (REDISCLI_AUTH from the Secret). The backup CronJob's containers run the same way, in
 * their own mount namespace on the client network, with `redis` resolving to the pod. The Compose
 * directory gets the same treatment: its secrets init service, then Redis and its healthcheck.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { profile } from '../src/config/profiles.js';
import { generatePassword } from '../src/connect/secrets.js';
import { renderCompose, renderKubernetes, usersNeedingPasswords } from '../src/render/index.js';
import { PodNetwork, Sandbox, type MountSpec, type RunAs } from './fixtures/deploy/sandbox.js';

type Obj = Record<string, any>;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const TOOLS = ['ip', 'unshare', 'nsenter', 'setpriv', 'redis-server', 'redis-cli'];
const missing = TOOLS.filter((t) => !has(t));
const isRoot = process.getuid?.() === 0;
const canUnshare = isRoot && missing.length === 0 && spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;
const canRun = canUnshare && spawnSync('ip', ['netns', 'list']).status === 0;
const skipReason = canRun
  ? false
  : !isRoot
    ? 'needs root (mount and network namespaces)'
    : missing.length > 0
      ? `needs ${missing.join(', ')}`
      : !canUnshare
        ? 'cannot create a mount namespace here (unshare --mount failed: no CAP_SYS_ADMIN?)'
        : 'cannot use network namespaces here (ip netns list failed)';

/** The working directory the images set (a pod without workingDir starts there). */
const IMAGE_WORKDIR: Record<string, string> = { redis: '/data', tools: '/app' };

const tag = String(process.pid % 100000);
const subnet = 1 + (process.pid % 250);
/** this test's files on the host (volumes, the Compose directory); made in before(), removed in after() */
let host = '';
const d = profile('neurallog');
const passwords = Object.fromEntries(usersNeedingPasswords(d).map((u) => [u, generatePassword()]));
const rendered = renderKubernetes(d, passwords);
const objects = rendered.filter((f) => f.path !== 'kustomization.yaml').map((f) => parse(f.content) as Obj);
const find = (kind: string) => objects.find((o) => o.kind === kind)!;
const secretValue = (name: string, key: string) =>
  Buffer.from(objects.find((o) => o.kind === 'Secret' && o.metadata.name === name)!.data[key], 'base64').toString('utf8');

// ---------------------------------------------------------------- a small kubelet

let volumeSerial = 0;
/** A ConfigMap or Secret volume as the kubelet's atomic writer makes it: a timestamped dir, `..data`, symlinks. */
function projectedVolume(items: { path: string; content: string; mode: number }[], gid: number): string {
  const dir = join(host, `volume-${volumeSerial++}`);
  const stamp = '..2026_01_01_00_00_00.000000001';
  mkdirSync(join(dir, stamp), { recursive: true });
  for (const item of items) {
    const file = join(dir, stamp, item.path);
    writeFileSync(file, item.content);
    chownSync(file, 0, gid);
    chmodSync(file, item.mode);
    symlinkSync(`..data/${item.path}`, join(dir, item.path));
  }
  symlinkSync(stamp, join(dir, '..data'));
  for (const p of [dir, join(dir, stamp)]) {
    chownSync(p, 0, gid);
    chmodSync(p, 0o2755);
  }
  return dir;
}

/** A fresh persistent volume, made group-writable for fsGroup as the kubelet does. */
const claims = new Map<string, string>();
function claim(name: string, gid: number): string {
  if (!claims.has(name)) {
    const dir = join(host, `pv-${name}`);
    mkdirSync(dir);
    chownSync(dir, 0, gid);
    chmodSync(dir, 0o2775);
    claims.set(name, dir);
  }
  return claims.get(name)!;
}

interface Container {
  spec: Obj;
  mounts: MountSpec[];
  as: RunAs;
}

function prepare(podSpec: Obj, container: Obj, workdir: string, extra: MountSpec[] = []): Container {
  const psc = podSpec.securityContext ?? {};
  const csc = container.securityContext ?? {};
  const uid = csc.runAsUser ?? psc.runAsUser ?? 0;
  const gid = csc.runAsGroup ?? psc.runAsGroup ?? 0;
  const fsGroup: number = psc.fsGroup ?? gid;
  const mounts: MountSpec[] = [...extra];
  for (const vm of container.volumeMounts ?? []) {
    const vol = (podSpec.volumes ?? []).find((v: Obj) => v.name === vm.name);
    if (!vol) {
      mounts.push({ kind: 'bind', source: claim(vm.name, fsGroup), target: vm.mountPath, readOnly: vm.readOnly });
    } else if (vol.configMap) {
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === vol.configMap.name)!;
      const items = (vol.configMap.items ?? Object.keys(cm.data).map((key: string) => ({ key, path: key }))).map((i: Obj) => ({
        path: i.path,
        content: cm.data[i.key],
        mode: i.mode ?? vol.configMap.defaultMode ?? 0o644,
      }));
      mounts.push({ kind: 'bind', source: projectedVolume(items, fsGroup), target: vm.mountPath, readOnly: true });
    } else if (vol.secret) {
      const items = (vol.secret.items as Obj[]).map((i) => ({
        path: i.path,
        content: secretValue(vol.secret.secretName, i.key),
        mode: i.mode ?? vol.secret.defaultMode ?? 0o644,
      }));
      mounts.push({ kind: 'bind', source: projectedVolume(items, fsGroup), target: vm.mountPath, readOnly: true });
    } else if (vol.persistentVolumeClaim) {
      mounts.push({ kind: 'bind', source: claim(vol.persistentVolumeClaim.claimName, fsGroup), target: vm.mountPath, readOnly: vm.readOnly });
    } else if (vol.emptyDir) {
      mounts.push({ kind: 'tmpfs', target: vm.mountPath, mode: '1777', size: vol.emptyDir.sizeLimit ? '16m' : undefined });
    } else throw new Error(`volume ${vol.name}: kind not emulated`);
  }
  const env: Record<string, string> = { HOSTNAME: 'redis-0' };
  for (const e of container.env ?? []) env[e.name] = e.value ?? secretValue(e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
  return { spec: container, mounts, as: { uid, gid, groups: [...new Set([gid, fsGroup])], env, cwd: container.workingDir ?? workdir } };
}

// ---------------------------------------------------------------- the pod

const net = new PodNetwork(tag, subnet);
const sandboxes: Sandbox[] = [];
async function sandbox(netns: string, mounts: MountSpec[], readOnlyRoot: boolean): Promise<Sandbox> {
  const s = await Sandbox.start({ netns, mounts, readOnlyRoot });
  sandboxes.push(s);
  return s;
}

function clientCli(args: string[], auth?: { user: string; password: string }, input?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      'ip',
      ['netns', 'exec', net.clientNs, 'redis-cli', '-h', net.podAddress, '-p', String(d.server.port), ...(auth ? ['--user', auth.user] : []), ...args],
      {
        env: { PATH: process.env.PATH, ...(auth ? { REDISCLI_AUTH: auth.password } : {}) },
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout!.on('data', (b) => (out += b));
    child.stderr!.on('data', (b) => (out += b));
    child.on('close', (code) => resolve({ code, out: out.trim() }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEYS = 400_000;

describe('the rendered pod works', { skip: skipReason }, () => {
  const sts = find('StatefulSet');
  const podSpec = sts.spec.template.spec;
  const redisContainer = podSpec.containers.find((c: Obj) => c.name === 'redis');
  const app = { user: 'app', password: secretValue('redis-auth', 'app-password') };
  let pod: Sandbox;
  let c: Container;
  let server: ReturnType<Sandbox['start']>;

  const probe = (name: 'startupProbe' | 'livenessProbe' | 'readinessProbe', env: Record<string, string> = {}) =>
    pod.exec(c.spec[name].exec.command, { ...c.as, env: { ...c.as.env, ...env } }).then((r) => r.code);
  const rawPing = () => pod.exec(['redis-cli', '--user', 'monitor', '-p', String(d.server.port), 'PING'], c.as).then((r) => r.stdout.trim());
  async function startRedis(extraArgs: string[] = []): Promise<void> {
    server = pod.start([...c.spec.command, ...extraArgs], c.as);
    for (let i = 0; i < 200; i++) {
      const reply = await rawPing();
      if (reply === 'PONG' || reply.startsWith('LOADING')) return;
      if (server.child.exitCode !== null) break;
      await sleep(50);
    }
    assert.fail(`redis-server did not answer. Its log:\n${server.log()}`);
  }
  async function waitReady(): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if ((await probe('readinessProbe')) === 0) return;
      await sleep(100);
    }
    assert.fail(`the readiness probe never passed. Log:\n${server.log()}`);
  }

  before(async () => {
    host = mkdtempSync(join(tmpdir(), 'nlr-pod-test-'));
    net.create();
    c = prepare(podSpec, redisContainer, IMAGE_WORKDIR.redis!);
    pod = await sandbox(net.podNs, c.mounts, c.spec.securityContext?.readOnlyRootFilesystem === true);
    await startRedis();
    await waitReady();
  });
  after(async () => {
    for (const s of sandboxes.splice(0)) await s.close();
    net.destroy();
    rmSync(host, { recursive: true, force: true });
  });

  test('the container runs the rendered command as the pod user, with no secret in argv, and every probe passes', async () => {
    const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
    assert.match(status, /^Uid:\s+999\s+999\s+999\s+999$/m);
    assert.match(status, /^Gid:\s+1000\s/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    // Redis rewrites its process title, so the arguments are checked through what Redis made of them
    const admin = { user: 'admin', password: secretValue('redis-auth', 'admin-password') };
    assert.deepEqual((await clientCli(['CONFIG', 'GET', 'dir'], admin)).out.split('\n'), ['dir', '/data']);
    assert.deepEqual((await clientCli(['CONFIG', 'GET', 'aclfile'], admin)).out.split('\n'), ['aclfile', '/run/secrets/redis/users.acl']);
    assert.deepEqual((await clientCli(['CONFIG', 'GET', 'maxmemory'], admin)).out.split('\n'), ['maxmemory', String(d.memory.maxmemory)]);
    const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, 'utf8');
    for (const pw of Object.values(passwords)) assert.ok(!cmdline.includes(pw), 'a password in argv');
    assert.equal(await probe('startupProbe'), 0);
    assert.equal(await probe('readinessProbe'), 0);
    assert.equal(await probe('livenessProbe'), 0);
  });

  test('a client with the app password from the Secret reaches the pod from another network namespace; an anonymous one is refused', async () => {
    assert.deepEqual(await clientCli(['SET', 'logs:pod-test', 'stored'], app), { code: 0, out: 'OK' });
    assert.deepEqual(await clientCli(['GET', 'logs:pod-test'], app), { code: 0, out: 'stored' });
    assert.match((await clientCli(['PING'])).out, /^NOAUTH/);
    assert.match((await clientCli(['GET', 'logs:pod-test'])).out, /^NOAUTH/);
    assert.match((await clientCli(['FLUSHALL'], app)).out, /NOPERM/);
  });

  test('readiness fails when Redis answers NOAUTH (a wrong password); the reply really is NOAUTH', async () => {
    const wrong = { REDISCLI_AUTH: 'not-the-password' };
    const reply = await pod.exec(['redis-cli', '--user', 'monitor', '-p', String(d.server.port), 'PING'], { ...c.as, env: { ...c.as.env, ...wrong } });
    assert.equal(reply.code, 0, 'redis-cli itself exits 0 on NOAUTH: the probe must read the reply');
    assert.match(reply.stdout, /^NOAUTH/);
    assert.notEqual(await probe('readinessProbe', wrong), 0);
    assert.notEqual(await probe('startupProbe', wrong), 0);
  });

  test("the backup CronJob's containers, run the same way, take a verified backup", async () => {
    const help = spawnSync(join(ROOT, 'bin/neurallog-redis'), ['backup', '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(help.status, 0, `bin/neurallog-redis backup --help (is dist/ built?): ${help.stderr}`);
    const job = find('CronJob').spec.jobTemplate.spec.template.spec;
    const hosts = join(host, 'job-hosts');
    writeFileSync(hosts, `127.0.0.1\tlocalhost\n${net.podAddress}\tredis redis.${d.deploy.namespace}.svc.cluster.local\n`);
    const image: MountSpec[] = [
      // a bind mount, not a symlink: the checkout may live under /tmp, which the sandbox replaces
      { kind: 'bind', source: ROOT.replace(/\/$/, ''), target: '/app', readOnly: true },
      { kind: 'symlink', target: '/usr/local/bin/neurallog-redis', to: '/app/bin/neurallog-redis' },
      { kind: 'bind', source: hosts, target: '/etc/hosts', readOnly: true },
    ];
    const backup = prepare(job, job.initContainers[0], IMAGE_WORKDIR.tools!, image);
    const prune = prepare(job, job.containers[0], IMAGE_WORKDIR.tools!, image);
    const jobPod = await sandbox(net.clientNs, [...backup.mounts, ...prune.mounts.filter((m) => !backup.mounts.some((b) => b.target === m.target))], true);
    const entrypoint = ['neurallog-redis'];
    const taken = await jobPod.exec([...entrypoint, ...backup.spec.args], backup.as, 60_000);
    assert.equal(taken.code, 0, `backup failed:\n${taken.stderr}`);
    const stored = taken.stdout.trim();
    assert.ok(stored.startsWith('/backups/'), stored);
    assert.ok(statSync(join(claims.get('redis-backups')!, stored.slice('/backups/'.length))).size > 0);
    const verified = await jobPod.exec([...entrypoint, 'backups', 'verify', stored], prune.as, 60_000);
    assert.equal(verified.code, 0, `verify failed:\n${verified.stdout}${verified.stderr}`);
    const pruned = await jobPod.exec([...entrypoint, ...prune.spec.args], prune.as, 60_000);
    assert.equal(pruned.code, 0, `prune failed:\n${pruned.stdout}${pruned.stderr}`);
    assert.ok(existsSync(join(claims.get('redis-backups')!, stored.slice('/backups/'.length))), 'the newest backup is kept');
  });

  test('the preStop hook persists and stops Redis within the grace period', async () => {
    let protocol = '';
    const value = 'v'.repeat(32);
    const parts: string[] = [];
    for (let i = 0; i < KEYS; i++) parts.push(`*3\r\n$3\r\nSET\r\n$${`logs:pod:${i}`.length}\r\nlogs:pod:${i}\r\n$32\r\n${value}\r\n`);
    protocol = parts.join('');
    const piped = await clientCli(['--pipe'], app, protocol);
    assert.match(piped.out, new RegExp(`errors: 0, replies: ${KEYS}`), piped.out);
    const started = Date.now();
    const hook = await pod.exec(c.spec.lifecycle.preStop.exec.command, c.as, sts.spec.template.spec.terminationGracePeriodSeconds * 1000);
    assert.equal(hook.code, 0, hook.stderr);
    const exit = await server.exited;
    const seconds = (Date.now() - started) / 1000;
    assert.equal(exit.code, 0, server.log());
    assert.ok(seconds < podSpec.terminationGracePeriodSeconds, `shutdown took ${seconds}s`);
    assert.match(server.log(), /DB saved on disk/);
    const data = claims.get('redis-data')!;
    assert.ok(existsSync(join(data, 'dump.rdb')) && existsSync(join(data, 'appendonlydir')), readdirSync(data).join(' '));
    assert.equal(statSync(join(data, 'dump.rdb')).uid, 999);
  });

  test('after a restart, liveness passes while Redis is LOADING and readiness does not; then both pass with the data back', async () => {
    // loading 400,000 keys takes 0.5-0.7 s here, and the probes below need several sandboxed
    // processes inside that window: a pause every 10 keys (about 2 s more) keeps it open under load
    await startRedis(['--key-load-delay', '-10', '--loading-process-events-interval-bytes', '1024']);
    const during: { live: number | null; ready: number | null }[] = [];
    for (let i = 0; i < 400; i++) {
      if (!(await rawPing()).startsWith('LOADING')) break;
      const [live, ready] = [await probe('livenessProbe'), await probe('readinessProbe')];
      if ((await rawPing()).startsWith('LOADING')) during.push({ live, ready });
    }
    assert.ok(during.length > 0, 'the dataset loaded before a probe could run during LOADING');
    if (process.env.NLR_DEBUG) console.log(`probes during LOADING: ${during.length}`);
    for (const r of during) assert.deepEqual(r, { live: 0, ready: 1 });
    await waitReady();
    assert.equal(await probe('livenessProbe'), 0);
    assert.deepEqual(await clientCli(['DBSIZE'], app), { code: 0, out: String(KEYS + 1) });
  });

  test('readiness, startup and liveness fail when Redis is down', async () => {
    server.child.kill('SIGKILL');
    await server.exited;
    assert.notEqual(await probe('readinessProbe'), 0);
    assert.notEqual(await probe('startupProbe'), 0);
    assert.notEqual(await probe('livenessProbe'), 0);
  });

  describe('the Compose directory, run the same way', () => {
    // `host` is made in a before hook, after this describe body runs: set the directory there too
    let dir = '';
    const files = renderCompose(d, passwords);
    const compose = parse(files.find((f) => f.path === 'docker-compose.yml')!.content) as Obj;
    const unescape = (s: string) => s.replaceAll('$$', '$');
    const volumes = new Map<string, string>();
    let redis: Sandbox;
    let redisAs: RunAs;
    let composeServer: ReturnType<Sandbox['start']>;
    /** Compose's short volume syntax: `name:/path[:ro]` (a named volume) or `./file:/path[:ro]` (a bind). */
    function serviceMounts(service: Obj): MountSpec[] {
      const mounts: MountSpec[] = [];
      for (const spec of service.volumes ?? []) {
        const [source, target, mode] = (spec as string).split(':') as [string, string, string?];
        const path = source.startsWith('.')
          ? join(dir, source)
          : (volumes.get(source) ?? (volumes.set(source, join(host, `compose-volume-${source}`)).get(source) as string));
        if (!source.startsWith('.') && !existsSync(path)) mkdirSync(path);
        mounts.push({ kind: 'bind', source: path, target, readOnly: mode === 'ro' });
      }
      for (const name of service.secrets ?? [])
        mounts.push({ kind: 'bind', source: join(dir, compose.secrets[name].file), target: `/run/secrets/${name}`, readOnly: true });
      for (const target of service.tmpfs ?? []) mounts.push({ kind: 'tmpfs', target });
      return mounts;
    }
    const [uid, gid] = (compose.services.redis.user as string).split(':').map(Number) as [number, number];
    const healthcheck = () => redis.exec(['/bin/sh', '-c', unescape(compose.services.redis.healthcheck.test[1])], redisAs).then((r) => r.code);

    before(async () => {
      dir = join(host, 'compose');
      for (const f of files) {
        mkdirSync(dirname(join(dir, f.path)), { recursive: true });
        writeFileSync(join(dir, f.path), f.content, { mode: f.secret ? 0o600 : 0o644 });
      }
      // the image's /data belongs to its redis user, so a new named volume there does too
      mkdirSync(join(host, 'compose-volume-redis-data'));
      chownSync(join(host, 'compose-volume-redis-data'), uid, gid);
      volumes.set('redis-data', join(host, 'compose-volume-redis-data'));
    });

    test('the secrets init service copies the 0600 secret files into volumes owned by their readers', async () => {
      const init = compose.services['redis-secrets'];
      const box = await sandbox(net.podNs, serviceMounts(init), false);
      const r = await box.exec(init.entrypoint.map(unescape), { uid: 0, gid: 0, groups: [0], env: {}, cwd: '/' });
      assert.equal(r.code, 0, r.stderr);
      const redisSecrets = volumes.get('redis-secrets')!;
      for (const name of readdirSync(redisSecrets)) {
        const st = statSync(join(redisSecrets, name));
        assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [999, 1000, 0o440], name);
      }
      const st = statSync(join(volumes.get('backup-secrets')!, 'backup-password'));
      assert.deepEqual([st.uid, st.mode & 0o777], [1000, 0o400]);
    });

    test('Redis starts with the rendered command and the healthcheck authenticates and judges the reply', async () => {
      const service = compose.services.redis;
      redisAs = { uid, gid, groups: [gid], env: {}, cwd: IMAGE_WORKDIR.redis! };
      redis = await sandbox(net.podNs, serviceMounts(service), service.read_only === true);
      composeServer = redis.start(service.command, redisAs);
      let code: number | null = 1;
      for (let i = 0; i < 100 && code !== 0; i++) {
        await sleep(100);
        code = await healthcheck();
      }
      assert.equal(code, 0, composeServer.log());
      const monitorFile = join(volumes.get('redis-secrets')!, 'monitor-password');
      const good = readFileSync(monitorFile, 'utf8');
      writeFileSync(monitorFile, 'wrong');
      assert.notEqual(await healthcheck(), 0, 'NOAUTH is unhealthy');
      writeFileSync(monitorFile, good);
      assert.equal(await healthcheck(), 0);
      assert.deepEqual(await clientCli(['SET', 'logs:compose', '1'], app), { code: 0, out: 'OK' });
      composeServer.child.kill('SIGTERM');
      assert.equal((await composeServer.exited).code, 0, 'SIGTERM (docker stop) shuts down cleanly');
      assert.match(composeServer.log(), /DB saved on disk/);
      assert.notEqual(await healthcheck(), 0, 'down is unhealthy');
    });
  });
});
