/**
 * Where a command connects: `--url` as the URL says (the password may come from --password-file or
 * NEURALLOG_REDIS_PASSWORD, so that it never sits in argv), or `--dir`, a deployment made by `up`,
 * as the least-privileged user for the job.
 */
import { readFileSync } from 'node:fs';
import { ConnectionError, UsageError } from '../errors.js';
import { parseRedisUrl, type Endpoint } from './url.js';
import { PASSWORD_ENV, readPasswordFile } from './password-file.js';
import { askSentinels, endpointOf, topologyFromOptions, type TopologyOptions } from './topology-target.js';

export { PASSWORD_ENV, readPasswordFile };

export type Role = 'app' | 'backup' | 'monitor' | 'admin';

export interface TargetOptions extends TopologyOptions {
  url?: string;
  dir?: string;
  passwordFile?: string;
}

/**
 * The endpoint to connect to. A deployment directory's model is read (and its schema library loaded)
 * only for --dir: a `backup --url` starts without them (docs/benchmarks.md).
 */
export async function resolveTarget(options: TargetOptions, role: Role): Promise<Endpoint> {
  if (options.url && options.dir && options.dir !== '.neurallog-redis') throw new UsageError('give either --url or --dir, not both');
  if (options.url && (options.sentinel || options.cluster)) throw new UsageError('give either --url or --sentinel/--cluster, not both');
  // a topology (--sentinel, --cluster, or a --dir with topology.json): this command talks to its master
  const topology = options.url ? undefined : topologyFromOptions(options, role);
  if (topology?.kind === 'sentinel') return endpointOf((await askSentinels(topology)).master, topology.credentials);
  if (topology?.kind === 'cluster')
    throw new UsageError('this command talks to one server, and a cluster has several: give one node with --url (backup and restore take --cluster)');
  if (options.url) {
    const endpoint = parseRedisUrl(options.url);
    if (endpoint.password === undefined) {
      if (options.passwordFile) endpoint.password = readPasswordFile(options.passwordFile);
      else if (process.env[PASSWORD_ENV]) endpoint.password = process.env[PASSWORD_ENV];
    }
    return endpoint;
  }
  if (options.dir) return endpointForDeployment(options.dir, role);
  throw new UsageError('say where Redis is: --url redis://user@host:port or --dir <deployment made by `up`>');
}

/**
 * The endpoint of the deployment `up` made in `dir`, as `user`. Unless `requireRunning` is false (`url`
 * prints the address of a stopped deployment too), the server must be this directory's own: a copied
 * directory's state.json names the original's server, and a stopped deployment's port may be held by
 * another server, so connecting there would act on the wrong data.
 */
export async function endpointForDeployment(dir: string, user: string, options: { requireRunning?: boolean } = {}): Promise<Endpoint> {
  const { clientHost, readDeploymentModel, readRunState, requireDeploymentDir } = await import('./deployment-dir.js');
  const { readSecrets } = await import('./secrets.js');
  const paths = requireDeploymentDir(dir);
  const model = readDeploymentModel(paths);
  const state = readRunState(paths);
  if (options.requireRunning !== false) {
    const { findOwnServer } = await import('../host/index.js');
    const verdict = findOwnServer(paths, [readPid(paths.pid), state?.pid]);
    const start = `start it with \`neurallog-redis up --dir ${paths.root}\``;
    if (verdict.kind === 'none') throw new ConnectionError(`the deployment in ${paths.root} is not running; ${start}`, 'E_NOT_RUNNING');
    if (verdict.kind === 'stale')
      throw new ConnectionError(`the deployment in ${paths.root} is not running: ${verdict.reason} (a copied directory?); ${start}`, 'E_NOT_RUNNING');
  }
  const secrets = readSecrets(paths.secrets);
  const password = secrets.users[user];
  if (password === undefined && !model.security.users.some((u) => u.name === user && u.nopass)) {
    throw new UsageError(
      `the deployment in ${paths.root} has no user "${user}"; its users: ${model.security.users
        .filter((u) => u.enabled)
        .map((u) => u.name)
        .join(', ')}`,
    );
  }
  return {
    host: state?.host ?? clientHost(model.server.bind),
    port: state?.port ?? model.server.port,
    tls: false,
    db: 0,
    username: user,
    password,
  };
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
