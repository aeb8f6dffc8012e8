/**
 * Offline validation of every rendered Kubernetes object, without a cluster or kubectl:
 * 1. the Kubernetes API schema through kubernetes-models 4.5.1 (its validators are ajv code compiled
 *    from the OpenAPI schema; the last release that runs on Node 20);
 * 2. a strict layer on top, as kubeconform -strict does: kubernetes-models accepts unknown fields, so
 *    each object is validated through a Proxy that records which fields the schema's validator
 *    reads; a field it never reads is not in the schema and is an error. Names, labels, keys and
 *    ports are checked against the API server's own formats (DNS-1123, DNS-1035, IANA_SVC_NAME);
 * 3. the semantic rules of src/render/kubernetes/semantic.ts, also fed broken manifests here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { Namespace, ConfigMap, Secret, Service, PersistentVolumeClaim } from 'kubernetes-models/v1';
import { Deployment as DeploymentModel, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { parseYamlModel } from '../src/config/load.js';
import { profile } from '../src/config/profiles.js';
import type { Deployment } from '../src/config/schema.js';
import { checkManifests, kubernetesObjects, renderKubernetes, type Manifest } from '../src/render/index.js';

const fixtureSecrets = (
  JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/secrets.json', import.meta.url)), 'utf8')) as { users: Record<string, string> }
).users;

type Obj = Record<string, any>;
type Validator = { prototype: { validate(this: unknown): void } };
const MODELS: Record<string, Validator> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/Deployment': DeploymentModel,
  'batch/v1/CronJob': CronJob,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

// ---------------------------------------------------------------- strict layer: unknown fields

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
function schemaErrors(manifest: Obj): string[] {
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

function formatErrors(m: Obj): string[] {
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

function strictErrors(m: Obj): string[] {
  return [...schemaErrors(m), ...formatErrors(m)];
}

// ---------------------------------------------------------------- Prometheus Operator objects and the Kustomization (no OpenAPI schema here)

type Shape = 'string' | 'number' | 'boolean' | 'labels' | Shape[] | { [key: string]: Shape };
const METADATA: Shape = { name: 'string', namespace: 'string', labels: 'labels', annotations: 'labels' };
const SELECTOR: Shape = { matchLabels: 'labels' };
const CRD_SHAPES: Record<string, Shape> = {
  'monitoring.coreos.com/v1/ServiceMonitor': {
    apiVersion: 'string',
    kind: 'string',
    metadata: METADATA,
    spec: {
      selector: SELECTOR,
      endpoints: [{ port: 'string', path: 'string', interval: 'string', authorization: { type: 'string', credentials: { name: 'string', key: 'string' } } }],
    },
  },
  'monitoring.coreos.com/v1/PrometheusRule': {
    apiVersion: 'string',
    kind: 'string',
    metadata: METADATA,
    spec: { groups: [{ name: 'string', rules: [{ alert: 'string', expr: 'string', for: 'string', labels: 'labels', annotations: 'labels' }] }] },
  },
  'kustomize.config.k8s.io/v1beta1/Kustomization': { apiVersion: 'string', kind: 'string', namespace: 'string', resources: ['string'] },
};

function shapeErrors(value: unknown, shape: Shape, path: string): string[] {
  if (shape === 'labels')
    return value && typeof value === 'object' && Object.values(value).every((v) => typeof v === 'string') ? [] : [`${path} is not a map of strings`];
  if (typeof shape === 'string') return typeof value === shape ? [] : [`${path} is not a ${shape}`];
  if (Array.isArray(shape)) return Array.isArray(value) ? value.flatMap((v, i) => shapeErrors(v, shape[0]!, `${path}[${i}]`)) : [`${path} is not a list`];
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${path} is not an object`];
  return Object.entries(value as Obj).flatMap(([k, v]) => (k in shape ? shapeErrors(v, shape[k]!, `${path}.${k}`) : [`unknown field ${path}.${k}`]));
}

function crdErrors(m: Obj): string[] {
  const shape = CRD_SHAPES[`${m.apiVersion}/${m.kind}`];
  return shape ? [...shapeErrors(m, shape, ''), ...(m.metadata ? formatErrors(m) : [])] : [`no shape for ${m.apiVersion} ${m.kind}`];
}

// ---------------------------------------------------------------- the tests

function model(change?: (d: Deployment) => void): Deployment {
  const d = profile('neurallog');
  change?.(d);
  return d;
}

const VARIANTS: Record<string, Deployment> = {
  'neurallog profile': model(),
  // the alternative engine as a user writes it: `engine: valkey` and nothing else
  'Valkey (engine: valkey, its default image)': parseYamlModel('engine: valkey\n', 'valkey.yaml').deployment,
  'monitoring on, storage class, another name and namespace': model((d) => {
    d.name = 'logs-redis';
    d.deploy.namespace = 'prod';
    d.deploy.storageClassName = 'fast-ssd';
    d.deploy.monitoring = { serviceMonitor: true, prometheusRule: true };
    d.deploy.networkPolicy.monitoringNamespaceLabels = [];
  }),
  'port 6380, 2 GiB maxmemory, one replica': model((d) => {
    d.server.port = 6380;
    d.memory.maxmemory = 2 * 1024 ** 3;
    d.container.replicas = 1;
    d.container.memoryLimit = 4 * 1024 ** 3;
    d.container.storage = 20 * 1024 ** 3;
  }),
};

describe('rendered Kubernetes objects are valid offline', () => {
  for (const [name, d] of Object.entries(VARIANTS)) {
    test(`${name}: every file parses and every object passes the strict schema, names and semantic rules`, () => {
      const files = renderKubernetes(d, fixtureSecrets);
      const manifests: Manifest[] = [];
      for (const file of files) {
        const docs = parse(file.content, { version: '1.1' }) as Obj;
        const errors = file.path === 'kustomization.yaml' || docs.apiVersion === 'monitoring.coreos.com/v1' ? crdErrors(docs) : strictErrors(docs);
        assert.deepEqual(errors, [], `${file.path}: ${errors.join('; ')}`);
        if (file.path !== 'kustomization.yaml') manifests.push(docs as Manifest);
      }
      assert.deepEqual(checkManifests(manifests), []);
      const kustomization = parse(files[0]!.content) as Obj;
      assert.deepEqual(
        kustomization.resources,
        files.slice(1).map((f) => f.path),
        'kustomization lists every file, in apply order',
      );
    });
  }

  test('the YAML on disk reads back as the objects rendered (no YAML 1.1 surprises)', () => {
    const d = VARIANTS['neurallog profile']!;
    const objects = kubernetesObjects(d, fixtureSecrets);
    const files = renderKubernetes(d, fixtureSecrets);
    for (const { file, manifest } of objects) {
      const text = files.find((f) => f.path === file)!.content;
      assert.deepEqual(parse(text, { version: '1.1' }), JSON.parse(JSON.stringify(manifest)), file);
      assert.deepEqual(parse(text, { version: '1.2' }), JSON.parse(JSON.stringify(manifest)), file);
    }
  });
});

describe('the strict layer catches what kubernetes-models alone accepts', () => {
  const sts = () => structuredClone(kubernetesObjects(profile('neurallog'), fixtureSecrets).find((o) => o.manifest.kind === 'StatefulSet')!.manifest) as Obj;

  test('the unmodified StatefulSet is clean', () => {
    assert.deepEqual(strictErrors(sts()), []);
  });

  test('an unknown container field', () => {
    const m = sts();
    m.spec.template.spec.containers[0].livenessProbes = m.spec.template.spec.containers[0].livenessProbe;
    assert.deepEqual(schemaErrors(m), ['unknown field spec.template.spec.containers[0].livenessProbes']);
  });

  test('an unknown top-level and metadata field', () => {
    const m = sts();
    m.status2 = {};
    m.metadata.lables = { a: 'b' };
    assert.deepEqual(schemaErrors(m).sort(), ['unknown field metadata.lables', 'unknown field status2']);
  });

  test('an unknown field inside a map-valued field is still found one level down', () => {
    const m = sts();
    m.spec.template.spec.containers[0].resources.limits.memory = '384Mi';
    m.spec.template.spec.containers[0].resources.limit = { memory: '1Gi' };
    assert.deepEqual(schemaErrors(m), ['unknown field spec.template.spec.containers[0].resources.limit']);
  });

  test('a name that is not DNS-1123, a bad port name, a bad label value', () => {
    const m = sts();
    m.metadata.name = 'Bad_Name';
    m.spec.template.spec.containers[0].ports[0].name = 'redis-server-port';
    m.spec.template.metadata.labels.app = 'not ok!';
    const errors = formatErrors(m);
    assert.ok(
      errors.some((e) => /Bad_Name/.test(e)),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => /redis-server-port/.test(e)),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => /not ok!/.test(e)),
      errors.join('\n'),
    );
  });

  test('kubernetes-models itself: a string containerPort and a malformed quantity', () => {
    const m = sts();
    m.spec.template.spec.containers[0].ports[0].containerPort = '6379';
    m.spec.template.spec.containers[0].resources.limits.memory = '1 GiB';
    const errors = schemaErrors(m);
    assert.ok(
      errors.some((e) => /containerPort/.test(e)),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => /memory/.test(e)),
      errors.join('\n'),
    );
  });
});

describe('semantic rules', () => {
  const all = () => structuredClone(kubernetesObjects(profile('neurallog'), fixtureSecrets).map((o) => o.manifest)) as Obj[];
  const of = (objects: Obj[], kind: string) => objects.find((o) => o.kind === kind)!;
  const rules = (objects: Obj[]) => checkManifests(objects as Manifest[]).map((p) => p.rule);

  test('the rendered set is consistent', () => {
    assert.deepEqual(checkManifests(all() as Manifest[]), []);
  });

  test('a selector that does not match the pod labels', () => {
    const objects = all();
    of(objects, 'Service').spec.selector = { app: 'redis-0' };
    of(objects, 'PodDisruptionBudget').spec.selector.matchLabels = { app: 'other' };
    of(objects, 'NetworkPolicy').spec.podSelector.matchLabels = { app: 'other' };
    const found = rules(objects);
    for (const rule of ['service-selects-pods', 'statefulset-service', 'pdb-selects-pods', 'networkpolicy-selects-pods'])
      assert.ok(found.includes(rule), `${rule} in ${found}`);
  });

  test('a Service port that targets no container port, and a probe on a port the container lacks', () => {
    const objects = all();
    of(objects, 'Service').spec.ports[0].targetPort = 'redis-tls';
    const redis = of(objects, 'StatefulSet').spec.template.spec.containers[0];
    redis.readinessProbe = { tcpSocket: { port: 6380 } };
    redis.livenessProbe.exec.command[2] = redis.livenessProbe.exec.command[2].replace('-p 6379', '-p 7000');
    const found = rules(objects);
    assert.ok(found.includes('service-ports'), String(found));
    assert.equal(found.filter((r) => r === 'probe-ports').length, 2, String(found));
  });

  test('PodDisruptionBudgets that block every eviction, or set both fields', () => {
    for (const spec of [
      { maxUnavailable: 0 },
      { minAvailable: 1 },
      { minAvailable: '100%' },
      { maxUnavailable: '0%' },
      { minAvailable: 0, maxUnavailable: 1 },
    ]) {
      const objects = all();
      const pdb = of(objects, 'PodDisruptionBudget');
      pdb.spec = { ...spec, selector: pdb.spec.selector };
      assert.deepEqual(rules(objects), ['pdb-allows-eviction'], JSON.stringify(spec));
    }
    const objects = all();
    of(objects, 'PodDisruptionBudget').spec = { minAvailable: 0, selector: { matchLabels: { app: 'redis' } } };
    assert.deepEqual(rules(objects), []);
  });

  test('missing ConfigMap/Secret keys, an undefined volume, a backup URL to no Service, a NetworkPolicy that shuts the job out', () => {
    const objects = all();
    delete of(objects, 'Secret').data['admin-password'];
    delete of(objects, 'Secret').data['monitor-password'];
    of(objects, 'StatefulSet').spec.template.spec.containers[0].volumeMounts.push({ name: 'scratch', mountPath: '/scratch' });
    const found = rules(objects);
    assert.equal(found.filter((r) => r === 'references').length, 2, String(found));
    assert.ok(found.includes('volume-mounts'));

    const other = all();
    const args = of(other, 'CronJob').spec.jobTemplate.spec.template.spec.initContainers[0].args;
    args[args.indexOf('--url') + 1] = 'redis://backup@redis-primary:6379';
    assert.deepEqual(rules(other), ['client-url']);

    const shut = all();
    of(shut, 'NetworkPolicy').spec.ingress[0].from.splice(1, 1);
    assert.deepEqual(rules(shut), ['client-url']);
  });

  test('a container that runs programs its image does not ship (valkey-cli in a redis image, redis-server in a valkey image)', () => {
    const objects = all();
    const redis = of(objects, 'StatefulSet').spec.template.spec.containers[0];
    redis.readinessProbe.exec.command[2] = redis.readinessProbe.exec.command[2].replace('redis-cli', 'valkey-cli');
    assert.deepEqual(rules(objects), ['image-programs']);
    const valkey = kubernetesObjects(VARIANTS['Valkey (engine: valkey, its default image)']!, fixtureSecrets).map(
      (o) => JSON.parse(JSON.stringify(o.manifest)) as Obj,
    );
    assert.deepEqual(rules(valkey), []);
    of(valkey, 'StatefulSet').spec.template.spec.containers[0].command[0] = 'redis-server';
    assert.deepEqual(rules(valkey), ['image-programs']);
  });

  test('render refuses an image of the other engine, naming container.image', () => {
    const d = parseYamlModel('engine: valkey\ncontainer: {image: "redis:8.0.4-alpine"}\n', 'mixed.yaml').deployment;
    assert.throws(
      () => kubernetesObjects(d, fixtureSecrets),
      (error: Error) => /container\.image: container\.image redis:8\.0\.4-alpine runs Redis, but the model is for Valkey/.test(error.message),
    );
  });

  test('a NetworkPolicy peer that admits every pod or every namespace', () => {
    const objects = all();
    of(objects, 'NetworkPolicy').spec.ingress[0].from.push({ podSelector: {} }, { namespaceSelector: {} });
    assert.deepEqual(rules(objects), ['networkpolicy-peers', 'networkpolicy-peers']);
  });
});
