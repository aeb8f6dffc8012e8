/**
 * Backup and verify against their anchors, on loadgen datasets, in one run on the same server:
 *   - `neurallog-redis backup` (pull + CRC + full parse + gzip + atomic publish) vs `redis-cli --rdb`
 *   - `neurallog-redis backups verify` vs `redis-check-rdb` on the same RDB
 *   - peak RSS of the backup and verify processes at each dataset size (should stay flat)
 *
 *   npm run build && node --import tsx bench/backup.ts [--logs 100000,1000000] [--rounds 3] [--compress gzip,zstd,gzip-zlib]
 *
 * `gzip` is the default storage (through igzip when installed), `gzip-zlib` the same with
 * NEURALLOG_REDIS_GZIP=zlib (node:zlib, where isal is not installed), `zstd` `--compress zstd`.
 * Each round runs every tool once, in a rotating order; the table keeps each tool's best round.
 *
 * The server runs the neurallog profile with `repl-diskless-sync-delay 0`: with the profile's 5 s
 * (and max-replicas 1) a diskless transfer starts at the server's once-a-second replication check,
 * 0-1 s after SYNC, a lottery that moved single rounds of either tool by up to a second.
 *
 * A control: `redis-cli --rdb` again, while `neurallog-redis backup --from-file` checks and
 * compresses the previous RDB beside it (the CPU work our backup does during the transfer, ~4 s on
 * 1,000,000 logs, without the pull). It shows what that much work next to the server's fork costs
 * the transfer on this machine, whoever does it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { profile } from '../src/config/index.js';
import { closeConnection } from '../src/connect/index.js';
import { loadgen } from '../src/workload/index.js';
import { startTestServer } from '../test/helpers/redis.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const sizes = arg('--logs', '100000,1000000').split(',').map(Number);
const rounds = Number(arg('--rounds', '3'));
const compressions = arg('--compress', 'gzip,zstd').split(',');
// the user-facing entry point (its node flags included), on the compiled code
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

const model = profile('neurallog');
model.memory.maxmemory = 0;
model.persistence.appendonly = false;
model.persistence.save = [];
model.extraDirectives.push({ name: 'repl-diskless-sync-delay', args: ['0'] });
const server = await startTestServer({ model });
const work = mkdtempSync(join(tmpdir(), 'nlr-bench-backup-'));
const results: Record<string, unknown>[] = [];
try {
  for (const logs of sizes) {
    const admin = await server.connect('admin');
    await admin.sendCommand(['FLUSHALL']);
    const app = await server.connect('app');
    const t0 = performance.now();
    const loaded = await loadgen(app, { logs, seed: 'bench' });
    process.stderr.write(`loaded ${logs} logs (${loaded.keys} keys) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    await closeConnection(app);
    await closeConnection(admin);

    const env = { REDISCLI_AUTH: server.passwords.backup!, NEURALLOG_REDIS_PASSWORD: server.passwords.backup!, NEURALLOG_REDIS_REPORT_RSS: '1' };
    const rdbFile = join(work, 'anchor.rdb');
    const cliRuns: Timed[] = [];
    const besideRuns: Timed[] = [];
    const checkRuns: Timed[] = [];
    const ours = new Map(compressions.map((c) => [c, { backup: [] as Timed[], verify: [] as Timed[], stored: '' }]));
    for (let i = 0; i < rounds; i++) {
      const order = [...compressions];
      for (let k = 0; k < i % (compressions.length + 1); k++) order.push(order.shift()!);
      const cliArgs = ['-p', String(server.port), '--user', 'backup', '--no-auth-warning', '--rdb'];
      const steps: Array<() => void | Promise<void>> = [
        () => void cliRuns.push(run('redis-cli', [...cliArgs, rdbFile], env)),
        ...order.map((c) => () => {
          const dir = join(work, `b${logs}-${c}-${i}`);
          const compress = c === 'gzip-zlib' ? 'gzip' : c;
          const extra = c === 'gzip-zlib' ? { NEURALLOG_REDIS_GZIP: 'zlib' } : {};
          const taken = run(CLI, ['backup', '--url', `redis://backup@127.0.0.1:${server.port}`, '--to', dir, '--compress', compress], { ...env, ...extra });
          const entry = ours.get(c)!;
          entry.backup.push(taken);
          if (entry.stored) rmSync(dirname(entry.stored), { recursive: true, force: true });
          entry.stored = taken.stdout.trim();
          entry.verify.push(run(CLI, ['backups', 'verify', entry.stored], { ...env, ...extra }));
        }),
      ];
      // redis-cli first in even rounds, last in odd ones
      if (i % 2 === 1) steps.push(steps.shift()!);
      for (const step of steps) await step();
      besideRuns.push(await besideWork(rdbFile, join(work, 'control'), [...cliArgs, join(work, 'control.rdb')], env));
      checkRuns.push(run('redis-check-rdb', [rdbFile]));
    }
    const cli = best(cliRuns);
    const beside = best(besideRuns);
    const check = best(checkRuns);
    for (const [c, entry] of ours) {
      const backup = best(entry.backup);
      const verify = best(entry.verify);
      const row = {
        logs,
        keys: loaded.keys,
        compress: c,
        rdbMB: +(statSync(rdbFile).size / 1e6).toFixed(1),
        storedMB: +(statSync(entry.stored).size / 1e6).toFixed(1),
        backupSeconds: +backup.seconds.toFixed(2),
        redisCliRdbSeconds: +cli.seconds.toFixed(2),
        backupRatio: +(backup.seconds / cli.seconds).toFixed(2),
        redisCliBesideWorkSeconds: +beside.seconds.toFixed(2),
        backupRatioToControl: +(backup.seconds / beside.seconds).toFixed(2),
        verifySeconds: +verify.seconds.toFixed(2),
        redisCheckRdbSeconds: +check.seconds.toFixed(2),
        verifyRatio: +(verify.seconds / check.seconds).toFixed(2),
        backupPeakRssMB: +(Math.max(...entry.backup.map((r) => r.rssKiB ?? 0)) / 1024).toFixed(0),
        verifyPeakRssMB: +(Math.max(...entry.verify.map((r) => r.rssKiB ?? 0)) / 1024).toFixed(0),
        allRounds: {
          backup: entry.backup.map((r) => +r.seconds.toFixed(2)),
          redisCli: cliRuns.map((r) => +r.seconds.toFixed(2)),
          redisCliBesideWork: besideRuns.map((r) => +r.seconds.toFixed(2)),
          verify: entry.verify.map((r) => +r.seconds.toFixed(2)),
          redisCheckRdb: checkRuns.map((r) => +r.seconds.toFixed(2)),
        },
      };
      results.push(row);
      console.log(JSON.stringify(row));
    }
  }
} finally {
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
console.log(
  `\nload average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}, ${cpus().length} CPUs`,
);
console.log(
  '\n| logs | keys | compress | RDB MB | stored MB | backup s | redis-cli --rdb s | ratio | redis-cli beside the work s | ratio to it | verify s | redis-check-rdb s | ratio | backup peak RSS MB | verify peak RSS MB |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results as Array<Record<string, number | string>>) {
  console.log(
    `| ${r.logs} | ${r.keys} | ${r.compress} | ${r.rdbMB} | ${r.storedMB} | ${r.backupSeconds} | ${r.redisCliRdbSeconds} | ${r.backupRatio} | ${r.redisCliBesideWorkSeconds} | ${r.backupRatioToControl} | ${r.verifySeconds} | ${r.redisCheckRdbSeconds} | ${r.verifyRatio} | ${r.backupPeakRssMB} | ${r.verifyPeakRssMB} |`,
  );
}

/**
 * The control: redis-cli --rdb timed while `backup --from-file` checks and compresses `rdbFile` (the
 * RDB of an earlier run) in a process beside it; the side job's own time is not counted.
 */
async function besideWork(rdbFile: string, dir: string, cliArgs: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  const side = spawn(CLI, ['backup', '--from-file', rdbFile, '--to', dir], { stdio: 'ignore', env: { ...process.env, ...env } });
  const sideDone = new Promise<number | null>((resolve, reject) => {
    side.on('error', reject);
    side.on('close', resolve);
  });
  try {
    const timed = run('redis-cli', cliArgs, env);
    if ((await sideDone) !== 0) throw new Error("the control's backup --from-file failed");
    return timed;
  } finally {
    if (side.exitCode === null && side.signalCode === null) side.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
