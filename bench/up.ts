/**
 * `up` time to ready, against the anchor: redis-server started by hand on the same rendered config and
 * ACL, timed to its first PONG. Both on free ports in temporary directories, several rounds each.
 *
 *   node --import tsx bench/up.ts [--rounds N]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downDeployment, freePort, upDeployment } from '../src/runtime/index.js';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const CLI = join(import.meta.dirname, '..', 'bin', 'neurallog-redis');

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** `up --detach` through the CLI; by default it also starts the monitor and waits until it answers. */
async function timeCliUp(extra: string[] = []): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'nlr-bench-up-'));
  const port = await freePort();
  const t0 = performance.now();
  const r = spawnSync(CLI, ['up', '--dir', dir, '--port', String(port), '--detach', ...extra], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`up failed: ${r.stderr}`);
  await downDeployment(dir);
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

async function timeLibraryUp(): Promise<{ ms: number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nlr-bench-up-'));
  const port = await freePort();
  const t0 = performance.now();
  await upDeployment({ dir, port });
  const ms = performance.now() - t0;
  await downDeployment(dir);
  return { ms, dir };
}

/** The anchor: redis-server on the same files `up` rendered, timed until redis-cli gets PONG. */
async function timeBareRedis(dir: string): Promise<number> {
  const port = await freePort();
  const secrets = JSON.parse(spawnSync('cat', [join(dir, 'secrets.json')], { encoding: 'utf8' }).stdout);
  const t0 = performance.now();
  const child = spawn(
    'redis-server',
    [join(dir, 'redis.conf'), '--port', String(port), '--dir', join(dir, 'data'), '--aclfile', join(dir, 'users.acl'), '--logfile', ''],
    { stdio: 'ignore' },
  );
  let ms = 0;
  for (;;) {
    const r = spawnSync('redis-cli', ['-p', String(port), '--user', 'admin', 'PING'], {
      encoding: 'utf8',
      env: { ...process.env, REDISCLI_AUTH: secrets.users.admin },
    });
    if (r.stdout.trim() === 'PONG') {
      ms = performance.now() - t0;
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  return ms;
}

const cliTimes: number[] = [];
const cliNoMonitorTimes: number[] = [];
const libTimes: number[] = [];
const bareTimes: number[] = [];
for (let i = 0; i < rounds; i++) {
  cliTimes.push(await timeCliUp());
  cliNoMonitorTimes.push(await timeCliUp(['--no-monitor']));
  const lib = await timeLibraryUp();
  libTimes.push(lib.ms);
  bareTimes.push(await timeBareRedis(lib.dir));
  rmSync(lib.dir, { recursive: true, force: true });
}
const result = {
  rounds,
  cliUpMs: Math.round(median(cliTimes)),
  cliUpNoMonitorMs: Math.round(median(cliNoMonitorTimes)),
  libraryUpMs: Math.round(median(libTimes)),
  bareRedisServerMs: Math.round(median(bareTimes)),
};
console.log(JSON.stringify(result));
console.log(
  `up (CLI, including Node start) ${result.cliUpMs} ms, with --no-monitor ${result.cliUpNoMonitorMs} ms; up (library) ${result.libraryUpMs} ms; bare redis-server to PONG ${result.bareRedisServerMs} ms; ratio library/bare ${(result.libraryUpMs / result.bareRedisServerMs).toFixed(2)}`,
);
