/**
 * `render monitoring`: promtool accepts the rules and the scrape config; the Grafana dashboard parses
 * and every metric its queries and the alert rules name is one `monitor` exports (live, with a backup
 * directory); and a real Prometheus (Debian's package) scrapes `monitor` and answers PromQL with its
 * values, rules loaded. On every engine the suite has.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { closeConnection } from '../src/connect/client.js';
import { profile } from '../src/config/index.js';
import { startMonitor } from '../src/monitor/run.js';
import { grafanaDashboard, prometheusRuleGroups } from '../src/render/index.js';
import { freePort } from '../src/runtime/index.js';
import { loadgen } from '../src/workload/index.js';
import { runCli } from './helpers/run-cli.js';
import { startTestServer, testEngines } from './helpers/redis.js';

const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';
const noPrometheus = existsSync(PROMETHEUS) && existsSync(PROMTOOL) ? false : 'prometheus is not installed (apt-get install prometheus)';

/** metric names in a PromQL expression: identifiers that are not functions, keywords or label names */
function metricNames(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '');
  const words = withoutLabels.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  const notMetrics = new Set([
    'rate',
    'increase',
    'delta',
    'time',
    'max',
    'min',
    'sum',
    'count',
    'topk',
    'by',
    'on',
    'and',
    'or',
    'without',
    'group_left',
    'group_right',
    'instance',
    'slave_ip',
    'slave_port',
    'vector',
  ]);
  return words.filter((w) => !notMetrics.has(w) && /_/.test(w));
}

/** only a Sentinel or a cluster node has these; a standalone server cannot show them */
const TOPOLOGY_ONLY = new Set([
  'redis_cluster_state',
  'redis_sentinel_tilt',
  'redis_sentinel_master_ckquorum_status',
  'redis_master_link_up',
  'redis_connected_slave_offset_bytes',
]);

describe('render monitoring', () => {
  test('writes a scrape config, rules and a dashboard; promtool accepts them', { skip: noPrometheus }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'nlr-monitoring-'));
    try {
      const r = await runCli(['render', 'monitoring', '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      const rules = spawnSync(PROMTOOL, ['check', 'rules', join(out, 'alerts.yml')], { encoding: 'utf8' });
      assert.equal(rules.status, 0, rules.stdout + rules.stderr);
      assert.match(rules.stdout, /SUCCESS: 18 rules found/);
      const config = spawnSync(PROMTOOL, ['check', 'config', join(out, 'prometheus.yml')], { encoding: 'utf8' });
      assert.equal(config.status, 0, config.stdout + config.stderr);
      const dashboard = JSON.parse(readFileSync(join(out, 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
      assert.ok(dashboard.panels.length >= 10);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

for (const engine of testEngines()) {
  describe(`monitoring assets against a live monitor on ${engine.label}`, () => {
    test('every metric the dashboard and the rules name is exported; Prometheus scrapes it and PromQL answers', { skip: noPrometheus }, async () => {
      const server = await startTestServer({ engine });
      const work = mkdtempSync(join(tmpdir(), 'nlr-monitoring-'));
      let prometheus: ReturnType<typeof spawn> | undefined;
      const monitor = await (async () => {
        const app = await server.connect('app');
        await loadgen(app, { logs: 500, seed: 'assets' });
        await closeConnection(app);
        const b = await runCli(['backup', '--url', `redis://backup@127.0.0.1:${server.port}`, '--to', join(work, 'backups')], {
          env: { NEURALLOG_REDIS_PASSWORD: server.passwords.backup! },
        });
        assert.equal(b.code, 0, b.stderr);
        return startMonitor({
          endpoint: server.endpoint('monitor'),
          listen: { host: '127.0.0.1', port: 0 },
          scrapeTimeoutMs: 5000,
          version: 'test',
          pollSeconds: 1,
          samplerSeconds: 1,
          backupsDir: join(work, 'backups'),
        });
      })();
      try {
        const text = await (await fetch(`${monitor.url}/metrics`)).text();
        const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
        const model = profile('neurallog');
        const dashboard = grafanaDashboard(model) as { panels: Array<{ targets: Array<{ expr: string }> }> };
        const named = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr))));
        for (const group of prometheusRuleGroups(model, 'job="redis"').groups as Array<{ rules: Array<{ expr: string }> }>)
          for (const rule of group.rules) for (const name of metricNames(rule.expr)) named.add(name);
        const missing = [...named].filter((n) => !exported.has(n) && !TOPOLOGY_ONLY.has(n));
        assert.deepEqual(missing, [], 'named by the dashboard or the rules but not exported');

        // a real Prometheus, scraping every second, with the rendered rules
        const port = await freePort();
        const target = monitor.url.replace('http://', '');
        const rendered = await runCli(['render', 'monitoring', '--out', join(work, 'prom'), '--target', target]);
        assert.equal(rendered.code, 0, rendered.stderr);
        const config = readFileSync(join(work, 'prom', 'prometheus.yml'), 'utf8')
          .replace('scrape_interval: 30s', 'scrape_interval: 1s')
          .replace('scrape_timeout: 10s', 'scrape_timeout: 1s');
        writeFileSync(join(work, 'prom', 'prometheus.yml'), config);
        prometheus = spawn(
          PROMETHEUS,
          [`--config.file=${join(work, 'prom', 'prometheus.yml')}`, `--storage.tsdb.path=${join(work, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`],
          { stdio: 'ignore' },
        );
        const query = async (promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
          const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(5000) });
          return ((await response.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
        };
        let up: string | undefined;
        let logs: string | undefined;
        for (let attempt = 0; attempt < 120 && (up !== '1' || logs !== '500'); attempt++) {
          await new Promise((r) => setTimeout(r, 500));
          try {
            up = (await query('redis_up{job="redis"}'))[0]?.value[1];
            logs = (await query('neurallog_keys{family="logs"}'))[0]?.value[1];
          } catch {
            // Prometheus is still starting
          }
        }
        assert.equal(up, '1', 'PromQL redis_up');
        assert.equal(logs, '500', 'PromQL neurallog_keys{family="logs"}');
        assert.equal((await query('neurallog_backup_newest_verified'))[0]?.value[1], '1');
        const rules = (await (await fetch(`http://127.0.0.1:${port}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: unknown[] }> } };
        assert.equal(rules.data.groups[0]?.rules.length, 18);
      } finally {
        prometheus?.kill('SIGTERM');
        await monitor.stop();
        await server.stop();
        rmSync(work, { recursive: true, force: true });
      }
    });
  });
}
