/**
 * `doctor` from the command line, process start included (the built CLI, bin/neurallog-redis, after
 * `npm run build`): on a healthy deployment made by `up` (goal: within 1 s), and on an unreachable
 * one, a port that accepts and never answers (goal: within its --timeout, 1 s here, plus the process
 * start). Median and worst over N runs each.
 *
 *   npm run build && node --import tsx bench/doctor.ts [--runs N]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downDeployment, freePort, upDeployment } from '../src/runtime/index.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 10;
const CLI = join(import.meta.dirname, '..', 'bin', 'neurallog-redis');

function timeDoctor(args: string[], expectCode: number): number {
  const t0 = performance.now();
  const r = spawnSync(CLI, ['doctor', ...args], { encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== expectCode) throw new Error(`doctor exited ${r.status}, expected ${expectCode}: ${r.stdout}${r.stderr}`);
  return ms;
}

function summary(label: string, times: number[]): void {
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(`${label.padEnd(44)} median ${median.toFixed(0).padStart(5)} ms   worst ${sorted.at(-1)!.toFixed(0).padStart(5)} ms   (${runs} runs)`);
}

const dir = mkdtempSync(join(tmpdir(), 'nlr-bench-doctor-'));
const sockets: Socket[] = [];
const silent = createServer((s) => sockets.push(s));
try {
  await upDeployment({ dir, port: await freePort() });
  // --no-host: this machine's own kernel settings would turn a healthy server's exit code into 1
  const healthy = Array.from({ length: runs }, () => timeDoctor(['--dir', dir, '--no-host'], 0));
  summary('healthy deployment (--dir, exit 0)', healthy);
  const withHost = Array.from({ length: runs }, () => timeDoctor(['--dir', dir, '--json'], spawnSync(CLI, ['doctor', '--dir', dir]).status ?? 1));
  summary('healthy deployment, kernel checks too', withHost);
  const closed = await freePort();
  summary(
    'refused (closed port, exit 2)',
    Array.from({ length: runs }, () => timeDoctor(['--url', `redis://127.0.0.1:${closed}`], 2)),
  );
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  // the silent port is served by this process: the runs must not block its event loop
  const timeouts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const child = (await import('node:child_process')).spawn(CLI, ['doctor', '--url', `redis://127.0.0.1:${port}`, '--timeout', '1s'], { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 2) throw new Error(`doctor on a silent port exited ${code}`);
    timeouts.push(performance.now() - t0);
  }
  summary('silent port, --timeout 1s (exit 2)', timeouts);
} finally {
  for (const s of sockets) s.destroy();
  silent.close();
  await downDeployment(dir).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
