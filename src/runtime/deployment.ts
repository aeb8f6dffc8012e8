/**
 * The system running on this machine: `up`, `down` and `status` for a deployment directory.
 * The model is resolved once (profile, --config, the directory's stored model, --port/--bind), the
 * artifacts are rendered from it, and real redis-server runs on them.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isYamlPath, loadConfig, profile, type Deployment } from '../config/index.js';
import {
  clientHost,
  closeConnection,
  deploymentPaths,
  ensureSecrets,
  formatRedisUrl,
  isDeploymentDir,
  openConnection,
  parseInfo,
  readDeploymentModel,
  readRunState,
  readSecrets,
  writePrivateFile,
  writeSecrets,
  type DeploymentPaths,
  type Endpoint,
  type RunState,
} from '../connect/index.js';
import { identifyFromInfo, type EngineIdentity, type EngineName } from '../engine/identity.js';
import { RuntimeError, UsageError } from '../errors.js';
import { renderAcl, renderRedisConf, usersNeedingPasswords } from '../render/index.js';
import { portInUse } from './ports.js';
import { isRedisServer } from './processes.js';
import { startRedisServer, stopRedisServer, waitUntilServing, type StartedServer } from './redis-server.js';
import { assertServerAccepts, chooseServer, rememberedServer, rememberServer, targetMismatch } from './server-choice.js';

export interface UpOptions {
  dir: string;
  port?: number;
  bind?: string[];
  config?: string;
  allowInsecure?: boolean;
  readyTimeoutMs?: number;
  onLoading?: () => void;
  /**
   * the server binary: redis-server, valkey-server, or a wrapper running one (a name is looked up on
   * PATH); default: the one this deployment last ran, else redis-server, else valkey-server on PATH
   */
  server?: string;
}

/** The engine and release a deployment's server runs, next to what its model targets. */
export interface EngineFacts {
  /** the running (or, before the first start, chosen) server's engine and release */
  engine?: EngineName;
  engineVersion?: string;
  /** the server binary */
  serverPath?: string;
  /** what the model targets (`engine`, `version`) */
  target: { engine: EngineName; version: string };
}

export interface UpResult {
  alreadyRunning: boolean;
  dir: string;
  pid: number;
  host: string;
  port: number;
  bind: string[];
  profile: string;
  users: string[];
  secretsFile: string;
  createdPasswords: string[];
  staleState?: string;
  /** the running process, when this call started it */
  server?: StartedServer;
  /** the server's engine and release, and the model's target */
  engine?: EngineName;
  engineVersion?: string;
  serverPath?: string;
  target: { engine: EngineName; version: string };
  /** set when the model's target and the server's release line differ */
  targetNote?: string;
}

/** The user the toolkit itself administers a deployment with. */
export const ADMIN_USER = 'admin';

function adminEndpoint(paths: DeploymentPaths, host: string, port: number): Endpoint {
  const secrets = readSecrets(paths.secrets);
  return { host, port, tls: false, db: 0, username: ADMIN_USER, password: secrets.users[ADMIN_USER] };
}

/** The pid of the redis-server running on this deployment, if any. */
export function runningPid(paths: DeploymentPaths): number | undefined {
  for (const pid of [readPidFile(paths.pid), readRunState(paths)?.pid]) {
    if (pid !== undefined && isRedisServer(pid)) return pid;
  }
  return undefined;
}

function readPidFile(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * The model `up` runs: --config, else the directory's stored model, else the neurallog profile. A
 * redis.conf names no release, so it is read for `server` (the binary about to run it) when given.
 */
export function resolveModel(paths: DeploymentPaths, options: Pick<UpOptions, 'config' | 'port' | 'bind'>, server?: EngineIdentity): { model: Deployment; confSecrets: Record<string, string> } {
  let model: Deployment;
  let confSecrets: Record<string, string> = {};
  const stored = isDeploymentDir(paths.root) ? readDeploymentModel(paths) : undefined;
  if (options.config) {
    const loaded = loadConfig(options.config, server && !isYamlPath(options.config) ? server : {});
    model = loaded.deployment;
    confSecrets = loaded.secrets;
  } else {
    model = stored ?? profile('neurallog');
  }
  if (options.port !== undefined) model.server.port = options.port;
  if (options.bind && options.bind.length > 0) model.server.bind = options.bind;
  else if (!stored || options.config) model.server.bind = ['127.0.0.1'];
  return { model, confSecrets };
}

function checkWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK);
  } catch (error) {
    throw new UsageError(`cannot write to ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose another --dir or fix its permissions`);
  }
}

export async function upDeployment(options: UpOptions): Promise<UpResult> {
  const paths = deploymentPaths(options.dir);
  checkWritable(paths.root);
  const running = runningPid(paths);
  if (running !== undefined) {
    const model = readDeploymentModel(paths);
    const state = readRunState(paths);
    const remembered = rememberedServer(paths.root);
    return {
      alreadyRunning: true,
      engine: remembered?.engine,
      engineVersion: remembered?.version,
      serverPath: remembered?.path,
      target: { engine: model.engine, version: model.version },
      dir: paths.root,
      pid: running,
      host: state?.host ?? clientHost(model.server.bind),
      port: state?.port ?? model.server.port,
      bind: model.server.bind,
      profile: model.profile,
      users: model.security.users.filter((u) => u.enabled).map((u) => u.name),
      secretsFile: paths.secrets,
      createdPasswords: [],
    };
  }
  let staleState: string | undefined;
  const stalePid = readPidFile(paths.pid) ?? readRunState(paths)?.pid;
  if (stalePid !== undefined) {
    staleState = `removed a stale pid file (pid ${stalePid} is not running)`;
    rmSync(paths.pid, { force: true });
    rmSync(paths.state, { force: true });
  }

  // the binary first: a redis.conf is read for the release that will run it
  const located = chooseServer(paths.root, options.server);
  const { model, confSecrets } = resolveModel(paths, options, located.identity);
  const insecure = model.security.users.filter((u) => u.enabled && u.nopass).map((u) => u.name);
  if (insecure.length > 0 && !options.allowInsecure) {
    throw new UsageError(
      `the model lets clients in without a password (user${insecure.length > 1 ? 's' : ''} ${insecure.join(', ')} with nopass). ` +
        'Use the neurallog profile (the default), give those users passwords, or pass --allow-insecure to run it anyway.',
    );
  }
  if (!model.security.users.some((u) => u.name === ADMIN_USER && u.enabled && !u.nopass && u.commands.includes('+@all'))) {
    throw new UsageError(`the model has no enabled "${ADMIN_USER}" user with +@all; \`up\` administers the server as that user (the neurallog profile has one)`);
  }
  checkWritable(paths.data);
  // whether the binary takes this model, before anything is written or started
  const conf = renderRedisConf(model);
  const uncheckedNote = assertServerAccepts(conf, model, located);

  const { secrets, created } = ensureSecrets(paths.secrets, usersNeedingPasswords(model));
  if (Object.keys(confSecrets).length > 0) {
    Object.assign(secrets.users, confSecrets);
    writeSecrets(paths.secrets, secrets);
  }
  writeFileSync(paths.model, `${JSON.stringify(model, null, 2)}\n`, { mode: 0o600 });
  writeFileSync(paths.conf, conf, { mode: 0o600 });
  writePrivateFile(paths.acl, renderAcl(model, secrets.users));

  const host = clientHost(model.server.bind);
  const port = model.server.port;
  for (const address of model.server.bind.filter((b) => !b.startsWith('-'))) {
    const probe = address === '*' ? '0.0.0.0' : address;
    let used: boolean;
    try {
      used = await portInUse(port, probe);
    } catch (error) {
      throw new UsageError(`cannot listen on ${address}:${port}: ${(error as Error).message}; check --bind`);
    }
    if (used) throw new RuntimeError(`port ${port} on ${address} is already in use by another program; choose another with --port`, 'E_PORT_IN_USE');
  }

  const server = startRedisServer({ server: located.path, confPath: paths.conf, dataDir: paths.data, aclPath: paths.acl, pidPath: paths.pid, logPath: paths.log });
  rememberServer(paths.root, located);
  const state: RunState = { pid: server.pid, host, port, startedAt: new Date().toISOString() };
  writeFileSync(paths.state, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  try {
    await waitUntilServing(adminEndpoint(paths, host, port), { server, logPath: paths.log, timeoutMs: options.readyTimeoutMs, onLoading: options.onLoading });
  } catch (error) {
    if (isRedisServer(server.pid)) process.kill(server.pid, 'SIGTERM');
    rmSync(paths.state, { force: true });
    throw error;
  }
  return {
    alreadyRunning: false,
    dir: paths.root,
    pid: server.pid,
    host,
    port,
    bind: model.server.bind,
    profile: model.profile,
    users: model.security.users.filter((u) => u.enabled).map((u) => u.name),
    secretsFile: paths.secrets,
    createdPasswords: created,
    staleState,
    server,
    engine: located.identity.engine,
    engineVersion: located.identity.version,
    serverPath: located.path,
    target: { engine: model.engine, version: model.version },
    targetNote: [targetMismatch(model, located), uncheckedNote].filter(Boolean).join('; ') || undefined,
  };
}

export interface DownResult {
  alreadyStopped: boolean;
  dir: string;
  pid?: number;
}

export async function downDeployment(dir: string, options: { timeoutMs?: number } = {}): Promise<DownResult> {
  const paths = deploymentPaths(dir);
  const pid = runningPid(paths);
  if (pid === undefined) {
    rmSync(paths.state, { force: true });
    return { alreadyStopped: true, dir: paths.root };
  }
  const model = readDeploymentModel(paths);
  const state = readRunState(paths);
  const endpoint = adminEndpoint(paths, state?.host ?? clientHost(model.server.bind), state?.port ?? model.server.port);
  await stopRedisServer(pid, endpoint, { forceSave: !model.persistence.appendonly, timeoutMs: options.timeoutMs, logPath: paths.log });
  rmSync(paths.state, { force: true });
  return { alreadyStopped: false, dir: paths.root, pid };
}

export interface StatusResult extends EngineFacts {
  dir: string;
  running: boolean;
  pid?: number;
  host?: string;
  port?: number;
  url?: string;
  profile?: string;
  redisVersion?: string;
  uptimeSeconds?: number;
  role?: string;
  usedMemoryBytes?: number;
  maxmemoryBytes?: number;
  keys?: Record<string, number>;
  aofEnabled?: boolean;
  lastSaveStatus?: string;
  aofLastWriteStatus?: string;
  error?: string;
}

export async function deploymentStatus(dir: string): Promise<StatusResult> {
  const paths = deploymentPaths(dir);
  if (!isDeploymentDir(paths.root)) throw new UsageError(`${paths.root} is not a deployment made by \`neurallog-redis up\``);
  const model = readDeploymentModel(paths);
  const pid = runningPid(paths);
  const remembered = rememberedServer(paths.root);
  const facts: EngineFacts = { engine: remembered?.engine, engineVersion: remembered?.version, serverPath: remembered?.path, target: { engine: model.engine, version: model.version } };
  if (pid === undefined) return { dir: paths.root, running: false, profile: model.profile, port: model.server.port, ...facts };
  const state = readRunState(paths);
  const host = state?.host ?? clientHost(model.server.bind);
  const port = state?.port ?? model.server.port;
  const secrets = readSecrets(paths.secrets);
  const user = secrets.users.monitor !== undefined ? 'monitor' : ADMIN_USER;
  const endpoint: Endpoint = { host, port, tls: false, db: 0, username: user, password: secrets.users[user] };
  const result: StatusResult = { dir: paths.root, running: true, pid, host, port, url: formatRedisUrl({ ...endpoint, username: 'app' }), profile: model.profile, ...facts };
  try {
    const client = await openConnection(endpoint);
    try {
      const info = parseInfo(String(await client.sendCommand(['INFO', 'everything'])));
      result.redisVersion = info.redis_version;
      // what the running server says it is (Valkey answers redis_version 7.2.4 to old clients)
      const id = identifyFromInfo(info);
      result.engine = id.engine;
      result.engineVersion = id.version;
      result.uptimeSeconds = Number(info.uptime_in_seconds);
      result.role = info.role;
      result.usedMemoryBytes = Number(info.used_memory);
      result.maxmemoryBytes = Number(info.maxmemory);
      result.aofEnabled = info.aof_enabled === '1';
      result.lastSaveStatus = info.rdb_last_bgsave_status;
      result.aofLastWriteStatus = info.aof_last_write_status;
      result.keys = Object.fromEntries(
        Object.entries(info)
          .filter(([k]) => /^db\d+$/.test(k))
          .map(([k, v]) => [k, Number(/keys=(\d+)/.exec(v)?.[1] ?? 0)]),
      );
    } finally {
      await closeConnection(client);
    }
  } catch (error) {
    result.error = (error as Error).message;
  }
  return result;
}
