/**
 * Redis Commander as the Sentinel and Cluster Compose renders run it: the npm package of the image's
 * version, started with the rendered command, environment and node-config file, against a real local
 * topology (`up --topology`, test/helpers/ha.ts). Only the addresses change: the rendered Sentinels
 * (`sentinel-0`..) and cluster seeds (`redis-0`..) become the local processes' loopback ports, by
 * ordinal. The local Sentinels authenticate their default user only, so the test adds the rendered
 * `commander` line of sentinel-users.conf to each (ACL SETUSER), as the rendered Sentinels load it.
 *
 * Through its HTTP API: it lists the keys written to the master / to every cluster master, reads one,
 * and a write through it is refused (its read-only mode, then the ACL); the servers refused it nothing
 * it needs (ACL LOG: only the optional COMMAND, MODULE LIST and CLIENT SETNAME), and the Sentinels
 * refused it nothing. On every engine.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseYamlModel } from '../src/config/load.js';
import { CLUSTER_COMMANDER_RULES } from '../src/config/topology-users.js';
import { closeConnection, openConnection, type Endpoint, type RedisConnection } from '../src/connect/index.js';
import { COMMANDER_CONFIG_FILE, COMMANDER_LOGIN, COMMANDER_PATHS, COMMANDER_SECRET_KEY, commanderLoginPassword } from '../src/render/commander.js';
import { COMPOSE_FILE, renderCompose } from '../src/render/compose.js';
import { SENTINEL_USERS_KEY } from '../src/render/kubernetes/ha-conf.js';
import { freePort } from '../src/runtime/index.js';
import { upTestTopology, type TestTopology } from './helpers/ha.js';
import { tempDir, testEngines } from './helpers/redis.js';

const PACKAGE_DIR = dirname(createRequire(import.meta.url).resolve('redis-commander/package.json'));
const KEYS = 30;
/** what the commander asks and may be refused, working without it (as on one server, test/commander.test.ts) */
const OPTIONAL = ['command:client|setname', 'command:command', 'command:module|list'];

interface Address {
  host: string;
  port: number;
}
interface CommanderFile {
  server: { address: string; port: number };
  connections: { sentinels?: Address[]; clusters?: Address[]; sentinelName?: string; sentinelUsername?: string; username: string }[];
}
interface ComposeService {
  command: string[];
  environment: Record<string, string>;
}
interface Rendered {
  service: ComposeService;
  config: CommanderFile;
  sentinelUsers: string | undefined;
}

function rendered(t: TestTopology): Rendered {
  const model = parseYamlModel(readFileSync(join(dirname(t.dir), 'model.yaml'), 'utf8'), 'model.yaml').deployment;
  // the containers' memory, which the render checks against maxmemory and replicas; the commander's file does not hold it
  model.container.memoryLimit = 896 * 1024 * 1024;
  const files = renderCompose(model, t.secrets());
  const compose = parse(files.find((f) => f.path === COMPOSE_FILE)!.content) as { services: Record<string, ComposeService> };
  const config = JSON.parse(files.find((f) => f.path === `secrets/${COMMANDER_SECRET_KEY}`)!.content) as CommanderFile;
  return { service: compose.services['redis-commander']!, config, sentinelUsers: files.find((f) => f.path === `secrets/${SENTINEL_USERS_KEY}`)?.content };
}

/** The rendered service names to the local processes' ports, by ordinal; nothing else changes. */
function localAddresses(config: CommanderFile, t: TestTopology): void {
  const connection = config.connections[0]!;
  const record = t.record();
  const swap = (list: Address[], prefix: string, ports: number[]) => {
    assert.deepEqual(
      list.map((a) => a.host),
      ports.map((_, i) => `${prefix}-${i}`),
    );
    return list.map((_, i) => ({ host: '127.0.0.1', port: ports[i]! }));
  };
  if (connection.sentinels)
    connection.sentinels = swap(
      connection.sentinels,
      'sentinel',
      record.sentinels.map((s) => s.port),
    );
  else
    connection.clusters = swap(
      connection.clusters!,
      'redis',
      record.nodes.map((n) => n.port),
    );
}

function localPath(containerPath: string, secretDir: string): string {
  const imageRoot = dirname(COMMANDER_PATHS.imageConfigDir);
  if (containerPath === COMMANDER_PATHS.secretDir) return secretDir;
  if (containerPath.startsWith(`${imageRoot}/`)) return join(PACKAGE_DIR, containerPath.slice(imageRoot.length + 1));
  return containerPath;
}

interface RunningCommander {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

async function startCommander(r: Rendered, t: TestTopology): Promise<RunningCommander> {
  localAddresses(r.config, t);
  r.config.server.address = '127.0.0.1';
  r.config.server.port = await freePort('127.0.0.1');
  const dir = tempDir('nlr-commander-ha-');
  writeFileSync(join(dir.path, COMMANDER_CONFIG_FILE), JSON.stringify(r.config), { mode: 0o600 });
  const env = {
    ...r.service.environment,
    NODE_CONFIG_DIR: r.service.environment
      .NODE_CONFIG_DIR!.split(':')
      .map((p) => localPath(p, dir.path))
      .join(':'),
  };
  const [program, ...args] = r.service.command.map((a) => localPath(a, dir.path));
  assert.equal(program, 'node');
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH ?? '', HOME: dir.path, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    dir.remove();
  };
  try {
    const deadline = Date.now() + 20_000;
    while (!(/listening on/.test(out) && /Redis Connection (sentinel|cluster) 127\.0\.0\.1:\d+/.test(out))) {
      if (child.exitCode !== null) assert.fail(`redis-commander exited with ${child.exitCode}:\n${out}`);
      if (Date.now() > deadline) assert.fail(`redis-commander did not listen and connect within 20 s:\n${out}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${r.config.server.port}`, child, output: () => out, stop };
}

async function api(c: RunningCommander, token: string | undefined, path: string, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  return fetch(`${c.url}${path}`, { ...init, headers, signal: AbortSignal.timeout(10_000) });
}

async function signIn(c: RunningCommander, password: string): Promise<string> {
  const r = await api(c, undefined, '/signin', { method: 'POST', body: JSON.stringify({ username: COMMANDER_LOGIN, password }) });
  const body = (await r.json()) as { ok: boolean; bearerToken?: string };
  assert.ok(body.ok && body.bearerToken, 'the rendered login signs in');
  return body.bearerToken;
}

/** The connection's id, once its client is ready (the API answers an error until then). */
async function connectionId(c: RunningCommander, token: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const info = (await (await api(c, token, '/apiv2/server/info')).json()) as { data: { connectionId: string; error?: string }[] };
    const first = info.data[0]!;
    if (first.error === undefined) return first.connectionId;
    if (Date.now() > deadline) assert.fail(`the commander's connection is not ready within 15 s: ${first.error}\n${c.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function withConnection<T>(endpoint: Endpoint, use: (c: RedisConnection) => Promise<T>): Promise<T> {
  const c = await openConnection(endpoint, { connectTimeoutMs: 5000 });
  try {
    return await use(c);
  } finally {
    await closeConnection(c);
  }
}

async function role(t: TestTopology, port: number): Promise<string> {
  const info = await withConnection(t.endpoint(port), (c) => c.sendCommand(['INFO', 'replication']));
  return /role:(\w+)/.exec(String(info))![1]!;
}

async function masters(t: TestTopology): Promise<number[]> {
  const ports = t.record().nodes.map((n) => n.port);
  const roles = await Promise.all(ports.map((p) => role(t, p)));
  return ports.filter((_, i) => roles[i] === 'master');
}

/** Writes the keys as the app user: to the master, or each to the cluster master owning its slot. */
async function writeKeys(t: TestTopology, ports: number[]): Promise<void> {
  const keys = [...Array.from({ length: KEYS }, (_, i) => `logs:commander-${i}`), 'logs:commander-probe'];
  const app = t.secrets().app!;
  if (t.record().kind === 'sentinel') {
    await withConnection(t.endpoint(ports[0]!, 'app'), async (c) => {
      for (const key of keys) await c.sendCommand(['SET', key, key.endsWith('probe') ? 'unchanged' : 'v']);
    });
    return;
  }
  const { createCluster } = await import('@redis/client');
  const client = createCluster({
    rootNodes: ports.map((port) => ({ socket: { host: '127.0.0.1', port, connectTimeout: 2000, reconnectStrategy: false as const } })),
    defaults: { username: 'app', password: app },
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (const key of keys) await client.set(key, key.endsWith('probe') ? 'unchanged' : 'v');
  } finally {
    client.destroy();
  }
  // the keys spread over every master: the listing below must gather them from all three
  const sizes = await Promise.all(ports.map((p) => withConnection(t.endpoint(p), (c) => c.sendCommand(['DBSIZE']))));
  assert.ok(
    sizes.every((n) => Number(n) > 0),
    `keys on every master: ${sizes.join(', ')}`,
  );
}

/** The commands the servers refused the commander user (ACL LOG), as `reason:object`. */
async function refused(endpoints: Endpoint[]): Promise<string[]> {
  const all = new Set<string>();
  for (const e of endpoints) {
    const log = (await withConnection(e, (c) => c.sendCommand(['ACL', 'LOG']))) as unknown[][];
    for (const flat of log) {
      const entry = new Map<string, unknown>();
      for (let i = 0; i < flat.length; i += 2) entry.set(String(flat[i]), flat[i + 1]);
      if (entry.get('username') === 'commander') all.add(`${String(entry.get('reason'))}:${String(entry.get('object'))}`);
    }
  }
  return [...all].sort();
}

/** The rendered Sentinel user of the commander, on each local Sentinel. */
async function addSentinelUser(t: TestTopology, sentinelUsers: string): Promise<Endpoint[]> {
  const line = sentinelUsers.split('\n').find((l) => l.startsWith('user commander '));
  assert.ok(line, 'the rendered Sentinels know the commander user');
  const rules = line.split(' ').slice(2);
  const endpoints = t.record().sentinels.map((s) => t.sentinelEndpoint(s.port));
  for (const e of endpoints) await withConnection(e, (c) => c.sendCommand(['ACL', 'SETUSER', 'commander', 'reset', ...rules]));
  return endpoints;
}

async function browseAndWrite(t: TestTopology, kind: 'sentinel' | 'cluster'): Promise<void> {
  const ports = await masters(t);
  assert.equal(ports.length, kind === 'sentinel' ? 1 : 3);
  await writeKeys(t, ports);
  const r = rendered(t);
  const connection = r.config.connections[0]!;
  assert.equal(connection.username, 'commander');
  if (kind === 'sentinel') assert.deepEqual([connection.sentinelName, connection.sentinelUsername], ['mymaster', 'commander']);
  const sentinels = kind === 'sentinel' ? await addSentinelUser(t, r.sentinelUsers!) : [];
  const commander = await startCommander(r, t);
  try {
    const password = t.secrets().commander!;
    assert.equal((await api(commander, undefined, '/apiv2/server/info')).status, 401);
    const token = await signIn(commander, commanderLoginPassword(password));
    const id = encodeURIComponent(await connectionId(commander, token));
    const tree = (await (await api(commander, token, `/apiv2/keystree/${id}/logs:`)).json()) as { data: { text: string }[] };
    const listed = tree.data.map((n) => n.text).sort();
    const expected = [...Array.from({ length: KEYS }, (_, i) => `commander-${i}`), 'commander-probe'].sort();
    assert.deepEqual(listed, expected, 'every key, from every master');
    const probe = (await (await api(commander, token, `/apiv2/key/${id}/logs:commander-probe`)).json()) as { value?: unknown };
    assert.equal(probe.value, 'unchanged', JSON.stringify(probe));

    // a write: its read-only mode refuses the key editor; what its filter lets through, the ACL refuses
    const edit = await api(commander, token, `/apiv2/key/${id}/logs:commander-probe`, {
      method: 'POST',
      body: JSON.stringify({ stringValue: 'changed', keyType: 'string' }),
    });
    assert.equal(edit.status, 403);
    const exec = await api(commander, token, `/apiv2/exec/${id}`, {
      method: 'POST',
      body: JSON.stringify({ cmd: 'bitop or logs:commander-probe logs:commander-probe logs:commander-probe' }),
    });
    assert.match(JSON.stringify(await exec.json()), /NOPERM/);
    // on a cluster, the masters not owning the key answer MOVED
    const values = await Promise.all(ports.map((p) => withConnection(t.endpoint(p), (c) => c.sendCommand(['GET', 'logs:commander-probe'])).catch(() => null)));
    assert.deepEqual(
      values.filter((v) => v !== null),
      ['unchanged'],
    );

    // nothing it needs was refused, on the data nodes (only the BITOP above) or the Sentinels
    assert.deepEqual(
      (await refused(ports.map((p) => t.endpoint(p)))).filter((x) => !OPTIONAL.includes(x)),
      ['command:bitop'],
    );
    assert.deepEqual(await refused(sentinels), []);
    for (const secret of [password, commanderLoginPassword(password)]) {
      assert.ok(!readFileSync(`/proc/${commander.child.pid}/cmdline`, 'utf8').includes(secret), 'a secret on the command line');
      assert.ok(!commander.output().includes(secret), 'a secret in the log');
    }
  } finally {
    await commander.stop();
  }
}

describe('Redis Commander on the Sentinel and Cluster renders', { concurrency: true }, () => {
  test('the cluster rules of the commander user are what ioredis Cluster asks first', () => {
    assert.deepEqual(CLUSTER_COMMANDER_RULES, ['+cluster|slots', '+cluster|info']);
  });
  for (const engine of testEngines()) {
    for (const kind of ['sentinel', 'cluster'] as const) {
      test(`${engine.label}: through ${kind === 'sentinel' ? 'the Sentinels' : 'the cluster seeds'}, every key listed, writes refused`, async () => {
        const t = await upTestTopology(engine, { kind, settings: kind === 'cluster' ? { nodeTimeout: 2000 } : {} });
        try {
          await browseAndWrite(t, kind);
        } finally {
          await t.cleanup();
        }
      });
    }
  }
});
