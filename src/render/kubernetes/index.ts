/**
 * `render kubernetes`: a kustomize-ready directory rendered from the same model as `up`. Pure: the
 * model and the users' passwords in, files out (the CLI writes them; `secret` files get mode 0600).
 */
import { createHash } from 'node:crypto';
import type { Deployment } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';
import { renderAcl, usersNeedingPasswords, type Secrets } from '../acl.js';
import { renderRedisConf } from '../redis-conf.js';
import { toYaml } from '../yaml.js';
import { backupClaim, backupCronJob } from './backup.js';
import { commanderObjects, commanderSecretData } from './commander.js';
import { prometheusRule, serviceMonitor } from './monitoring.js';
import { METRICS_TOKEN_KEY, ROLE_USERS, header, type Manifest } from './names.js';
import { metricsToken } from '../monitoring.js';
import { configMap, namespace, networkPolicy, podDisruptionBudget, secret, service } from './objects.js';
import { haObjects } from './ha-objects.js';
import { assertRenderable } from './refuse.js';
import { checkManifests } from './semantic.js';
import { statefulSet } from './statefulset.js';

export interface RenderedFile {
  /** path relative to the output directory */
  path: string;
  content: string;
  /** holds a Secret: write it readable by its owner only */
  secret: boolean;
}

export interface RenderedObject {
  file: string;
  manifest: Manifest;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The users' passwords the Secret carries, each under `<user>-password`. */
export function secretPasswords(d: Deployment, secrets: Secrets): Record<string, string> {
  const out: Record<string, string> = {};
  for (const user of usersNeedingPasswords(d)) {
    const pw = secrets[user];
    if (pw === undefined)
      throw new ConfigError(
        `the secrets hold no password for user "${user}"; give --secrets FILE (missing passwords are generated) or --dir of a deployment that has it`,
      );
    out[user] = pw;
  }
  return out;
}

/** Every object, in apply order, with the file it goes to. Refuses unsafe models (naming the field). */
/** the metrics sidecar's login token, when there is a sidecar */
function metricsSecret(d: Deployment, secrets: Secrets): Record<string, string> {
  const monitor = secrets[ROLE_USERS.probe];
  return d.deploy.monitoring.serviceMonitor && monitor !== undefined ? { [METRICS_TOKEN_KEY]: metricsToken(monitor) } : {};
}

export function kubernetesObjects(d: Deployment, secrets: Secrets): RenderedObject[] {
  assertRenderable(d, 'kubernetes');
  if (d.topology.kind !== 'single') return haObjects(d, secrets);
  const conf = renderRedisConf(d);
  const acl = renderAcl(d, secrets);
  const objects: RenderedObject[] = [
    { file: 'namespace.yaml', manifest: namespace(d) },
    { file: 'configmap.yaml', manifest: configMap(d, conf) },
    { file: 'secret.yaml', manifest: secret(d, acl, secretPasswords(d, secrets), { ...metricsSecret(d, secrets), ...commanderSecretData(d, secrets) }) },
    { file: 'service.yaml', manifest: service(d) },
    { file: 'statefulset.yaml', manifest: statefulSet(d, { conf: sha256(conf), acl: sha256(acl) }) },
    { file: 'poddisruptionbudget.yaml', manifest: podDisruptionBudget(d) },
    { file: 'networkpolicy.yaml', manifest: networkPolicy(d) },
    { file: 'backup-pvc.yaml', manifest: backupClaim(d) },
    { file: 'backup-cronjob.yaml', manifest: backupCronJob(d) },
    ...commanderObjects(d, secrets),
  ];
  if (d.deploy.monitoring.serviceMonitor) objects.push({ file: 'servicemonitor.yaml', manifest: serviceMonitor(d) });
  if (d.deploy.monitoring.prometheusRule) objects.push({ file: 'prometheusrule.yaml', manifest: prometheusRule(d) });
  const problems = checkManifests(objects.map((o) => o.manifest));
  if (problems.length > 0) {
    // the model passed the refusals, so this is a renderer bug: say so rather than write broken manifests
    throw new Error(`rendered manifests are inconsistent: ${problems.map((p) => `${p.object}: ${p.message}`).join('; ')}`);
  }
  return objects;
}

export function kustomization(d: Deployment, files: readonly string[]): Record<string, unknown> {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: d.deploy.namespace,
    resources: [...files],
  };
}

export function renderKubernetes(d: Deployment, secrets: Secrets): RenderedFile[] {
  const objects = kubernetesObjects(d, secrets);
  const files: RenderedFile[] = [
    {
      path: 'kustomization.yaml',
      content: toYaml(
        kustomization(
          d,
          objects.map((o) => o.file),
        ),
        { header: header(d) },
      ),
      secret: false,
    },
  ];
  for (const { file, manifest } of objects) files.push({ path: file, content: toYaml(manifest, { header: header(d) }), secret: manifest.kind === 'Secret' });
  return files;
}

export { checkManifests, type SemanticProblem } from './semantic.js';
export { refusals, assertRenderable, type Refusal, type RenderTarget } from './refuse.js';
export { budgets, readinessScript, livenessScript, preStopScript } from './probes.js';
export { PATHS, names, type Manifest } from './names.js';
export { redisCommand } from './statefulset.js';
export { backupArgs, pruneArgs } from './backup.js';
