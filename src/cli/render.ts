import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, profile, type Deployment } from '../config/index.js';
import { deploymentPaths, ensureSecrets, readDeploymentModel, readSecrets, requireDeploymentDir, writePrivateFile } from '../connect/index.js';
import { UsageError } from '../errors.js';
import { renderAcl, renderRedisConf, usersNeedingPasswords } from '../render/index.js';
import { printResult, say } from './output.js';

const ARTIFACTS = ['conf', 'acl'] as const;

export interface RenderFlags {
  config?: string;
  secrets?: string;
  dir?: string;
  out?: string;
}

function modelFor(flags: RenderFlags): Deployment {
  if (flags.config) return loadConfig(flags.config).deployment;
  if (flags.dir) return readDeploymentModel(requireDeploymentDir(flags.dir));
  return profile('neurallog');
}

export async function renderCommand(artifact: string, flags: RenderFlags): Promise<number> {
  if (!(ARTIFACTS as readonly string[]).includes(artifact)) {
    throw new UsageError(`cannot render "${artifact}"; this version renders: ${ARTIFACTS.join(', ')}`);
  }
  if (flags.secrets && flags.dir) throw new UsageError('give either --secrets or --dir, not both');
  const model = modelFor(flags);
  if (artifact === 'conf') {
    emit(flags.out, 'redis.conf', renderRedisConf(model), false);
    return 0;
  }
  let users: Record<string, string>;
  if (flags.secrets) {
    const { secrets, created } = ensureSecrets(flags.secrets, usersNeedingPasswords(model));
    if (created.length > 0) say(`Generated passwords for ${created.join(', ')} in ${flags.secrets} (mode 0600).`);
    users = secrets.users;
  } else if (flags.dir) {
    users = readSecrets(deploymentPaths(flags.dir).secrets).users;
  } else {
    throw new UsageError('the ACL file holds password hashes: give --secrets FILE (created 0600 when absent) or --dir of a deployment');
  }
  emit(flags.out, 'users.acl', renderAcl(model, users), true);
  return 0;
}

function emit(out: string | undefined, name: string, content: string, secret: boolean): void {
  if (!out) {
    printResult(content);
    return;
  }
  mkdirSync(out, { recursive: true });
  const path = join(out, name);
  if (secret) writePrivateFile(path, content);
  else writeFileSync(path, content);
  printResult(path);
}
