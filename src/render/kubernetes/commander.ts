/**
 * Redis Commander in the rendered manifests: a Deployment (one pod, the pinned image started without
 * its entrypoint script, see render/commander.ts), a Service on 8081 as in the guide, its node-config
 * file as a key of the deployment's Secret (mounted read-only, never in env or args), and a
 * NetworkPolicy letting its pods reach Redis (policies add up: Redis's own policy stays as it is).
 * On a Sentinel topology it asks the Sentinels (their pods' stable names) for the master, and a second
 * policy lets it reach them; on a cluster it reads the slot map from the data pods' stable names.
 */
import { createHash } from 'node:crypto';
import type { Deployment } from '../../config/schema.js';
import type { Secrets } from '../acl.js';
import {
  COMMANDER_CONFIG_FILE,
  COMMANDER_IMAGE,
  COMMANDER_PATHS,
  COMMANDER_PORT,
  COMMANDER_SECRET_KEY,
  COMMANDER_UID,
  commanderCommand,
  commanderConfigText,
  commanderEnvironment,
  hasCommander,
  type CommanderTarget,
} from '../commander.js';
import { dataNodeCount, haNames, podFqdn } from './ha-model.js';
import { sentinelSelector } from './ha-workloads.js';
import { PATHS, commonLabels, names, selectorLabels, type Manifest } from './names.js';
import { containerSecurityContext, podSecurityContext } from './statefulset.js';

export const commanderName = (d: Deployment) => `${d.name}-commander`;

/** Labels of the commander's pods: its Service and the NetworkPolicy select exactly these. */
export function commanderPodLabels(d: Deployment): Record<string, string> {
  return { app: commanderName(d), 'app.kubernetes.io/component': 'commander', 'app.kubernetes.io/instance': d.name, 'app.kubernetes.io/part-of': 'neurallog' };
}

/** Where the commander connects: the Redis Service; every Sentinel pod; every data pod as a cluster seed. */
export function commanderTarget(d: Deployment): CommanderTarget {
  const n = haNames(d);
  if (d.topology.kind === 'sentinel') {
    const s = d.topology.sentinel;
    return {
      sentinels: Array.from({ length: s.sentinels }, (_, i) => ({ host: podFqdn(d, `${n.sentinelStatefulSet}-${i}`, n.sentinelHeadless), port: s.port })),
    };
  }
  if (d.topology.kind === 'cluster')
    return {
      clusterSeeds: Array.from({ length: dataNodeCount(d) }, (_, i) => ({ host: podFqdn(d, `${n.statefulSet}-${i}`, n.service), port: d.server.port })),
    };
  return n.service;
}

/** The Secret's extra key: the node-config file. */
export function commanderSecretData(d: Deployment, secrets: Secrets): Record<string, string> {
  return hasCommander(d) ? { [COMMANDER_SECRET_KEY]: commanderConfigText(d, secrets, commanderTarget(d)) } : {};
}

function commanderContainer(): Record<string, unknown> {
  const probe = (periodSeconds: number) => ({ httpGet: { path: '/favicon.png', port: 'http' }, periodSeconds, timeoutSeconds: 5 });
  return {
    name: 'redis-commander',
    image: COMMANDER_IMAGE,
    imagePullPolicy: 'IfNotPresent',
    // replaces the image's CMD (its entrypoint script); the image's ENTRYPOINT, dumb-init, stays
    args: commanderCommand(),
    env: Object.entries(commanderEnvironment()).map(([name, value]) => ({ name, value })),
    ports: [{ name: 'http', containerPort: COMMANDER_PORT, protocol: 'TCP' }],
    // the page's icon is served without a login; the image's /healthcheck is not served by 0.9.0
    readinessProbe: probe(10),
    livenessProbe: { ...probe(30), initialDelaySeconds: 10 },
    resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '256Mi' } },
    securityContext: containerSecurityContext(),
    volumeMounts: [
      { name: 'config', mountPath: COMMANDER_PATHS.secretDir, readOnly: true },
      { name: 'tmp', mountPath: PATHS.tmp },
    ],
  };
}

export function commanderDeployment(d: Deployment, configSha256: string): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: commanderName(d), namespace: d.deploy.namespace, labels: commonLabels(d, 'commander') },
    spec: {
      replicas: 1,
      revisionHistoryLimit: 3,
      selector: { matchLabels: commanderPodLabels(d) },
      template: {
        // a rotated commander password changes the file, and so restarts the pod
        metadata: { labels: commanderPodLabels(d), annotations: { [`checksum/${COMMANDER_SECRET_KEY}`]: configSha256 } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(COMMANDER_UID, COMMANDER_UID),
          containers: [commanderContainer()],
          volumes: [
            {
              name: 'config',
              secret: { secretName: names(d).secret, defaultMode: 0o440, items: [{ key: COMMANDER_SECRET_KEY, path: COMMANDER_CONFIG_FILE }] },
            },
            { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
          ],
        },
      },
    },
  };
}

export function commanderService(d: Deployment): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: commanderName(d), namespace: d.deploy.namespace, labels: commonLabels(d, 'commander') },
    spec: { selector: { app: commanderName(d) }, ports: [{ name: 'http', port: COMMANDER_PORT, targetPort: 'http', protocol: 'TCP' }] },
  };
}

/** Ingress to the Redis pods from the commander's pods, on the Redis port only. */
export function commanderNetworkPolicy(d: Deployment): Manifest {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: commanderName(d), namespace: d.deploy.namespace, labels: commonLabels(d, 'commander') },
    spec: {
      podSelector: { matchLabels: selectorLabels(d) },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: commanderPodLabels(d) } }], ports: [{ protocol: 'TCP', port: d.server.port }] }],
    },
  };
}

/** Ingress to the Sentinel pods from the commander's pods, on the Sentinel port only. */
export function commanderSentinelNetworkPolicy(d: Deployment): Manifest {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `${commanderName(d)}-sentinel`, namespace: d.deploy.namespace, labels: commonLabels(d, 'commander') },
    spec: {
      podSelector: { matchLabels: sentinelSelector(d) },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: commanderPodLabels(d) } }], ports: [{ protocol: 'TCP', port: d.topology.sentinel.port }] }],
    },
  };
}

/** The commander's objects with their files, when the model has its user; `secrets` as for the Secret. */
export function commanderObjects(d: Deployment, secrets: Secrets): { file: string; manifest: Manifest }[] {
  if (!hasCommander(d)) return [];
  const sha = createHash('sha256')
    .update(commanderConfigText(d, secrets, commanderTarget(d)), 'utf8')
    .digest('hex');
  const objects = [
    { file: 'commander-deployment.yaml', manifest: commanderDeployment(d, sha) },
    { file: 'commander-service.yaml', manifest: commanderService(d) },
    { file: 'commander-networkpolicy.yaml', manifest: commanderNetworkPolicy(d) },
  ];
  if (d.topology.kind === 'sentinel') objects.push({ file: 'commander-sentinel-networkpolicy.yaml', manifest: commanderSentinelNetworkPolicy(d) });
  return objects;
}
