/**
 * `monitor`'s /metrics is a drop-in for redis_exporter 1.45 (Debian's prometheus-redis-exporter):
 * scraped from the same server in the same minute, every redis_* family the exporter prints is ours
 * too, with the same type and the same label values, and the settled values agree. Where the package
 * is installed the exporter runs for real; its family list is kept per engine in
 * test/fixtures/redis-exporter-1.45/ and ours is held to that list everywhere (set
 * NEURALLOG_REDIS_UPDATE_FIXTURES=1 with the package present to write it again).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeConnection } from '../src/connect/client.js';
import { freePort } from '../src/runtime/index.js';
import { exposition } from '../src/monitor/exposition.js';
import { RedisScraper } from '../src/monitor/scrape.js';
import { loadgen } from '../src/workload/index.js';
import { startTestServer, testEngines, type TestServer } from './helpers/redis.js';

const EXPORTER = '/usr/bin/prometheus-redis-exporter';
const FIXTURES = join(import.meta.dirname, 'fixtures', 'redis-exporter-1.45');

interface Parsed {
  types: Map<string, string>;
  /** "name{a="x",b="y"}" (labels sorted) -> value */
  samples: Map<string, number>;
}

/** The text format, read enough to compare: TYPE lines, and samples with their labels sorted. */
function parseExposition(text: string): Parsed {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort();
    samples.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return { types, samples };
}

const familyOf = (sample: string): string => sample.slice(0, sample.indexOf('{')).replace(/_(sum|count)$/, '');
const labelNames = (sample: string): string => [...sample.matchAll(/([a-zA-Z_]+)="/g)].map((m) => m[1]).join(',');

/** families whose label values depend on who else talks to the server (commands each side sent) */
const PER_CLIENT = new Set([
  'redis_commands_total',
  'redis_commands_duration_seconds_total',
  'redis_commands_failed_calls_total',
  'redis_commands_rejected_calls_total',
  'redis_latency_percentiles_usec',
  'redis_errors_total',
  'redis_exporter_build_info',
  'redis_exporter_last_scrape_error',
]);
/** values that must agree between two scrapes a moment apart */
const SETTLED = [
  'redis_db_keys',
  'redis_db_keys_expiring',
  'redis_config_maxmemory',
  'redis_config_maxclients',
  'redis_config_io_threads',
  'redis_memory_max_bytes',
  'redis_aof_enabled',
  'redis_connected_slaves',
  'redis_cluster_enabled',
  'redis_instance_info',
  'redis_up',
  'redis_rdb_last_bgsave_status',
  'redis_aof_last_write_status',
  'redis_process_id',
  'redis_repl_backlog_is_active',
];

async function scrapeExporter(server: TestServer): Promise<string> {
  const port = await freePort();
  const child: ChildProcess = spawn(EXPORTER, ['--redis.addr', `redis://127.0.0.1:${server.port}`, '--web.listen-address', `127.0.0.1:${port}`], {
    // the password goes by environment, never argv
    env: { ...process.env, REDIS_USER: 'admin', REDIS_PASSWORD: server.passwords.admin! },
    stdio: 'ignore',
  });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
        return await response.text();
      } catch (error) {
        if (attempt > 100) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
}

async function scrapeOurs(server: TestServer, user: string): Promise<string> {
  const scraper = new RedisScraper(server.endpoint(user), { databases: server.model.server.databases, timeoutMs: 10_000 });
  try {
    const result = await scraper.scrape();
    assert.equal(result.error, undefined, `our scrape as ${user} failed`);
    return await exposition(result.set);
  } finally {
    await scraper.close();
  }
}

function fixtureLines(parsed: Parsed): string {
  return `${[...parsed.types]
    .filter(([name]) => name.startsWith('redis_'))
    .map(([name, type]) => `${name} ${type}`)
    .sort()
    .join('\n')}\n`;
}

for (const engine of testEngines()) {
  describe(`monitor /metrics against redis_exporter 1.45 on ${engine.label}`, () => {
    let server: TestServer;
    const fixture = join(FIXTURES, `${engine.id}.txt`);

    before(async () => {
      server = await startTestServer({ engine });
      const app = await server.connect('app');
      await loadgen(app, { logs: 300, seed: 'monitor' });
      await closeConnection(app);
    });
    after(() => server?.stop());

    test(
      'the exporter, run for real, gives the same families, types, label values and settled values',
      { skip: existsSync(EXPORTER) ? false : `${EXPORTER} is not installed (apt-get install prometheus-redis-exporter)` },
      async () => {
        const theirs = parseExposition(await scrapeExporter(server));
        const ours = parseExposition(await scrapeOurs(server, 'admin'));
        if (process.env.NEURALLOG_REDIS_UPDATE_FIXTURES === '1') {
          mkdirSync(FIXTURES, { recursive: true });
          writeFileSync(fixture, fixtureLines(theirs));
        }
        assert.equal(
          fixtureLines(theirs),
          readFileSync(fixture, 'utf8'),
          `the exporter's families changed; NEURALLOG_REDIS_UPDATE_FIXTURES=1 writes ${fixture} again`,
        );
        for (const [name, type] of theirs.types) if (name.startsWith('redis_')) assert.equal(ours.types.get(name), type, `${name}: the exporter says ${type}`);
        for (const [sample, value] of theirs.samples) {
          const family = familyOf(sample);
          if (!family.startsWith('redis_')) continue;
          if (PER_CLIENT.has(family)) {
            const shapes = new Set([...ours.samples.keys()].filter((s) => familyOf(s) === family).map(labelNames));
            assert.ok(shapes.has(labelNames(sample)), `${family}: labels ${labelNames(sample)} missing from ours (${[...shapes].join(' | ')})`);
            continue;
          }
          assert.ok(ours.samples.has(sample), `${sample} is missing from ours`);
          if (SETTLED.includes(family)) assert.equal(ours.samples.get(sample), value, `${sample}: the exporter says ${value}`);
        }
      },
    );

    test("as the least-privileged monitor user, every family of the exporter's list is there", async () => {
      const expected = readFileSync(fixture, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ') as [string, string]);
      const ours = parseExposition(await scrapeOurs(server, 'monitor'));
      const missing = expected.filter(([name, type]) => ours.types.get(name) !== type).map(([name, type]) => `${name} ${type}`);
      assert.deepEqual(missing, []);
      assert.equal(ours.samples.get('redis_config_maxmemory{}'), server.model.memory.maxmemory, 'from INFO when CONFIG GET is not allowed');
      assert.equal(ours.samples.get('redis_up{}'), 1);
    });
  });
}
