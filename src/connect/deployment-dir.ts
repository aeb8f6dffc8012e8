/**
 * The layout of a deployment directory made by `up`, and reading what it records. Everything that
 * finds a deployment by `--dir` goes through here.
 *
 *   deployment.json  the resolved model (profile + overrides + --port/--bind)
 *   secrets.json     users' passwords (0600)
 *   redis.conf       rendered from the model
 *   users.acl        rendered ACL (hashes only, 0600)
 *   redis.pid        written by redis-server while it runs
 *   redis.log        redis-server's output
 *   state.json       where the last start listens (host, port, pid)
 *   data/            redis-server's working directory (dump.rdb, appendonlydir/)
 *
 * A Sentinel or Cluster deployment (`up --topology`) keeps each process under nodes/<name>/ (see
 * nodePaths) and describes them in topology.json (runtime/topology-layout.ts writes it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deploymentSchema, type Deployment } from '../config/schema.js';
import { ConfigError, UsageError } from '../errors.js';

export interface DeploymentPaths {
  root: string;
  model: string;
  secrets: string;
  conf: string;
  acl: string;
  pid: string;
  log: string;
  state: string;
  data: string;
}

export interface NodePaths {
  dir: string;
  conf: string;
  acl: string;
  data: string;
  log: string;
  pid: string;
}

/** nodes/<name>/ of a topology: redis.conf or sentinel.conf (0600), users.acl, data/, <name>.log, <name>.pid */
export function nodePaths(root: string, name: string, sentinel = false): NodePaths {
  const dir = join(root, 'nodes', name);
  return {
    dir,
    conf: join(dir, sentinel ? 'sentinel.conf' : 'redis.conf'),
    acl: join(dir, 'users.acl'),
    data: join(dir, 'data'),
    log: join(dir, `${name}.log`),
    pid: join(dir, `${name}.pid`),
  };
}

export function deploymentPaths(dir: string): DeploymentPaths {
  const root = resolve(dir);
  return {
    root,
    model: join(root, 'deployment.json'),
    secrets: join(root, 'secrets.json'),
    conf: join(root, 'redis.conf'),
    acl: join(root, 'users.acl'),
    pid: join(root, 'redis.pid'),
    log: join(root, 'redis.log'),
    state: join(root, 'state.json'),
    data: join(root, 'data'),
  };
}

export interface RunState {
  pid: number;
  host: string;
  port: number;
  startedAt: string;
}

export function isDeploymentDir(dir: string): boolean {
  return existsSync(deploymentPaths(dir).model);
}

export function requireDeploymentDir(dir: string): DeploymentPaths {
  const paths = deploymentPaths(dir);
  if (!existsSync(paths.model)) {
    throw new UsageError(
      `${paths.root} is not a deployment made by \`neurallog-redis up\` (no deployment.json); run \`neurallog-redis up --dir ${dir}\` first, or pass --url`,
    );
  }
  return paths;
}

export function readDeploymentModel(paths: DeploymentPaths): Deployment {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(paths.model, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read the deployment model: ${(error as Error).message}`, { file: paths.model });
  }
  const result = deploymentSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(issue.message, { file: paths.model, path: issue.path.join('.') });
  }
  return result.data;
}

export function readRunState(paths: DeploymentPaths): RunState | undefined {
  if (!existsSync(paths.state)) return undefined;
  try {
    return JSON.parse(readFileSync(paths.state, 'utf8')) as RunState;
  } catch {
    return undefined;
  }
}

/** The address a client on this machine uses to reach a server bound to `bind`. */
export function clientHost(bind: readonly string[]): string {
  const first = bind.find((b) => !b.startsWith('-')) ?? '127.0.0.1';
  if (first === '0.0.0.0' || first === '*') return '127.0.0.1';
  if (first === '::' || first === '::*') return '::1';
  return first;
}
