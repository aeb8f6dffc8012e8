import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfig, profile, type Deployment } from '../config/index.js';
import { deploymentPaths, ensureSecrets, readDeploymentModel, readSecrets, requireDeploymentDir, writePrivateFile } from '../connect/index.js';
import { UsageError } from '../errors.js';
import {
  renderAcl,
  renderCompose,
  withTopologyUsers,
  renderKubernetes,
  renderMonitoring,
  renderRedisConf,
  usersNeedingPasswords,
  type RenderedFile,
} from '../render/index.js';
import type { RenderFlags } from './model-flags.js';
import { printResult, say } from './output.js';

const ARTIFACTS = ['conf', 'acl', 'kubernetes', 'compose', 'monitoring'] as const;

function modelFor(flags: RenderFlags): Deployment {
  if (flags.config) return loadConfig(flags.config).deployment;
  if (flags.dir) return readDeploymentModel(requireDeploymentDir(flags.dir));
  return profile('neurallog');
}

/**
 * The model for a cluster or Compose: --config, else the --dir deployment's model with the address
 * and port a container listens on (a local deployment's bind and port are choices for this machine).
 */
function containerModelFor(flags: RenderFlags): Deployment {
  if (flags.config || !flags.dir) return modelFor(flags);
  const model = modelFor(flags);
  const base = profile('neurallog');
  if (model.server.bind.join(' ') !== base.server.bind.join(' ') || model.server.port !== base.server.port) {
    say(
      `Using the model of ${flags.dir} with bind ${base.server.bind.join(' ')} port ${base.server.port} (the local deployment's ${model.server.bind.join(' ')}:${model.server.port} is this machine's choice).`,
    );
    model.server.bind = [...base.server.bind];
    model.server.port = base.server.port;
  }
  return model;
}

function passwordsFor(flags: RenderFlags, model: Deployment, what: string): Record<string, string> {
  if (flags.secrets) {
    const { secrets, created } = ensureSecrets(flags.secrets, usersNeedingPasswords(withTopologyUsers(model)));
    if (created.length > 0) say(`Generated passwords for ${created.join(', ')} in ${flags.secrets} (mode 0600).`);
    return secrets.users;
  }
  if (flags.dir) return readSecrets(deploymentPaths(flags.dir).secrets).users;
  throw new UsageError(`${what}: give --secrets FILE (created 0600 when absent) or --dir of a deployment`);
}

export async function renderCommand(artifact: string, flags: RenderFlags): Promise<number> {
  if (!(ARTIFACTS as readonly string[]).includes(artifact)) {
    throw new UsageError(`cannot render "${artifact}"; this version renders: ${ARTIFACTS.join(', ')}`);
  }
  if (flags.secrets && flags.dir) throw new UsageError('give either --secrets or --dir, not both');
  if (artifact === 'kubernetes' || artifact === 'compose') {
    if (!flags.out) throw new UsageError(`render ${artifact} writes a directory: give --out DIR`);
    const model = containerModelFor(flags);
    const users = passwordsFor(flags, model, `the ${artifact === 'kubernetes' ? 'Secret' : 'secrets/ files'} hold the users' passwords`);
    const files = artifact === 'kubernetes' ? renderKubernetes(model, users) : renderCompose(model, users);
    writeTree(flags.out, files);
    printResult(flags.out);
    return 0;
  }
  const model = modelFor(flags);
  if (artifact === 'monitoring') {
    if (!flags.out) throw new UsageError('render monitoring writes a directory: give --out DIR');
    writeTree(flags.out, renderMonitoring(model, { target: flags.target ?? '127.0.0.1:9121', tokenFile: flags.tokenFile }));
    printResult(flags.out);
    return 0;
  }
  if (artifact === 'conf') {
    emit(flags.out, 'redis.conf', renderRedisConf(model), false);
    return 0;
  }
  const users = passwordsFor(flags, model, 'the ACL file holds password hashes');
  emit(flags.out, 'users.acl', renderAcl(model, users), true);
  return 0;
}

/** Writes rendered files; directories holding secrets are 0700 and secret files 0600. */
function writeTree(out: string, files: readonly RenderedFile[]): void {
  mkdirSync(out, { recursive: true });
  for (const file of files) {
    const path = join(out, file.path);
    const dir = dirname(path);
    if (dir !== out) {
      mkdirSync(dir, { recursive: true, mode: file.secret ? 0o700 : 0o755 });
      if (file.secret) chmodSync(dir, 0o700);
    }
    if (file.secret) writePrivateFile(path, file.content);
    else writeFileSync(path, file.content);
  }
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
