/**
 * Where a command connects: `--url` as the URL says (the password may come from --password-file or
 * NEURALLOG_REDIS_PASSWORD, so that it never sits in argv), or `--dir`, a deployment made by `up`,
 * as the least-privileged user for the job.
 */
import { readFileSync } from 'node:fs';
import { ConnectionError, UsageError } from '../errors.js';
import type { Endpoint } from './url.js';
import { PASSWORD_ENV, readPasswordFile } from './password-file.js';
import type { TopologyOptions } from './topology-target.js';

export { PASSWORD_ENV, readPasswordFile };

export type Role = 'app' | 'backup' | 'monitor' | 'admin';

export interface TargetOptions extends TopologyOptions {
  url?: string;
  dir?: string;
  passwordFile?: string;
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
