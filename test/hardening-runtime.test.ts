/**
 * Issue 12, items 2, 3, 4 and the runtime parts of 13, on every engine of the matrix: `up`, `down`
 * and `status` act only on the deployment's own server (a copied directory or a foreign pid file is
 * stale); rotations at once lose nothing and a rotation is verified by AUTH; two `up` at once start
 * one server; `down`/`status` of a missing directory agree; `--dir ''` is refused; `status` shows
 * LOADING with progress; the default user's password is not rotated; the guide's model runs with
 * --allow-insecure; a fresh deployment targets the binary it runs.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { closeConnection, deploymentPaths, openConnection, readSecrets } from '../src/connect/index.js';
import { NeuralLogRedisError } from '../src/errors.js';
import { deploymentStatus, downDeployment, freePort, isAlive, isRedisServer, processCwd, upDeployment } from '../src/runtime/index.js';
import { tempDir, testEngines, upTestDeployment, type TestEngine } from './helpers/redis.js';
import { runCli, runCliSync } from './helpers/run-cli.js';

const ROOT = join(import.meta.dirname, '..');
/** tsx by its URL, so that a CLI run from another working directory finds it */
const TSX = import.meta.resolve('tsx');

const cli = (args: string[], cwd = ROOT) => runCliSync(args, { cwd });

const cliAsync = (args: string[]) => runCli(args);

/**
 * Kills every Redis or Valkey server whose working directory lies under `dir`: when a test of two
 * `up` at once fails, the second server is nobody's to stop.
 */
function killServersUnder(dir: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const cwd = processCwd(pid);
    if (cwd?.startsWith(`${dir}/`) && isRedisServer(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** AUTH as `user` with the password the secrets file holds; true when the server accepts it. */
async function authenticates(port: number, user: string, password: string): Promise<boolean> {
  try {
    const client = await openConnection({ host: '127.0.0.1', port, tls: false, db: 0, username: user, password }, { connectTimeoutMs: 5000 });
    await closeConnection(client);
    return true;
  } catch {
    return false;
  }
}

for (const engine of testEngines()) {
  describe(`runtime hardening on ${engine.label}`, () => {
    test(`${engine.label}: item 2: a copied directory's pid is stale: status says stopped, down stops nothing, up starts its own server`, async () => {
      const a = await upTestDeployment({ engine });
      const copy = mkdtempSync(join(engine.tempParent, 'nlr-copy-'));
      try {
        rmSync(copy, { recursive: true });
        assert.equal(spawnSync('cp', ['-a', a.dir, copy]).status, 0);
        const status = await deploymentStatus(copy);
        assert.equal(status.running, false, "the original server is not the copy's");
        assert.match(status.staleState ?? '', new RegExp(`pid ${a.result.pid} is the server of another directory`));
        const down = cli(['down', '--dir', copy]);
        assert.equal(down.code, 0, down.stderr);
        assert.match(down.stderr, /not running for .*nothing to stop/);
        assert.match(down.stderr, /another directory/);
        assert.ok(isAlive(a.result.pid), 'down --dir COPY left the original server running');
        assert.equal((await deploymentStatus(a.dir)).running, true);
        const port = await freePort();
        const own = await upDeployment({ dir: copy, port, readyTimeoutMs: 20_000, server: engine.server });
        try {
          assert.equal(own.alreadyRunning, false, 'up --dir COPY started a server of its own');
          assert.equal(own.port, port, '--port was applied');
          assert.notEqual(own.pid, a.result.pid);
        } finally {
          await downDeployment(copy, { timeoutMs: 20_000 });
        }
        assert.ok(isAlive(a.result.pid), 'the original still runs');
      } finally {
        rmSync(copy, { recursive: true, force: true });
        await a.cleanup();
      }
    });

    test(`${engine.label}: item 2: a pid file naming another deployment's server is not ours`, async () => {
      const a = await upTestDeployment({ engine });
      const b = await upTestDeployment({ engine });
      try {
        await b.down();
        writeFileSync(deploymentPaths(b.dir).pid, `${a.result.pid}\n`);
        const status = await deploymentStatus(b.dir);
        assert.equal(status.running, false);
        const down = await downDeployment(b.dir);
        assert.equal(down.alreadyStopped, true);
        assert.match(down.staleState ?? '', /another directory/);
        assert.ok(isAlive(a.result.pid), "the other deployment's server was not stopped");
        assert.ok(!existsSync(deploymentPaths(b.dir).pid), 'the stale pid file is removed');
      } finally {
        await b.cleanup();
        await a.cleanup();
      }
    });

    test(`${engine.label}: item 3: rotations at once (two of app, monitor, backup each) lose nothing: every stored password logs in`, async () => {
      const d = await upTestDeployment({ engine });
      try {
        for (let round = 0; round < 2; round++) {
          const users = ['app', 'monitor', 'backup', 'app', 'monitor', 'backup'];
          const runs = await Promise.all(users.map((user) => cliAsync(['rotate-password', '--dir', d.dir, '--user', user])));
          runs.forEach((r, i) => assert.equal(r.code, 0, `rotation ${i} (${users[i]}): ${r.stderr}`));
          const secrets = d.passwords();
          const acl = readFileSync(deploymentPaths(d.dir).acl, 'utf8');
          for (const user of ['app', 'monitor', 'backup', 'admin']) {
            assert.ok(await authenticates(d.result.port, user, secrets[user]!), `round ${round}: the server refuses ${user}'s stored password`);
            assert.match(acl, new RegExp(`^user ${user} on #${sha256(secrets[user]!)} `, 'm'), `round ${round}: users.acl holds ${user}'s stored password`);
          }
        }
      } finally {
        await d.cleanup();
      }
    });

    test(`${engine.label}: item 3: a rotation the server does not accept fails (exit 1) and keeps the previous password`, async () => {
      const d = await upTestDeployment({ engine });
      try {
        const admin = await d.connect('admin');
        try {
          // the live server and the model disagree (an operator turned monitor off by hand)
          await admin.sendCommand(['ACL', 'SETUSER', 'monitor', 'off']);
        } finally {
          await closeConnection(admin);
        }
        const before = d.passwords();
        const r = cli(['rotate-password', '--dir', d.dir, '--user', 'monitor']);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /did not accept the new password of "monitor"/);
        assert.deepEqual(d.passwords(), before, 'secrets.json is as before');
        assert.match(readFileSync(deploymentPaths(d.dir).acl, 'utf8'), new RegExp(`^user monitor on #${sha256(before.monitor!)} `, 'm'));
      } finally {
        await d.cleanup();
      }
    });

    test(`${engine.label}: item 4: two up at once on one directory start one server; the other says another up is starting it (exit 2)`, async () => {
      const temp = tempDir('nlr-twice-', engine.tempParent);
      try {
        const [p1, p2] = [await freePort(), await freePort()];
        const results = await Promise.allSettled([
          upDeployment({ dir: temp.path, port: p1, server: engine.server, readyTimeoutMs: 20_000 }),
          upDeployment({ dir: temp.path, port: p2, server: engine.server, readyTimeoutMs: 20_000 }),
        ]);
        const ok = results.filter((r) => r.status === 'fulfilled');
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(ok.length, 1, `one up starts the server (${results.map((r) => r.status).join(', ')})`);
        assert.equal(refused.length, 1);
        const error = refused[0]!.reason as NeuralLogRedisError;
        assert.match(error.message, /another `up` \(pid \d+\) is starting it/);
        assert.equal(error.exitCode, 2);
        const started = (ok[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof upDeployment>>>).value;
        const state = JSON.parse(readFileSync(deploymentPaths(temp.path).state, 'utf8'));
        assert.equal(state.port, started.port, 'state.json names the port of the server that runs');
        assert.equal(state.pid, started.pid);
        assert.equal((await deploymentStatus(temp.path)).running, true);
        await downDeployment(temp.path, { timeoutMs: 20_000 });
        assert.ok(!existsSync(join(temp.path, 'deployment.lock')), 'the lock is released');
      } finally {
        killServersUnder(temp.path);
        temp.remove();
      }
    });

    test(`${engine.label}: item 13: status during LOADING says so, with progress; exit 1 until it serves`, async () => {
      const d = await upTestDeployment({ engine });
      try {
        const admin = await d.connect('admin');
        try {
          await admin.sendCommand(['EVAL', "for i = 1, 30000 do redis.call('SET', 'logs:' .. i, 'entry') end return 1", '0']);
          // the AOF's base becomes an RDB holding the keys: key-load-delay applies to RDB loading
          await admin.sendCommand(['BGREWRITEAOF']);
          for (let i = 0; i < 200; i++) {
            if (
              /aof_rewrite_in_progress:0/.test(String(await admin.sendCommand(['INFO', 'persistence']))) &&
              !/aof_rewrite_scheduled:1/.test(String(await admin.sendCommand(['INFO', 'persistence'])))
            )
              break;
            await new Promise((r) => setTimeout(r, 50));
          }
        } finally {
          await closeConnection(admin);
        }
        await d.down();
        const paths = deploymentPaths(d.dir);
        const model = JSON.parse(readFileSync(paths.model, 'utf8'));
        // 100 us a key: 30000 keys load for 3 s or more; the server answers between 1 KiB read
        model.extraDirectives.push({ name: 'key-load-delay', args: ['100'] }, { name: 'loading-process-events-interval-bytes', args: ['1024'] });
        writeFileSync(paths.model, JSON.stringify(model));
        const starting = upDeployment({ dir: d.dir, port: d.result.port, readyTimeoutMs: 60_000 });
        let seen: Awaited<ReturnType<typeof deploymentStatus>> | undefined;
        const deadline = Date.now() + 30_000;
        while (!seen && Date.now() < deadline) {
          try {
            const s = await deploymentStatus(d.dir);
            if (s.loading) seen = s;
          } catch {
            // not started yet
          }
          if (!seen) await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(seen?.loading, 'status reported the server loading');
        assert.ok(seen.loading.totalBytes > 0);
        assert.ok(seen.loading.percent >= 0 && seen.loading.percent <= 100);
        const text = cli(['status', '--dir', d.dir]);
        if (/loading/.test(text.stdout)) {
          assert.match(text.stdout, /loading +loading its data: \d+\.\d% of \d+\.\d MiB/);
          assert.equal(text.code, 1);
        }
        await starting;
        const after = await deploymentStatus(d.dir);
        assert.equal(after.loading, undefined);
        assert.equal(after.keys?.db0, 30000);
      } finally {
        await d.cleanup();
      }
    });

    test(`${engine.label}: a fresh deployment with no model targets the binary's engine and release; down names it`, async () => {
      const d = await upTestDeployment({ engine });
      try {
        assert.deepEqual(d.result.target, { engine: engine.identity.engine, version: engine.identity.version });
        assert.equal(d.result.targetNote, undefined, 'no note: the model is for this server');
        const stored = JSON.parse(readFileSync(deploymentPaths(d.dir).model, 'utf8'));
        assert.equal(stored.engine, engine.identity.engine);
        assert.equal(stored.version, engine.identity.version);
        assert.match(stored.container.image, engine.identity.engine === 'valkey' ? /^valkey\/valkey:/ : /^redis:/);
        const down = cli(['down', '--dir', d.dir]);
        assert.equal(down.code, 0, down.stderr);
        assert.match(down.stderr, new RegExp(`Stopped ${escape(engine.label)} \\(pid ${d.result.pid}\\)`));
      } finally {
        await d.cleanup();
      }
    });

    test(`${engine.label}: item 13: the guide's model runs with --allow-insecure, as docs/configuration.md says`, async () => {
      const temp = tempDir('nlr-guide-', engine.tempParent);
      try {
        const model = join(temp.path, 'guide.yaml');
        writeFileSync(model, 'profile: guide\n');
        const dir = join(temp.path, 'dep');
        const port = String(await freePort());
        const refused = cli(['up', '--dir', dir, '--config', model, '--port', port, '--server', engine.server, '--detach']);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr, /--allow-insecure/);
        const up = cli(['up', '--dir', dir, '--config', model, '--port', port, '--server', engine.server, '--detach', '--allow-insecure']);
        assert.equal(up.code, 0, up.stderr);
        try {
          const status = cli(['status', '--dir', dir, '--json']);
          assert.equal(status.code, 0, status.stderr);
          assert.equal(JSON.parse(status.stdout).profile, 'guide');
        } finally {
          const down = cli(['down', '--dir', dir]);
          assert.equal(down.code, 0, down.stderr);
          assert.match(down.stderr, /Stopped /);
        }
      } finally {
        temp.remove();
      }
    });
  });
}

describe('runtime refusals (no server)', () => {
  test('item 13: down and status of a directory without a deployment both exit 2, and say why', () => {
    const temp = tempDir();
    try {
      const missing = join(temp.path, 'nothing-here');
      const down = cli(['down', '--dir', missing]);
      const status = cli(['status', '--dir', missing]);
      assert.equal(down.code, 2, down.stderr);
      assert.equal(status.code, 2, status.stderr);
      assert.match(down.stderr, /is not a deployment made by `neurallog-redis up` .*nothing was stopped/);
      assert.ok(!existsSync(missing), 'down created nothing');
    } finally {
      temp.remove();
    }
  });

  test("item 13: up --dir '' is refused and writes nothing into the current directory", () => {
    const cwd = tempDir();
    try {
      const r = cli(['up', '--dir', '', '--detach'], cwd.path);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--dir is empty/);
      assert.deepEqual(readdirSync(cwd.path), [], 'nothing was written into the current directory');
      assert.equal(cli(['down', '--dir', ''], cwd.path).code, 2);
      assert.equal(cli(['status', '--dir', ''], cwd.path).code, 2);
    } finally {
      cwd.remove();
    }
  });

  test('item 4: through the CLI, up on a directory another up is starting says so and exits 2, touching nothing', async () => {
    const temp = tempDir();
    try {
      // a process in the middle of an `up` on this directory: it holds the deployment lock
      const holder = spawn(
        process.execPath,
        [
          '--import',
          TSX,
          '--input-type=module',
          '-e',
          `import { lockDeployment } from ${JSON.stringify(join(ROOT, 'src/runtime/deployment-lock.ts'))}; lockDeployment(${JSON.stringify(temp.path)}, 'up'); console.log('held'); setTimeout(() => {}, 60000);`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
        const r = cli(['up', '--dir', temp.path, '--detach']);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, new RegExp(`another \`up\` \\(pid ${holder.pid}\\) is starting it; nothing was done here`));
        assert.deepEqual(readdirSync(temp.path).sort(), ['deployment.lock'], "nothing but the holder's lock is in the directory");
      } finally {
        holder.kill('SIGKILL');
      }
      // its holder gone, the lock is stale: the next up is not refused by it
      if (holder.exitCode === null && holder.signalCode === null) await once(holder, 'exit');
      const d = await upTestDeployment({ dir: temp.path });
      assert.equal(d.result.alreadyRunning, false);
      await d.down();
    } finally {
      temp.remove();
    }
  });

  test('item 2: up on our own running server with another --port says the port was not applied', async () => {
    const d = await upTestDeployment();
    try {
      const other = await freePort();
      const again = await upDeployment({ dir: d.dir, port: other });
      assert.equal(again.alreadyRunning, true);
      assert.equal(again.port, d.result.port);
      assert.match(again.staleState ?? '', new RegExp(`--port ${other} was not applied: the running server listens on ${d.result.port}`));
    } finally {
      await d.cleanup();
    }
  });

  test('item 13: rotate-password --user default is refused: the default user is off by design', async () => {
    const d = await upTestDeployment();
    try {
      const before = d.passwords();
      const r = cli(['rotate-password', '--dir', d.dir, '--user', 'default']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /default user is off by design/);
      assert.deepEqual(d.passwords(), before);
      assert.equal(readSecrets(deploymentPaths(d.dir).secrets).users.default, undefined);
    } finally {
      await d.cleanup();
    }
  });
});

export type { TestEngine };
