/**
 * The rendered redis.conf boots every engine of the matrix (Redis 7.0, 8.0, Valkey 8.1), and CONFIG GET returns the model's value for
 * every modelled directive: under each eviction policy, each fsync policy, each log level, and a model
 * with every value moved off its default.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { EVICTION_POLICIES, FSYNC_POLICIES, LOG_LEVELS, profile, type Deployment } from '../src/config/index.js';
import { closeConnection } from '../src/connect/index.js';
import { startTestServer, testEngines, type TestEngine, type TestServer } from './helpers/redis.js';

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

/** What CONFIG GET answers for each directive, written out by hand from the model (bytes, Redis's spelling). */
function expectedConfig(d: Deployment): Record<string, string> {
  const cobl = d.advanced.clientOutputBufferLimit;
  return {
    port: String(d.server.port),
    bind: d.server.bind.join(' '),
    'protected-mode': yesNo(d.server.protectedMode),
    daemonize: 'no',
    databases: String(d.server.databases),
    maxmemory: String(d.memory.maxmemory),
    'maxmemory-policy': d.memory.maxmemoryPolicy,
    appendonly: yesNo(d.persistence.appendonly),
    appendfsync: d.persistence.appendfsync,
    save: d.persistence.save.map((p) => `${p.seconds} ${p.changes}`).join(' '),
    'aof-rewrite-incremental-fsync': yesNo(d.persistence.aofRewriteIncrementalFsync),
    'aof-use-rdb-preamble': yesNo(d.persistence.aofUseRdbPreamble),
    dbfilename: d.persistence.dbfilename,
    appendfilename: d.persistence.appendfilename,
    appenddirname: d.persistence.appenddirname,
    loglevel: d.logging.loglevel,
    logfile: '',
    'tcp-keepalive': String(d.performance.tcpKeepalive),
    timeout: String(d.performance.timeout),
    'tcp-backlog': String(d.performance.tcpBacklog),
    activerehashing: yesNo(d.performance.activerehashing),
    hz: String(d.performance.hz),
    'hash-max-listpack-entries': String(d.advanced.hashMaxListpackEntries),
    'hash-max-listpack-value': String(d.advanced.hashMaxListpackValue),
    'list-max-listpack-size': String(d.advanced.listMaxListpackSize),
    'set-max-intset-entries': String(d.advanced.setMaxIntsetEntries),
    'zset-max-listpack-entries': String(d.advanced.zsetMaxListpackEntries),
    'zset-max-listpack-value': String(d.advanced.zsetMaxListpackValue),
    'hll-sparse-max-bytes': String(d.advanced.hllSparseMaxBytes),
    'client-output-buffer-limit': (['normal', 'replica', 'pubsub'] as const)
      .map((c) => `${c === 'replica' ? 'slave' : c} ${cobl[c].hardLimit} ${cobl[c].softLimit} ${cobl[c].softSeconds}`)
      .join(' '),
  };
}

async function assertConfigMatches(server: TestServer): Promise<void> {
  const client = await server.connect('admin');
  try {
    const expected = expectedConfig(server.model);
    for (const [name, value] of Object.entries(expected)) {
      const reply = (await client.sendCommand(['CONFIG', 'GET', name])) as string[];
      assert.deepEqual(reply, [name, value], `CONFIG GET ${name}`);
    }
  } finally {
    await closeConnection(client);
  }
}

function variant(change: (d: Deployment) => void): Deployment {
  const d = profile('neurallog');
  change(d);
  return d;
}

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function check(engine: TestEngine, model: Deployment): Promise<void> {
  model.engine = engine.identity.engine;
  model.version = engine.identity.version;
  const server = await startTestServer({ model, engine });
  servers.push(server);
  try {
    await assertConfigMatches(server);
  } finally {
    await server.stop();
    servers.splice(servers.indexOf(server), 1);
  }
}

for (const engine of testEngines()) {
  describe(`rendered redis.conf on ${engine.label}: CONFIG GET returns the model`, () => {
    for (const policy of EVICTION_POLICIES) {
      test(`${engine.label}: maxmemory-policy ${policy}`, () =>
        check(
          engine,
          variant((d) => (d.memory.maxmemoryPolicy = policy)),
        ));
    }
    for (const fsync of FSYNC_POLICIES) {
      test(`${engine.label}: appendfsync ${fsync}`, () =>
        check(
          engine,
          variant((d) => (d.persistence.appendfsync = fsync)),
        ));
    }
    for (const level of LOG_LEVELS) {
      test(`${engine.label}: loglevel ${level}`, () =>
        check(
          engine,
          variant((d) => (d.logging.loglevel = level)),
        ));
    }
    test(`${engine.label}: the guide profile (its values verbatim, users made safe for the test)`, () =>
      check(engine, { ...profile('guide'), security: profile('neurallog').security }));
    test(`${engine.label}: every value moved off its default`, () =>
      check(
        engine,
        variant((d) => {
          d.server.protectedMode = false;
          d.server.databases = 32;
          d.memory.maxmemory = 100 * 1024 * 1024 + 1;
          d.persistence.appendonly = false;
          d.persistence.save = [{ seconds: 120, changes: 7 }];
          d.persistence.aofRewriteIncrementalFsync = false;
          d.persistence.aofUseRdbPreamble = false;
          d.persistence.dbfilename = 'neurallog.rdb';
          d.persistence.appendfilename = 'neurallog.aof';
          d.persistence.appenddirname = 'aof';
          d.performance = { tcpKeepalive: 60, timeout: 30, tcpBacklog: 128, activerehashing: false, hz: 50 };
          d.advanced = {
            hashMaxListpackEntries: 256,
            hashMaxListpackValue: 128,
            listMaxListpackSize: -3,
            setMaxIntsetEntries: 1024,
            zsetMaxListpackEntries: 64,
            zsetMaxListpackValue: 32,
            hllSparseMaxBytes: 4000,
            clientOutputBufferLimit: {
              normal: { hardLimit: 1024 * 1024, softLimit: 512 * 1024, softSeconds: 5 },
              replica: { hardLimit: 512 * 1024 * 1024, softLimit: 128 * 1024 * 1024, softSeconds: 120 },
              pubsub: { hardLimit: 64 * 1024 * 1024, softLimit: 16 * 1024 * 1024, softSeconds: 30 },
            },
          };
        }),
      ));
    test(`${engine.label}: snapshots disabled (save "")`, () =>
      check(
        engine,
        variant((d) => (d.persistence.save = [])),
      ));
  });
}
