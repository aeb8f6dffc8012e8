/**
 * Redis Commander as the renders run it: the npm package of the version the image tag names, started
 * with the rendered command, environment and node-config file (only the addresses change: Redis on
 * loopback at the test server's port instead of the `redis` service, and a free loopback port to
 * listen on), against a real server. It demands its login, lists NeuralLog's keys once logged in, and
 * cannot write: its read-only mode refuses the key editors, and what gets past that (its fallback list
 * of "read" commands holds BITOP, CONFIG GET) the ACL user refuses. On every engine; the browser part
 * (Debian's chromium) on the first.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { parse } from 'yaml';
import { profile } from '../src/config/profiles.js';
import {
  COMMANDER_CONFIG_FILE,
  COMMANDER_LOGIN,
  COMMANDER_PATHS,
  COMMANDER_SECRET_KEY,
  COMMANDER_VERSION,
  commanderLoginPassword,
} from '../src/render/commander.js';
import { ConfigError } from '../src/errors.js';
import { COMPOSE_FILE, renderCompose } from '../src/render/compose.js';
import { freePort } from '../src/runtime/index.js';
import { loadgen } from '../src/workload/index.js';
import { launchChromium, noBrowser } from './helpers/browser.js';
import { REPO_ROOT } from './helpers/run-cli.js';
import { closeConnection, startTestServer, tempDir, testEngines, type TestServer } from './helpers/redis.js';
import type { RedisConnection } from '../src/connect/index.js';

const PACKAGE_DIR = dirname(createRequire(import.meta.url).resolve('redis-commander/package.json'));

interface RunningCommander {
  url: string;
  config: CommanderFile;
  output: () => string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** the parts of the rendered node-config file the test reads or changes */
interface CommanderFile {
  server: { address: string; port: number };
  redis: { readOnly: boolean };
  connections: { host: string; port: number }[];
}
interface ComposeService {
  command: string[];
  environment: Record<string, string>;
}

/** The Compose render's commander service and config file, for the test server's model and passwords. */
function rendered(server: TestServer): { service: ComposeService; config: CommanderFile } {
  // the container's model: the test server's port; its bind (loopback here) Compose would refuse
  const model = { ...server.model, server: { ...server.model.server, bind: profile('neurallog').server.bind } };
  const files = renderCompose(model, server.passwords);
  const compose = parse(files.find((f) => f.path === COMPOSE_FILE)!.content) as { services: Record<string, ComposeService> };
  const config = JSON.parse(files.find((f) => f.path === `secrets/${COMMANDER_SECRET_KEY}`)!.content) as CommanderFile;
  return { service: compose.services['redis-commander']!, config };
}

/** Container paths to this machine's: the image's program and config directory, the secret directory. */
function localPath(containerPath: string, secretDir: string): string {
  const imageRoot = dirname(COMMANDER_PATHS.imageConfigDir);
  if (containerPath === COMMANDER_PATHS.secretDir) return secretDir;
  if (containerPath.startsWith(`${imageRoot}/`)) return join(PACKAGE_DIR, containerPath.slice(imageRoot.length + 1));
  return containerPath;
}

async function startCommander(server: TestServer, change: (config: CommanderFile) => void = () => {}): Promise<RunningCommander> {
  const { service, config } = rendered(server);
  // the addresses, and nothing else, differ from the container's
  const connection = config.connections[0]!;
  assert.equal(connection.host, 'redis');
  assert.equal(connection.port, server.port);
  connection.host = '127.0.0.1';
  config.server.address = '127.0.0.1';
  config.server.port = await freePort('127.0.0.1');
  change(config);
  const dir = tempDir('nlr-commander-');
  writeFileSync(join(dir.path, COMMANDER_CONFIG_FILE), JSON.stringify(config), { mode: 0o600 });
  const env = Object.fromEntries(
    Object.entries(service.environment).map(([k, v]) => [
      k,
      k === 'NODE_CONFIG_DIR'
        ? v
            .split(':')
            .map((p) => localPath(p, dir.path))
            .join(':')
        : v,
    ]),
  );
  const [program, ...args] = service.command.map((a) => localPath(a, dir.path));
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
    while (!(/listening on/.test(out) && /Redis Connection 127\.0\.0\.1:\d+/.test(out))) {
      if (child.exitCode !== null) assert.fail(`redis-commander exited with ${child.exitCode}:\n${out}`);
      if (Date.now() > deadline) assert.fail(`redis-commander did not listen and connect within 20 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${config.server.port}`, config, output: () => out, child, stop };
}

async function signIn(commander: RunningCommander, password: string): Promise<string | undefined> {
  const r = await fetch(`${commander.url}/signin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: COMMANDER_LOGIN, password }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await r.json()) as { ok: boolean; bearerToken?: string };
  return body.ok ? body.bearerToken : undefined;
}

async function api(commander: RunningCommander, token: string | undefined, path: string, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
  return fetch(`${commander.url}${path}`, { ...init, headers, signal: AbortSignal.timeout(10_000) });
}

async function exec(commander: RunningCommander, token: string, connectionId: string, cmd: string): Promise<unknown> {
  const r = await api(commander, token, `/apiv2/exec/${encodeURIComponent(connectionId)}`, { method: 'POST', body: JSON.stringify({ cmd }) });
  assert.equal(r.status, 200);
  return ((await r.json()) as { data: unknown }).data;
}

async function withData(server: TestServer): Promise<void> {
  const app = await server.connect('app');
  try {
    await loadgen(app, { logs: 40, seed: 'commander' });
    await app.sendCommand(['SET', 'logs:commander-probe', 'unchanged']);
  } finally {
    await closeConnection(app);
  }
}

/** Opens one key of each type in the data, and the tree's `logs:` folder (TYPE and size of each leaf). */
async function browseEveryType(commander: RunningCommander, token: string, connectionId: string, admin: RedisConnection): Promise<string[]> {
  const id = encodeURIComponent(connectionId);
  const [, keys] = (await admin.sendCommand(['SCAN', '0', 'COUNT', '1000'])) as [string, string[]];
  const byType = new Map<string, string>();
  for (const key of keys) byType.set(String(await admin.sendCommand(['TYPE', key])), key);
  for (const [type, key] of byType) {
    const r = await api(commander, token, `/apiv2/key/${id}/${encodeURIComponent(key)}`);
    assert.equal(r.status, 200, `${type} ${key}: ${await r.text()}`);
  }
  const folder = (await (await api(commander, token, `/apiv2/keystree/${id}/logs:`)).json()) as { data: { rel?: string }[] };
  assert.ok(folder.data.length > 1 && folder.data.every((n) => n.rel !== undefined), JSON.stringify(folder.data.slice(0, 3)));
  return [...byType.keys()].sort();
}

/** The commands the server refused the commander user (ACL LOG), as `reason:object`. */
async function refusedForCommander(admin: RedisConnection): Promise<string[]> {
  const log = (await admin.sendCommand(['ACL', 'LOG'])) as unknown[][];
  const entries = log.map((flat) => {
    const entry = new Map<string, unknown>();
    for (let i = 0; i < flat.length; i += 2) entry.set(String(flat[i]), flat[i + 1]);
    return entry;
  });
  return [...new Set(entries.filter((e) => e.get('username') === 'commander').map((e) => `${String(e.get('reason'))}:${String(e.get('object'))}`))].sort();
}

describe('Redis Commander, as rendered', () => {
  test('the package installed is the version the image tag names', () => {
    const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string };
    assert.equal(pkg.version, COMMANDER_VERSION);
  });

  test('without the commander password the render refuses, naming the user and the fix', () => {
    const { commander: _commander, ...secrets } = { app: 'a', backup: 'b', monitor: 'm', commander: 'c', admin: 'x' };
    assert.throws(
      () => renderCompose(profile('neurallog'), secrets),
      (error: unknown) => error instanceof ConfigError && /"commander"/.test(error.message) && /--secrets FILE/.test(error.message),
    );
  });

  testEngines().forEach((engine) => {
    test(`login required, NeuralLog's keys listed, every write refused (${engine.label})`, async () => {
      const server = await startTestServer({ engine });
      let commander: RunningCommander | undefined;
      const admin = await server.connect('admin');
      try {
        await withData(server);
        commander = await startCommander(server);
        // no login: the API answers 401, a wrong password gets no token
        assert.equal((await api(commander, undefined, '/apiv2/server/info')).status, 401);
        assert.equal((await api(commander, undefined, '/connections')).status, 401);
        assert.equal(await signIn(commander, 'not-the-password'), undefined);
        const token = await signIn(commander, commanderLoginPassword(server.passwords.commander!));
        assert.ok(token, 'the rendered login signs in');

        const info = (await (await api(commander, token, '/apiv2/server/info')).json()) as { data: { connectionId: string; error?: string }[] };
        const connectionId = info.data[0]!.connectionId;
        assert.equal(info.data[0]!.error, undefined);
        const tree = (await (await api(commander, token, `/apiv2/keystree/${encodeURIComponent(connectionId)}`)).json()) as { data: { text: string }[] };
        assert.ok(
          tree.data.some((n) => n.text.startsWith('logs:')),
          `the key tree lists logs: ${JSON.stringify(tree.data)}`,
        );
        const probe = (await (await api(commander, token, `/apiv2/key/${encodeURIComponent(connectionId)}/logs:commander-probe`)).json()) as {
          value?: unknown;
        };
        assert.equal(probe.value, 'unchanged', JSON.stringify(probe));
        assert.deepEqual(await browseEveryType(commander, token, connectionId, admin), ['hash', 'list', 'set', 'stream', 'string', 'zset']);
        // browsing needed nothing the user lacks: what it asked and was refused is what it works without
        assert.deepEqual(await refusedForCommander(admin), ['command:client|setname', 'command:command', 'command:module|list']);

        // the key editor: refused by its read-only mode
        const edit = await api(commander, token, `/apiv2/key/${encodeURIComponent(connectionId)}/logs:commander-probe`, {
          method: 'POST',
          body: JSON.stringify({ stringValue: 'changed', keyType: 'string' }),
        });
        assert.equal(edit.status, 403);
        // what its read-only filter lets through, the ACL refuses
        assert.match(String(await exec(commander, token, connectionId, 'bitop or logs:commander-probe logs:commander-probe logs:commander-probe')), /NOPERM/);
        assert.match(String(await exec(commander, token, connectionId, 'bitop or logs:commander-new logs:commander-probe')), /NOPERM/);
        assert.match(String(await exec(commander, token, connectionId, 'config get masterauth')), /NOPERM/);
        assert.equal(await admin.sendCommand(['GET', 'logs:commander-probe']), 'unchanged');
        assert.equal(await admin.sendCommand(['EXISTS', 'logs:commander-new']), 0);

        // no secret on its command line or in its log
        const argv = readFileSync(`/proc/${commander.child.pid}/cmdline`, 'utf8');
        for (const secret of [server.passwords.commander!, commanderLoginPassword(server.passwords.commander!)]) {
          assert.ok(!argv.includes(secret), 'a secret on the command line');
          assert.ok(!commander.output().includes(secret), 'a secret in the log');
        }
      } finally {
        await closeConnection(admin);
        await commander?.stop();
        await server.stop();
      }
    });
  });

  test('even with its read-only mode switched off, the commander user writes nothing', async () => {
    const server = await startTestServer();
    let commander: RunningCommander | undefined;
    const admin = await server.connect('admin');
    try {
      await withData(server);
      commander = await startCommander(server, (config) => {
        config.redis.readOnly = false;
      });
      const token = (await signIn(commander, commanderLoginPassword(server.passwords.commander!)))!;
      const info = (await (await api(commander, token, '/apiv2/server/info')).json()) as { data: { connectionId: string }[] };
      const id = encodeURIComponent(info.data[0]!.connectionId);
      const edit = await api(commander, token, `/apiv2/key/${id}/logs:commander-probe`, {
        method: 'POST',
        body: JSON.stringify({ stringValue: 'changed', keyType: 'string' }),
      });
      // the key editor passes the Redis error to Express, which answers 500 (it logs nothing in production)
      assert.equal(edit.status, 500);
      for (const cmd of ['set logs:commander-probe changed', 'del logs:commander-probe', 'flushall', 'config set maxmemory 1', 'eval "return 1" 0'])
        assert.match(String(await exec(commander, token, info.data[0]!.connectionId, cmd)), /NOPERM/, cmd);
      assert.equal(await admin.sendCommand(['GET', 'logs:commander-probe']), 'unchanged');
    } finally {
      await closeConnection(admin);
      await commander?.stop();
      await server.stop();
    }
  });

  describe('in chromium', { skip: noBrowser }, () => {
    let browser: Browser;
    before(async () => {
      browser = await launchChromium();
    });
    after(() => browser?.close());

    test('the page asks for the login, then shows the logs: keys', async () => {
      const server = await startTestServer();
      let commander: RunningCommander | undefined;
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      try {
        await withData(server);
        commander = await startCommander(server);
        await page.goto(`${commander.url}/`);
        await page.waitForSelector('#signinModal', { state: 'visible', timeout: 15_000 });
        assert.doesNotMatch(await page.evaluate(() => document.body.innerText), /logs:/, 'keys shown before the login');
        await page.fill('#signinUsername', COMMANDER_LOGIN);
        await page.fill('#signinPassword', commanderLoginPassword(server.passwords.commander!));
        await page.click('#signinButton');
        // the tree's folder of the logs family, with its count of keys (40 logs and the probe key)
        await page.getByText(/^logs:\* \(41\)$/).waitFor({ state: 'visible', timeout: 15_000 });
        await page.getByText(/^idx:\* \(\d+\)$/).waitFor({ state: 'visible', timeout: 5_000 });
        if (process.env.UPDATE_SCREENSHOT === '1') await page.screenshot({ path: join(REPO_ROOT, 'docs', 'monitoring-commander.png') });
      } finally {
        await page.close();
        await commander?.stop();
        await server.stop();
      }
    });
  });
});
