/**
 * Rules across rendered objects that no schema can check: selectors select the pods they are meant
 * for, ports and probe ports exist, volumes and Secret keys referenced are rendered, the PDB allows an
 * eviction, the backup job's URL names the Service and the NetworkPolicy lets the job in. Pure: a
 * list of manifests in, a list of problems out. `render kubernetes` refuses its own output when any
 * rule fails (a renderer bug), and the tests feed it broken manifests.
 */
import { imageEngine } from '../../config/engines.js';
import type { Manifest } from './names.js';

export interface SemanticProblem {
  rule: string;
  /** `Kind/name` */
  object: string;
  message: string;
}

// rendered manifests are JSON trees walked by path; each rule checks the shape of what it reads
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

interface PodTemplate {
  owner: Manifest;
  namespace: string | undefined;
  labels: Record<string, string>;
  spec: Obj;
  replicas: number;
}

const id = (m: Manifest) => `${m.kind}/${m.metadata.name}`;

function podTemplates(objects: readonly Manifest[]): PodTemplate[] {
  const out: PodTemplate[] = [];
  for (const m of objects) {
    const spec = m.spec as Obj | undefined;
    let template: Obj | undefined;
    let replicas = 1;
    if (['StatefulSet', 'Deployment', 'ReplicaSet', 'DaemonSet'].includes(m.kind)) {
      template = spec?.template;
      replicas = typeof spec?.replicas === 'number' ? spec.replicas : 1;
    } else if (m.kind === 'Job') template = spec?.template;
    else if (m.kind === 'CronJob') template = spec?.jobTemplate?.spec?.template;
    else if (m.kind === 'Pod') template = { metadata: m.metadata, spec };
    if (template) out.push({ owner: m, namespace: m.metadata.namespace, labels: template.metadata?.labels ?? {}, spec: template.spec ?? {}, replicas });
  }
  return out;
}

/** matchLabels and the `In`/`NotIn`/`Exists`/`DoesNotExist` expressions of a LabelSelector. */
export function selects(selector: Obj | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  const matchLabels: Record<string, string> = selector.matchLabels ?? {};
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  for (const e of (selector.matchExpressions ?? []) as Obj[]) {
    const has = Object.hasOwn(labels, e.key);
    const ok =
      e.operator === 'In'
        ? has && e.values.includes(labels[e.key])
        : e.operator === 'NotIn'
          ? !has || !e.values.includes(labels[e.key])
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

const isEmptySelector = (s: Obj | undefined) => !s || (Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0);

function containers(spec: Obj): Obj[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

function hasPort(podSpec: Obj, port: unknown, container?: Obj): boolean {
  const list = container ? [container] : containers(podSpec);
  return list.some((c) => (c.ports ?? []).some((p: Obj) => (typeof port === 'number' ? p.containerPort === port : p.name === port)));
}

function execPorts(command: unknown): number[] {
  if (!Array.isArray(command)) return [];
  const text = command.join(' ');
  return [...text.matchAll(/(?:^|\s)-p\s+(\d+)/g)].map((m) => Number(m[1]));
}

function percentOrInt(v: unknown, of: number): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+%$/.test(v)) return Math.floor((Number(v.slice(0, -1)) / 100) * of);
  return undefined;
}

/** What every rule is given: the objects, their pod templates, and where problems go. */
interface Check {
  objects: readonly Manifest[];
  pods: PodTemplate[];
  add: (rule: string, m: Manifest, message: string) => void;
  /** the object of that kind and name in that namespace */
  find: (kind: string, name: string, ns: string | undefined) => Manifest | undefined;
  /** the pod templates of namespace `ns` that `selector` selects */
  podsSelected: (ns: string | undefined, selector: Obj | undefined) => PodTemplate[];
}

export function checkManifests(objects: readonly Manifest[]): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const pods = podTemplates(objects);
  const check: Check = {
    objects,
    pods,
    add: (rule, m, message) => problems.push({ rule, object: id(m), message }),
    find: (kind, name, ns) => objects.find((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === ns),
    podsSelected: (ns, selector) => pods.filter((p) => p.namespace === ns && selects(selector, p.labels)),
  };
  checkNamespaces(check);
  for (const m of objects) OBJECT_RULES.get(m.kind)?.(check, m, m.spec ?? {});
  for (const p of pods) checkPod(check, p);
  return problems;
}

function checkNamespaces({ objects, add }: Check): void {
  const namespaces = new Set(objects.filter((o) => !['Namespace', 'Kustomization'].includes(o.kind)).map((o) => o.metadata.namespace));
  if (namespaces.size > 1)
    for (const o of objects) if (o.kind !== 'Namespace') add('one-namespace', o, `objects are spread over namespaces ${[...namespaces].join(', ')}`);
  for (const o of objects.filter((x) => x.kind === 'Namespace'))
    if (!namespaces.has(o.metadata.name)) add('one-namespace', o, `Namespace ${o.metadata.name} is not the namespace of the objects`);
}

type ObjectRule = (check: Check, m: Manifest, spec: Obj) => void;

function checkWorkloadSelector({ add }: Check, m: Manifest, spec: Obj): void {
  const labels = spec.template?.metadata?.labels ?? {};
  if (isEmptySelector(spec.selector) || !selects(spec.selector, labels))
    add('selector-matches-template', m, 'spec.selector does not select the labels of spec.template');
}

function checkStatefulSet(check: Check, m: Manifest, spec: Obj): void {
  checkWorkloadSelector(check, m, spec);
  const { add } = check;
  const svc = check.find('Service', spec.serviceName, m.metadata.namespace);
  if (!svc) add('statefulset-service', m, `spec.serviceName "${spec.serviceName}" names no rendered Service`);
  else if ((svc.spec as Obj)?.clusterIP !== 'None') add('statefulset-service', m, `Service ${spec.serviceName} is not headless (clusterIP: None)`);
  else if (!selects({ matchLabels: (svc.spec as Obj).selector }, spec.template?.metadata?.labels ?? {}))
    add('statefulset-service', m, `Service ${spec.serviceName} does not select this StatefulSet's pods`);
}

function checkService({ add, podsSelected }: Check, m: Manifest, spec: Obj): void {
  if (!spec.selector) return;
  const selected = podsSelected(m.metadata.namespace, { matchLabels: spec.selector });
  if (Object.keys(spec.selector).length === 0 || selected.length === 0) add('service-selects-pods', m, 'spec.selector selects no rendered pod template');
  for (const port of (spec.ports ?? []) as Obj[]) {
    const target = port.targetPort ?? port.port;
    for (const p of selected)
      if (!hasPort(p.spec, target))
        add('service-ports', m, `port ${port.name ?? port.port} targets ${target}, which ${id(p.owner)}'s containers do not expose`);
  }
}

function checkPdb({ add, podsSelected }: Check, m: Manifest, spec: Obj): void {
  const selected = podsSelected(m.metadata.namespace, spec.selector);
  if (isEmptySelector(spec.selector) || selected.length === 0) add('pdb-selects-pods', m, 'spec.selector selects no rendered pod template');
  const replicas = selected.reduce((sum, p) => sum + p.replicas, 0);
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined)
    add('pdb-allows-eviction', m, 'minAvailable and maxUnavailable are both set; the API server refuses that');
  else if (spec.maxUnavailable !== undefined) {
    const n = percentOrInt(spec.maxUnavailable, replicas);
    if (n === undefined || n < 1) add('pdb-allows-eviction', m, `maxUnavailable ${spec.maxUnavailable} of ${replicas} pod(s) blocks every eviction`);
  } else if (spec.minAvailable !== undefined) {
    const n = percentOrInt(spec.minAvailable, replicas);
    if (n === undefined || n >= replicas) add('pdb-allows-eviction', m, `minAvailable ${spec.minAvailable} of ${replicas} pod(s) blocks every eviction`);
  } else add('pdb-allows-eviction', m, 'neither minAvailable nor maxUnavailable is set');
}

function checkNetworkPolicy({ add, podsSelected }: Check, m: Manifest, spec: Obj): void {
  const selected = podsSelected(m.metadata.namespace, spec.podSelector);
  if (isEmptySelector(spec.podSelector) || selected.length === 0) add('networkpolicy-selects-pods', m, 'spec.podSelector selects no rendered pod template');
  for (const rule of (spec.ingress ?? []) as Obj[]) {
    for (const from of (rule.from ?? []) as Obj[]) {
      if (from.podSelector && isEmptySelector(from.podSelector) && !from.namespaceSelector)
        add('networkpolicy-peers', m, 'an ingress peer selects every pod of the namespace');
      if (from.namespaceSelector && isEmptySelector(from.namespaceSelector)) add('networkpolicy-peers', m, 'an ingress peer selects every namespace');
    }
    for (const port of (rule.ports ?? []) as Obj[])
      for (const p of selected)
        if (!hasPort(p.spec, port.port)) add('networkpolicy-ports', m, `ingress port ${port.port} is not a port of ${id(p.owner)}'s containers`);
  }
}

function checkServiceMonitor({ objects, add }: Check, m: Manifest, spec: Obj): void {
  const services = objects.filter(
    (o) => o.kind === 'Service' && o.metadata.namespace === m.metadata.namespace && selects(spec.selector, o.metadata.labels ?? {}),
  );
  if (services.length === 0) add('servicemonitor-selects-service', m, 'spec.selector selects no rendered Service');
  for (const ep of (spec.endpoints ?? []) as Obj[]) {
    if (!services.some((s) => ((s.spec as Obj).ports ?? []).some((p: Obj) => p.name === ep.port)))
      add('servicemonitor-port', m, `endpoint port "${ep.port}" is not a named port of the selected Service`);
  }
}

/** the rules of one object, by kind */
const OBJECT_RULES = new Map<string, ObjectRule>([
  ['StatefulSet', checkStatefulSet],
  ['Deployment', checkWorkloadSelector],
  ['ReplicaSet', checkWorkloadSelector],
  ['DaemonSet', checkWorkloadSelector],
  ['Service', checkService],
  ['PodDisruptionBudget', checkPdb],
  ['NetworkPolicy', checkNetworkPolicy],
  ['ServiceMonitor', checkServiceMonitor],
]);

function checkPod(check: Check, p: PodTemplate): void {
  const claimNames = new Set<string>((((p.owner.spec as Obj)?.volumeClaimTemplates ?? []) as Obj[]).map((c) => c.metadata?.name));
  const volumes = new Map<string, Obj>(((p.spec.volumes ?? []) as Obj[]).map((v) => [v.name, v]));
  for (const v of volumes.values()) checkVolume(check, p, v);
  for (const c of containers(p.spec)) {
    checkMounts(check, p, c, (name) => volumes.has(name) || claimNames.has(name));
    checkEnvSecrets(check, p, c);
    checkProbePorts(check, p, c);
    checkImagePrograms(check, p, c);
    checkClientUrl(check, p, c);
  }
}

function checkVolume({ add, find }: Check, p: PodTemplate, v: Obj): void {
  if (v.configMap) {
    const cm = find('ConfigMap', v.configMap.name, p.namespace);
    if (!cm) add('references', p.owner, `volume ${v.name} mounts ConfigMap ${v.configMap.name}, which is not rendered`);
    else
      for (const item of (v.configMap.items ?? []) as Obj[])
        if (!Object.hasOwn((cm as Obj).data ?? {}, item.key))
          add('references', p.owner, `volume ${v.name} wants key ${item.key}, absent from ConfigMap ${v.configMap.name}`);
  }
  if (v.secret) {
    const s = find('Secret', v.secret.secretName, p.namespace) as Obj | undefined;
    if (!s) add('references', p.owner, `volume ${v.name} mounts Secret ${v.secret.secretName}, which is not rendered`);
    else
      for (const item of (v.secret.items ?? []) as Obj[])
        if (!Object.hasOwn({ ...s.data, ...s.stringData }, item.key))
          add('references', p.owner, `volume ${v.name} wants key ${item.key}, absent from Secret ${v.secret.secretName}`);
  }
  if (v.persistentVolumeClaim && !find('PersistentVolumeClaim', v.persistentVolumeClaim.claimName, p.namespace))
    add('references', p.owner, `volume ${v.name} uses claim ${v.persistentVolumeClaim.claimName}, which is not rendered`);
}

function checkMounts({ add }: Check, p: PodTemplate, c: Obj, mountable: (name: string) => boolean): void {
  const paths = new Set<string>();
  for (const mount of (c.volumeMounts ?? []) as Obj[]) {
    if (!mountable(mount.name)) add('volume-mounts', p.owner, `container ${c.name} mounts "${mount.name}", which is neither a volume nor a claim template`);
    if (paths.has(mount.mountPath)) add('volume-mounts', p.owner, `container ${c.name} mounts two volumes at ${mount.mountPath}`);
    paths.add(mount.mountPath);
  }
}

function checkEnvSecrets({ add, find }: Check, p: PodTemplate, c: Obj): void {
  for (const e of (c.env ?? []) as Obj[]) {
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref) continue;
    const s = find('Secret', ref.name, p.namespace) as Obj | undefined;
    if (!s || !Object.hasOwn({ ...s.data, ...s.stringData }, ref.key))
      add('references', p.owner, `container ${c.name} env ${e.name} reads key ${ref.key} of Secret ${ref.name}, which is not rendered`);
  }
}

function checkProbePorts({ add }: Check, p: PodTemplate, c: Obj): void {
  for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
    const probe = c[kind] as Obj | undefined;
    if (!probe) continue;
    const port = probe.tcpSocket?.port ?? probe.httpGet?.port ?? probe.grpc?.port;
    if (port !== undefined && !hasPort(p.spec, port, c))
      add('probe-ports', p.owner, `container ${c.name} ${kind} uses port ${port}, which the container does not expose`);
    for (const n of execPorts(probe.exec?.command))
      if (!hasPort(p.spec, n, c)) add('probe-ports', p.owner, `container ${c.name} ${kind} runs the CLI on port ${n}, which the container does not expose`);
  }
  for (const n of execPorts(c.lifecycle?.preStop?.exec?.command))
    if (!hasPort(p.spec, n, c)) add('probe-ports', p.owner, `container ${c.name} preStop runs the CLI on port ${n}, which the container does not expose`);
}

/** the server and CLI a container runs must be the ones its image ships (valkey/valkey: valkey-*) */
function checkImagePrograms({ add }: Check, p: PodTemplate, c: Obj): void {
  const engine = typeof c.image === 'string' ? imageEngine(c.image) : undefined;
  if (!engine) return;
  const other = engine === 'valkey' ? 'redis' : 'valkey';
  const programs = [
    c.command,
    c.startupProbe?.exec?.command,
    c.livenessProbe?.exec?.command,
    c.readinessProbe?.exec?.command,
    c.lifecycle?.preStop?.exec?.command,
  ]
    .filter(Array.isArray)
    .map((cmd: string[]) => cmd.join(' '));
  for (const text of programs) {
    const m = new RegExp(`(?:^|[\\s;(|&$"])(${other}-(?:server|cli))\\b`).exec(text);
    if (m) add('image-programs', p.owner, `container ${c.name} (image ${c.image}) runs ${m[1]}, which a ${engine} image does not ship`);
  }
}

/** a client URL must name a rendered Service and one of its ports, and the NetworkPolicy must let it in */
function checkClientUrl({ objects, add, find, podsSelected }: Check, p: PodTemplate, c: Obj): void {
  const args: string[] = [...(c.command ?? []), ...(c.args ?? [])];
  const urlAt = args.indexOf('--url');
  const url = urlAt >= 0 ? /^rediss?:\/\/(?:[^@/]*@)?([^:/]+):(\d+)/.exec(args[urlAt + 1] ?? '') : null;
  if (!url || url[1] === '127.0.0.1' || url[1] === 'localhost') return;
  const svc = find('Service', url[1]!, p.namespace);
  const port = Number(url[2]);
  if (!svc || !((svc.spec as Obj).ports ?? []).some((sp: Obj) => sp.port === port)) {
    add('client-url', p.owner, `container ${c.name} connects to ${url[1]}:${port}, which is no rendered Service port`);
    return;
  }
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  for (const t of podsSelected(p.namespace, { matchLabels: (svc.spec as Obj).selector })) {
    const guarding = policies.filter((np) => selects((np.spec as Obj).podSelector, t.labels));
    // policies add up: the pods are reachable when no policy selects them, or when any one admits
    const admitted =
      guarding.length === 0 ||
      guarding.some((np) =>
        (((np.spec as Obj).ingress ?? []) as Obj[]).some(
          (rule) =>
            (rule.ports ?? []).some((rp: Obj) => rp.port === port) &&
            (rule.from ?? []).some((f: Obj) => !f.namespaceSelector && selects(f.podSelector, p.labels)),
        ),
      );
    if (!admitted)
      add('client-url', p.owner, `container ${c.name} connects to ${url[1]}:${port}, but a NetworkPolicy on ${id(t.owner)} does not let its pods in`);
  }
}
