/**
 * `monitor`'s scrape against redis_exporter 1.45 (Debian's prometheus-redis-exporter) on the same
 * server, in one run:
 *   npm run build && node --import tsx bench/monitor.ts [--keys 1000000] [--scrapes 300] [--node-flags "..."]
 * Starts a bare redis-server, fills it with DEBUG POPULATE (plus a loadgen sample, so the key-family
 * sampler has NeuralLog keys), starts the exporter and `bin/neurallog-redis monitor` (the bundle users
 * run) on free loopback ports, both without a password, then, after 50 untimed scrapes each (warm-up),
 * scrapes them in turn K times each
 * (HTTP GET /metrics, request to last byte). Prints p50 and p99 of each, the ratios ours / exporter
 * (goal <= 1.0), whether our redis_* families are a superset of the exporter's, the samples each
 * returns, and the monitor process's peak RSS (VmHWM) after the scrapes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closeConnection, openConnection } from '../src/connect/index.js';
import { loadgen } from '../src/workload/index.js';
import { freePort, startBenchRedis } from './common.js';

const { values } = parseArgs({
  options: { keys: { type: 'string', default: '1000000' }, scrapes: { type: 'string', default: '300' }, 'node-flags': { type: 'string' } },
});
const keys = Number(values.keys);
const scrapes = Number(values.scrapes);
const EXPORTER = '/usr/bin/prometheus-redis-exporter';
if (!existsSync(EXPORTER)) throw new Error(`${EXPORTER} is not installed (apt-get install prometheus-redis-exporter)`);

async function waitForHttp(url: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
      return;
    } catch (error) {
      if (i > 200) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function timeScrape(url: string): Promise<{ ms: number; text: string }> {
  const started = performance.now();
  const text = await (await fetch(url, { signal: AbortSignal.timeout(30_000) })).text();
  return { ms: performance.now() - started, text };
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const families = (text: string): Set<string> => new Set([...text.matchAll(/^# TYPE (redis_\S+) /gm)].map((m) => m[1]!));
const sampleCount = (text: string): number => text.split('\n').filter((l) => l && !l.startsWith('#')).length;

const work = mkdtempSync(join(tmpdir(), 'nlr-bench-monitor-'));
const children: ChildProcess[] = [];
try {
  const { port, child } = await startBenchRedis(work);
  children.push(child);
  const client = await openConnection({ host: '127.0.0.1', port, tls: false, db: 0 });
  await client.sendCommand(['DEBUG', 'POPULATE', String(keys), 'key']);
  await loadgen(client, { logs: 10_000, seed: 'bench-monitor' });
  const dbsize = Number(await client.sendCommand(['DBSIZE']));
  await closeConnection(client);

  const exporterPort = await freePort();
  children.push(spawn(EXPORTER, ['--redis.addr', `redis://127.0.0.1:${port}`, '--web.listen-address', `127.0.0.1:${exporterPort}`], { stdio: 'ignore' }));
  const monitorPort = await freePort();
  const monitor = spawn(
    join(import.meta.dirname, '..', 'bin', 'neurallog-redis'),
    ['monitor', '--url', `redis://127.0.0.1:${port}`, '--listen', `127.0.0.1:${monitorPort}`],
    { stdio: 'ignore' },
  );
  children.push(monitor);
  const theirsUrl = `http://127.0.0.1:${exporterPort}/metrics`;
  const oursUrl = `http://127.0.0.1:${monitorPort}/metrics`;
  await waitForHttp(theirsUrl);
  await waitForHttp(oursUrl);

  // a monitor runs for days: the first scrapes (the JIT compiling the scrape and exposition paths)
  // are warm-up for both, not timed
  for (let i = 0; i < 50; i++) {
    await timeScrape(theirsUrl);
    await timeScrape(oursUrl);
  }
  const theirs: number[] = [];
  const ours: number[] = [];
  let theirText = '';
  let ourText = '';
  for (let i = 0; i < scrapes; i++) {
    const t = await timeScrape(theirsUrl);
    const o = await timeScrape(oursUrl);
    theirs.push(t.ms);
    ours.push(o.ms);
    theirText = t.text;
    ourText = o.text;
  }
  theirs.sort((a, b) => a - b);
  ours.sort((a, b) => a - b);
  const missing = [...families(theirText)].filter((f) => !families(ourText).has(f));
  // the monitor is bin/neurallog-redis, a shell script that execs node: same pid
  const status = readFileSync(`/proc/${monitor.pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const fmt = (n: number): string => n.toFixed(2);
  console.log(`server: ${dbsize} keys (DEBUG POPULATE ${keys} + 10,000 logs of loadgen); ${scrapes} scrapes each, alternating`);
  console.log(`redis_exporter 1.45: p50 ${fmt(quantile(theirs, 0.5))} ms, p99 ${fmt(quantile(theirs, 0.99))} ms, ${sampleCount(theirText)} samples`);
  console.log(`monitor:             p50 ${fmt(quantile(ours, 0.5))} ms, p99 ${fmt(quantile(ours, 0.99))} ms, ${sampleCount(ourText)} samples`);
  console.log(
    `ratio ours / exporter: p50 ${fmt(quantile(ours, 0.5) / quantile(theirs, 0.5))}, p99 ${fmt(quantile(ours, 0.99) / quantile(theirs, 0.99))} (goal <= 1.0)`,
  );
  console.log(`our redis_* families a superset of the exporter's: ${missing.length === 0 ? 'yes' : `no, missing ${missing.join(', ')}`}`);
  console.log(`monitor RSS: ${Math.round(kib('VmRSS') / 1024)} MB now, peak ${Math.round(kib('VmHWM') / 1024)} MB`);
  console.log(
    `machine: ${cpus()[0]?.model ?? '?'} x ${cpus().length}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, node ${process.version}`,
  );
} finally {
  for (const child of children) child.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
