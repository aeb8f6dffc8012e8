/**
 * The small objects around the StatefulSet: Namespace, headless Service, ConfigMap (redis.conf exactly
 * as `render conf` writes it), Secret (ACL file and each user's password), PodDisruptionBudget and
 * NetworkPolicy.
 */
import type { Deployment } from '../../config/schema.js';
import { ACL_KEY, CONF_KEY, METRICS_PORT, backupPodLabels, commonLabels, labelMap, names, secretKey, selectorLabels, type Manifest } from './names.js';

export function namespace(d: Deployment): Manifest {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: d.deploy.namespace, labels: { 'app.kubernetes.io/part-of': 'neurallog' } } };
}

export function service(d: Deployment): Manifest {
  const ports: Record<string, unknown>[] = [{ port: d.server.port, targetPort: 'redis', name: 'redis' }];
  if (d.deploy.monitoring.serviceMonitor) ports.push({ port: METRICS_PORT, targetPort: 'metrics', name: 'metrics' });
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: names(d).service, namespace: d.deploy.namespace, labels: commonLabels(d) },
    spec: { selector: selectorLabels(d), ports, clusterIP: 'None' },
  };
}

export function configMap(d: Deployment, conf: string): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: names(d).configMap, namespace: d.deploy.namespace, labels: commonLabels(d) },
    data: { [CONF_KEY]: conf },
  };
}

/** The Secret: `users.acl` (hashes) for Redis, `<user>-password` for clients (NeuralLog reads `app-password`). */
export function secret(d: Deployment, acl: string, passwords: Readonly<Record<string, string>>, extra: Readonly<Record<string, string>> = {}): Manifest {
  const data: Record<string, string> = {};
  const entries: [string, string][] = [
    [ACL_KEY, acl],
    ...Object.entries(passwords).map(([user, pw]) => [secretKey(user), pw] as [string, string]),
    ...Object.entries(extra),
  ];
  for (const [key, value] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) data[key] = Buffer.from(value, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: names(d).secret, namespace: d.deploy.namespace, labels: commonLabels(d) },
    type: 'Opaque',
    data,
  };
}

export function podDisruptionBudget(d: Deployment): Manifest {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: names(d).pdb, namespace: d.deploy.namespace, labels: commonLabels(d) },
    spec: { maxUnavailable: d.deploy.podDisruptionBudget.maxUnavailable, selector: { matchLabels: selectorLabels(d) } },
  };
}

/** Ingress to the Redis pods only from NeuralLog's server pods, the backup job and the monitoring. */
export function networkPolicy(d: Deployment): Manifest {
  const np = d.deploy.networkPolicy;
  const from: Record<string, unknown>[] = [
    { podSelector: { matchLabels: labelMap(np.clientPodLabels) } },
    { podSelector: { matchLabels: backupPodLabels(d) } },
  ];
  const monitoring: Record<string, unknown> | undefined =
    np.monitoringNamespaceLabels.length > 0
      ? {
          namespaceSelector: { matchLabels: labelMap(np.monitoringNamespaceLabels) },
          ...(np.monitoringPodLabels.length > 0 ? { podSelector: { matchLabels: labelMap(np.monitoringPodLabels) } } : {}),
        }
      : np.monitoringPodLabels.length > 0
        ? { podSelector: { matchLabels: labelMap(np.monitoringPodLabels) } }
        : undefined;
  if (monitoring) from.push(monitoring);
  const ingress: Record<string, unknown>[] = [{ from, ports: [{ protocol: 'TCP', port: d.server.port }] }];
  if (monitoring && d.deploy.monitoring.serviceMonitor) ingress.push({ from: [monitoring], ports: [{ protocol: 'TCP', port: METRICS_PORT }] });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: names(d).networkPolicy, namespace: d.deploy.namespace, labels: commonLabels(d) },
    spec: { podSelector: { matchLabels: selectorLabels(d) }, policyTypes: ['Ingress'], ingress },
  };
}
