/**
 * Merge restore against its anchor, in one run, on the loadgen dataset:
 *   - `redis-cli --pipe` of the exact commands that built the dataset (encoded as RESP in a file),
 *     into an empty server (process start included);
 *   - mergeRestore of a `--compress none` backup of that dataset into the same server, emptied
 *     (SHA-256 check of the stored file, the verifying first pass, the writing second pass), in a
 *     child process so that its peak RSS is the merge's alone;
 * both checked to leave exactly the source's data (DEBUG DIGEST). Prints the ratio merge / pipe
 * (goal <= 0.7) and the merge's peak RSS next to the RDB size (memory must stay flat).
 *
 *   node --import tsx bench/restore-merge.ts [--logs 1000000] [--seed bench] [--rounds 3] [--on-conflict fail] [--verify auto|parse]
 *   node --import tsx bench/restore-merge.ts --populate 300000,3000000
 *   node --import tsx bench/restore-merge.ts --logs 300000 --peer /path/to/rdb-cli
 *   node --import tsx bench/restore-merge.ts --logs 1000000 --peer /path/to/rdb-cli --max-in-flight 30000
 *
 * `--peer PATH` also times librdb's `rdb-cli` (built by hand, outside the repository) writing the same
 * backup into the same emptied server with RESTORE (`rdb-cli FILE -l /dev/null redis -r -p PORT`),
 * checks it left the source's digest, and prints merge / rdb-cli for wall time and client CPU (user +
 * system; ours in-process, and for the whole child process with Node/tsx start; neither counts the
 * `openssl` child that checks the stored file's SHA-256).
 *
 * `--populate` instead shows the memory against the key count alone: DEBUG POPULATE datasets (small
 * strings only, so no large value) of each size, merged into an empty server, peak RSS of each.
 * `--verify parse` makes the merge parse the whole backup in a first pass even though its SHA-256
 * matches a verified manifest (the cost of that pass). The peak RSS is printed next to that of the
 * same child process doing nothing but loading the modules (Node + tsx), and next to the largest
 * single value of the backup: a RESTORE carries one value whole, so that, not the key count or the
 * file size, is what the memory follows.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, createReadStream, readFileSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchRedis, writeWorkloadResp } from './common.js';
import { takeBackup } from '../src/backup/index.js';
import { closeConnection, openConnection, type Endpoint } from '../src/connect/index.js';
import { RdbStreamParser } from '../src/rdb/index.js';
import { mergeRestore, type ConflictPolicy } from '../src/restore/merge.js';
import { openRestoreSource } from '../src/restore/source.js';
import { loadgen } from '../src/workload/index.js';

const { values } = parseArgs({
  options: {
    logs: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: 'bench' },
    rounds: { type: 'string', default: '3' },
    'on-conflict': { type: 'string', default: 'fail' },
    verify: { type: 'string', default: 'auto' },
    baseline: { type: 'boolean', default: false },
    peer: { type: 'string' },
    populate: { type: 'string' },
    'max-in-flight': { type: 'string' },
    // internal: the measured merge, run as a child process
    child: { type: 'string' },
    port: { type: 'string' },
  },
});

if (values.baseline) {
  // the child's fixed cost: Node, tsx and the modules the merge loads
  void mergeRestore;
  void openRestoreSource;
  process.stdout.write(JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }) + '\n');
  process.exit(0);
}

if (values.child) {
  const endpoint: Endpoint = { host: '127.0.0.1', port: Number(values.port), tls: false, db: 0 };
  const started = performance.now();
  const cpu = process.cpuUsage();
  // as the CLI does: the SHA-256 is checked while the merge inspects the target and prepares its first commands
  const source = await openRestoreSource(values.child, { deferDigestCheck: true });
  const result = await mergeRestore({
    source,
    endpoint,
    onConflict: values['on-conflict'] as ConflictPolicy,
    verify: values.verify as 'auto' | 'parse',
    ...(values['max-in-flight'] ? { maxInFlight: Number(values['max-in-flight']) } : {}),
  });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const usage = process.resourceUsage();
  process.stdout.write(
    JSON.stringify({
      seconds,
      cpu: (used.user + used.system) / 1e6,
      processCpu: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
      maxRssKiB: process.resourceUsage().maxRSS,
      written: result.written,
      records: result.records,
      verifiedBy: result.verifiedBy,
    }) + '\n',
  );
  process.exit(0);
}

const logs = Number(values.logs);
const seed = values.seed!;
const rounds = Number(values.rounds);
const onConflict = values['on-conflict'] as ConflictPolicy;
const verify = values.verify!;

/** CPU seconds a process has used so far (/proc/<pid>/stat utime + stime, at 100 ticks/s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** redis-cli --pipe through bash, whose `times` reports the CPU redis-cli used. */
async function redisCliPipe(port: number, file: string): Promise<{ seconds: number; cpu: number }> {
  const fd = openSync(file, 'r');
  const started = performance.now();
  const child = spawn('bash', ['-c', `redis-cli -p ${port} --pipe; status=$?; times; exit $status`], { stdio: [fd, 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  closeSync(fd);
  if (code !== 0 || !/errors: 0,/.test(output)) throw new Error(`redis-cli --pipe failed (exit ${code}): ${output}`);
  const times = [...output.matchAll(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/g)].pop()!;
  return { seconds, cpu: Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4]) };
}

/** librdb's rdb-cli writing the file into the server with RESTORE, through bash for its CPU times. */
async function peerRestore(peer: string, port: number, file: string): Promise<{ seconds: number; cpu: number }> {
  const started = performance.now();
  const child = spawn('bash', ['-c', `"$0" "$1" -l /dev/null redis -r -p "$2" >/dev/null; status=$?; times; exit $status`, peer, file, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${peer} failed (exit ${code}): ${output}`);
  const times = [...output.matchAll(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/g)].pop()!;
  return { seconds, cpu: Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4]) };
}

function mergeInChild(
  file: string,
  port: number,
): { seconds: number; processSeconds: number; cpu: number; processCpu: number; maxRssKiB: number; written: number; records: number; verifiedBy: string } {
  const started = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      import.meta.filename,
      '--child',
      file,
      '--port',
      String(port),
      '--on-conflict',
      onConflict,
      '--verify',
      verify,
      ...(values['max-in-flight'] ? ['--max-in-flight', values['max-in-flight']] : []),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  const processSeconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`the merge failed (${r.status}): ${r.stderr}`);
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()!), processSeconds };
}

const digestOf = async (port: number) => {
  const c = await openConnection({ host: '127.0.0.1', port, tls: false, db: 0 });
  try {
    return {
      digest: String(await c.sendCommand(['DEBUG', 'DIGEST'])),
      keys: Number(await c.sendCommand(['DBSIZE'])),
      memory: Number(/used_memory:(\d+)/.exec(String(await c.sendCommand(['INFO', 'memory'])))![1]),
    };
  } finally {
    await closeConnection(c);
  }
};
const flush = async (port: number) => {
  const c = await openConnection({ host: '127.0.0.1', port, tls: false, db: 0 });
  await c.sendCommand(['FLUSHALL', 'SYNC']);
  await closeConnection(c);
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mib = (kib: number) => (kib / 1024).toFixed(1);

const dir = mkdtempSync(join(tmpdir(), 'nlr-bench-merge-'));
const servers: ChildProcess[] = [];
try {
  const source = await startBenchRedis(dir, 'source', ['--repl-diskless-sync-max-replicas', '1']);
  const target = await startBenchRedis(dir, 'target', ['--repl-diskless-sync-max-replicas', '1']);
  servers.push(source.child, target.child);
  if (values.populate) {
    const admin = await openConnection({ host: '127.0.0.1', port: source.port, tls: false, db: 0 });
    for (const n of values.populate.split(',').map(Number)) {
      await admin.sendCommand(['FLUSHALL', 'SYNC']);
      await admin.sendCommand(['DEBUG', 'POPULATE', String(n), 'key', '100']);
      const taken = await takeBackup({
        source: { kind: 'replication', endpoint: { host: '127.0.0.1', port: source.port, tls: false, db: 0 } },
        toDir: join(dir, `populate-${n}`),
        compression: 'none',
      });
      await flush(target.port);
      const merge = mergeInChild(taken.path, target.port);
      const after = await digestOf(target.port);
      if (after.digest !== (await digestOf(source.port)).digest) throw new Error('the merge left other data than the source holds');
      console.log(
        `DEBUG POPULATE ${fmt(n)} (100-byte strings): ${(statSync(taken.path).size / 2 ** 20).toFixed(1)} MiB RDB, merge ${merge.seconds.toFixed(2)} s, peak RSS ${mib(merge.maxRssKiB)} MiB, digests equal`,
      );
    }
    await closeConnection(admin);
    const base = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--baseline'], { encoding: 'utf8' });
    console.log(`the same child only loading Node, tsx and the modules: ${mib(JSON.parse(base.stdout.trim()).maxRssKiB)} MiB`);
  } else await compareWithPipe(source, target);
} finally {
  for (const child of servers)
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  rmSync(dir, { recursive: true, force: true });
}

async function compareWithPipe(source: { port: number; child: ChildProcess }, target: { port: number; child: ChildProcess }): Promise<void> {
  console.log(
    `merge restore vs redis-cli --pipe: ${fmt(logs)} logs, seed ${seed}, --on-conflict ${onConflict}, verify ${verify}, ${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  let t = performance.now();
  const loaded = await loadgen({ host: '127.0.0.1', port: source.port, tls: false, db: 0 }, { logs, seed });
  console.log(`source loaded by loadgen: ${fmt(loaded.keys)} keys, ${fmt(loaded.commands)} commands in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const reference = await digestOf(source.port);
  t = performance.now();
  const backup = await takeBackup({
    source: { kind: 'replication', endpoint: { host: '127.0.0.1', port: source.port, tls: false, db: 0 } },
    toDir: join(dir, 'backups'),
    compression: 'none',
  });
  const rdbBytes = statSync(backup.path).size;
  console.log(`backup (--compress none): ${(rdbBytes / 2 ** 20).toFixed(1)} MiB RDB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  source.child.kill('SIGTERM');
  let largest = { key: '', bytes: 0 };
  const scan = new RdbStreamParser({ onRecord: (r) => void (r.value.length > largest.bytes && (largest = { key: r.key.toString(), bytes: r.value.length })) });
  for await (const chunk of createReadStream(backup.path, { highWaterMark: 1 << 20 })) scan.write(chunk as Buffer);
  scan.end();
  const respFile = join(dir, 'workload.resp');
  const commandCount = await writeWorkloadResp(respFile, { logs, seed });
  console.log(`RESP file: ${fmt(commandCount)} commands, ${(statSync(respFile).size / 2 ** 20).toFixed(1)} MiB`);

  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  const peerWall: number[] = [];
  const peerCpu: number[] = [];
  let peak = 0;
  for (let round = 1; round <= rounds; round++) {
    await flush(target.port);
    let serverCpu = cpuSeconds(target.child.pid!);
    const pipe = await redisCliPipe(target.port, respFile);
    const pipeSeconds = pipe.seconds;
    const pipeServerCpu = cpuSeconds(target.child.pid!) - serverCpu;
    const afterPipe = await digestOf(target.port);
    if (afterPipe.digest !== reference.digest) throw new Error(`redis-cli --pipe left digest ${afterPipe.digest}, the source has ${reference.digest}`);
    await flush(target.port);
    serverCpu = cpuSeconds(target.child.pid!);
    const merge = mergeInChild(backup.path, target.port);
    const mergeServerCpu = cpuSeconds(target.child.pid!) - serverCpu;
    const afterMerge = await digestOf(target.port);
    if (afterMerge.digest !== reference.digest || afterMerge.keys !== reference.keys)
      throw new Error(`the merge left ${afterMerge.keys} keys, digest ${afterMerge.digest}; the source has ${reference.keys}, ${reference.digest}`);
    const ratio = merge.seconds / pipeSeconds;
    ratios.push(ratio);
    const cpuRatio = (merge.cpu + mergeServerCpu) / (pipe.cpu + pipeServerCpu);
    cpuRatios.push(cpuRatio);
    peak = Math.max(peak, merge.maxRssKiB);
    console.log(
      `round ${round}: redis-cli --pipe ${pipeSeconds.toFixed(2)} s (${fmt(commandCount / pipeSeconds)} commands/s) | merge ${merge.seconds.toFixed(2)} s ` +
        `(${fmt(merge.written / merge.seconds)} keys/s, ${(rdbBytes / 2 ** 20 / merge.seconds).toFixed(0)} MiB/s of RDB; process incl. Node/tsx start ${merge.processSeconds.toFixed(2)} s) | ` +
        `ratio merge/pipe ${ratio.toFixed(3)} (process ${(merge.processSeconds / pipeSeconds).toFixed(3)}) | merge peak RSS ${mib(merge.maxRssKiB)} MiB | verified by ${merge.verifiedBy} | digests equal`,
    );
    console.log(
      `         CPU: redis-cli ${pipe.cpu.toFixed(2)} s + redis-server ${pipeServerCpu.toFixed(2)} s | merge ${merge.cpu.toFixed(2)} s + redis-server ${mergeServerCpu.toFixed(2)} s | ratio ${cpuRatio.toFixed(3)}`,
    );
    if (values.peer) {
      await flush(target.port);
      serverCpu = cpuSeconds(target.child.pid!);
      const peer = await peerRestore(values.peer, target.port, backup.path);
      const peerServerCpu = cpuSeconds(target.child.pid!) - serverCpu;
      const afterPeer = await digestOf(target.port);
      if (afterPeer.digest !== reference.digest)
        throw new Error(`rdb-cli left ${afterPeer.keys} keys, digest ${afterPeer.digest}; the source has ${reference.keys}, ${reference.digest}`);
      peerWall.push(merge.seconds / peer.seconds);
      peerCpu.push(merge.cpu / peer.cpu);
      console.log(
        `         rdb-cli ${peer.seconds.toFixed(2)} s, client CPU ${peer.cpu.toFixed(2)} s + redis-server ${peerServerCpu.toFixed(2)} s | merge ${merge.seconds.toFixed(2)} s (process ${merge.processSeconds.toFixed(2)} s), ` +
          `client CPU ${merge.cpu.toFixed(2)} s (process ${merge.processCpu.toFixed(2)} s) | merge / rdb-cli: wall ${(merge.seconds / peer.seconds).toFixed(3)} (process ${(merge.processSeconds / peer.seconds).toFixed(3)}), ` +
          `client CPU ${(merge.cpu / peer.cpu).toFixed(3)} (process ${(merge.processCpu / peer.cpu).toFixed(3)}) | digest equal`,
      );
    }
  }
  const medianOf = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  };
  const median = medianOf(ratios);
  console.log(
    `ratio merge / redis-cli --pipe wall time (goal <= 0.7): ${median.toFixed(3)} (median of ${rounds} round${rounds === 1 ? '' : 's'}, best ${Math.min(...ratios).toFixed(3)}) ${median <= 0.7 ? 'met' : 'NOT met'}; ` +
      `CPU (client + server) ratio ${medianOf(cpuRatios).toFixed(3)} (what the wall ratio tends to when the machine is busy)`,
  );
  if (values.peer) {
    console.log(
      `merge / rdb-cli (goal <= 0.9): wall ${medianOf(peerWall).toFixed(3)}, client CPU ${medianOf(peerCpu).toFixed(3)} (medians of ${rounds} round${rounds === 1 ? '' : 's'}; load average now ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')})`,
    );
  }
  const base = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--baseline'], { encoding: 'utf8' });
  const baseKiB = JSON.parse(base.stdout.trim()).maxRssKiB as number;
  console.log(
    `merge peak RSS: ${mib(peak)} MiB (the same child only loading Node, tsx and the modules: ${mib(baseKiB)} MiB) for a ${(rdbBytes / 2 ** 20).toFixed(1)} MiB RDB of ${fmt(reference.keys)} keys ` +
      `whose largest value is ${largest.key} at ${(largest.bytes / 2 ** 20).toFixed(1)} MiB (the target holds ${(reference.memory / 2 ** 20).toFixed(0)} MiB)`,
  );
}
