/**
 * Replace restore against its anchor, on a loadgen dataset, in one run:
 *   - anchor: redis-server started on the same RDB as its dump.rdb, timed from spawn to its first PONG
 *     (Redis's own startup load)
 *   - ours: `neurallog-redis restore FILE --url ...` into a running server (AOF off, like the anchor),
 *     end to end: SHA-256 check, transfer with parse + CRC, Redis's load, promotion, verification
 *   - the same into a server with AOF on (adds Redis's AOF rewrite, which we wait for)
 *   - both again with `--load swapdb` (the target loads while it receives)
 *   - the default (no --load: auto) into an empty server with default settings (maxmemory 0)
 *
 *   npm run build && node --import tsx bench/restore-replace.ts [--logs 1000000] [--compress none|gzip]
 *     [--configs off:auto,on:auto,off:disk,on:disk,off:swapdb,on:swapdb]   (AOF off/on : --load)
 *     [--cli bin|dist]   (bin: bin/neurallog-redis, the bundle users run; dist: dist/cli/main.js)
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { profile } from '../src/config/index.js';
import { closeConnection } from '../src/connect/index.js';
import { freePort } from '../src/runtime/index.js';
import { loadgen } from '../src/workload/index.js';
import { startTestServer } from '../test/helpers/redis.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const logs = Number(arg('--logs', '1000000'));
const compress = arg('--compress', 'none');
const configs = arg('--configs', 'off:auto,on:auto,off:disk,on:disk,off:swapdb,on:swapdb')
  .split(',')
  .map((c) => {
    const [aof, load] = c.split(':');
    if (!['on', 'off'].includes(aof!) || !['auto', 'disk', 'swapdb'].includes(load!))
      throw new Error(`--configs takes aof:load pairs such as off:auto, not "${c}"`);
    return [aof === 'on', load as 'auto' | 'disk' | 'swapdb'] as const;
  });
// the CLI as users run it (the bundle, with bin/'s node flags); --cli dist runs dist/cli/main.js
const BIN = join(import.meta.dirname, '..', 'bin', 'neurallog-redis');
const DIST = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const cliCommand = (args: string[]): [string, string[]] => (arg('--cli', 'bin') === 'dist' ? [process.execPath, [DIST, ...args]] : [BIN, args]);

const model = profile('neurallog');
model.memory.maxmemory = 0;
model.persistence.appendonly = false;
model.persistence.save = [];
const source = await startTestServer({ model });
const work = mkdtempSync(join(tmpdir(), 'nlr-bench-restore-'));
try {
  const app = await source.connect('app');
  await loadgen(app, { logs, seed: 'bench' });
  await closeConnection(app);
  const backupDir = join(work, 'backups');
  const b = spawnSync(...cliCommand(['backup', '--url', `redis://backup@127.0.0.1:${source.port}`, '--to', backupDir, '--compress', compress]), {
    encoding: 'utf8',
    env: { ...process.env, NEURALLOG_REDIS_PASSWORD: source.passwords.backup! },
  });
  if (b.status !== 0) throw new Error(b.stderr);
  const file = b.stdout.trim();
  await source.stop();

  // the anchor: redis-server loading the same RDB at startup
  const rdb = join(work, 'anchor', 'dump.rdb');
  spawnSync('mkdir', ['-p', join(work, 'anchor')]);
  if (compress === 'none') copyFileSync(file, rdb);
  else writeFileSync(rdb, spawnSync('gunzip', ['-c', file], { maxBuffer: 2 ** 31 - 1 }).stdout);
  // Redis's own startup load, three times (the median is the anchor: one run moved by the machine
  // would move every ratio)
  const anchorRuns: number[] = [];
  let keys = '';
  for (let round = 0; round < 3; round++) {
    const port = await freePort();
    const t0 = performance.now();
    const anchor = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', join(work, 'anchor'), '--save', '', '--appendonly', 'no', '--logfile', ''],
      { stdio: 'ignore' },
    );
    for (;;) {
      if (spawnSync('redis-cli', ['-p', String(port), 'PING'], { encoding: 'utf8' }).stdout.trim() === 'PONG') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    anchorRuns.push((performance.now() - t0) / 1000);
    keys = spawnSync('redis-cli', ['-p', String(port), 'DBSIZE'], { encoding: 'utf8' }).stdout.trim();
    anchor.kill('SIGKILL');
    await once(anchor, 'exit');
  }
  const anchorSeconds = [...anchorRuns].sort((a, b) => a - b)[1]!;

  const rows: Record<string, unknown>[] = [];
  for (const [aof, load] of configs) {
    const targetModel = profile('neurallog');
    targetModel.memory.maxmemory = 0;
    targetModel.persistence.appendonly = aof;
    targetModel.persistence.save = [];
    const target = await startTestServer({ model: targetModel });
    try {
      const t1 = performance.now();
      const r = spawnSync(
        ...cliCommand(['restore', file, '--url', `redis://admin@127.0.0.1:${target.port}`, ...(load === 'auto' ? [] : ['--load', load]), '--json']),
        {
          encoding: 'utf8',
          env: { ...process.env, NEURALLOG_REDIS_PASSWORD: target.passwords.admin!, NEURALLOG_REDIS_REPORT_RSS: '1' },
          maxBuffer: 1 << 26,
        },
      );
      const seconds = (performance.now() - t1) / 1000;
      if (r.status !== 0) throw new Error(r.stderr);
      const rss = Number(/peak RSS (\d+) KiB/.exec(r.stderr)?.[1] ?? 0);
      const result = JSON.parse(r.stdout);
      rows.push({
        aof,
        load,
        chosen: result.load,
        seconds: +seconds.toFixed(2),
        ratio: +(seconds / anchorSeconds).toFixed(2),
        keys: Object.values(result.keysAfter as Record<string, number>).reduce((a, n) => a + n, 0),
        peakRssMB: Math.round(rss / 1024),
        // when each phase began, seconds after the CLI's start (its --json `phases`)
        phases: result.phases as Record<string, number>,
      });
    } finally {
      await target.stop();
    }
  }
  const out = {
    logs,
    keys: Number(keys),
    compress,
    rdbMB: +(statSync(rdb).size / 1e6).toFixed(1),
    anchorStartupLoadSeconds: +anchorSeconds.toFixed(2),
    anchorRuns: anchorRuns.map((a) => +a.toFixed(2)),
    replace: rows,
  };
  console.log(JSON.stringify(out));
  console.log(`\nRedis startup load: ${out.anchorStartupLoadSeconds} s (median of ${out.anchorRuns.join(', ')}) for ${out.rdbMB} MB (${out.keys} keys)`);
  console.log(`load average: ${spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim()}`);
  for (const row of rows)
    console.log(
      `replace restore (--load ${row.load}${row.load === 'auto' ? ` -> ${row.chosen}` : ''}, AOF ${row.aof ? 'on' : 'off'}): ${row.seconds} s, ratio ${row.ratio}, peak RSS ${row.peakRssMB} MB; phases began at (s) ${Object.entries(
        row.phases as Record<string, number>,
      )
        .map(([p, t]) => `${p} ${t}`)
        .join(', ')}`,
    );
} finally {
  rmSync(work, { recursive: true, force: true });
}
