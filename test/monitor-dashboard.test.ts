/**
 * The dashboard in a real browser (Debian's chromium through playwright-core): its numbers move while
 * loadgen writes, it never shows a key or a value, and beyond loopback it asks for the login first.
 * UPDATE_SCREENSHOT=1 saves docs/monitoring-dashboard.png from the first engine.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { closeConnection } from '../src/connect/client.js';
import { startMonitor, type RunningMonitor } from '../src/monitor/run.js';
import { loadgen } from '../src/workload/index.js';
import { launchChromium, noBrowser } from './helpers/browser.js';
import { REPO_ROOT } from './helpers/run-cli.js';
import { startTestServer, testEngines, type TestServer } from './helpers/redis.js';

const number = (text: string | null): number => Number((text ?? '').replace(/[^0-9.]/g, '') || NaN);

async function waitForText(page: Page, selector: string, predicate: (text: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const text = (await page.textContent(selector)) ?? '';
    if (predicate(text)) return text;
    if (Date.now() > deadline) assert.fail(`${what}: ${selector} still says "${text}"`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('the dashboard in chromium', { skip: noBrowser }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  testEngines().forEach((engine, index) => {
    test(`numbers change while loadgen writes, and no key or value is shown (${engine.label})`, async () => {
      const server: TestServer = await startTestServer({ engine });
      let monitor: RunningMonitor | undefined;
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      try {
        monitor = await startMonitor({
          endpoint: server.endpoint('monitor'),
          listen: { host: '127.0.0.1', port: 0 },
          scrapeTimeoutMs: 5000,
          version: 'test',
          pollSeconds: 1,
          samplerSeconds: 1,
          // the default 20 sizes a pass make the walk after loadgen take 15-30 passes; the figures
          // checked here are the same whatever the pace
          sampler: { memorySamplesPerPass: 400 },
          databases: 16,
        });
        await page.goto(`${monitor.url}/`);
        await waitForText(page, '#status', (t) => t === 'up', 'the server is up');
        const keysBefore = number(await page.textContent('#keys'));
        const app = await server.connect('app');
        try {
          await loadgen(app, { logs: 3000, seed: 'dashboard' });
        } finally {
          await closeConnection(app);
        }
        await waitForText(page, '#keys', (t) => number(t) > keysBefore, 'keys grow');
        await waitForText(page, '#ops', (t) => number(t) > 0, 'commands per second');
        const body = (await page.textContent('body')) ?? '';
        assert.doesNotMatch(body, /logs:[0-9a-f]|idx:logs|"message"|rules:/, 'a key name or a value reached the page');
        assert.match((await page.textContent('#server')) ?? '', engine.identity.engine === 'valkey' ? /^valkey 8\./ : /^redis [78]\./);
        assert.equal((await page.locator('#chart-ops canvas').count()) > 0, true, 'the chart is drawn');
        // the background sampler's next walk counts the 3,000 logs
        await waitForText(page, '#families tr:first-child td:nth-child(2)', (t) => number(t) === 3000, 'the logs family');
        if (index === 0 && process.env.UPDATE_SCREENSHOT === '1')
          await page.screenshot({ path: join(REPO_ROOT, 'docs', 'monitoring-dashboard.png'), fullPage: true });
      } finally {
        await page.close();
        await monitor?.stop();
        await server.stop();
      }
    });
  });

  test('beyond loopback the page asks for the login, and opens with it', async () => {
    const server = await startTestServer();
    const monitor = await startMonitor({
      endpoint: server.endpoint('monitor'),
      listen: { host: '0.0.0.0', port: 0 },
      token: 'dash-token',
      scrapeTimeoutMs: 5000,
      version: 'test',
      pollSeconds: 1,
    });
    const url = monitor.url.replace('0.0.0.0', '127.0.0.1');
    try {
      // without credentials chromium is challenged (HTTP basic) and, headless, gives up the navigation
      const anonymous = await browser.newPage();
      const denied = await anonymous.goto(`${url}/`).then(
        (r) => r?.status(),
        (e: Error) => e.message,
      );
      assert.match(String(denied), /^401$|ERR_INVALID_AUTH_CREDENTIALS/);
      const api = await anonymous.request.get(`${url}/api/state`);
      assert.equal(api.status(), 401);
      assert.doesNotMatch(await api.text(), /usedMemory|redis/);
      await anonymous.close();
      const context = await browser.newContext({ httpCredentials: { username: 'ops', password: 'dash-token' } });
      const page = await context.newPage();
      assert.equal((await page.goto(`${url}/`))?.status(), 200);
      await waitForText(page, '#status', (t) => t === 'up', 'the server is up behind the login');
      await context.close();
    } finally {
      await monitor.stop();
      await server.stop();
    }
  });
});
