/**
 * The system running on this machine: `up`, `down` and `status` for a deployment directory.
 * The model is resolved once (profile, --config, the directory's stored model, --port/--bind), the
 * artifacts are rendered from it, and real redis-server runs on them.
 */
import { accessSync, constants, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isYamlPath, loadConfig, profile, type Deployment } from '../config/index.js';
import { defaultImage } from '../config/engines.js';
import {
  clientHost,
  deploymentPaths,
  ensureSecrets,
  isDeploymentDir,
  readDeploymentModel,
  readRunState,
  writePrivateFile,
  writeSecrets,
  type DeploymentPaths,
  type RunState,
} from '../connect/index.js';
import type { EngineIdentity, EngineName } from '../engine/identity.js';
import { RuntimeError, UsageError } from '../errors.js';
import { ADMIN_USER, adminEndpoint, modelHasAdminLogin } from './admin-access.js';
import { lockDeployment } from './deployment-lock.js';
import { forgetStalePid, ownServer } from './deployment-state.js';
import { renderAcl, renderRedisConf, usersNeedingPasswords } from '../render/index.js';
import { portInUse } from './ports.js';
import { isAlive } from '../host/index.js';
import { startRedisServer, waitUntilServing, type StartedServer } from './redis-server.js';
import type { TopologyKind } from '../config/topology.js';
import { requestedTopology, upTopologyLocked, type TopologyUpOptions, type TopologyUpResult } from './topology-up.js';
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
  /** overrides the model's topology.kind (a Sentinel or Cluster topology goes through upTopology) */
  topology?: TopologyKind;
}

/** The engine and release a deployment's server runs, next to what its model targets. */

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

export { ADMIN_USER };
export { ownServer, runningPid, requireDirArgument, type EngineFacts } from './deployment-state.js';
import { requireDirArgument } from './deployment-state.js';

/**
 * Refuses an empty --dir: `resolve('')` is the current directory, and a deployment (or a `down`)
 * there is never what `--dir ''` (an unset shell variable) meant.
 */

/**
 * The model `up` runs: --config, else the directory's stored model, else the neurallog profile. A
 * redis.conf names no release, so it is read for `server` (the binary about to run it) when given.
 */
export function resolveModel(
  paths: DeploymentPaths,
  options: Pick<UpOptions, 'config' | 'port' | 'bind'>,
  server?: EngineIdentity,
): { model: Deployment; confSecrets: Record<string, string> } {
  let model: Deployment;
  let confSecrets: Record<string, string> = {};
  const stored = isDeploymentDir(paths.root) ? readDeploymentModel(paths) : undefined;
  if (options.config) {
    const loaded = loadConfig(options.config, server && !isYamlPath(options.config) ? server : {});
    model = loaded.deployment;
    confSecrets = loaded.secrets;
  } else if (stored) {
    model = stored;
  } else {
    model = profile('neurallog');
    // a fresh deployment with no model given is for the server about to run it, not the profile's default release
    if (server) {
      model.engine = server.engine;
      model.version = server.version;
      model.container.image = defaultImage(server.engine, server.version);
    }
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
    throw new UsageError(
      `cannot write to ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose another --dir or fix its permissions`,
    );
  }
}

export async function upDeployment(options: UpOptions): Promise<UpResult> {
  requireDirArgument(options.dir);
  const paths = deploymentPaths(options.dir);
  const kind = requestedTopology(paths, options);
  if (kind !== 'single') throw new UsageError(`${paths.root} is a ${kind} deployment: start it with \`up --topology ${kind}\` (upTopology)`);
  checkWritable(paths.root);
  // one `up` at a time per directory, from the first write until the server serves
  const lock = lockDeployment(paths.root, 'up');
  try {
    return await upLocked(paths, options);
  } finally {
    lock.release();
  }
}

async function upLocked(paths: DeploymentPaths, options: UpOptions): Promise<UpResult> {
  const own = ownServer(paths);
  if (own.kind === 'ours') return alreadyUp(paths, own.pid, options);
  let staleState: string | undefined;
  if (own.kind === 'stale') {
    staleState = `removed a stale pid file: ${own.reason}`;
    forgetStalePid(paths);
  }
  // the binary first: a redis.conf is read for the release that will run it
  const located = chooseServer(paths.root, options.server);
  const { model, confSecrets } = resolveModel(paths, options, located.identity);
  refuseUnrunnable(model, options);
  checkWritable(paths.data);
  // whether the binary takes this model, before anything is written or started
  const conf = renderRedisConf(model);
  const uncheckedNote = assertServerAccepts(conf, model, located);
  const created = writeArtifacts(paths, model, conf, confSecrets);
  const host = clientHost(model.server.bind);
  const port = model.server.port;
  await requireFreePort(model);
  const server = await startServing(paths, model, located, { host, port }, options);
  // (the keys in the order `up --json` has always printed them)
  return {
    alreadyRunning: false,
    dir: paths.root,
    pid: server.pid,
    host,
    port,
    bind: model.server.bind,
    profile: model.profile,
    users: enabledUsers(model),
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

const enabledUsers = (model: Deployment) => model.security.users.filter((u) => u.enabled).map((u) => u.name);

/** `up` on a deployment whose server runs: what runs, and a --port that was not applied. */
function alreadyUp(paths: DeploymentPaths, pid: number, options: UpOptions): UpResult {
  const model = readDeploymentModel(paths);
  const state = readRunState(paths);
  const remembered = rememberedServer(paths.root);
  const port = state?.port ?? model.server.port;
  return {
    alreadyRunning: true,
    engine: remembered?.engine,
    engineVersion: remembered?.version,
    serverPath: remembered?.path,
    target: { engine: model.engine, version: model.version },
    dir: paths.root,
    pid,
    host: state?.host ?? clientHost(model.server.bind),
    port,
    bind: model.server.bind,
    profile: model.profile,
    users: enabledUsers(model),
    secretsFile: paths.secrets,
    createdPasswords: [],
    ...(options.port !== undefined && options.port !== port
      ? { staleState: `--port ${options.port} was not applied: the running server listens on ${port}; stop it with \`down\` first to move it` }
      : {}),
  };
}

/** A model that lets clients in without a password (unless allowed), or that `up` could not administer. */
function refuseUnrunnable(model: Deployment, options: UpOptions): void {
  const insecure = model.security.users.filter((u) => u.enabled && u.nopass).map((u) => u.name);
  if (insecure.length > 0 && !options.allowInsecure) {
    throw new UsageError(
      `the model lets clients in without a password (user${insecure.length > 1 ? 's' : ''} ${insecure.join(', ')} with nopass). ` +
        'Use the neurallog profile (the default), give those users passwords, or pass --allow-insecure to run it anyway.',
    );
  }
  if (!modelHasAdminLogin(model)) {
    throw new UsageError(
      `the model has no user \`up\` can administer the server as: an enabled "${ADMIN_USER}" user with +@all and a password (the neurallog profile has one), or, with --allow-insecure, a nopass user with +@all on ~* (the guide's default user)`,
    );
  }
}

/** Secrets (created where missing), the model, redis.conf and users.acl; the users given new passwords. */
function writeArtifacts(paths: DeploymentPaths, model: Deployment, conf: string, confSecrets: Record<string, string>): string[] {
  const { secrets, created } = ensureSecrets(paths.secrets, usersNeedingPasswords(model));
  if (Object.keys(confSecrets).length > 0) {
    Object.assign(secrets.users, confSecrets);
    writeSecrets(paths.secrets, secrets);
  }
  writeFileSync(paths.model, `${JSON.stringify(model, null, 2)}\n`, { mode: 0o600 });
  writeFileSync(paths.conf, conf, { mode: 0o600 });
  writePrivateFile(paths.acl, renderAcl(model, secrets.users));
  return created;
}

async function requireFreePort(model: Deployment): Promise<void> {
  const port = model.server.port;
  for (const address of model.server.bind.filter((b) => !b.startsWith('-'))) {
    let used: boolean;
    try {
      used = await portInUse(port, address === '*' ? '0.0.0.0' : address);
    } catch (error) {
      throw new UsageError(`cannot listen on ${address}:${port}: ${(error as Error).message}; check --bind`);
    }
    if (used) throw new RuntimeError(`port ${port} on ${address} is already in use by another program; choose another with --port`, 'E_PORT_IN_USE');
  }
}

/** Starts the server on the written files and waits until it serves; stops it again if it does not. */
async function startServing(
  paths: DeploymentPaths,
  model: Deployment,
  located: ReturnType<typeof chooseServer>,
  at: { host: string; port: number },
  options: UpOptions,
): Promise<StartedServer> {
  const server = startRedisServer({
    server: located.path,
    confPath: paths.conf,
    dataDir: paths.data,
    aclPath: paths.acl,
    pidPath: paths.pid,
    logPath: paths.log,
  });
  rememberServer(paths.root, located);
  const state: RunState = { pid: server.pid, ...at, startedAt: new Date().toISOString() };
  writeFileSync(paths.state, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  try {
    await waitUntilServing(adminEndpoint(paths, model, at.host, at.port), {
      server,
      logPath: paths.log,
      timeoutMs: options.readyTimeoutMs,
      onLoading: options.onLoading,
    });
  } catch (error) {
    if (isAlive(server.pid)) process.kill(server.pid, 'SIGTERM');
    rmSync(paths.state, { force: true });
    throw error;
  }
  return server;
}

/** `up` of a Sentinel or Cluster topology (topology-up.ts), under the same lock as a single server's. */
export async function upTopology(options: TopologyUpOptions): Promise<TopologyUpResult> {
  requireDirArgument(options.dir);
  const paths = deploymentPaths(options.dir);
  checkWritable(paths.root);
  const lock = lockDeployment(paths.root, 'up');
  try {
    return await upTopologyLocked(paths, options, resolveModel, chooseServer(paths.root, options.server));
  } finally {
    lock.release();
  }
}

export { requestedTopology, type TopologyUpOptions, type TopologyUpResult } from './topology-up.js';
export { downDeployment, deploymentStatus, type DownResult, type StatusResult, type LoadingProgress } from './deployment-down-status.js';
