/**
 * The strict offline validation of deploy-validate.test.ts, shared with the Sentinel and Cluster
 * render tests: kubernetes-models 4.5.1's schema, unknown fields found by tracing which fields the
 * schema's validator reads, and the API server's name formats. (A copy of that file's functions, so
 * that file stays as it is; keep the two in step.)
 */
import { Namespace, ConfigMap, Secret, Service, PersistentVolumeClaim } from 'kubernetes-models/v1';
import { Deployment as DeploymentModel, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';

type Obj = Record<string, any>;
type Validator = { prototype: { validate(this: unknown): void } };
const MODELS: Record<string, Validator> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/CronJob': CronJob,
  'batch/v1/Job': Job,
  'apps/v1/Deployment': DeploymentModel,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};
interface Node {
  path: string;
  keys: string[];
  read: Set<string>;
  /** the validator iterated the keys: a map (labels, data, resources.limits), any key allowed */
  enumerated: boolean;
}

function traced(value: unknown, path: string, nodes: Node[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  const node: Node | undefined = Array.isArray(value) ? undefined : { path, keys: Object.keys(value), read: new Set(), enumerated: false };
  if (node) nodes.push(node);
  const children = new Map<PropertyKey, unknown>();
  return new Proxy(value as object, {
    get(target, key, receiver) {
      if (typeof key === 'string') node?.read.add(key);
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || v === null || typeof v !== 'object') return v;
      if (!children.has(key)) children.set(key, traced(v, Array.isArray(target) ? `${path}[${key}]` : `${path}.${key}`, nodes));
      return children.get(key);
    },
    ownKeys(target) {
      if (node) node.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

/** Schema errors (kubernetes-models) plus fields the schema does not know. */
export function schemaErrors(manifest: Obj): string[] {
  const model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!model) return [`no schema for ${manifest.apiVersion} ${manifest.kind}`];
  const nodes: Node[] = [];
  const errors: string[] = [];
  try {
    model.prototype.validate.call(traced(structuredClone(manifest), '', nodes));
  } catch (error) {
    errors.push(`schema: ${(error as Error).message}`);
  }
  for (const node of nodes) {
    if (node.enumerated) continue;
    for (const key of node.keys) if (!node.read.has(key)) errors.push(`unknown field ${node.path}.${key}`.replace(/^unknown field \./, 'unknown field '));
  }
  return errors;
}

// ---------------------------------------------------------------- strict layer: names and formats

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function label(name: string, max = 63): boolean {
  return name.length <= max && DNS1123_LABEL.test(name);
}
function subdomain(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
}
function ianaSvcName(name: string): boolean {
  return name.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name) && /[a-z]/.test(name) && !name.includes('--');
}

export function formatErrors(m: Obj): string[] {
  const errors: string[] = [];
  const check = (ok: boolean, what: string) => ok || errors.push(what);
  const name: string = m.metadata?.name ?? '';
  if (m.kind === 'Service') check(name.length <= 63 && DNS1035_LABEL.test(name), `Service name "${name}" is not a DNS-1035 label`);
  else if (m.kind === 'Namespace') check(label(name), `Namespace name "${name}" is not a DNS-1123 label`);
  else if (m.kind === 'CronJob') check(name.length <= 52 && subdomain(name), `CronJob name "${name}" is not a DNS-1123 subdomain of at most 52 characters`);
  else if (m.kind === 'StatefulSet') check(label(`${name}-0`), `StatefulSet name "${name}" gives pod hostnames that are not DNS-1123 labels`);
  else check(subdomain(name), `${m.kind} name "${name}" is not a DNS-1123 subdomain`);
  if (m.metadata?.namespace !== undefined) check(label(m.metadata.namespace), `namespace "${m.metadata.namespace}" is not a DNS-1123 label`);
  const metas: Obj[] = [m.metadata ?? {}];
  const walk = (v: unknown, key = ''): void => {
    if (Array.isArray(v)) v.forEach((x) => walk(x));
    else if (v && typeof v === 'object') {
      const o = v as Obj;
      if (key === 'metadata' && o !== m.metadata) metas.push(o);
      for (const [k, x] of Object.entries(o)) {
        if ((k === 'matchLabels' || k === 'selector') && x && typeof x === 'object' && !Array.isArray(x) && !('matchLabels' in x) && !('matchExpressions' in x))
          metas.push({ labels: x });
        if (k === 'matchLabels') metas.push({ labels: x });
        walk(x, k);
      }
      if (Array.isArray(o.containers) || Array.isArray(o.initContainers)) {
        for (const c of [...(o.initContainers ?? []), ...(o.containers ?? [])] as Obj[]) {
          check(label(c.name), `container name "${c.name}" is not a DNS-1123 label`);
          for (const p of (c.ports ?? []) as Obj[])
            if (p.name !== undefined) check(ianaSvcName(p.name), `container port name "${p.name}" is not an IANA_SVC_NAME`);
          for (const e of (c.env ?? []) as Obj[]) check(ENV_NAME.test(e.name), `env name "${e.name}" is invalid`);
          for (const vm of (c.volumeMounts ?? []) as Obj[])
            check(typeof vm.mountPath === 'string' && vm.mountPath.startsWith('/'), `mountPath "${vm.mountPath}" is not absolute`);
        }
        for (const vol of (o.volumes ?? []) as Obj[]) check(label(vol.name), `volume name "${vol.name}" is not a DNS-1123 label`);
      }
    }
  };
  walk(m);
  for (const meta of metas) {
    for (const [k, v] of Object.entries((meta.labels ?? {}) as Obj)) {
      check(QUALIFIED_NAME.test(k), `label key "${k}" is invalid`);
      check(typeof v === 'string' && v.length <= 63 && LABEL_VALUE.test(v), `label value "${v}" is invalid`);
    }
    for (const k of Object.keys((meta.annotations ?? {}) as Obj)) check(QUALIFIED_NAME.test(k), `annotation key "${k}" is invalid`);
  }
  for (const claim of (m.spec?.volumeClaimTemplates ?? []) as Obj[])
    check(label(claim.metadata?.name ?? ''), `claim template name "${claim.metadata?.name}" is not a DNS-1123 label`);
  if (m.kind === 'Service')
    for (const p of (m.spec?.ports ?? []) as Obj[]) if (p.name !== undefined) check(label(p.name), `Service port name "${p.name}" is not a DNS-1123 label`);
  if (m.kind === 'ConfigMap' || m.kind === 'Secret') {
    for (const k of Object.keys({ ...m.data, ...m.stringData })) check(CONFIG_KEY.test(k), `${m.kind} key "${k}" is invalid`);
    if (m.kind === 'Secret')
      for (const [k, v] of Object.entries((m.data ?? {}) as Obj))
        check(typeof v === 'string' && Buffer.from(v, 'base64').toString('base64') === v, `Secret data "${k}" is not base64`);
  }
  return errors;
}

export function strictErrors(m: Obj): string[] {
  return [...schemaErrors(m), ...formatErrors(m)];
}
