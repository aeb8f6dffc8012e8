/**
 * The one helper tests use to run real Redis: servers on free ports in temporary directories, started
 * through the project's own runtime/, and always stopped. Never port 6379, never a shared server.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profile, type Deployment } from '../../src/config/index.js';
import { closeConnection, openConnection, type Endpoint, type RedisConnection } from '../../src/connect/index.js';
import { renderAcl, renderRedisConf, usersNeedingPasswords } from '../../src/render/index.js';
import {
  downDeployment,
  freePort,
  isAlive,
  portInUse,
  startRedisServer,
  stopRedisServer,
  upDeployment,
  waitUntilServing,
  type StartedServer,
  type UpOptions,
  type UpResult,
} from '../../src/runtime/index.js';
import { generatePassword, readSecrets, deploymentPaths } from '../../src/connect/index.js';
import { hostEngine, type TestEngine } from './engines.js';

export { testEngines, hostEngine, engineById, type TestEngine } from './engines.js';

function requireHostEngine(): TestEngine {
  const engine = hostEngine();
  if (!engine) throw new Error('no redis-server on PATH: install redis-server (./scripts/quickstart or .ci/run do)');
  return engine;
}

/** Servers started by this process: they run in their own process group, so they would outlive it. */
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** SIGKILL to a server started by runtime/ (a process group leader) and to its fork children. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export function tempDir(prefix = 'nlr-test-', parent = tmpdir()): { path: string; remove(): void } {
  const path = mkdtempSync(join(parent, prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface TestServer {
  /** the engine it runs (the host's Redis 7.0 unless the test chose another) */
  engine: TestEngine;
  port: number;
  dir: string;
  pid: number;
  model: Deployment;
  passwords: Record<string, string>;
  endpoint(user?: string): Endpoint;
  connect(user?: string): Promise<RedisConnection>;
  stop(): Promise<void>;
}

/**
 * SIGKILL, then wait until the server's port is free. The pid turning into a zombie is not enough:
 * the listening socket closes when the last thread exits, measured up to 89 ms later under load, and
 * a killed server once took 446 ms to die (longer than the 200 ms two tests used to wait).
 */
export async function killTestServer(server: { pid: number; port: number }): Promise<void> {
  try {
    process.kill(server.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await waitPortFree(server.port);
}

/** The TCP sockets on `port` and their processes, as `ss` prints them: for a message. */
function portHolders(port: number): string {
  const ss = spawnSync('ss', ['-Htanp', `sport = :${port}`], { encoding: 'utf8' });
  return ss.stdout || ss.stderr || '(nothing)';
}

/** Waits (at most 20 s) until nothing listens on `port` on loopback. */
export async function waitPortFree(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (await portInUse(port, '127.0.0.1')) {
    if (Date.now() > deadline) {
      throw new Error(`port ${port} still in use after 20 s; ss says: ${portHolders(port)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts redis-server again for a test server that was stopped or killed: its config, ACL and port,
 * data from `dataDir` (default: its own directory), and waits until it serves.
 *
 * Each attempt first waits until the port is free (waitPortFree): full runs twice found it taken
 * although the old server's pid was gone, which a killed server's last thread explains (see
 * killTestServer). A start that still meets EADDRINUSE prints what holds the port (`ss`) and is
 * tried again, each attempt with a log of its own (the error quotes the log's tail); a failed
 * attempt's server is stopped.
 */
export async function restartTestServer(server: TestServer, options: { dataDir?: string; args?: string[] } = {}): Promise<StartedServer> {
  const dataDir = options.dataDir ?? server.dir;
  for (let attempt = 1; ; attempt++) {
    await waitPortFree(server.port);
    const logPath = join(dataDir, `restart-${Date.now()}-${attempt}.log`);
    const started = startRedisServer({
      server: server.engine.server,
      confPath: join(server.dir, 'redis.conf'),
      aclPath: join(server.dir, 'users.acl'),
      dataDir,
      logPath,
      args: ['--port', String(server.port), ...(options.args ?? [])],
    });
    running.add(started.pid);
    try {
      await waitUntilServing(server.endpoint('admin'), { server: started, logPath, timeoutMs: 30_000 });
      return started;
    } catch (error) {
      if (isAlive(started.pid)) process.kill(started.pid, 'SIGKILL');
      if (attempt === 20 || !/Address already in use/.test((error as Error).message)) throw error;
      process.stderr.write(`restart on port ${server.port}, attempt ${attempt}: the port is in use; ss says:\n${portHolders(server.port)}\n`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * Starts redis-server on the config and ACL rendered from `model` (default: the neurallog profile),
 * on a free loopback port. `args` are extra redis-server arguments (e.g. enable-debug-command local).
 */
export async function startTestServer(options: { model?: Deployment; args?: string[]; engine?: TestEngine } = {}): Promise<TestServer> {
  const engine = options.engine ?? requireHostEngine();
  const model = structuredClone(options.model ?? profile('neurallog'));
  // a cluster node also binds port + 10000 (its bus), which another test's server may hold
  const cluster =
    model.extraDirectives.some((d) => d.name === 'cluster-enabled' && d.args[0] === 'yes') || /cluster-enabled\W+yes/.test((options.args ?? []).join(' '));
  const port = await freePort('127.0.0.1', { clusterBus: cluster });
  model.server.port = port;
  model.server.bind = ['127.0.0.1'];
  const temp = tempDir('nlr-test-', engine.tempParent);
  const passwords = Object.fromEntries(usersNeedingPasswords(model).map((u) => [u, generatePassword()]));
  const confPath = join(temp.path, 'redis.conf');
  const aclPath = join(temp.path, 'users.acl');
  writeFileSync(confPath, renderRedisConf(model));
  writeFileSync(aclPath, renderAcl(model, passwords), { mode: 0o600 });
  const logPath = join(temp.path, 'redis.log');
  const server = startRedisServer({ server: engine.server, confPath, aclPath, dataDir: temp.path, logPath, args: options.args });
  running.add(server.pid);
  server.exited.then(() => running.delete(server.pid));
  const adminUser = passwords.admin !== undefined ? 'admin' : undefined;
  const endpoint = (user = adminUser): Endpoint => ({
    host: '127.0.0.1',
    port,
    tls: false,
    db: 0,
    username: user,
    password: user ? passwords[user] : undefined,
  });
  try {
    await waitUntilServing(endpoint(), { server, logPath, timeoutMs: 20_000 });
  } catch (error) {
    killGroup(server.pid);
    temp.remove();
    throw error;
  }
  return {
    engine,
    port,
    dir: temp.path,
    pid: server.pid,
    model,
    passwords,
    endpoint,
    connect: (user) => openConnection(endpoint(user)),
    async stop() {
      server.child.ref();
      // the whole process group: a fork child (an AOF rewrite, a BGSAVE) would go on writing in the
      // directory about to be removed
      killGroup(server.pid);
      await server.exited;
      temp.remove();
    },
  };
}

export interface TestDeployment {
  dir: string;
  result: UpResult;
  passwords(): Record<string, string>;
  endpoint(user: string): Endpoint;
  connect(user: string): Promise<RedisConnection>;
  down(): Promise<void>;
  /** stops the server if it runs and removes the directory */
  cleanup(): Promise<void>;
}

/** `up --detach` through the library, on a free port in a fresh temporary directory; `engine` runs that engine's server. */
export async function upTestDeployment(options: Partial<UpOptions> & { engine?: TestEngine } = {}): Promise<TestDeployment> {
  const { engine, ...upOptions } = options;
  const temp = upOptions.dir
    ? { path: upOptions.dir, remove: () => rmSync(upOptions.dir!, { recursive: true, force: true }) }
    : tempDir('nlr-test-', engine?.tempParent);
  const port = upOptions.port ?? (await freePort());
  const result = await upDeployment({ ...upOptions, ...(engine ? { server: engine.server } : {}), dir: temp.path, port, readyTimeoutMs: 20_000 });
  running.add(result.pid);
  const passwords = () => readSecrets(deploymentPaths(temp.path).secrets).users;
  const endpoint = (user: string): Endpoint => ({ host: '127.0.0.1', port, tls: false, db: 0, username: user, password: passwords()[user] });
  return {
    dir: temp.path,
    result,
    passwords,
    endpoint,
    connect: (user) => openConnection(endpoint(user)),
    down: async () => {
      await downDeployment(temp.path);
      running.delete(result.pid);
    },
    async cleanup() {
      try {
        await downDeployment(temp.path, { timeoutMs: 20_000 });
      } catch {
        if (isAlive(result.pid)) process.kill(result.pid, 'SIGKILL');
      }
      running.delete(result.pid);
      temp.remove();
    },
  };
}

export { closeConnection, stopRedisServer };
