/**
 * The workloads of the Sentinel and Cluster renders: the data nodes' StatefulSet (the single
 * server's, with N replicas, a start script that writes each pod's own config, and the topology's
 * settings), the Sentinels' StatefulSet (a writable copy of sentinel.conf in an emptyDir), and the
 * Job that creates the cluster once.
 */
import { cliProgram, serverProgram } from '../../config/engines.js';
import type { Deployment } from '../../config/schema.js';
import { POD_CONF, SENTINEL_CONF_KEY, SENTINEL_USERS_KEY, TOPOLOGY_CONF_KEY } from './ha-conf.js';
import { HA_USERS, dataNodeCount, haNames, podFqdn, type HaNet } from './ha-model.js';
import { HANDOVER_SECONDS, clusterCreateScript, clusterNodeScript, sentinelNodeScript, sentinelPreStopScript, sentinelScript } from './ha-scripts.js';
import { CONF_KEY, PATHS, REDIS_GID, REDIS_UID, ROLE_USERS, commonLabels, secretKey, selectorLabels, type Manifest } from './names.js';
import { containerSecurityContext, podSecurityContext, statefulSet } from './statefulset.js';

/** where the start scripts write each pod's own config (an emptyDir in memory: it holds masterauth) */
export const RUN_DIR = '/run/redis';
const HA_SECRET_DIR = '/run/secrets/ha';

type Obj = Record<string, unknown>;
interface PodSpec {
  containers: Obj[];
  volumes: Obj[];
  affinity?: Obj;
}
interface StsSpec {
  replicas: number;
  podManagementPolicy?: string;
  template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpec };
}

const POD_NAME_ENV = { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } };

/** Where things are inside the pods: stable DNS names through the headless Services. */
export function kubernetesNet(d: Deployment, role: 'data' | 'sentinel'): HaNet {
  const n = haNames(d);
  const service = role === 'data' ? n.service : n.sentinelHeadless;
  const s = d.topology.sentinel;
  return {
    ordinal: '"${POD_NAME##*-}"',
    self: `"$POD_NAME.${service}.${d.deploy.namespace}.svc.cluster.local"`,
    selfPort: String(role === 'data' ? d.server.port : s.port),
    nodes: Array.from({ length: dataNodeCount(d) }, (_, i) => ({ host: podFqdn(d, `${n.statefulSet}-${i}`, n.service), port: String(d.server.port) })),
    sentinels:
      d.topology.kind === 'sentinel'
        ? Array.from({ length: s.sentinels }, (_, i) => ({ host: podFqdn(d, `${n.sentinelStatefulSet}-${i}`, n.sentinelHeadless), port: String(s.port) }))
        : [],
    secretDir: HA_SECRET_DIR,
    runDir: RUN_DIR,
    dataDir: PATHS.data,
    configDir: PATHS.configDir,
  };
}

/** Prefer spreading the pods over nodes (soft: a small cluster still schedules them). */
function spread(labels: Record<string, string>): Obj {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } } },
      ],
    },
  };
}

function haSecretVolume(d: Deployment, keys: string[]): Obj {
  return { name: 'ha-secrets', secret: { secretName: haNames(d).secret, defaultMode: 0o440, items: keys.map((key) => ({ key, path: key })) } };
}

/** The server's own command line after the start script: `exec` so the server gets the signals. */
export function dataNodeCommand(d: Deployment): string[] {
  return [
    serverProgram(d.engine),
    PATHS.conf,
    '--include',
    `${PATHS.configDir}/${TOPOLOGY_CONF_KEY}`,
    '--include',
    `${RUN_DIR}/${POD_CONF}`,
    '--dir',
    PATHS.data,
    '--aclfile',
    PATHS.aclFile,
  ];
}

export function sentinelCommand(d: Deployment): string[] {
  return [serverProgram(d.engine), `${RUN_DIR}/${SENTINEL_CONF_KEY}`, '--sentinel'];
}

/** `sh -c` of the start script, then the server; run at every container start, so a restart asks again who the master is. */
function startThen(script: string, command: string[]): string[] {
  return ['sh', '-c', `${script}exec ${command.join(' ')}\n`];
}

/** The data nodes: the single server's StatefulSet, scaled, with the topology's config and start script. */
export function dataStatefulSet(d: Deployment, checksums: { conf: string; acl: string; topology: string }): Manifest {
  const sts = statefulSet(d, checksums);
  const spec = sts.spec as StsSpec;
  const pod = spec.template.spec;
  const cluster = d.topology.kind === 'cluster';
  spec.replicas = dataNodeCount(d);
  // a cluster re-forms only when its nodes come back together; a Sentinel set starts pod 0 first
  if (cluster) spec.podManagementPolicy = 'Parallel';
  spec.template.metadata.annotations['checksum/topology.conf'] = checksums.topology;
  const n = haNames(d);
  pod.volumes = pod.volumes.map((v) =>
    v.name === n.configMap
      ? {
          name: n.configMap,
          configMap: {
            name: n.configMap,
            items: [
              { key: CONF_KEY, path: CONF_KEY },
              { key: TOPOLOGY_CONF_KEY, path: TOPOLOGY_CONF_KEY },
            ],
          },
        }
      : v,
  );
  pod.volumes.push(haSecretVolume(d, cluster ? [secretKey(HA_USERS.replica)] : [secretKey(HA_USERS.replica), secretKey(HA_USERS.sentinel)]), {
    name: 'run',
    emptyDir: { medium: 'Memory', sizeLimit: '1Mi' },
  });
  const net = kubernetesNet(d, 'data');
  const redis = pod.containers[0]!;
  redis.command = startThen(cluster ? clusterNodeScript(d, net) : sentinelNodeScript(d, net), dataNodeCommand(d));
  redis.env = [POD_NAME_ENV, ...(redis.env as Obj[])];
  (redis.volumeMounts as Obj[]).push({ name: 'ha-secrets', mountPath: HA_SECRET_DIR, readOnly: true }, { name: 'run', mountPath: RUN_DIR });
  if (!cluster) {
    // a planned restart of the master hands its role over first (the grace period grows by that wait)
    redis.lifecycle = { preStop: { exec: { command: ['sh', '-c', sentinelPreStopScript(d, net, PATHS.adminPasswordFile)] } } };
    (pod as PodSpec & { terminationGracePeriodSeconds: number }).terminationGracePeriodSeconds += HANDOVER_SECONDS;
  }
  if (cluster) (redis.ports as Obj[]).push({ containerPort: d.server.port + 10000, name: 'cluster-bus' });
  pod.affinity = spread(selectorLabels(d));
  return sts;
}

export function sentinelSelector(d: Deployment): Record<string, string> {
  return { app: haNames(d).sentinelStatefulSet };
}

function sentinelContainer(d: Deployment): Obj {
  const port = d.topology.sentinel.port;
  const ping = `test "$(${cliProgram(d.engine)} --user ${HA_USERS.sentinel} -p ${port} PING 2>/dev/null)" = PONG`;
  return {
    name: 'sentinel',
    image: d.container.image,
    imagePullPolicy: 'IfNotPresent',
    command: startThen(sentinelScript(d, kubernetesNet(d, 'sentinel')), sentinelCommand(d)),
    ports: [{ containerPort: port, name: 'sentinel' }],
    env: [POD_NAME_ENV, { name: 'REDISCLI_AUTH', valueFrom: { secretKeyRef: { name: haNames(d).secret, key: secretKey(HA_USERS.sentinel) } } }],
    volumeMounts: [
      { name: haNames(d).configMap, mountPath: PATHS.configDir, readOnly: true },
      { name: 'ha-secrets', mountPath: HA_SECRET_DIR, readOnly: true },
      { name: 'run', mountPath: RUN_DIR },
    ],
    resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '128Mi' } },
    readinessProbe: { exec: { command: ['sh', '-c', ping] }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
    livenessProbe: { exec: { command: ['sh', '-c', ping] }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 6 },
    securityContext: containerSecurityContext(),
  };
}

/** The Sentinels: sentinel.conf copied from the ConfigMap into an emptyDir (Sentinel rewrites its file). */
export function sentinelStatefulSet(d: Deployment, checksum: string): Manifest {
  const n = haNames(d);
  const labels = { ...commonLabels(d, 'sentinel'), ...sentinelSelector(d) };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: n.sentinelStatefulSet, namespace: d.deploy.namespace, labels },
    spec: {
      serviceName: n.sentinelHeadless,
      replicas: d.topology.sentinel.sentinels,
      // a Sentinel asks its peers for the master before it starts: no need to wait for each other
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: sentinelSelector(d) },
      template: {
        metadata: { labels, annotations: { 'checksum/sentinel.conf': checksum } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(REDIS_UID, REDIS_GID),
          terminationGracePeriodSeconds: 30,
          containers: [sentinelContainer(d)],
          volumes: [
            { name: n.configMap, configMap: { name: n.configMap, items: [{ key: SENTINEL_CONF_KEY, path: SENTINEL_CONF_KEY }] } },
            haSecretVolume(d, [secretKey(HA_USERS.sentinel), SENTINEL_USERS_KEY]),
            { name: 'run', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
          ],
          affinity: spread(sentinelSelector(d)),
        },
      },
    },
  };
}

export function clusterJobLabels(d: Deployment): Record<string, string> {
  return { ...commonLabels(d, 'cluster-create'), app: haNames(d).clusterJob };
}

/** The Job that creates the cluster when it does not exist yet (re-running it is harmless). */
export function clusterCreateJob(d: Deployment): Manifest {
  const n = haNames(d);
  const net = kubernetesNet(d, 'data');
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: n.clusterJob, namespace: d.deploy.namespace, labels: clusterJobLabels(d) },
    spec: {
      backoffLimit: 6,
      activeDeadlineSeconds: 1800,
      template: {
        metadata: { labels: clusterJobLabels(d) },
        spec: {
          restartPolicy: 'OnFailure',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: podSecurityContext(REDIS_UID, REDIS_GID),
          containers: [
            {
              name: 'cluster-create',
              image: d.container.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['sh', '-c', clusterCreateScript(d, net)],
              env: [{ name: 'REDISCLI_AUTH', valueFrom: { secretKeyRef: { name: n.secret, key: secretKey(ROLE_USERS.shutdown) } } }],
              resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { memory: '128Mi' } },
              securityContext: containerSecurityContext(),
            },
          ],
        },
      },
    },
  };
}
