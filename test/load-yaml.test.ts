import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { deepMerge, isYamlPath, loadConfig, parseYamlModel, readConfig } from '../src/config/load.js';
import { profile } from '../src/config/profiles.js';
import { EVICTION_POLICIES } from '../src/config/schema.js';
import { ConfigError } from '../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'neurallog-load-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

/** Runs fn, asserts it throws a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    return error;
  }
  assert.fail('expected a ConfigError');
}

describe('YAML model', () => {
  test('an empty file is the default (neurallog) profile', () => {
    assert.deepStrictEqual(parseYamlModel('', 'm.yaml').deployment, profile('neurallog'));
    assert.deepStrictEqual(parseYamlModel('# only a comment\n', 'm.yaml').deployment, profile('neurallog'));
  });

  test('profile: guide starts from the guide', () => {
    assert.deepStrictEqual(parseYamlModel('profile: guide\n', 'm.yaml').deployment, profile('guide'));
  });

  test('overrides merge into the profile: objects key by key', () => {
    const { deployment } = parseYamlModel('memory: {maxmemory: 512mb}\n', 'm.yaml');
    assert.equal(deployment.memory.maxmemory, 536_870_912);
    assert.equal(deployment.memory.maxmemoryPolicy, 'noeviction', 'the sibling field keeps the profile value');
    assert.deepStrictEqual({ ...deployment, memory: profile('neurallog').memory }, profile('neurallog'));
  });

  test('Redis sizes follow Redis notation, container sizes Kubernetes quantities', () => {
    const { deployment } = parseYamlModel(
      [
        'profile: guide',
        'memory:',
        '  maxmemory: 512m',
        'container:',
        '  memoryLimit: 1Gi',
        '  memoryRequest: 640Mi',
        '  cpuLimit: 500m',
        '  cpuRequest: "0.25"',
        '  storage: 10G',
      ].join('\n'),
      'm.yaml',
    );
    assert.equal(deployment.profile, 'guide');
    assert.equal(deployment.memory.maxmemoryPolicy, 'allkeys-lru');
    assert.equal(deployment.memory.maxmemory, 512_000_000);
    assert.equal(deployment.container.memoryLimit, 1_073_741_824);
    assert.equal(deployment.container.memoryRequest, 671_088_640);
    assert.equal(deployment.container.cpuLimit, 500);
    assert.equal(deployment.container.cpuRequest, 250);
    assert.equal(deployment.container.storage, 10_000_000_000);
  });

  test('arrays replace the profile value', () => {
    const { deployment } = parseYamlModel('persistence:\n  save:\n    - {seconds: 60, changes: 1}\nserver:\n  bind: [127.0.0.1]\n', 'm.yaml');
    assert.deepEqual(deployment.persistence.save, [{ seconds: 60, changes: 1 }]);
    assert.deepEqual(deployment.server.bind, ['127.0.0.1']);
    assert.deepEqual(parseYamlModel('persistence: {save: []}', 'm.yaml').deployment.persistence.save, []);
  });

  test('readConfig and loadConfig read .yaml files', () => {
    const file = write('model.yaml', 'container: {memoryLimit: 1Gi}\n');
    const loaded = loadConfig(file);
    assert.equal(loaded.kind, 'yaml');
    assert.equal(loaded.file, file);
    assert.equal(loaded.deployment.container.memoryLimit, 1_073_741_824);
    assert.deepEqual(loaded.findings, []);
    assert.deepEqual(readConfig(file).deployment, loaded.deployment);
  });

  test('deepMerge merges objects, replaces arrays and scalars, keeps the base for undefined', () => {
    assert.deepEqual(deepMerge({ a: { b: 1, c: 2 }, d: [1, 2] }, { a: { c: 3 }, d: [9] }), { a: { b: 1, c: 3 }, d: [9] });
    assert.equal(deepMerge(5, undefined), 5);
    assert.equal(deepMerge({ a: 1 }, null), null);
  });

  test('isYamlPath', () => {
    assert.ok(isYamlPath('a/b.yaml') && isYamlPath('B.YML') && isYamlPath('x.json'));
    assert.ok(!isYamlPath('redis.conf') && !isYamlPath('yaml'));
  });
});

describe('YAML errors name the file, the line and the path', () => {
  test('an unknown field, nested', () => {
    const error = configError(() => parseYamlModel('profile: guide\nmemory:\n  maxmemory: 1mb\n  maxmemry: 2mb\n', 'deploy.yaml'));
    assert.deepEqual(error.place, { file: 'deploy.yaml', line: 4, path: 'memory.maxmemry' });
    assert.match(error.message, /^deploy\.yaml:4 at memory\.maxmemry: unknown field "maxmemry"/);
  });

  test('an unknown field at the top level', () => {
    const error = configError(() => parseYamlModel('memory: {maxmemory: 1mb}\nfoo: 1\n', 'deploy.yaml'));
    assert.deepEqual(error.place, { file: 'deploy.yaml', line: 2, path: 'foo' });
    assert.match(error.message, /unknown field "foo"/);
  });

  test('an unknown policy lists the allowed values', () => {
    const error = configError(() => parseYamlModel('memory:\n  maxmemoryPolicy: lru\n', 'deploy.yaml'));
    assert.deepEqual(error.place, { file: 'deploy.yaml', line: 2, path: 'memory.maxmemoryPolicy' });
    assert.match(error.message, /^deploy\.yaml:2 at memory\.maxmemoryPolicy: /);
    for (const policy of EVICTION_POLICIES) assert.ok(error.message.includes(`"${policy}"`), policy);
  });

  test('a bad size says what a size looks like', () => {
    const error = configError(() => parseYamlModel('\nmemory:\n  maxmemory: 12zb\n', 'deploy.yaml'));
    assert.deepEqual(error.place, { file: 'deploy.yaml', line: 3, path: 'memory.maxmemory' });
    assert.match(error.message, /"12zb" is not a size/);
    assert.match(error.message, /256mb/);
  });

  test('a bad Kubernetes quantity and fractional bytes', () => {
    const quantity = configError(() => parseYamlModel('container:\n  memoryLimit: 1GB\n', 'deploy.yaml'));
    assert.deepEqual(quantity.place, { file: 'deploy.yaml', line: 2, path: 'container.memoryLimit' });
    assert.match(quantity.message, /"1GB" is not a size.*640Mi/);
    const fraction = configError(() => parseYamlModel('container:\n  memoryLimit: 0.5\n', 'deploy.yaml'));
    assert.equal(fraction.place.path, 'container.memoryLimit');
    assert.match(fraction.message, /int/);
  });

  test('an error inside an array names the index', () => {
    const error = configError(() => parseYamlModel('security:\n  users:\n    - name: app\n      enabled: yes\n', 'deploy.yaml'));
    assert.deepEqual(error.place, { file: 'deploy.yaml', line: 4, path: 'security.users.0.enabled' });
    assert.match(error.message, /expected boolean/);
  });

  test('a wrong type', () => {
    const error = configError(() => parseYamlModel('server:\n  port: "6379"\n', 'deploy.yaml'));
    assert.deepEqual(error.place, { file: 'deploy.yaml', line: 2, path: 'server.port' });
  });

  test('an unknown profile', () => {
    const error = configError(() => parseYamlModel('memory: {}\nprofile: fast\n', 'deploy.yaml'));
    assert.deepEqual(error.place, { file: 'deploy.yaml', line: 2, path: 'profile' });
    assert.match(error.message, /neurallog, guide/);
  });

  test('bad YAML syntax', () => {
    const error = configError(() => parseYamlModel('memory:\n  maxmemory: 1mb\n  policy: [a, b\n', 'deploy.yaml'));
    assert.equal(error.place.file, 'deploy.yaml');
    assert.equal(typeof error.place.line, 'number');
    assert.match(error.message, /^deploy\.yaml:\d+: not valid YAML/);
    const duplicate = configError(() => parseYamlModel('memory: {}\nmemory: {}\n', 'deploy.yaml'));
    assert.match(duplicate.message, /not valid YAML/);
  });

  test('a document that is not a mapping', () => {
    const error = configError(() => parseYamlModel('- a\n- b\n', 'deploy.yaml'));
    assert.match(error.message, /^deploy\.yaml:1: /);
  });

  test('loadConfig on a YAML file throws with the real path', () => {
    const file = write('broken.yml', 'performance:\n  hz: 0\n');
    const error = configError(() => loadConfig(file));
    assert.deepEqual(error.place, { file, line: 2, path: 'performance.hz' });
    assert.ok(error.message.startsWith(`${file}:2 at performance.hz: `));
  });

  test('a missing file', () => {
    const error = configError(() => loadConfig(join(tmp, 'missing.yaml')));
    assert.match(error.message, /ENOENT/);
  });
});

describe('loadConfig on a redis.conf', () => {
  test('a clean file loads, with its secrets apart from the model', () => {
    const file = write('ok.conf', 'maxmemory 128mb\nrequirepass hunter2\n');
    const loaded = loadConfig(file);
    assert.equal(loaded.kind, 'redis.conf');
    assert.equal(loaded.deployment.memory.maxmemory, 128 * 1024 * 1024);
    assert.deepEqual(loaded.secrets, { default: 'hunter2' });
  });

  test('an error throws a ConfigError whose message has file:line', () => {
    const file = write('broken.conf', 'port 6379\nmaxmemory-policy lru\n');
    const error = configError(() => loadConfig(file));
    assert.deepEqual(error.place, { file, line: 2 });
    assert.ok(error.message.startsWith(`${file}:2: `), error.message);
    assert.match(error.message, /lru/);
  });

  test('several errors: the first is reported and the rest are counted', () => {
    const file = write('many.conf', 'appendonly maybe\nhz 0\nset-max-listpack-entries 1\n');
    const error = configError(() => loadConfig(file, { version: '7.0' }));
    assert.ok(error.message.startsWith(`${file}:1: `), error.message);
    assert.match(error.message, /2 more problems/);
    assert.match(error.message, /config lint/);
  });

  test('readConfig returns the same problems as findings instead', () => {
    const file = write('broken2.conf', 'port 6379\nappendonly maybe\n');
    const read = readConfig(file);
    assert.deepEqual(
      read.findings.map((f) => [f.severity, f.place?.line]),
      [['error', 2]],
    );
  });
});

describe('engine and version', () => {
  const model = (text: string) => parseYamlModel(text, 'engine.yaml').deployment;
  const view = (d: ReturnType<typeof model>) => [d.engine, d.version, d.container.image];

  test('the profiles: neurallog is for Redis 8.0.4 on its official image; guide for the 7.4 its redis:7-alpine runs', () => {
    assert.deepEqual(view(model('')), ['redis', '8.0.4', 'redis:8.0.4-alpine']);
    assert.deepEqual(view(model('profile: guide\n')), ['redis', '7.4', 'redis:7-alpine']);
  });

  test('an engine alone takes its default release and image; a version alone keeps the engine', () => {
    assert.deepEqual(view(model('engine: valkey\n')), ['valkey', '8.1.9', 'valkey/valkey:8.1.9-alpine']);
    assert.deepEqual(view(model('version: "7.2"\n')), ['redis', '7.2', 'redis:7.2-alpine']);
    assert.deepEqual(view(model('engine: valkey\nversion: "8.0.1"\n')), ['valkey', '8.0.1', 'valkey/valkey:8.0.1-alpine']);
  });

  test('an image given stays as given', () => {
    assert.deepEqual(view(model('engine: valkey\ncontainer: {image: "registry.example.com/valkey:8.1.9"}\n')), [
      'valkey',
      '8.1.9',
      'registry.example.com/valkey:8.1.9',
    ]);
  });

  test('--engine/--version override the file, and the image follows unless the file gives one', () => {
    const file = write('engine-choice.yaml', 'engine: valkey\n');
    assert.deepEqual(view(readConfig(file, { engine: 'redis', version: '7.0' }).deployment), ['redis', '7.0', 'redis:7.0-alpine']);
    assert.deepEqual(view(readConfig(file, { version: '8.0.1' }).deployment), ['valkey', '8.0.1', 'valkey/valkey:8.0.1-alpine']);
  });

  test('a release older than the tables, an unknown engine, a version that is no release: errors at their line', () => {
    let error = configError(() => parseYamlModel('engine: valkey\nversion: "7.0"\n', 'old.yaml'));
    assert.match(error.message, /old\.yaml:2 at version: Valkey 7\.0 is older than Valkey 7\.2/);
    error = configError(() => parseYamlModel('engine: keydb\n', 'keydb.yaml'));
    assert.match(error.message, /keydb\.yaml:1 at engine: allowed values: "redis", "valkey"/);
    error = configError(() => parseYamlModel('version: "8"\n', 'eight.yaml'));
    assert.match(error.message, /eight\.yaml:1 at version: a release such as "8\.0" or "8\.0\.2"/);
  });

  test('a model stored before engine and version existed (deployment.json) reads as Redis of the default release', async () => {
    const { deploymentSchema } = await import('../src/config/schema.js');
    const { engine: _e, version: _v, ...old } = profile('neurallog');
    const read = deploymentSchema.parse(old);
    assert.deepEqual([read.engine, read.version], ['redis', '8.0.4']);
  });
});
