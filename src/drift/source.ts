/**
 * What `config diff` and `config apply` compare: the model (--config, else the --dir deployment's
 * stored model, else the neurallog profile), the passwords (--secrets, else the deployment's secrets
 * file), and the server (--url as the URL's user, or --dir as the deployment's admin user).
 */
import { loadConfig } from '../config/load.js';
import { profile } from '../config/profiles.js';
import type { Deployment } from '../config/schema.js';
import { deploymentPaths, readDeploymentModel, requireDeploymentDir, type DeploymentPaths } from '../connect/deployment-dir.js';
import { readSecrets } from '../connect/secrets.js';
import { endpointForDeployment } from '../connect/target.js';
import { resolveTarget } from '../discover/index.js';
import type { Endpoint } from '../connect/url.js';
import { UsageError } from '../errors.js';
import type { Secrets } from '../render/acl.js';

export interface DriftSourceOptions {
  url?: string;
  dir?: string;
  passwordFile?: string;
  config?: string;
  secrets?: string;
}

export interface DriftSource {
  endpoint: Endpoint;
  model: Deployment;
  /** undefined: password hashes cannot be compared or set */
  secrets?: Secrets;
  /** where the model came from, for people */
  modelFrom: string;
  /** the deployment directory, with --dir */
  deployment?: DeploymentPaths;
}

/** The user `config diff`/`apply` administer a --dir deployment as. */
export const ADMIN_USER = 'admin';

/**
 * The deployment's administrator: `admin`, else (a model run with --allow-insecure, such as the
 * guide's) an enabled nopass user with every command and key, as `up` administers it.
 */
function adminUserOf(model: Deployment): string {
  if (model.security.users.some((u) => u.name === ADMIN_USER && u.enabled)) return ADMIN_USER;
  const open = model.security.users.find((u) => u.enabled && u.nopass && u.commands.includes('+@all') && u.keys.includes('~*'));
  return open?.name ?? ADMIN_USER;
}

export async function resolveDriftSource(options: DriftSourceOptions): Promise<DriftSource> {
  const secrets = options.secrets ? readSecrets(options.secrets).users : undefined;
  if (options.url) {
    const endpoint = await resolveTarget({ url: options.url, passwordFile: options.passwordFile }, 'admin');
    const model = options.config ? loadConfig(options.config).deployment : profile('neurallog');
    return { endpoint, model, secrets, modelFrom: options.config ?? 'the neurallog profile' };
  }
  if (!options.dir) throw new UsageError('say which server: --url redis://admin@host:port or --dir <deployment made by `up`>');
  if (options.passwordFile) throw new UsageError('--password-file goes with --url; a --dir deployment logs in with its own secrets');
  const paths = requireDeploymentDir(options.dir);
  const stored = readDeploymentModel(paths);
  const endpoint = await endpointForDeployment(paths.root, adminUserOf(stored));
  const model = options.config ? loadConfig(options.config).deployment : stored;
  let modelFrom = options.config ?? `the model of ${paths.root}`;
  if (options.config && (model.server.port !== stored.server.port || model.server.bind.join(' ') !== stored.server.bind.join(' '))) {
    // where a local deployment listens is this machine's choice (made by `up --port/--bind`), as for `render`
    model.server.port = stored.server.port;
    model.server.bind = [...stored.server.bind];
    modelFrom += ` (with the deployment's bind ${stored.server.bind.join(' ')} port ${stored.server.port})`;
  }
  return {
    endpoint,
    model,
    secrets: secrets ?? readSecrets(deploymentPaths(paths.root).secrets).users,
    modelFrom,
    deployment: paths,
  };
}
