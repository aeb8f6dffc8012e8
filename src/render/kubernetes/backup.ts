/**
 * The backup CronJob and its volume. The job runs this project's own image (the repository's
 * Dockerfile): `backup` pulls an RDB over the replication protocol as the `backup` ACL user (it needs
 * no access to the Redis pod's volume), verifies it while it streams and publishes it atomically into
 * /backups; then `backups prune` keeps the newest `deploy.backup.keepLast`.
 */
import type { Deployment } from '../../config/schema.js';
import { formatK8sBytes } from '../../config/units.js';
import { PATHS, ROLE_USERS, TOOLS_GID, TOOLS_UID, backupPodLabels, backupUrl, commonLabels, names, secretKey, type Manifest } from './names.js';
import { containerSecurityContext, podSecurityContext } from './statefulset.js';

export function backupArgs(d: Deployment): string[] {
  return ['backup', '--url', backupUrl(d), '--password-file', PATHS.backupPasswordFile, '--to', PATHS.backups];
}

export function pruneArgs(d: Deployment): string[] {
  return ['backups', 'prune', '--to', PATHS.backups, '--keep-last', String(d.deploy.backup.keepLast)];
}

export function backupClaim(d: Deployment): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: names(d).backupClaim, namespace: d.deploy.namespace, labels: commonLabels(d, 'backup') },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(d.deploy.storageClassName ? { storageClassName: d.deploy.storageClassName } : {}),
      resources: { requests: { storage: formatK8sBytes(d.deploy.backup.storage) } },
    },
  };
}

export function backupCronJob(d: Deployment): Manifest {
  const n = names(d);
  const tools = (name: string, args: string[], password: boolean) => ({
    name,
    image: d.deploy.toolsImage,
    imagePullPolicy: 'IfNotPresent',
    args,
    volumeMounts: [
      { name: 'backups', mountPath: PATHS.backups },
      ...(password ? [{ name: 'backup-password', mountPath: PATHS.backupSecretDir, readOnly: true }] : []),
      { name: 'tmp', mountPath: PATHS.tmp },
    ],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    securityContext: containerSecurityContext(),
  });
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: n.backupCronJob, namespace: d.deploy.namespace, labels: commonLabels(d, 'backup') },
    spec: {
      schedule: d.deploy.backup.schedule,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels: backupPodLabels(d) },
        spec: {
          backoffLimit: 2,
          activeDeadlineSeconds: 3600,
          ttlSecondsAfterFinished: 86400,
          template: {
            metadata: { labels: backupPodLabels(d) },
            spec: {
              restartPolicy: 'Never',
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: podSecurityContext(TOOLS_UID, TOOLS_GID),
              initContainers: [tools('backup', backupArgs(d), true)],
              containers: [tools('prune', pruneArgs(d), false)],
              volumes: [
                { name: 'backups', persistentVolumeClaim: { claimName: n.backupClaim } },
                {
                  name: 'backup-password',
                  secret: { secretName: n.secret, defaultMode: 0o440, items: [{ key: secretKey(ROLE_USERS.backup), path: secretKey(ROLE_USERS.backup) }] },
                },
                { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
              ],
            },
          },
        },
      },
    },
  };
}
