/**
 * `up` runs the real system: authentication on, least-privilege users, private files, no secret in
 * any argv; data kept across restarts; passwords rotated live; clear errors for what goes wrong.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeConnection, deploymentPaths } from '../src/connect/index.js';
import { NeuralLogRedisError } from '../src/errors.js';
import { downDeployment, freePort, isAlive, rotatePassword, upDeployment } from '../src/runtime/index.js';
import { cliProgram } from '../src/config/engines.js';
import { judgeDirective } from '../src/config/engine-directives.js';
import { tempDir, testEngines, upTestDeployment, type TestDeployment, type TestEngine } from './helpers/redis.js';
import { cliArgv, runCliSync } from './helpers/run-cli.js';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliSync(args, { env, timeoutMs: 60_000 });

/** redis-cli with the password in the environment (never in argv). */
function redisCli(port: number, args: string[], auth?: { user: string; password: string }, host = '127.0.0.1', netns?: string): string {
  const base = ['-h', host, '-p', String(port), ...(auth ? ['--user', auth.user] : []), ...args];
  const [cmd, argv] = netns ? ['ip', ['netns', 'exec', netns, 'redis-cli', ...base]] : ['redis-cli', base];
  const r = spawnSync(cmd, argv as string[], { encoding: 'utf8', env: { ...process.env, ...(auth ? { REDISCLI_AUTH: auth.password } : {}) }, timeout: 15_000 });
  return `${r.stdout}${r.stderr}`.trim();
}

function allCommandLines(): string[] {
  const out: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      out.push(readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // process gone
    }
  }
  return out;
}

describe('up: a secure deployment on real redis-server', () => {
  let d: TestDeployment;
  before(async () => {
    d = await upTestDeployment();
  });
  after(async () => {
    await d.cleanup();
  });

  test('an unauthenticated client is refused; the app user works', async () => {
    const port = d.result.port;
    assert.match(redisCli(port, ['PING']), /NOAUTH/);
    assert.match(redisCli(port, ['GET', 'logs:1']), /NOAUTH/);
    assert.match(redisCli(port, ['--user', 'default', '--pass', 'x', 'PING']), /WRONGPASS|invalid/i);
    const app = await d.connect('app');
    try {
      assert.equal(await app.set('logs:1', '{"level":"info"}'), 'OK');
      assert.equal(await app.get('logs:1'), '{"level":"info"}');
      await assert.rejects(app.set('other:1', 'x'), /NOPERM/);
    } finally {
      await closeConnection(app);
    }
  });

  test('ACL DRYRUN: app cannot FLUSHALL, CONFIG SET or DEBUG; monitor cannot GET or CONFIG GET', async () => {
    const admin = await d.connect('admin');
    try {
      const dry = async (user: string, ...command: string[]) => String(await admin.sendCommand(['ACL', 'DRYRUN', user, ...command]));
      assert.match(await dry('app', 'FLUSHALL'), /no permissions/);
      assert.match(await dry('app', 'CONFIG', 'SET', 'maxmemory', '1'), /no permissions/);
      assert.match(await dry('app', 'DEBUG', 'SLEEP', '0'), /no permissions/);
      assert.equal(await dry('app', 'ZADD', 'idx:logs:time', '1', 'a'), 'OK');
      assert.match(await dry('monitor', 'GET', 'logs:1'), /no permissions/);
      assert.match(await dry('monitor', 'CONFIG', 'GET', 'masterauth'), /no permissions/);
      assert.equal(await dry('monitor', 'INFO'), 'OK');
      assert.equal(await dry('backup', 'PSYNC', '?', '-1'), 'OK');
      assert.match(await dry('backup', 'GET', 'logs:1'), /no permissions/);
      const acl = (await admin.sendCommand(['ACL', 'LIST'])) as string[];
      assert.match(acl[0]!, /^user admin on|^user app on|^user default off/);
      assert.ok(
        acl.some((l) => l.startsWith('user default off') && !l.includes('nopass')),
        acl.join('\n'),
      );
    } finally {
      await closeConnection(admin);
    }
  });

  test('every file holding a secret is 0600, also after CONFIG REWRITE and ACL SAVE', async () => {
    const admin = await d.connect('admin');
    try {
      assert.equal(await admin.sendCommand(['CONFIG', 'REWRITE']), 'OK');
      assert.equal(await admin.sendCommand(['ACL', 'SAVE']), 'OK');
      await admin.set('logs:2', 'x');
      assert.equal(await admin.sendCommand(['SAVE']), 'OK');
    } finally {
      await closeConnection(admin);
    }
    const paths = deploymentPaths(d.dir);
    for (const file of [paths.secrets, paths.acl, paths.conf, join(paths.data, 'dump.rdb')]) {
      assert.equal(statSync(file).mode & 0o777, 0o600, `${file} mode`);
    }
  });

  test('no process on this machine has a password in its argv', () => {
    const lines = allCommandLines();
    for (const [user, password] of Object.entries(d.passwords())) {
      assert.ok(!lines.some((l) => l.includes(password)), `the ${user} password appears in a process's argv`);
    }
    assert.ok(
      lines.some((l) => l.includes('redis-server') && l.includes(String(d.result.port))),
      'redis-server is visible',
    );
  });

  test('up again on a running deployment says so and exits 0; status and url work', () => {
    const again = cli(['up', '--dir', d.dir, '--detach']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already running/);
    const status = cli(['status', '--dir', d.dir, '--json']);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout);
    assert.equal(s.version, 1);
    assert.equal(s.running, true);
    assert.equal(s.redisVersion.startsWith('7.'), true);
    const url = cli(['url', '--dir', d.dir, '--user', 'app']);
    assert.equal(url.stdout.trim(), `redis://app@127.0.0.1:${d.result.port}`);
    const withPassword = cli(['url', '--dir', d.dir, '--user', 'app', '--show-password']);
    assert.equal(withPassword.stdout.trim(), `redis://app:${encodeURIComponent(d.passwords().app!)}@127.0.0.1:${d.result.port}`);
    assert.equal(redisCli(d.result.port, ['-u', withPassword.stdout.trim(), '--no-auth-warning', 'PING']), 'PONG');
  });

  test('rotate-password: the old password is refused, the new works, no restart, open connections stay', async () => {
    const before = d.passwords().app!;
    const pid = d.result.pid;
    const open = await d.connect('app');
    try {
      const result = await rotatePassword(d.dir, 'app');
      assert.equal(result.live, true);
      const after = d.passwords().app!;
      assert.notEqual(after, before);
      assert.match(redisCli(d.result.port, ['PING'], { user: 'app', password: before }), /WRONGPASS|invalid/i);
      assert.equal(redisCli(d.result.port, ['PING'], { user: 'app', password: after }), 'PONG');
      assert.equal(await open.ping(), 'PONG');
      assert.equal(isAlive(pid), true);
    } finally {
      await closeConnection(open);
    }
    const viaCli = cli(['rotate-password', '--dir', d.dir, '--user', 'monitor']);
    assert.equal(viaCli.code, 0, viaCli.stderr);
    assert.equal(redisCli(d.result.port, ['PING'], { user: 'monitor', password: d.passwords().monitor! }), 'PONG');
  });
});

describe('up and down keep data', () => {
  test('down persists; up again on the same directory keeps data and credentials', async () => {
    const d = await upTestDeployment();
    try {
      const app = await d.connect('app');
      await app.set('logs:keep', 'kept');
      await app.zAdd('idx:logs:time', { score: 1, value: 'keep' });
      await closeConnection(app);
      const passwords = d.passwords();
      const down = cli(['down', '--dir', d.dir]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(isAlive(d.result.pid), false);
      assert.ok(existsSync(join(d.dir, 'data', 'appendonlydir')), 'the AOF directory stays');
      const downAgain = cli(['down', '--dir', d.dir]);
      assert.equal(downAgain.code, 0);
      assert.match(downAgain.stderr, /not running/);
      const again = await upDeployment({ dir: d.dir, readyTimeoutMs: 20_000 });
      assert.equal(again.alreadyRunning, false);
      assert.equal(again.port, d.result.port);
      assert.deepEqual(d.passwords(), passwords);
      const app2 = await d.connect('app');
      assert.equal(await app2.get('logs:keep'), 'kept');
      assert.equal(await app2.zScore('idx:logs:time', 'keep'), 1);
      await closeConnection(app2);
    } finally {
      await d.cleanup();
    }
  });

  test('the foreground up stops cleanly on SIGTERM and SIGINT, persisting data first', async () => {
    const temp = tempDir();
    try {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        const port = await freePort();
        const child = spawn(...cliArgv('up', '--dir', temp.path, '--port', String(port)), {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (b) => (out += b));
        child.stderr.on('data', (b) => (out += b));
        const deadline = Date.now() + 30_000;
        while (!/Running in the foreground/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.match(out, /Running in the foreground/);
        const secrets = JSON.parse(readFileSync(join(temp.path, 'secrets.json'), 'utf8'));
        assert.equal(redisCli(port, ['SET', `logs:${signal}`, 'v'], { user: 'app', password: secrets.users.app }), 'OK');
        const code = await new Promise<number | null>((resolve) => {
          child.on('exit', (c) => resolve(c));
          child.kill(signal);
        });
        assert.equal(code, 0, out);
        assert.match(out, /Stopped/);
      }
      const d = await upDeployment({ dir: temp.path, readyTimeoutMs: 20_000 });
      const secrets = JSON.parse(readFileSync(join(temp.path, 'secrets.json'), 'utf8'));
      assert.equal(redisCli(d.port, ['MGET', 'logs:SIGTERM', 'logs:SIGINT'], { user: 'app', password: secrets.users.app }), 'v\nv');
      await downDeployment(temp.path);
    } finally {
      temp.remove();
    }
  });
});

describe('up: clear errors', () => {
  test('a port in use', async () => {
    const server = createServer();
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    const temp = tempDir();
    try {
      const r = cli(['up', '--dir', temp.path, '--port', String(port), '--detach']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
    } finally {
      server.close();
      temp.remove();
    }
  });

  test('a directory that cannot be written', async () => {
    const temp = tempDir();
    try {
      writeFileSync(join(temp.path, 'file'), '');
      const r = cli(['up', '--dir', join(temp.path, 'file', 'sub'), '--detach']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /cannot write to .*file\/sub/);
    } finally {
      temp.remove();
    }
  });

  test('a stale pid file is cleaned up and reported', async () => {
    const temp = tempDir();
    try {
      const dead = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
      writeFileSync(join(temp.path, 'redis.pid'), `${dead}\n`);
      const d = await upTestDeployment({ dir: temp.path });
      assert.match(d.result.staleState ?? '', /stale pid file/);
      await d.down();
    } finally {
      temp.remove();
    }
  });

  test('a redis-server that exits at start shows its log lines', async () => {
    const temp = tempDir();
    try {
      const model = join(temp.path, 'model.yaml');
      writeFileSync(model, 'extraDirectives:\n  - name: maxclients\n    args: ["lots"]\n');
      await assert.rejects(
        upDeployment({ dir: join(temp.path, 'dep'), port: await freePort(), config: model, readyTimeoutMs: 20_000 }),
        (error: NeuralLogRedisError) => {
          assert.equal(error.code, 'E_START_FAILED');
          assert.match(error.message, /exited during start/);
          assert.match(error.message, /maxclients/);
          return true;
        },
      );
    } finally {
      temp.remove();
    }
  });

  test('--server that is not a Redis or Valkey server, or does not exist, is a usage error naming it', () => {
    const temp = tempDir();
    try {
      const notServer = cli(['up', '--dir', join(temp.path, 'a'), '--server', '/bin/echo', '--detach']);
      assert.equal(notServer.code, 2, notServer.stderr);
      assert.match(notServer.stderr, /\/bin\/echo is not redis-server or valkey-server/);
      const missing = cli(['up', '--dir', join(temp.path, 'b'), '--server', join(temp.path, 'no-such-server'), '--detach']);
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /no-such-server: cannot run it \(ENOENT\)/);
      assert.ok(!existsSync(join(temp.path, 'a', 'redis.conf')), 'nothing written');
    } finally {
      temp.remove();
    }
  });

  test('the guide profile is refused without --allow-insecure', async () => {
    const temp = tempDir();
    try {
      const r = cli(['up', '--dir', temp.path, '--config', join(import.meta.dirname, 'fixtures', 'guide-redis.conf'), '--detach']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /without a password .*--allow-insecure/);
    } finally {
      temp.remove();
    }
  });

  test('a malformed config names file and line, without a stack trace', async () => {
    const temp = tempDir();
    try {
      const cases: Array<[string, string, RegExp]> = [
        ['bad-size.conf', 'port 7000\nmaxmemory 12zb\n', /bad-size\.conf:2: "maxmemory" "12zb" is not a size/],
        ['bad-policy.conf', 'maxmemory-policy lru\n', /bad-policy\.conf:1: .*not one of: noeviction/],
        ['bad-quote.conf', 'port 7000\n\nlogfile "unterminated\n', /bad-quote\.conf:3: unbalanced double quotes/],
        // a redis.conf is read for the binary about to run it (here the host's redis-server)
        ['unknown.conf', 'no-such-directive 128\n', /unknown\.conf:1: "no-such-directive" is not a directive Redis \d+\.\d+\.\d+ accepts/],
        ['bad.yaml', 'memory:\n  maxmemoryPolicy: lru\n', /bad\.yaml:2 at memory\.maxmemoryPolicy: allowed values: "noeviction"/],
      ];
      for (const [name, text, expected] of cases) {
        const file = join(temp.path, name);
        writeFileSync(file, text);
        const r = cli(['up', '--dir', join(temp.path, 'dep'), '--config', file, '--detach']);
        assert.equal(r.code, 2, `${name}: ${r.stderr}`);
        assert.match(r.stderr, expected);
        const messages = r.stderr
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('Starting '));
        assert.equal(messages.length, 1, `${name}: one clear message\n${r.stderr}`);
      }
    } finally {
      temp.remove();
    }
  });
});

/** The engine's own CLI with the password in the environment (never in argv). */
function engineCli(engine: TestEngine, port: number, args: string[], auth?: { user: string; password: string }): string {
  const r = spawnSync(engine.cli, ['-h', '127.0.0.1', '-p', String(port), ...(auth ? ['--user', auth.user] : []), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...(auth ? { REDISCLI_AUTH: auth.password } : {}) },
    timeout: 15_000,
  });
  return `${r.stdout}${r.stderr}`.trim();
}

const BIN = join(import.meta.dirname, '..', 'bin', 'neurallog-redis');
function bin(args: string[]) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A directive this engine's release refuses and another release here accepts (from the tables, checked on the servers by config-engines). */
function refusedBy(engine: TestEngine): string {
  const candidates = ['hide-user-data-from-log', 'replica-full-sync-buffer-limit', 'commandlog-slow-execution-max-len', 'primaryauth'];
  const name = candidates.find((n) => judgeDirective(engine.identity, n).status === 'unknown');
  assert.ok(name, `a directive ${engine.label} refuses`);
  return name;
}

for (const engine of testEngines()) {
  describe(`up on ${engine.label}`, () => {
    let d: TestDeployment;
    before(async () => {
      d = await upTestDeployment({ engine });
    });
    after(async () => {
      await d?.cleanup();
    });

    test(`${engine.label}: the server is ${engine.label}; ACL users work, anonymous clients get NOAUTH`, async () => {
      assert.equal(d.result.engine, engine.identity.engine);
      assert.equal(d.result.engineVersion, engine.identity.version);
      assert.equal(d.result.serverPath, engine.server);
      // a fresh deployment with no model is for the binary that runs it: no note
      assert.deepEqual(d.result.target, { engine: engine.identity.engine, version: engine.identity.version });
      assert.equal(d.result.targetNote, undefined);
      const port = d.result.port;
      assert.match(engineCli(engine, port, ['PING']), /NOAUTH/);
      assert.equal(engineCli(engine, port, ['PING'], { user: 'monitor', password: d.passwords().monitor! }), 'PONG');
      assert.match(engineCli(engine, port, ['GET', 'logs:1'], { user: 'monitor', password: d.passwords().monitor! }), /NOPERM/);
      const app = await d.connect('app');
      try {
        assert.equal(await app.set('logs:1', 'x'), 'OK');
        await assert.rejects(app.set('other:1', 'x'), /NOPERM/);
        const admin = await d.connect('admin');
        const info = String(await admin.sendCommand(['INFO', 'server']));
        await closeConnection(admin);
        assert.match(
          info,
          engine.identity.engine === 'valkey'
            ? new RegExp(`valkey_version:${engine.identity.version}`)
            : new RegExp(`redis_version:${engine.identity.version}`),
        );
      } finally {
        await closeConnection(app);
      }
    });

    test(`${engine.label}: status --json reports the engine and its version, and the model's target`, () => {
      const status = cli(['status', '--dir', d.dir, '--json']);
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout);
      assert.equal(s.version, 1, 'the JSON format version keeps its field');
      assert.equal(s.engine, engine.identity.engine);
      assert.equal(s.engineVersion, engine.identity.version);
      assert.equal(s.serverPath, engine.server);
      assert.deepEqual(Object.keys(s.target).sort(), ['engine', 'version']);
      const text = cli(['status', '--dir', d.dir]);
      assert.match(text.stdout, new RegExp(`server +${engine.label.replaceAll('.', '\\.')}, role master`));
    });

    test(`${engine.label}: up again without --server restarts the same binary (server.json)`, async () => {
      await d.down();
      const again = await upDeployment({ dir: d.dir, port: d.result.port, readyTimeoutMs: 20_000 });
      assert.equal(again.serverPath, engine.server);
      assert.equal(again.engineVersion, engine.identity.version);
      const app = await d.connect('app');
      try {
        assert.equal(await app.get('logs:1'), 'x', 'data kept across the restart');
      } finally {
        await closeConnection(app);
      }
    });

    test(`${engine.label}: a model this binary would reject is refused before anything starts, naming the directive and both releases`, async () => {
      const temp = tempDir('nlr-refuse-', engine.tempParent);
      try {
        const name = refusedBy(engine);
        const model = join(temp.path, 'model.yaml');
        writeFileSync(model, `version: "7.4"\nextraDirectives:\n  - {name: ${name}, args: ["0"]}\n`);
        const dir = join(temp.path, 'dep');
        await assert.rejects(
          upDeployment({ dir, port: await freePort(), config: model, server: engine.server, readyTimeoutMs: 20_000 }),
          (error: NeuralLogRedisError) => {
            assert.equal(error.code, 'E_SERVER_REFUSES_MODEL');
            assert.equal(error.exitCode, 2);
            assert.match(error.message, new RegExp(`${engine.label.replaceAll('.', '\\.')} \\(${engine.server.replaceAll('/', '\\/')}\\) would refuse`));
            assert.match(error.message, new RegExp(`  ${name}: `));
            assert.match(error.message, /The model targets Redis 7\.4/);
            return true;
          },
        );
        const paths = deploymentPaths(dir);
        assert.ok(!existsSync(paths.state) && !existsSync(paths.pid) && !existsSync(paths.conf), 'nothing was written or started');
        assert.ok(!allCommandLines().some((l) => l.includes(dir)), 'no server runs on the directory');
      } finally {
        temp.remove();
      }
    });

    test(`${engine.label}: through bin/neurallog-redis: up --server, status --json, down`, async () => {
      const temp = tempDir('nlr-bin-up-', engine.tempParent);
      try {
        const dir = join(temp.path, 'dep');
        const port = String(await freePort());
        const up = bin(['up', '--dir', dir, '--port', port, '--server', engine.server, '--detach', '--json']);
        assert.equal(up.code, 0, up.stderr);
        const result = JSON.parse(up.stdout);
        assert.equal(result.engine, engine.identity.engine);
        assert.equal(result.engineVersion, engine.identity.version);
        try {
          const status = JSON.parse(bin(['status', '--dir', dir, '--json']).stdout);
          assert.equal(status.running, true);
          assert.equal(status.engine, engine.identity.engine);
          assert.equal(status.engineVersion, engine.identity.version);
          assert.match(bin(['up', '--dir', dir, '--port', port, '--detach']).stdout, new RegExp(`${engine.label.replaceAll('.', '\\.')} is already running`));
          assert.match(
            bin(['up', '--dir', dir, '--port', port, '--detach']).stdout,
            new RegExp(`${cliProgram(engine.identity.engine)} -h 127\\.0\\.0\\.1`),
            "the connect hint names the engine's CLI",
          );
        } finally {
          assert.equal(bin(['down', '--dir', dir]).code, 0);
        }
      } finally {
        temp.remove();
      }
    });
  });
}
