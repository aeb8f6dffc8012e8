/**
 * The StatefulSet: the guide's shape (name, serviceName, selector, /etc/redis and /data, the
 * `redis-data` claim template of 1Gi) so an existing guide deployment can be updated in place, with
 * what it lacks for NeuralLog: paths as redis-server arguments, probes that read Redis's reply, a
 * startup budget, headroom, a non-root user, a preStop that persists, and a grace period to match.
 */
import { serverProgram } from '../../config/engines.js';
import type { Deployment } from '../../config/schema.js';
import { formatK8sBytes, formatK8sMillicores } from '../../config/units.js';
import {
  ACL_KEY,
  CONF_KEY,
  METRICS_PORT,
  METRICS_TOKEN_KEY,
  PATHS,
  REDIS_GID,
  REDIS_UID,
  ROLE_USERS,
  commonLabels,
  names,
  secretKey,
  selectorLabels,
  type Manifest,
} from './names.js';
import { STARTUP_PERIOD_SECONDS, budgets, livenessScript, preStopScript, readinessScript } from './probes.js';

/** The server command: redis-server, or valkey-server for Valkey (its image's program). */
export function redisCommand(d: Pick<Deployment, 'engine'>): string[] {
  return [serverProgram(d.engine), PATHS.conf, '--dir', PATHS.data, '--aclfile', PATHS.aclFile];
}

export function podSecurityContext(uid: number, gid: number): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: gid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function containerSecurityContext(): Record<string, unknown> {
  return { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };
}

function exec(script: string) {
  return { exec: { command: ['sh', '-c', script] } };
}

function metricsSidecar(d: Deployment): Record<string, unknown> {
  return {
    name: 'metrics',
    image: d.deploy.toolsImage,
    imagePullPolicy: 'IfNotPresent',
    args: [
      'monitor',
      '--url',
      `redis://${ROLE_USERS.probe}@127.0.0.1:${d.server.port}`,
      '--password-file',
      `${PATHS.monitorPasswordDir}/${secretKey(ROLE_USERS.probe)}`,
      '--listen',
      `0.0.0.0:${METRICS_PORT}`,
      '--token-file',
      `${PATHS.monitorPasswordDir}/${METRICS_TOKEN_KEY}`,
    ],
    ports: [{ containerPort: METRICS_PORT, name: 'metrics' }],
    volumeMounts: [{ name: 'monitor-password', mountPath: PATHS.monitorPasswordDir, readOnly: true }],
    resources: { requests: { cpu: '20m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    securityContext: containerSecurityContext(),
  };
}

/** the configuration and the secrets the pod mounts (the metrics sidecar's password and token with it) */
function podVolumes(d: Deployment, withMetrics: boolean): Record<string, unknown>[] {
  const n = names(d);
  const volumes: Record<string, unknown>[] = [
    { name: n.configMap, configMap: { name: n.configMap, items: [{ key: CONF_KEY, path: CONF_KEY }] } },
    {
      name: 'redis-secrets',
      secret: {
        secretName: n.secret,
        defaultMode: 0o440,
        items: [
          { key: ACL_KEY, path: ACL_KEY },
          { key: secretKey(ROLE_USERS.shutdown), path: secretKey(ROLE_USERS.shutdown) },
        ],
      },
    },
  ];
  if (withMetrics) {
    volumes.push({
      name: 'monitor-password',
      secret: {
        secretName: n.secret,
        defaultMode: 0o440,
        items: [
          { key: secretKey(ROLE_USERS.probe), path: secretKey(ROLE_USERS.probe) },
          { key: METRICS_TOKEN_KEY, path: METRICS_TOKEN_KEY },
        ],
      },
    });
  }
  return volumes;
}

export function statefulSet(d: Deployment, checksums: { conf: string; acl: string }): Manifest {
  const n = names(d);
  const b = budgets(d);
  const probeTiming = { timeoutSeconds: 5 };
  const withMetrics = d.deploy.monitoring.serviceMonitor;
  const redis = {
    name: n.container,
    image: d.container.image,
    imagePullPolicy: 'IfNotPresent',
    command: redisCommand(d),
    ports: [{ containerPort: d.server.port, name: 'redis' }],
    env: [{ name: 'REDISCLI_AUTH', valueFrom: { secretKeyRef: { name: n.secret, key: secretKey(ROLE_USERS.probe) } } }],
    volumeMounts: [
      { name: n.dataClaim, mountPath: PATHS.data },
      { name: n.configMap, mountPath: PATHS.configDir, readOnly: true },
      { name: 'redis-secrets', mountPath: PATHS.secretDir, readOnly: true },
    ],
    resources: {
      requests: { cpu: formatK8sMillicores(d.container.cpuRequest), memory: formatK8sBytes(d.container.memoryRequest) },
      limits: { cpu: formatK8sMillicores(d.container.cpuLimit), memory: formatK8sBytes(d.container.memoryLimit) },
    },
    startupProbe: { ...exec(readinessScript(d)), periodSeconds: STARTUP_PERIOD_SECONDS, ...probeTiming, failureThreshold: b.startupFailureThreshold },
    livenessProbe: { ...exec(livenessScript(d)), periodSeconds: 20, ...probeTiming, failureThreshold: 6 },
    readinessProbe: { ...exec(readinessScript(d)), periodSeconds: 10, ...probeTiming, failureThreshold: 3 },
    lifecycle: { preStop: exec(preStopScript(d)) },
    securityContext: containerSecurityContext(),
  };
  const volumes = podVolumes(d, withMetrics);
  const claim: Record<string, unknown> = {
    metadata: { name: n.dataClaim },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(d.deploy.storageClassName ? { storageClassName: d.deploy.storageClassName } : {}),
      resources: { requests: { storage: formatK8sBytes(d.container.storage) } },
    },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: n.statefulSet, namespace: d.deploy.namespace, labels: commonLabels(d) },
    spec: {
      serviceName: n.service,
      replicas: 1,
      selector: { matchLabels: selectorLabels(d) },
      template: {
        metadata: {
          labels: commonLabels(d),
          annotations: { 'checksum/redis.conf': checksums.conf, 'checksum/users.acl': checksums.acl },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(REDIS_UID, REDIS_GID),
          terminationGracePeriodSeconds: b.graceSeconds,
          containers: withMetrics ? [redis, metricsSidecar(d)] : [redis],
          volumes,
        },
      },
      volumeClaimTemplates: [claim],
    },
  };
}
