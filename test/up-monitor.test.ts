/**
 * `up` starts the monitor next to the server (issue 14: "started by `up` by default, `--no-monitor`
 * to skip"), `status` names it, `down` stops it, and it stops by itself when its server is gone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freePort, isAlive, waitFor } from '../src/runtime/index.js';
import { tempDir, testEngines } from './helpers/redis.js';
import { runCli } from './helpers/run-cli.js';

interface UpJson {
  pid: number;
  monitor?: { url: string; pid: number } | { error: string };
}

async function up(dir: string, server: string, extra: string[]): Promise<UpJson> {
  const port = await freePort();
  const run = await runCli(['up', '--dir', dir, '--port', String(port), '--detach', '--json', '--server', server, ...extra], { timeoutMs: 90_000 });
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as UpJson;
}

async function metrics(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200);
  return response.text();
}

for (const engine of testEngines()) {
  describe(`up starts the monitor (${engine.label})`, () => {
    test("up --detach: a monitor serves the server's metrics; status names it; down stops it", async () => {
      const temp = tempDir('nlr-upmon-', engine.tempParent);
      try {
        const listen = `127.0.0.1:${await freePort()}`;
        const result = await up(temp.path, engine.server, ['--monitor-listen', listen]);
        assert.ok(result.monitor && 'url' in result.monitor, JSON.stringify(result.monitor));
        const monitor = result.monitor;
        assert.equal(monitor.url, `http://${listen}`);
        assert.match(await metrics(monitor.url), /^redis_up 1$/m);
        // a second `up` reports the same monitor instead of starting another
        const again = await up(temp.path, engine.server, []);
        assert.deepEqual(again.monitor, { url: monitor.url, pid: monitor.pid });
        const status = await runCli(['status', '--dir', temp.path, '--json']);
        assert.deepEqual((JSON.parse(status.stdout) as { monitor?: unknown }).monitor, { pid: monitor.pid, url: monitor.url });
        const down = await runCli(['down', '--dir', temp.path]);
        assert.equal(down.code, 0, down.stderr);
        assert.ok(await waitFor(() => !isAlive(monitor.pid), 5000), 'the monitor outlived `down`');
        const after = await runCli(['status', '--dir', temp.path]);
        assert.match(after.stdout, /^stopped/m);
      } finally {
        await runCli(['down', '--dir', temp.path]);
        temp.remove();
      }
    });

    test('--no-monitor starts none; a monitor stops by itself once its server is killed', async () => {
      const temp = tempDir('nlr-upmon-', engine.tempParent);
      try {
        const none = await up(temp.path, engine.server, ['--no-monitor']);
        assert.equal(none.monitor, undefined);
        const status = await runCli(['status', '--dir', temp.path]);
        assert.match(status.stdout, /monitor {3}not running/);
        // `up` on the running deployment adds the monitor it lacks
        const withMonitor = await up(temp.path, engine.server, ['--monitor-listen', `127.0.0.1:${await freePort()}`]);
        assert.ok(withMonitor.monitor && 'pid' in withMonitor.monitor, JSON.stringify(withMonitor.monitor));
        const monitorPid = withMonitor.monitor.pid;
        process.kill(none.pid, 'SIGKILL');
        assert.ok(await waitFor(() => !isAlive(monitorPid), 10_000), 'the monitor outlived its server');
      } finally {
        await runCli(['down', '--dir', temp.path]);
        temp.remove();
      }
    });
  });
}
