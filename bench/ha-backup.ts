/**
 * A cluster's backup against its anchor, in one run on the same 3-master cluster and the same data:
 *   - `neurallog-redis backup --cluster` (every shard pulled CONCURRENTLY, each checked (CRC-64, full
 *     parse), gzip-compressed and published in one set)
 *   - `redis-cli --rdb` run against each master one after another (the per-master recipe the
 *     charts and scripts use; no check, no compression)
 * and the ratio of the two wall times (goal: 0.85 or less), with our process's peak RSS. For scale it
 * also times the three `redis-cli --rdb` started at once: what concurrency alone gives, with no check,
 * no compression and no Node process beside the servers.
 *
 *   npm run build && node --import tsx bench/ha-backup.ts [--keys 300000] [--rounds 3] [--value-bytes 200]
 *
 * The ratio depends on the data's size: our backup costs about 0.45 s once (Node's start and modules,
 * the parser's JIT warm-up) and about 0.1 s per million keys over the three pulls at once, so at the
 * default 300,000 keys it is above 1, and the goal holds from about 1.2 million keys on 2 vCPUs
 * (docs/benchmarks.md, "Session 12").
 *
 * Each round runs the three, in rotating order; the table keeps each one's best round and the median
 * of the per-round ratios (ours against the sequential pulls of the same round). The masters run
 * with `repl-diskless-sync-delay 0` (the profile's 5 s would time the server's replication cron).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeConnection, openConnection, type RedisConnection } from '../src/connect/index.js';
import { hostEngine } from '../test/helpers/redis.js';
import { startTestCluster } from '../test/helpers/cluster.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const keys = Number(arg('--keys', '300000'));
const rounds = Number(arg('--rounds', '3'));
const valueBytes = Number(arg('--value-bytes', '200'));
const CLI = join(import.meta.dirname, '..', 'bin', 'neurallog-redis');

interface Timed {
  seconds: number;
  rssKiB?: number;
  stdout: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Timed {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const rss = /peak RSS (\d+) KiB/.exec(r.stderr);
  return { seconds, rssKiB: rss ? Number(rss[1]) : undefined, stdout: r.stdout };
}

const best = (xs: Timed[]) => xs.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Runs the commands at once; resolves with the wall time once all have exited with status 0. */
async function runTogether(commands: Array<{ cmd: string; args: string[] }>, env: NodeJS.ProcessEnv): Promise<Timed> {
  const t0 = performance.now();
  await Promise.all(
    commands.map(
      ({ cmd, args }) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr}`))));
        }),
    ),
  );
  return { seconds: (performance.now() - t0) / 1000, stdout: '' };
}

/** `keys` keys over every slot: strings with values of `valueBytes`, a hash every tenth key, a TTL every third. */
async function fill(route: (key: string) => RedisConnection): Promise<void> {
  const value = 'v'.repeat(valueBytes);
  let pending: Array<Promise<unknown>> = [];
  for (let i = 0; i < keys; i++) {
    const key = `log:${i}`;
    const c = route(key);
    pending.push(i % 10 === 0 ? c.sendCommand(['HSET', key, 'level', 'info', 'message', value]) : c.sendCommand(['SET', key, value]));
    if (i % 3 === 0) pending.push(c.sendCommand(['PEXPIRE', key, String(3_600_000 + i)]));
    if (pending.length >= 5000) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
}

const engine = hostEngine();
if (!engine) throw new Error('no redis-server on PATH');
const cluster = await startTestCluster(engine, 3);
const work = mkdtempSync(join(tmpdir(), 'nlr-bench-ha-backup-'));
const rows: Array<Record<string, unknown>> = [];
try {
  const conns = new Map<number, RedisConnection>();
  for (const m of cluster.masters) {
    const c = await openConnection(cluster.endpoint(m));
    await c.sendCommand(['CONFIG', 'SET', 'repl-diskless-sync-delay', '0']);
    await c.sendCommand(['CONFIG', 'SET', 'maxmemory', '0']);
    await c.sendCommand(['ACL', 'SETUSER', 'backup', 'resetpass', `>${cluster.password}`, '+cluster|slots', '+info']);
    conns.set(m.port, c);
  }
  const t0 = performance.now();
  await fill((key) => conns.get(cluster.masterFor(key).port)!);
  process.stderr.write(`loaded ${keys} keys in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  for (const c of conns.values()) await closeConnection(c);

  const env = { REDISCLI_AUTH: cluster.password, NEURALLOG_REDIS_PASSWORD: cluster.password, NEURALLOG_REDIS_REPORT_RSS: '1' };
  const ours: Timed[] = [];
  const sequential: Timed[] = [];
  const together: Timed[] = [];
  let rdbBytes = 0;
  let storedBytes = 0;
  for (let i = 0; i < rounds; i++) {
    const anchorArgs = (port: number, file: string) => ['-p', String(port), '--user', 'backup', '--no-auth-warning', '--rdb', file];
    const steps: Array<() => Promise<void>> = [
      async () => {
        const dir = join(work, `ours-${i}`);
        ours.push(run(CLI, ['backup', '--cluster', cluster.seeds, '--user', 'backup', '--to', dir, '--nice', '0'], env));
        const set = join(
          dir,
          readdirSync(dir).find((n) => n.endsWith('.set'))!,
        );
        storedBytes = readdirSync(set)
          .filter((n) => /^shard-\d+\.rdb/.test(n) && !n.endsWith('.json'))
          .reduce((sum, n) => sum + statSync(join(set, n)).size, 0);
        rmSync(dir, { recursive: true, force: true });
      },
      async () => {
        const t = performance.now();
        rdbBytes = 0;
        for (const m of cluster.masters) {
          const file = join(work, `anchor-${m.port}.rdb`);
          run(engine.cli, anchorArgs(m.port, file), env);
          rdbBytes += statSync(file).size;
          rmSync(file);
        }
        sequential.push({ seconds: (performance.now() - t) / 1000, stdout: '' });
      },
      async () => {
        const files = cluster.masters.map((m) => join(work, `together-${m.port}.rdb`));
        together.push(
          await runTogether(
            cluster.masters.map((m, k) => ({ cmd: engine.cli, args: anchorArgs(m.port, files[k]!) })),
            env,
          ),
        );
        for (const file of files) rmSync(file);
      },
    ];
    for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length]!();
  }
  const a = best(ours);
  const b = best(sequential);
  const row = {
    masters: cluster.masters.length,
    keys,
    rdbMB: +(rdbBytes / 1e6).toFixed(1),
    storedMB: +(storedBytes / 1e6).toFixed(1),
    clusterBackupSeconds: +a.seconds.toFixed(2),
    redisCliRdbSequentialSeconds: +b.seconds.toFixed(2),
    ratio: +(a.seconds / b.seconds).toFixed(2),
    medianRoundRatio: +median(ours.map((r, k) => r.seconds / sequential[k]!.seconds)).toFixed(2),
    redisCliRdbAtOnceSeconds: +best(together).seconds.toFixed(2),
    backupPeakRssMB: +(Math.max(...ours.map((r) => r.rssKiB ?? 0)) / 1024).toFixed(0),
    allRounds: {
      ours: ours.map((r) => +r.seconds.toFixed(2)),
      sequential: sequential.map((r) => +r.seconds.toFixed(2)),
      atOnce: together.map((r) => +r.seconds.toFixed(2)),
    },
  };
  rows.push(row);
  console.log(JSON.stringify(row));
} finally {
  await cluster.stop();
  rmSync(work, { recursive: true, force: true });
}
console.log(
  `\nload average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}, ${cpus().length} CPUs`,
);
console.log(
  '\n| masters | keys | RDB MB (sum) | stored MB | backup --cluster s | redis-cli --rdb x3 in turn s | ratio (best / best) | ratio (median of rounds) | redis-cli --rdb x3 at once s | backup peak RSS MB |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${String(r.masters)} | ${String(r.keys)} | ${String(r.rdbMB)} | ${String(r.storedMB)} | ${String(r.clusterBackupSeconds)} | ${String(r.redisCliRdbSequentialSeconds)} | ${String(r.ratio)} | ${String(r.medianRoundRatio)} | ${String(r.redisCliRdbAtOnceSeconds)} | ${String(r.backupPeakRssMB)} |`,
  );
