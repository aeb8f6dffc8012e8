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
import { endpointForDeployment, resolveTarget } from '../connect/target.js';
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
  const endpoint = await endpointForDeployment(paths.root, ADMIN_USER);
  const model = options.config ? loadConfig(options.config).deployment : readDeploymentModel(paths);
  return {
    endpoint,
    model,
    secrets: secrets ?? readSecrets(deploymentPaths(paths.root).secrets).users,
    modelFrom: options.config ?? `the model of ${paths.root}`,
    deployment: paths,
  };
}
