/**
 * The monitor's HTTP side and its failures: a scrape that fails is data (redis_up 0, HTTP 200), a
 * port that never answers ends at the scrape deadline, nothing but GET/HEAD is served, and beyond
 * loopback nobody reads anything without the token. `monitor --dir` of a deployment made by `up`
 * scrapes as the `monitor` user, on every engine.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from '../src/runtime/index.js';
import { MonitorServer } from '../src/monitor/http-server.js';
import { parseListen } from '../src/monitor/run.js';
import { RedisScraper } from '../src/monitor/scrape.js';
import { cliArgv, runCli } from './helpers/run-cli.js';
import { testEngines, upTestDeployment } from './helpers/redis.js';

async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: string; type: string | null }> {
  const response = await fetch(url, { headers, method, signal: AbortSignal.timeout(20_000) });
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') };
}

async function silentPort(): Promise<{ port: number; server: Server }> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('the monitor HTTP server', () => {
  test('a server that refuses connections is redis_up 0 with the error as a label, and HTTP 200', async () => {
    const port = await freePort();
    const monitor = new MonitorServer({
      host: '127.0.0.1',
      port: 0,
      scraper: new RedisScraper({ host: '127.0.0.1', port, tls: false, db: 0, username: 'monitor', password: 'x' }),
    });
    const address = await monitor.listen();
    try {
      const r = await get(`http://127.0.0.1:${address.port}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.type ?? '', /^text\/plain; version=0\.0\.4/);
      assert.match(r.body, /^redis_up 0$/m);
      assert.match(r.body, /^redis_exporter_last_scrape_error\{err="[^"]*connection refused[^"]*"\} 1$/m);
      assert.doesNotMatch(r.body, /password|:x@/);
      const health = JSON.parse((await get(`http://127.0.0.1:${address.port}/health`)).body) as { ok: boolean; redisUp: boolean };
      assert.deepEqual([health.ok, health.redisUp], [true, false]);
    } finally {
      await monitor.close();
    }
  });

  test('a port that accepts and never answers ends at the scrape deadline', async () => {
    const silent = await silentPort();
    const scraper = new RedisScraper({ host: '127.0.0.1', port: silent.port, tls: false, db: 0, username: 'monitor', password: 'x' }, { timeoutMs: 1000 });
    try {
      const result = await scraper.scrape();
      assert.equal(result.set.value('redis_up'), 0);
      assert.ok(result.seconds < 5, `took ${result.seconds} s`);
      assert.match(result.error ?? '', /1 s|1000 ms/);
    } finally {
      await scraper.close();
      silent.server.close();
    }
  });

  test('beyond loopback: no token, no server; with one, 401 without it, Bearer and basic auth both work', async () => {
    const scraper = (): RedisScraper => new RedisScraper({ host: '127.0.0.1', port: 1, tls: false, db: 0 }, { timeoutMs: 1000 });
    assert.throws(() => new MonitorServer({ host: '0.0.0.0', port: 0, scraper: scraper() }), /needs a login token/);
    const monitor = new MonitorServer({ host: '0.0.0.0', port: 0, token: 's3cret-token', scraper: scraper() });
    const { port } = await monitor.listen();
    try {
      const url = `http://127.0.0.1:${port}/metrics`;
      const denied = await get(url);
      assert.equal(denied.status, 401);
      assert.doesNotMatch(denied.body, /redis_/);
      assert.equal((await get(url, { authorization: 'Bearer wrong' })).status, 401);
      assert.equal((await get(url, { authorization: 'Bearer s3cret-token' })).status, 200);
      assert.equal((await get(url, { authorization: `Basic ${Buffer.from('anyone:s3cret-token').toString('base64')}` })).status, 200);
      assert.equal((await get(`http://127.0.0.1:${port}/health`)).status, 401);
    } finally {
      await monitor.close();
    }
  });

  test('read-only: POST, PUT and DELETE are refused with 405', async () => {
    const monitor = new MonitorServer({
      host: '127.0.0.1',
      port: 0,
      scraper: new RedisScraper({ host: '127.0.0.1', port: 1, tls: false, db: 0 }, { timeoutMs: 1000 }),
    });
    const { port } = await monitor.listen();
    try {
      for (const method of ['POST', 'PUT', 'DELETE']) assert.equal((await get(`http://127.0.0.1:${port}/metrics`, {}, method)).status, 405, method);
      assert.equal((await get(`http://127.0.0.1:${port}/nothing`)).status, 404);
    } finally {
      await monitor.close();
    }
  });

  test('--listen takes HOST:PORT and nothing else', () => {
    assert.deepEqual(parseListen('127.0.0.1:9121'), { host: '127.0.0.1', port: 9121 });
    assert.deepEqual(parseListen(':9121'), { host: '127.0.0.1', port: 9121 });
    assert.deepEqual(parseListen('[::1]:9121'), { host: '::1', port: 9121 });
    for (const bad of ['9121', 'host', '1.2.3.4:99999', '1.2.3.4:']) assert.throws(() => parseListen(bad), /--listen takes HOST:PORT/, bad);
  });
});

describe('neurallog-redis monitor (the command)', () => {
  test('refuses a non-loopback --listen without a token, and a token file others can read, exit 2', async () => {
    const r = await runCli(['monitor', '--url', 'redis://monitor@127.0.0.1:1', '--listen', '0.0.0.0:0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give a login token/);
    const dir = mkdtempSync(join(tmpdir(), 'nlr-monitor-'));
    try {
      const token = join(dir, 'token');
      writeFileSync(token, 'abc\n', { mode: 0o644 });
      const open = await runCli(['monitor', '--url', 'redis://monitor@127.0.0.1:1', '--listen', '0.0.0.0:0', '--token-file', token]);
      assert.equal(open.code, 2);
      assert.match(open.stderr, /readable by others/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const engine of testEngines()) {
    test(`--dir scrapes a deployment made by \`up\` as its monitor user, and reports it down when it stops (${engine.label})`, async () => {
      const deployment = await upTestDeployment({ engine });
      const port = await freePort();
      const child = spawn(...cliArgv('monitor', '--dir', deployment.dir, '--listen', `127.0.0.1:${port}`), {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      try {
        let body = '';
        for (let attempt = 0; !body; attempt++) {
          body = await get(`http://127.0.0.1:${port}/metrics`).then(
            (r) => r.body,
            () => '',
          );
          if (!body && attempt > 200) assert.fail(`monitor never served: ${stderr}`);
          if (!body) await new Promise((r) => setTimeout(r, 100));
        }
        assert.match(body, /^redis_up 1$/m);
        assert.match(body, /^redis_slowlog_last_id \d+$/m, 'the monitor user may read the slow log');
        assert.match(stderr, /as monitor/);
        assert.doesNotMatch(stderr, new RegExp(deployment.passwords().monitor!));
        await deployment.down();
        const after = (await get(`http://127.0.0.1:${port}/metrics`)).body;
        assert.match(after, /^redis_up 0$/m);
      } finally {
        child.kill('SIGINT');
        await new Promise((resolve) => child.once('exit', resolve));
        await deployment.cleanup();
      }
      assert.equal(child.exitCode, 0, stderr);
    });
  }
});
