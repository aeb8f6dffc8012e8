/**
 * Names, labels, paths and ports shared by every rendered object (Kubernetes and Compose), so that a
 * selector, a mount and the command that reads the mounted file cannot disagree.
 */
import type { Deployment } from '../../config/schema.js';

/** A Kubernetes object, as plain data. */
export type Manifest = { apiVersion: string; kind: string; metadata: Metadata } & Record<string, unknown>;
export interface Metadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Where the pod finds what Kubernetes mounts (the guide's /etc/redis and /data are kept). */
export const PATHS = {
  configDir: '/etc/redis',
  conf: '/etc/redis/redis.conf',
  data: '/data',
  secretDir: '/run/secrets/redis',
  aclFile: '/run/secrets/redis/users.acl',
  adminPasswordFile: '/run/secrets/redis/admin-password',
  monitorPasswordDir: '/run/secrets/monitor',
  /** the backup job's mounts (the tools image) */
  backupSecretDir: '/secrets',
  backupPasswordFile: '/secrets/backup-password',
  backups: '/backups',
  tmp: '/tmp',
} as const;

/** The official images' server user: redis and valkey/valkey alike (alpine: uid 999, group 1000; debian: 999/999). */
export const REDIS_UID = 999;
export const REDIS_GID = 1000;
/** The tools image's user (node:20-bookworm-slim's `node`). */
export const TOOLS_UID = 1000;
export const TOOLS_GID = 1000;
export const METRICS_PORT = 9121;

/** Users the rendered pods log in as: probes, preStop, backup job. NeuralLog's server uses `app`. */
export const ROLE_USERS = { probe: 'monitor', shutdown: 'admin', backup: 'backup', app: 'app' } as const;

export const secretKey = (user: string) => `${user}-password`;
export const ACL_KEY = 'users.acl';
/** the Secret key of the metrics sidecar's login token (derived from the monitor password) */
export const METRICS_TOKEN_KEY = 'metrics-token';
export const CONF_KEY = 'redis.conf';

export function names(d: Deployment) {
  const n = d.name;
  return {
    statefulSet: n,
    service: n,
    container: 'redis',
    configMap: `${n}-config`,
    secret: `${n}-auth`,
    dataClaim: `${n}-data`,
    pdb: n,
    networkPolicy: n,
    backupCronJob: `${n}-backup`,
    backupClaim: `${n}-backups`,
    serviceMonitor: n,
    prometheusRule: n,
  };
}

/** The selector the guide uses (`app: redis`); a StatefulSet's selector cannot change, so it stays. */
export function selectorLabels(d: Deployment): Record<string, string> {
  return { app: d.name };
}

/** Labels on every object: the guide's `app` plus the recommended app.kubernetes.io ones. */
export function commonLabels(d: Deployment, component = 'server'): Record<string, string> {
  return {
    app: component === 'server' ? d.name : `${d.name}-${component}`,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/instance': d.name,
    'app.kubernetes.io/managed-by': 'neurallog-redis',
    'app.kubernetes.io/name': 'redis',
    'app.kubernetes.io/part-of': 'neurallog',
  };
}

/** Labels of the backup job's pods: the NetworkPolicy lets exactly these in. */
export function backupPodLabels(d: Deployment): Record<string, string> {
  return { app: `${d.name}-backup`, 'app.kubernetes.io/component': 'backup', 'app.kubernetes.io/instance': d.name, 'app.kubernetes.io/part-of': 'neurallog' };
}

/** `key=value` strings from the model as a label map (sorted). */
export function labelMap(list: readonly string[]): Record<string, string> {
  const entries = list.map((item) => {
    const at = item.indexOf('=');
    return [item.slice(0, at), item.slice(at + 1)] as [string, string];
  });
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The URL the backup job connects with: the headless Service's name resolves to the pod. */
export function backupUrl(d: Deployment): string {
  return `redis://${ROLE_USERS.backup}@${names(d).service}:${d.server.port}`;
}

export function header(d: Deployment): string[] {
  return [
    `Rendered by neurallog-redis from the "${d.profile}" profile for ${d.engine === 'valkey' ? 'Valkey' : 'Redis'} ${d.version}. Edit the model, not this file.`,
  ];
}
