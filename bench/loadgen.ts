/**
 * loadgen against `redis-cli --pipe` on the same in one run:
 *   node --import tsx bench/loadgen.ts [--logs N] [--batch N] [--rounds K] [--seed S] [--node-redis]
 * Starts its own redis-server (noeviction, no persistence, a free port, a temp dir), writes the
 * workload's commands as RESP into a temp file, times `redis-cli -p P --pipe < file` (process start
 * included), checks DBSIZE and DEBUG DIGEST, FLUSHALL, then times our loadgen (connect included) on
 * the same server and checks it left the same data (--node-redis also times the node-redis client path). Prints commands/s for both, the ratio
 * ours / redis-cli (goal >= 0.9) and the peak RSS of this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchRedis, writeWorkloadResp } from './common.js';
import { closeConnection, openConnection, parseInfo, type RedisConnection } from '../src/connect/index.js';
import { loadgen, DEFAULT_BATCH_SIZE } from '../src/workload/index.js';

const { values } = parseArgs({
  options: {
    logs: { type: 'string', default: '100000' },
    batch: { type: 'string', default: String(DEFAULT_BATCH_SIZE) },
    rounds: { type: 'string', default: '5' },
    'node-redis': { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
  },
});
const logs = positive('logs', values.logs);
const batchSize = positive('batch', values.batch);
const rounds = positive('rounds', values.rounds);
const seed = values.seed ?? '1';

function positive(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
}

async function runRedisCliPipe(port: number, file: string): Promise<{ seconds: number; output: string }> {
  const fd = openSync(file, 'r');
  const started = process.hrtime.bigint();
  const child = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: [fd, 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  closeSync(fd);
  if (code !== 0 || !/errors: 0,/.test(output)) throw new Error(`redis-cli --pipe failed (exit ${code}): ${output}`);
  return { seconds, output: output.trim() };
}

/** redis-server's own CPU time so far (user + system), from INFO. */
async function serverCpu(client: RedisConnection): Promise<number> {
  const info = parseInfo(String(await client.sendCommand(['INFO', 'cpu'])));
  return Number(info.used_cpu_user) + Number(info.used_cpu_sys);
}

async function state(client: RedisConnection): Promise<{ keys: number; digest: string }> {
  const keys = Number(await client.sendCommand(['DBSIZE']));
  const digest = String(await client.sendCommand(['DEBUG', 'DIGEST']));
  return { keys, digest };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const dir = mkdtempSync(join(tmpdir(), 'neurallog-bench-loadgen-'));
let server: { port: number; child: ChildProcess } | undefined;
try {
  server = await startBenchRedis(dir);
  const { port } = server;
  const file = join(dir, 'workload.resp');
  const commandCount = await writeWorkloadResp(file, { logs, seed });
  const admin = await openConnection({ host: '127.0.0.1', port, tls: false, db: 0 });
  const rssBefore = process.resourceUsage().maxRSS;
  console.log(`loadgen vs redis-cli --pipe: ${fmt(logs)} logs, ${fmt(commandCount)} commands, seed ${seed}, batch ${batchSize}, ${cpus().length} CPUs`);
  console.log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (other work on this machine skews single rounds)`,
  );
  const endpoint = { host: '127.0.0.1', port, tls: false, db: 0 };
  let reference: { keys: number; digest: string } | undefined;
  const check = (who: string, got: { keys: number; digest: string }) => {
    reference ??= got;
    if (got.keys !== reference.keys || got.digest !== reference.digest) {
      throw new Error(`${who} left ${got.keys} keys, digest ${got.digest}; expected ${reference.keys} keys, digest ${reference.digest}`);
    }
  };
  const runCli = async () => {
    await admin.sendCommand(['FLUSHALL', 'SYNC']);
    const server = await serverCpu(admin);
    const { seconds } = await runRedisCliPipe(port, file);
    const serverSeconds = (await serverCpu(admin)) - server;
    check('redis-cli --pipe', await state(admin));
    return { seconds, serverSeconds };
  };
  const runOurs = async () => {
    await admin.sendCommand(['FLUSHALL', 'SYNC']);
    const server = await serverCpu(admin);
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    const result = await loadgen(endpoint, { logs, seed, batchSize });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    const serverSeconds = (await serverCpu(admin)) - server;
    if (result.commands !== commandCount) throw new Error(`loadgen sent ${result.commands} commands, the file holds ${commandCount}`);
    const after = await state(admin);
    if (after.keys !== result.keys) throw new Error(`loadgen reported ${result.keys} keys, DBSIZE says ${after.keys}`);
    check('loadgen', after);
    return { seconds, serverSeconds, cpuSeconds: (used.user + used.system) / 1e6 };
  };

  const ratios: number[] = [];
  const cliTimes: number[] = [];
  const ourTimes: number[] = [];
  const ourCpu: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    // alternate the order, so that drifting background load favours neither side
    let cli: { seconds: number; serverSeconds: number };
    let ours: { seconds: number; serverSeconds: number; cpuSeconds: number };
    if (round % 2 === 1) {
      cli = await runCli();
      ours = await runOurs();
    } else {
      ours = await runOurs();
      cli = await runCli();
    }
    const cliSeconds = cli.seconds;
    const ratio = cliSeconds / ours.seconds;
    ratios.push(ratio);
    cliTimes.push(cliSeconds);
    ourTimes.push(ours.seconds);
    ourCpu.push(ours.cpuSeconds);
    console.log(
      `round ${round}: redis-cli --pipe ${cliSeconds.toFixed(3)} s = ${fmt(commandCount / cliSeconds)} commands/s (server CPU ${cli.serverSeconds.toFixed(2)} s) | ` +
        `loadgen ${ours.seconds.toFixed(3)} s = ${fmt(commandCount / ours.seconds)} commands/s, ${fmt(logs / ours.seconds)} logs/s ` +
        `(server CPU ${ours.serverSeconds.toFixed(2)} s, client CPU ${ours.cpuSeconds.toFixed(2)} s) | ratio ${ratio.toFixed(3)} | keys ${fmt(reference!.keys)}, digest equal`,
    );
    if (values['node-redis']) {
      // the same workload through the official client's sendCommand, for comparison
      await admin.sendCommand(['FLUSHALL', 'SYNC']);
      const t = process.hrtime.bigint();
      const client = await openConnection(endpoint);
      await loadgen(client, { logs, seed, batchSize });
      await closeConnection(client);
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      check('loadgen through node-redis', await state(admin));
      console.log(
        `         node-redis sendCommand path ${seconds.toFixed(3)} s = ${fmt(commandCount / seconds)} commands/s | ratio ${(cliSeconds / seconds).toFixed(3)} | digest equal`,
      );
    }
  }
  await closeConnection(admin);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
  const best = (values: number[]) => Math.min(...values);
  const pairRatio = median(ratios);
  const bestRatio = best(cliTimes) / best(ourTimes);
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `best: redis-cli --pipe ${fmt(commandCount / best(cliTimes))} commands/s, loadgen ${fmt(commandCount / best(ourTimes))} commands/s; ` +
      `loadgen client CPU ${(median(ourCpu) / (logs / 100_000)).toFixed(3)} s per 100k logs (median)`,
  );
  console.log(
    `ratio loadgen / redis-cli (goal >= 0.9): median of rounds ${pairRatio.toFixed(3)} (${pairRatio >= 0.9 ? 'met' : 'NOT met'}); ` +
      `best vs best ${bestRatio.toFixed(3)}; over ${rounds} round(s)`,
  );
  console.log(`peak RSS of this process: ${maxRssMb.toFixed(1)} MiB (before the loadgen rounds: ${(rssBefore / 1024).toFixed(1)} MiB)`);
} finally {
  server?.child.kill('SIGTERM');
  if (server && server.child.exitCode === null) await once(server.child, 'exit');
  rmSync(dir, { recursive: true, force: true });
}
