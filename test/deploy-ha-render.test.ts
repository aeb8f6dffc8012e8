/**
 * `render kubernetes` and `render compose` for `topology.kind` sentinel and cluster: golden files,
 * every object through kubernetes-models and the strict layer, the semantic rules, the shapes the
 * charts get wrong (publishNotReadyAddresses, hostnames announced, a writable sentinel.conf, nodes.conf
 * on the volume, no password in argv), Debian's `docker-compose config -q`, and each refusal.
 * The loopback runs of the same renders are test/deploy-ha-live.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseYamlModel } from '../src/config/load.js';
import { profile } from '../src/config/profiles.js';
import type { Deployment } from '../src/config/schema.js';
import { ConfigError } from '../src/errors.js';
import {
  checkManifests,
  kubernetesObjects,
  refusals,
  renderCompose,
  renderKubernetes,
  renderRedisConf,
  type Manifest,
  type RenderedFile,
} from '../src/render/index.js';
import { strictErrors } from './helpers/k8s-strict.js';
import { runCliSync } from './helpers/run-cli.js';

type Obj = Record<string, any>;
const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
const ROOT = here('..');
const fixtureSecrets: Record<string, string> = {
  ...(JSON.parse(readFileSync(here('./fixtures/secrets.json'), 'utf8')) as { users: Record<string, string> }).users,
  replica: 'replica-fixture-password',
  sentinel: 'sentinel-fixture-password',
};
const REGENERATE = 'UPDATE_GOLDEN=1 node --import tsx --test test/deploy-ha-render.test.ts';
const MiB = 1024 * 1024;

const temps: string[] = [];
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nlr-ha-render-'));
  temps.push(dir);
  return dir;
}
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** The neurallog profile as a topology, with the memory its master needs for its replicas' buffers. */
function model(kind: 'sentinel' | 'cluster', change?: (d: Deployment) => void): Deployment {
  const d = profile('neurallog');
  d.topology.kind = kind;
  d.container.memoryLimit = (kind === 'sentinel' ? 896 : 640) * MiB;
  change?.(d);
  return d;
}

function assertGoldenTree(dir: string, files: readonly RenderedFile[]): void {
  const root = here(`./golden/${dir}`);
  if (process.env.UPDATE_GOLDEN === '1') {
    rmSync(root, { recursive: true, force: true });
    for (const f of files) {
      mkdirSync(dirname(join(root, f.path)), { recursive: true });
      writeFileSync(join(root, f.path), f.content);
    }
    return;
  }
  const listed = (d: string, prefix = ''): string[] =>
    existsSync(d)
      ? readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listed(join(d, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
      : [];
  assert.deepEqual(
    listed(root).sort(),
    files.map((f) => f.path).sort(),
    `test/golden/${dir} does not hold exactly the rendered files; regenerate with \`${REGENERATE}\``,
  );
  for (const f of files) {
    const expected = readFileSync(join(root, f.path), 'utf8');
    assert.ok(expected === f.content, `test/golden/${dir}/${f.path} differs; if intended, regenerate with \`${REGENERATE}\` and review the diff`);
  }
}

const objectsOf = (d: Deployment) => kubernetesObjects(d, fixtureSecrets).map((o) => JSON.parse(JSON.stringify(o.manifest)) as Obj);
const find = (objects: Obj[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;

describe('golden files (neurallog profile as a topology, test/fixtures/secrets.json plus replica and sentinel)', () => {
  test('test/golden/kubernetes-sentinel/ and kubernetes-cluster/', () => {
    assertGoldenTree('kubernetes-sentinel', renderKubernetes(model('sentinel'), fixtureSecrets));
    assertGoldenTree('kubernetes-cluster', renderKubernetes(model('cluster'), fixtureSecrets));
  });
  test('test/golden/compose-sentinel/ and compose-cluster/', () => {
    assertGoldenTree('compose-sentinel', renderCompose(model('sentinel'), fixtureSecrets));
    assertGoldenTree('compose-cluster', renderCompose(model('cluster'), fixtureSecrets));
  });
});

const VARIANTS: Record<string, Deployment> = {
  sentinel: model('sentinel'),
  cluster: model('cluster'),
  'sentinel, Valkey, 5 Sentinels, quorum 3, monitoring on, another name and namespace': model('sentinel', (d) => {
    Object.assign(d, parseYamlModel('engine: valkey\n', 'v.yaml').deployment, { topology: d.topology, container: d.container });
    d.container.image = 'valkey/valkey:8.1-alpine';
    d.topology.sentinel = { ...d.topology.sentinel, sentinels: 5, quorum: 3 };
    d.name = 'logs';
    d.deploy.namespace = 'prod';
    d.deploy.monitoring = { serviceMonitor: true, prometheusRule: true };
  }),
  'cluster of 5 masters with 2 replicas each, port 6380': model('cluster', (d) => {
    d.topology.cluster.masters = 5;
    d.topology.cluster.replicasPerMaster = 2;
    d.server.port = 6380;
    d.container.memoryLimit = 896 * MiB;
  }),
};

describe('every rendered object is valid offline', () => {
  for (const [name, d] of Object.entries(VARIANTS)) {
    test(`${name}: kubernetes-models, unknown fields, names, semantic rules`, () => {
      const files = renderKubernetes(d, fixtureSecrets);
      const manifests: Manifest[] = [];
      for (const file of files.slice(1)) {
        const doc = parse(file.content, { version: '1.1' }) as Obj;
        if (doc.apiVersion === 'monitoring.coreos.com/v1') continue;
        assert.deepEqual(strictErrors(doc), [], file.path);
        manifests.push(doc as Manifest);
      }
      assert.deepEqual(checkManifests(manifests), []);
      assert.deepEqual(
        (parse(files[0]!.content) as Obj).resources,
        files.slice(1).map((f) => f.path),
      );
    });
  }
});

describe('the shapes that keep data and find each other', () => {
  test('sentinel: pods named by stable DNS through headless Services that publish not-ready pods; a client Service on 26379', () => {
    const objects = objectsOf(model('sentinel'));
    for (const name of ['redis', 'redis-sentinel-headless']) {
      const svc = find(objects, 'Service', name).spec;
      assert.equal(svc.clusterIP, 'None', name);
      assert.equal(svc.publishNotReadyAddresses, true, name);
    }
    assert.deepEqual(find(objects, 'Service', 'redis-sentinel').spec.ports, [{ port: 26379, targetPort: 'sentinel', name: 'sentinel' }]);
    const sentinels = find(objects, 'StatefulSet', 'redis-sentinel').spec;
    assert.equal(sentinels.replicas, 3);
    const script: string = sentinels.template.spec.containers[0].command[2];
    assert.match(script, /> \/run\/redis\/sentinel\.conf\n/, 'written into the emptyDir');
    assert.match(script, /exec redis-server \/run\/redis\/sentinel\.conf --sentinel\n$/);
    assert.deepEqual(sentinels.template.spec.volumes.find((v: Obj) => v.name === 'run').emptyDir, { medium: 'Memory', sizeLimit: '1Mi' });
    const cm = find(objects, 'ConfigMap', 'redis-config').data;
    assert.equal(cm['redis.conf'], renderRedisConf(model('sentinel')), 'redis.conf stays `render conf`');
    for (const line of [
      'sentinel resolve-hostnames yes',
      'sentinel announce-hostnames yes',
      'sentinel announce-ip @SELF@',
      'sentinel monitor mymaster @MASTER@ @MASTER_PORT@ 2',
    ])
      assert.ok(cm['sentinel.conf'].includes(`${line}\n`), line);
    assert.ok(cm['sentinel.conf'].indexOf('resolve-hostnames') < cm['sentinel.conf'].indexOf('sentinel monitor'), 'resolve-hostnames before monitor');
    const data = find(objects, 'StatefulSet', 'redis').spec;
    assert.equal(data.replicas, 3);
    assert.match(data.template.spec.containers[0].command[2], /printf 'replica-announce-ip %s\\n' "\$self"/);
    assert.deepEqual(find(objects, 'PodDisruptionBudget', 'redis-sentinel').spec.maxUnavailable, 1);
  });

  test('sentinel users: replica and sentinel in users.acl with the documented rights; the Sentinels have no default user', () => {
    const secret = find(objectsOf(model('sentinel')), 'Secret', 'redis-auth').data;
    const text = (key: string) => Buffer.from(secret[key], 'base64').toString('utf8');
    assert.match(text('users.acl'), /^user replica on #[0-9a-f]{64} -@all \+psync \+replconf \+ping$/m);
    assert.match(text('users.acl'), /^user sentinel on #[0-9a-f]{64} &__sentinel__:hello -@all \+multi \+exec \+slaveof/m);
    assert.match(text('sentinel-users.conf'), /^user default off resetpass -@all$/m);
    assert.equal(text('replica-password'), fixtureSecrets.replica);
  });

  test('cluster: nodes.conf on the persistent volume, hostnames announced and preferred, bus port open to peers, a bootstrap Job', () => {
    const objects = objectsOf(model('cluster'));
    const conf: string = find(objects, 'ConfigMap', 'redis-config').data['topology.conf'];
    for (const line of ['cluster-enabled yes', 'cluster-config-file nodes.conf', 'cluster-node-timeout 5000', 'cluster-preferred-endpoint-type hostname'])
      assert.ok(conf.includes(`${line}\n`), line);
    const sts = find(objects, 'StatefulSet', 'redis').spec;
    assert.equal(sts.replicas, 6);
    assert.equal(sts.podManagementPolicy, 'Parallel');
    const redis = sts.template.spec.containers[0];
    assert.ok(redis.command[2].includes('--dir /data'), 'nodes.conf lands in --dir, the PVC');
    assert.deepEqual(redis.volumeMounts[0], { name: 'redis-data', mountPath: '/data' });
    assert.match(redis.command[2], /cluster-announce-hostname %s/);
    assert.deepEqual(redis.ports[1], { containerPort: 16379, name: 'cluster-bus' });
    const np = find(objects, 'NetworkPolicy', 'redis').spec.ingress.at(-1);
    assert.deepEqual(np.ports, [
      { protocol: 'TCP', port: 6379 },
      { protocol: 'TCP', port: 16379 },
    ]);
    const job = find(objects, 'Job', 'redis-cluster-create').spec.template.spec.containers[0];
    assert.deepEqual(job.env, [{ name: 'REDISCLI_AUTH', valueFrom: { secretKeyRef: { name: 'redis-auth', key: 'admin-password' } } }]);
    assert.match(job.command[2], /cluster_known_nodes/);
    assert.match(job.command[2], /--cluster create \$addrs --cluster-replicas 1 --cluster-yes/);
    assert.equal(objects.filter((o) => o.kind === 'CronJob').length, 0, 'no single-node backup of one shard');
  });

  test('no password in argv, in a non-secret file, or in a printed command; the Secret and secrets/ hold them', () => {
    for (const kind of ['sentinel', 'cluster'] as const) {
      for (const f of [...renderKubernetes(model(kind), fixtureSecrets), ...renderCompose(model(kind), fixtureSecrets)].filter((x) => !x.secret))
        for (const pw of Object.values(fixtureSecrets))
          assert.ok(!f.content.includes(pw) && !f.content.includes(Buffer.from(pw).toString('base64')), `${kind} ${f.path} holds a password`);
      assert.deepEqual(
        renderCompose(model(kind), fixtureSecrets)
          .filter((f) => f.secret)
          .map((f) => f.path),
        kind === 'sentinel'
          ? [
              'secrets/users.acl',
              'secrets/sentinel-users.conf',
              'secrets/admin-password',
              'secrets/app-password',
              'secrets/backup-password',
              'secrets/commander-password',
              'secrets/monitor-password',
              'secrets/ops-password',
              'secrets/replica-password',
              'secrets/sentinel-password',
              'secrets/redis-commander.json',
            ]
          : [
              'secrets/users.acl',
              'secrets/admin-password',
              'secrets/app-password',
              'secrets/backup-password',
              'secrets/commander-password',
              'secrets/monitor-password',
              'secrets/ops-password',
              'secrets/replica-password',
              'secrets/redis-commander.json',
            ],
      );
    }
  });

  test('rendering is deterministic whatever the key order of the secrets', () => {
    const shuffled = Object.fromEntries(Object.entries(fixtureSecrets).reverse());
    for (const kind of ['sentinel', 'cluster'] as const) {
      assert.deepEqual(renderKubernetes(model(kind), shuffled), renderKubernetes(model(kind), fixtureSecrets));
      assert.deepEqual(renderCompose(model(kind), shuffled), renderCompose(model(kind), fixtureSecrets));
    }
  });
});

describe('refused at render time, naming the field', () => {
  const refused = (d: Deployment, target: 'kubernetes' | 'compose' = 'kubernetes') => refusals(d, target).map((r) => r.path);

  test('the topologies with enough memory render', () => {
    for (const kind of ['sentinel', 'cluster'] as const)
      for (const target of ['kubernetes', 'compose'] as const) assert.deepEqual(refused(model(kind), target), []);
  });

  test('fewer than three Sentinels; a quorum above their number; no replica to promote', () => {
    assert.deepEqual(refused(model('sentinel', (d) => (d.topology.sentinel.sentinels = 2))), ['topology.sentinel.sentinels']);
    assert.deepEqual(
      refused(
        model('sentinel', (d) => (d.topology.sentinel.quorum = 4)),
        'compose',
      ),
      ['topology.sentinel.quorum'],
    );
    assert.deepEqual(refused(model('sentinel', (d) => (d.topology.sentinel.replicas = 0))), ['topology.sentinel.replicas']);
    const both = refusals(
      model('sentinel', (d) => Object.assign(d.topology.sentinel, { sentinels: 1, quorum: 2 })),
      'kubernetes',
    );
    assert.deepEqual(
      both.map((r) => r.path),
      ['topology.sentinel.sentinels', 'topology.sentinel.quorum'],
    );
    assert.match(both[0]!.fix, /Set topology\.sentinel\.sentinels to 3/);
  });

  test('a cluster of fewer than three masters, or without replicas', () => {
    assert.deepEqual(refused(model('cluster', (d) => (d.topology.cluster.masters = 2))), ['topology.cluster.masters']);
    assert.deepEqual(
      refused(
        model('cluster', (d) => (d.topology.cluster.replicasPerMaster = 0)),
        'compose',
      ),
      ['topology.cluster.replicasPerMaster'],
    );
  });

  test('persistence off on masters that restart automatically (both topologies, both targets)', () => {
    for (const kind of ['sentinel', 'cluster'] as const)
      for (const target of ['kubernetes', 'compose'] as const) {
        const d = model(kind, (x) => {
          x.persistence.appendonly = false;
          x.persistence.save = [];
        });
        assert.deepEqual(refused(d, target), ['persistence.appendonly'], `${kind} ${target}`);
      }
  });

  test("the master's memory counts its replicas' output buffers (container.memoryLimit)", () => {
    const d = model('sentinel', (x) => (x.container.memoryLimit = 640 * MiB));
    const found = refusals(d, 'kubernetes');
    assert.deepEqual(
      found.map((r) => r.path),
      ['container.memoryLimit'],
    );
    assert.match(found[0]!.message, /2 replica\(s\)/);
    assert.match(found[0]!.fix, /896Mi/);
  });

  test('renderKubernetes and renderCompose throw one ConfigError listing them', () => {
    const d = model('cluster', (x) => Object.assign(x.topology.cluster, { masters: 1, replicasPerMaster: 0 }));
    for (const render of [() => renderKubernetes(d, fixtureSecrets), () => renderCompose(d, fixtureSecrets)])
      assert.throws(
        render,
        (e: unknown) =>
          e instanceof ConfigError &&
          e.code === 'E_RENDER_REFUSED' &&
          /- topology\.cluster\.masters: /.test(e.message) &&
          /- topology\.cluster\.replicasPerMaster: /.test(e.message),
      );
  });

  test('a replica or sentinel password a config line cannot carry', () => {
    assert.throws(() => renderKubernetes(model('sentinel'), { ...fixtureSecrets, sentinel: 'has space' }), /password of user "sentinel"/);
  });
});

test('render kubernetes --config (a sentinel model) --secrets FILE generates the replica and sentinel passwords', () => {
  const dir = temp();
  writeFileSync(join(dir, 'ha.yaml'), 'topology:\n  kind: sentinel\ncontainer:\n  memoryLimit: 896Mi\n');
  const r = runCliSync(['render', 'kubernetes', '--config', join(dir, 'ha.yaml'), '--secrets', join(dir, 's.json'), '--out', join(dir, 'k')], {
    cwd: ROOT,
    timeoutMs: 30_000,
    env: { NO_COLOR: '1' },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Generated passwords for .*replica, sentinel/);
  assert.ok(existsSync(join(dir, 'k', 'sentinel-statefulset.yaml')));
});

const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;

describe("Debian's docker-compose config -q", { skip: hasCompose ? false : 'docker-compose (Debian package) is not installed' }, () => {
  const check = (files: readonly RenderedFile[]) => {
    const dir = temp();
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.content, { mode: f.secret ? 0o600 : 0o644 });
    }
    return new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = spawn('docker-compose', ['config', '-q'], { cwd: dir, env: { ...process.env, COMPOSE_PROJECT_NAME: 'nlrtest' } });
      let stderr = '';
      child.stderr.on('data', (b) => (stderr += b));
      child.on('close', (status) => resolve({ status, stderr }));
    });
  };

  test('accepts the Sentinel and Cluster directories (Redis and Valkey)', async () => {
    const valkey = model('cluster', (d) => {
      Object.assign(d, parseYamlModel('engine: valkey\n', 'v.yaml').deployment, { topology: d.topology, container: d.container });
      d.container.image = 'valkey/valkey:8.1-alpine';
    });
    const results = await Promise.all([model('sentinel'), model('cluster'), valkey].map((d) => check(renderCompose(d, fixtureSecrets))));
    for (const r of results) assert.equal(r.status, 0, r.stderr);
  });

  test('the services: master and replicas with the alias redis, 3 Sentinels, a one-shot cluster-create after healthy nodes', () => {
    const sentinel = parse(renderCompose(model('sentinel'), fixtureSecrets)[0]!.content) as Obj;
    assert.deepEqual(Object.keys(sentinel.services), [
      'redis-secrets',
      'redis-0',
      'redis-1',
      'redis-2',
      'sentinel-0',
      'sentinel-1',
      'sentinel-2',
      'backup',
      'redis-commander',
    ]);
    assert.deepEqual(sentinel.services['redis-1'].networks, { default: { aliases: ['redis'] } });
    assert.match(sentinel.services['sentinel-0'].entrypoint[2], /exec redis-server \/run\/redis\/sentinel\.conf --sentinel/);
    const cluster = parse(renderCompose(model('cluster'), fixtureSecrets)[0]!.content) as Obj;
    const create = cluster.services['cluster-create'];
    assert.equal(create.restart, 'no');
    assert.deepEqual(Object.keys(create.depends_on), ['redis-0', 'redis-1', 'redis-2', 'redis-3', 'redis-4', 'redis-5']);
    assert.ok(Object.values(create.depends_on).every((c) => (c as Obj).condition === 'service_healthy'));
  });
});
