/**
 * `render kubernetes` for `topology.kind` sentinel and cluster: the single server's objects where
 * they fit (Namespace, Secret, backup, monitoring) and, for the topology, headless Services that
 * publish not-ready pods (a pod's name resolves while it starts, so peers and Sentinels can reach
 * it), the Sentinels and their Service (port 26379: how clients find the master), PodDisruptionBudgets
 * and NetworkPolicies letting the nodes, the Sentinels and the bootstrap Job reach each other.
 */
import { createHash } from 'node:crypto';
import type { Deployment } from '../../config/schema.js';
import { renderAcl, type Secrets } from '../acl.js';
import { hasCommander } from '../commander.js';
import { metricsToken } from '../monitoring.js';
import { renderRedisConf } from '../redis-conf.js';
import { backupClaim, backupCronJob } from './backup.js';
import { commanderObjects, commanderSecretData } from './commander.js';
import { SENTINEL_CONF_KEY, SENTINEL_USERS_KEY, TOPOLOGY_CONF_KEY, sentinelConfTemplate, sentinelUsersConf, topologyConf } from './ha-conf.js';
import { haNames, haPasswords, withTopologyUsers } from './ha-model.js';
import { clusterCreateJob, clusterJobLabels, dataStatefulSet, sentinelSelector, sentinelStatefulSet } from './ha-workloads.js';
import { prometheusRule, serviceMonitor } from './monitoring.js';
import { CONF_KEY, METRICS_TOKEN_KEY, ROLE_USERS, commonLabels, labelMap, selectorLabels, type Manifest } from './names.js';
import { namespace, networkPolicy, secret, service } from './objects.js';
import { checkManifests } from './semantic.js';

type Obj = Record<string, unknown>;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function haConfigMap(d: Deployment): Manifest {
  const data: Record<string, string> = { [CONF_KEY]: renderRedisConf(d), [TOPOLOGY_CONF_KEY]: topologyConf(d) };
  if (d.topology.kind === 'sentinel') data[SENTINEL_CONF_KEY] = sentinelConfTemplate(d);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: haNames(d).configMap, namespace: d.deploy.namespace, labels: commonLabels(d) },
    data: Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}

/** The data nodes' headless Service, publishing pods that are not ready yet. */
function dataService(d: Deployment): Manifest {
  const svc = service(d);
  (svc.spec as Obj).publishNotReadyAddresses = true;
  return svc;
}

function sentinelServices(d: Deployment): Manifest[] {
  const n = haNames(d);
  const port = d.topology.sentinel.port;
  const ports = [{ port, targetPort: 'sentinel', name: 'sentinel' }];
  const meta = (name: string) => ({ name, namespace: d.deploy.namespace, labels: commonLabels(d, 'sentinel') });
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(n.sentinelHeadless),
      spec: { selector: sentinelSelector(d), ports, clusterIP: 'None', publishNotReadyAddresses: true },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: meta(n.sentinelService), spec: { selector: sentinelSelector(d), ports } },
  ];
}

function pdb(d: Deployment, name: string, selector: Record<string, string>, component: string): Manifest {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace: d.deploy.namespace, labels: commonLabels(d, component) },
    spec: { maxUnavailable: d.deploy.podDisruptionBudget.maxUnavailable, selector: { matchLabels: selector } },
  };
}

/** The single server's policy plus the topology's own traffic: replication, the cluster bus, Sentinels, the bootstrap Job. */
function dataNetworkPolicy(d: Deployment): Manifest {
  const np = networkPolicy(d);
  const ingress = (np.spec as { ingress: Obj[] }).ingress;
  const peers: Obj[] = [{ podSelector: { matchLabels: selectorLabels(d) } }];
  if (d.topology.kind === 'sentinel') peers.push({ podSelector: { matchLabels: sentinelSelector(d) } });
  else peers.push({ podSelector: { matchLabels: { app: clusterJobLabels(d).app } } });
  const ports: Obj[] = [{ protocol: 'TCP', port: d.server.port }];
  if (d.topology.kind === 'cluster') ports.push({ protocol: 'TCP', port: d.server.port + 10000 });
  ingress.push({ from: peers, ports });
  return np;
}

/** Sentinels are reached by NeuralLog's pods, by each other and by the data nodes' start scripts. */
function sentinelNetworkPolicy(d: Deployment): Manifest {
  const n = haNames(d);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: n.sentinelNetworkPolicy, namespace: d.deploy.namespace, labels: commonLabels(d, 'sentinel') },
    spec: {
      podSelector: { matchLabels: sentinelSelector(d) },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: labelMap(d.deploy.networkPolicy.clientPodLabels) } },
            { podSelector: { matchLabels: sentinelSelector(d) } },
            { podSelector: { matchLabels: selectorLabels(d) } },
          ],
          ports: [{ protocol: 'TCP', port: d.topology.sentinel.port }],
        },
      ],
    },
  };
}

export interface HaObject {
  file: string;
  manifest: Manifest;
}

/** Every object of a Sentinel or Cluster deployment, in apply order (the model already passed the refusals). */
export function haObjects(model: Deployment, secrets: Secrets): HaObject[] {
  const d = withTopologyUsers(model);
  const n = haNames(d);
  const acl = renderAcl(d, secrets);
  const cm = haConfigMap(d);
  const data = cm.data as Record<string, string>;
  const extra: Record<string, string> = {};
  const monitor = secrets[ROLE_USERS.probe];
  if (d.deploy.monitoring.serviceMonitor && monitor !== undefined) extra[METRICS_TOKEN_KEY] = metricsToken(monitor);
  const sentinel = d.topology.kind === 'sentinel';
  Object.assign(extra, commanderSecretData(d, secrets));
  if (sentinel) extra[SENTINEL_USERS_KEY] = sentinelUsersConf(secrets, hasCommander(d));
  const checksums = { conf: sha256(data[CONF_KEY]!), acl: sha256(acl), topology: sha256(data[TOPOLOGY_CONF_KEY]!) };
  const objects: HaObject[] = [
    { file: 'namespace.yaml', manifest: namespace(d) },
    { file: 'configmap.yaml', manifest: cm },
    { file: 'secret.yaml', manifest: secret(d, acl, haPasswords(d, secrets), extra) },
    { file: 'service.yaml', manifest: dataService(d) },
    { file: 'statefulset.yaml', manifest: dataStatefulSet(d, checksums) },
    { file: 'poddisruptionbudget.yaml', manifest: pdb(d, n.pdb, selectorLabels(d), 'server') },
    { file: 'networkpolicy.yaml', manifest: dataNetworkPolicy(d) },
  ];
  if (sentinel) {
    const [headless, client] = sentinelServices(d);
    objects.push(
      { file: 'sentinel-headless-service.yaml', manifest: headless! },
      { file: 'sentinel-service.yaml', manifest: client! },
      { file: 'sentinel-statefulset.yaml', manifest: sentinelStatefulSet(d, sha256(`${data[SENTINEL_CONF_KEY]}${extra[SENTINEL_USERS_KEY]}`)) },
      { file: 'sentinel-poddisruptionbudget.yaml', manifest: pdb(d, n.sentinelPdb, sentinelSelector(d), 'sentinel') },
      { file: 'sentinel-networkpolicy.yaml', manifest: sentinelNetworkPolicy(d) },
      // any node serves a backup over replication: the headless Service's name reaches one of them
      { file: 'backup-pvc.yaml', manifest: backupClaim(d) },
      { file: 'backup-cronjob.yaml', manifest: backupCronJob(d) },
    );
  } else objects.push({ file: 'cluster-create-job.yaml', manifest: clusterCreateJob(d) });
  objects.push(...commanderObjects(d, secrets));
  if (d.deploy.monitoring.serviceMonitor) objects.push({ file: 'servicemonitor.yaml', manifest: serviceMonitor(d) });
  if (d.deploy.monitoring.prometheusRule) objects.push({ file: 'prometheusrule.yaml', manifest: prometheusRule(d) });
  const problems = checkManifests(objects.map((o) => o.manifest));
  if (problems.length > 0) {
    // the model passed the refusals, so this is a renderer bug: say so rather than write broken manifests
    throw new Error(`rendered manifests are inconsistent: ${problems.map((p) => `${p.object}: ${p.message}`).join('; ')}`);
  }
  return objects;
}
