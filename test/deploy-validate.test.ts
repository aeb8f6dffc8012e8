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
import { parseYamlModel } from '../src/config/load.js';
import { profile } from '../src/config/profiles.js';
import type { Deployment } from '../src/config/schema.js';
import { formatErrors, schemaErrors, strictErrors } from './helpers/k8s-strict.js';
import { checkManifests, kubernetesObjects, renderKubernetes, type Manifest } from '../src/render/index.js';

const fixtureSecrets = (
  JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/secrets.json', import.meta.url)), 'utf8')) as { users: Record<string, string> }
).users;

type Obj = Record<string, any>;
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
