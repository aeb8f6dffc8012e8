/**
 * The streaming RDB reader (structure + CRC-64) against redis-check-rdb on the same file, in one run:
 *   node --import tsx bench/rdb-parse.ts [--keys N] [--rounds K] [--file dump.rdb] [--keep copy.rdb] [--engine redis-8.0]
 * Starts its own redis-server (free port, temp dir; with --engine, that engine of the test matrix,
 * e.g. Redis 8.0 from the Debian 13 root, and that engine's own redis-check-rdb), writes DEBUG
 * POPULATE N (strings) plus hashes,
 * sorted sets, sets, lists and a stream in both small (listpack/intset) and large (hashtable,
 * skiplist, quicklist) encodings, and on engines that have them listpack sets and hashes with field
 * expiries (Redis 7.4+: listpack and hashtable forms), SAVEs, then times K rounds of each:
 *   - ours: a fresh `node` process streams the file through RdbStreamParser (createReadStream, 1 MiB
 *     chunks) and reports its parse time; peak RSS from /usr/bin/time (process.resourceUsage().maxRSS
 *     when that is missing). Without onRecord the parser reads large values element by element
 *     (rawValues 'none'); its maxBufferedBytes is printed;
 *   - ours, buffering: the same with rawValues 'all' (every value held whole until validated);
 *   - ours with records: with an onRecord callback (rawValues 'all', what a merge restore uses);
 *   - ours warm: the file parsed twice in one process, the second parse timed (JIT compiled);
 *   - ours as verify reads: one reused 1 MiB buffer written with `transient` (as `backups verify`
 *     reads its decompressor) under `node --single-threaded` (as bin/neurallog-redis runs);
 *   - redis-check-rdb on the file (wall time, process start included).
 * Prints medians of wall and CPU time (CPU is steadier on a busy machine), the ratios ours /
 * redis-check-rdb (goal <= 0.5), peak RSS of both, and the CRC-64 speed on the file in memory (the
 * WebAssembly loop used for large updates, and the JS loop). With --file, times an existing RDB
 * instead of making one; --keep saves the generated one.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, createReadStream, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { crc64Implementation, crc64Init, crc64Update, crc64UpdateJs } from '../src/rdb/crc64.js';
import { RdbStreamParser } from '../src/rdb/index.js';
import { startRdbServer, type MiniClient } from '../test/rdb-helpers.js';
import { engineById, type TestEngine } from '../test/helpers/engines.js';
import { compareVersions } from '../src/engine/identity.js';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
    file: { type: 'string' },
    keep: { type: 'string' },
    child: { type: 'string' },
    records: { type: 'boolean', default: false },
    buffering: { type: 'boolean', default: false },
    warm: { type: 'boolean', default: false },
    'as-verify': { type: 'boolean', default: false },
    engine: { type: 'string' },
    'check-rdb': { type: 'string' },
  },
});

/** the measured side: parse one file (twice with --warm, timing the second), print the figures */
async function childParse(file: string, withRecords: boolean, buffering: boolean, warm: boolean, asVerify: boolean): Promise<void> {
  let records = 0;
  let result: Record<string, unknown> = {};
  for (let round = warm ? 2 : 1; round > 0; round--) {
    records = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    const parser = new RdbStreamParser({
      source: file,
      rawValues: withRecords || buffering ? 'all' : undefined,
      onRecord: withRecords ? () => void records++ : undefined,
    });
    if (asVerify) {
      // as `backups verify` reads (runtime/program-output.ts): one reused 1 MiB buffer, transient writes
      const fd = openSync(file, 'r');
      const buf = Buffer.allocUnsafeSlow(1 << 20);
      for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) parser.write(buf.subarray(0, n), true);
      closeSync(fd);
    } else for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) parser.write(chunk as Buffer);
    const summary = parser.end();
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const keys = Object.values(summary.databases).reduce((n, d) => n + d.keys, 0);
    result = { ms, cpuMs: (used.user + used.system) / 1000, keys, records, verified: summary.checksum.verified, maxBufferedBytes: parser.maxBufferedBytes };
  }
  process.stdout.write(JSON.stringify({ ...result, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

interface ChildResult {
  ms: number;
  cpuMs: number;
  wallMs: number;
  maxRssMb: number;
  keys: number;
  verified: boolean;
  maxBufferedBytes: number;
}

function runChild(file: string, withRecords: boolean, warm = false, buffering = false, asVerify = false): ChildResult {
  const started = performance.now();
  const flags = [
    ...(withRecords ? ['--records'] : []),
    ...(warm ? ['--warm'] : []),
    ...(buffering ? ['--buffering'] : []),
    ...(asVerify ? ['--as-verify'] : []),
  ];
  // through /usr/bin/time when there is one: a child forked straight from this (large) process would
  // count this process's resident pages in its own peak RSS (Linux keeps the high-water mark across exec)
  // --as-verify also runs node --single-threaded, as bin/neurallog-redis does
  const command = [process.execPath, ...(asVerify ? ['--single-threaded'] : []), '--import', 'tsx', import.meta.filename, '--child', file, ...flags];
  const timed = existsSync('/usr/bin/time');
  const r = timed
    ? spawnSync('/usr/bin/time', ['-f', 'TIME %U %S %M', ...command], { encoding: 'utf8' })
    : spawnSync(command[0]!, command.slice(1), { encoding: 'utf8' });
  const wallMs = performance.now() - started;
  if (r.status !== 0) throw new Error(`parser child failed: ${r.stderr}`);
  const result = { ...JSON.parse(r.stdout), wallMs } as ChildResult;
  const t = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  if (t) result.maxRssMb = Number(t[3]) / 1024;
  return result;
}

/** redis-check-rdb under /usr/bin/time (wall, CPU and peak RSS), or timed here when that is missing */
function runCheckRdb(file: string, checkRdb: string): { ms: number; cpuMs: number | undefined; maxRssMb: number | undefined; keys: number } {
  const timed = existsSync('/usr/bin/time');
  const started = performance.now();
  const r = timed
    ? spawnSync('/usr/bin/time', ['-f', 'TIME %U %S %M', checkRdb, file], { encoding: 'utf8', maxBuffer: 64 << 20 })
    : spawnSync(checkRdb, [file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - started;
  if (r.status !== 0 || !/RDB looks OK/.test(r.stdout)) throw new Error(`redis-check-rdb failed: ${r.stdout}${r.stderr}`);
  const t = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  return {
    ms,
    cpuMs: t ? (Number(t[1]) + Number(t[2])) * 1000 : undefined,
    maxRssMb: t ? Number(t[3]) / 1024 : undefined,
    keys: Number(/(\d+) keys read/.exec(r.stdout)?.[1]),
  };
}

/** peak RSS of `node --import tsx` running nothing (the floor under our figures) */
function baselineRss(): number | undefined {
  if (!existsSync('/usr/bin/time')) return undefined;
  const r = spawnSync('/usr/bin/time', ['-f', 'TIME %U %S %M', process.execPath, '--import', 'tsx', '-e', '0'], { encoding: 'utf8' });
  const t = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  return t ? Number(t[3]) / 1024 : undefined;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 0) => n.toFixed(d);

/** listpack sets (RDB 11+) and hashes with field expiries (Redis 7.4+), in both encodings */
async function populateNewer(c: MiniClient, engine: TestEngine, keys: number): Promise<void> {
  const n = Math.max(1, Math.floor(keys / 100));
  const later = Date.now() + 30 * 86_400_000;
  const pending: Array<Promise<unknown>> = [];
  const hfe = engine.identity.engine === 'redis' && compareVersions(engine.identity.version, '7.4.0') >= 0;
  for (let i = 0; i < n; i++) {
    pending.push(c.send('SADD', `set:lp:${i}`, 'alpha', 'beta', String(i)));
    if (hfe) pending.push(c.send('HSETEX', `hash:ttl:${i}`, 'PXAT', String(later + i), 'FIELDS', '2', 'level', 'info', 'count', String(i)));
    if (pending.length >= 4000) {
      await Promise.all(pending);
      pending.length = 0;
    }
  }
  if (hfe) {
    for (let i = 0; i < 20; i++) {
      const fields: string[] = [];
      for (let f = 0; f < 1000; f++) fields.push(`field:${f}`, `value ${f} of hash ${i}`);
      pending.push(c.send('HSET', `hash:ttl-big:${i}`, ...fields));
      for (let f = 0; f < 1000; f += 3) pending.push(c.send('HPEXPIREAT', `hash:ttl-big:${i}`, String(later + f), 'FIELDS', '1', `field:${f}`));
      await Promise.all(pending);
      pending.length = 0;
    }
  }
  await Promise.all(pending);
}

async function populate(c: MiniClient, keys: number): Promise<void> {
  await c.send('CONFIG', 'SET', 'rdbcompression', 'yes');
  await c.send('DEBUG', 'POPULATE', keys, 'key', 16);
  const pending: Array<Promise<unknown>> = [];
  const flush = async () => {
    await Promise.all(pending);
    pending.length = 0;
  };
  const n = Math.max(1, Math.floor(keys / 100));
  for (let i = 0; i < n; i++) {
    pending.push(c.send('HSET', `hash:small:${i}`, 'level', 'info', 'source', 'api-gateway', 'count', String(i), 'message', `request ${i} served`));
    pending.push(c.send('ZADD', `zset:small:${i}`, '1', 'a', '2.5', 'b', String(i), 'c'));
    pending.push(c.send('SADD', `set:int:${i}`, '1', '2', String(i + 3)));
    pending.push(c.send('RPUSH', `list:small:${i}`, 'a', 'b', String(i)));
    if (pending.length >= 4000) await flush();
  }
  for (let i = 0; i < 20; i++) {
    const fields: string[] = [];
    for (let f = 0; f < 1000; f++) fields.push(`field:${f}`, `value ${f} of hash ${i}`);
    pending.push(c.send('HSET', `hash:big:${i}`, ...fields));
    const members: string[] = [];
    for (let m = 0; m < 5000; m++) members.push(String(m * 1.5), `member:${m}`);
    pending.push(c.send('ZADD', `zset:big:${i}`, ...members));
    pending.push(c.send('SADD', `set:big:${i}`, ...Array.from({ length: 2000 }, (_, m) => `m${m}:${i}`)));
    pending.push(c.send('RPUSH', `list:big:${i}`, ...Array.from({ length: 5000 }, (_, m) => `list element ${m}`)));
    await flush();
  }
  for (let i = 0; i < 10000; i++) pending.push(c.send('XADD', 'stream', '*', 'level', 'info', 'n', String(i)));
  await flush();
}

async function main(): Promise<void> {
  const rounds = Math.max(1, Number(values.rounds));
  let file = values.file;
  let server: Awaited<ReturnType<typeof startRdbServer>> | undefined;
  const engine = values.engine ? engineById(values.engine) : undefined;
  if (values.engine && !engine) throw new Error(`no engine ${values.engine} here (ids: redis-7.0, redis-8.0, valkey-8.1; the root's need root)`);
  const checkRdb = values['check-rdb'] ?? engine?.checkRdb ?? 'redis-check-rdb';
  try {
    if (!file) {
      server = await startRdbServer([], undefined, engine);
      const keys = Number(values.keys);
      process.stderr.write(`populating ${keys} strings and the collections on ${engine?.label ?? 'the host redis-server'}...\n`);
      await populate(server.client, keys);
      if (engine) await populateNewer(server.client, engine, keys);
      await server.save();
      file = join(server.dir, 'dump.rdb');
      if (values.keep) copyFileSync(file, values.keep);
    }
    const size = statSync(file).size;
    process.stderr.write(`timing ${file} (${fmt(size / 1e6, 1)} MB), ${rounds} rounds\n`);
    const ours: ChildResult[] = [];
    const oursRecords: ChildResult[] = [];
    const oursWarm: ChildResult[] = [];
    const oursBuffering: ChildResult[] = [];
    const oursAsVerify: ChildResult[] = [];
    const check: Array<ReturnType<typeof runCheckRdb>> = [];
    for (let r = 0; r < rounds; r++) {
      check.push(runCheckRdb(file, checkRdb));
      ours.push(runChild(file, false));
      oursRecords.push(runChild(file, true));
      oursWarm.push(runChild(file, false, true));
      oursBuffering.push(runChild(file, false, false, true));
      oursAsVerify.push(runChild(file, false, false, false, true));
    }
    for (const o of [...ours, ...oursRecords, ...oursWarm, ...oursBuffering, ...oursAsVerify]) {
      if (!o.verified || o.keys !== check[0]!.keys) throw new Error(`parser disagrees: ${JSON.stringify(o)} vs ${check[0]!.keys} keys`);
    }
    // CRC-64 alone, on the file in memory
    const data = readFileSync(file);
    const crcTimes: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      crc64Update(crc64Init(), data);
      crcTimes.push(performance.now() - t);
    }
    const crcMs = Math.min(...crcTimes);
    const crcJsTimes: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      crc64UpdateJs(crc64Init(), data);
      crcJsTimes.push(performance.now() - t);
    }
    const crcJsMs = Math.min(...crcJsTimes);
    const oursMs = median(ours.map((o) => o.ms));
    const oursCpu = median(ours.map((o) => o.cpuMs));
    const recMs = median(oursRecords.map((o) => o.ms));
    const recCpu = median(oursRecords.map((o) => o.cpuMs));
    const checkMs = median(check.map((c) => c.ms));
    const checkCpu = check[0]!.cpuMs === undefined ? undefined : median(check.map((c) => c.cpuMs!));
    const checkRss = check[0]!.maxRssMb === undefined ? 'n/a' : `${fmt(Math.max(...check.map((c) => c.maxRssMb!)))} MB`;
    const cpu = (n: number | undefined) => (n === undefined ? 'n/a' : `${fmt(n)} ms`);
    const kept = (os: ChildResult[]) => `${fmt(Math.max(...os.map((o) => o.maxBufferedBytes)) / 1024)} KiB`;
    const header = readFileSync(file).subarray(0, 9).toString('latin1');
    const lines = [
      `file: ${fmt(size / 1e6, 1)} MB, ${header}, ${check[0]!.keys} keys (redis-check-rdb agrees on the count and the CRC)${engine ? `, written by ${engine.label}; checked by ${checkRdb}` : ''}`,
      `redis-check-rdb:        wall ${fmt(checkMs)} ms, CPU ${cpu(checkCpu)}, peak RSS ${checkRss} (medians of ${rounds}, process start included)`,
      `ours (structure + CRC): wall ${fmt(oursMs)} ms, CPU ${cpu(oursCpu)} (parse; ${fmt(median(ours.map((o) => o.wallMs)))} ms with node + tsx start), peak RSS ${fmt(Math.max(...ours.map((o) => o.maxRssMb)))} MB, parser kept <= ${kept(ours)}`,
      `ours, buffering (rawValues 'all'): wall ${fmt(median(oursBuffering.map((o) => o.ms)))} ms, CPU ${cpu(median(oursBuffering.map((o) => o.cpuMs)))}, peak RSS ${fmt(Math.max(...oursBuffering.map((o) => o.maxRssMb)))} MB, parser kept <= ${kept(oursBuffering)}`,
      `ours as verify reads (one reused 1 MiB buffer, transient writes, node --single-threaded): wall ${fmt(median(oursAsVerify.map((o) => o.ms)))} ms, CPU ${cpu(median(oursAsVerify.map((o) => o.cpuMs)))}, peak RSS ${fmt(Math.max(...oursAsVerify.map((o) => o.maxRssMb)))} MB; best wall ${fmt(Math.min(...oursAsVerify.map((o) => o.ms)))} ms, CPU ${fmt(Math.min(...oursAsVerify.map((o) => o.cpuMs)))} ms; ratio wall ${fmt(median(oursAsVerify.map((o) => o.ms)) / checkMs, 2)}${checkCpu ? `, CPU ${fmt(median(oursAsVerify.map((o) => o.cpuMs)) / checkCpu, 2)}` : ''}`,
      `ours with onRecord:     wall ${fmt(recMs)} ms, CPU ${cpu(recCpu)}, peak RSS ${fmt(Math.max(...oursRecords.map((o) => o.maxRssMb)))} MB`,
      `ours, second parse in the same process (JIT warm): wall ${fmt(median(oursWarm.map((o) => o.ms)))} ms, CPU ${cpu(median(oursWarm.map((o) => o.cpuMs)))}; ${fmt(size / 1e6 / (median(oursWarm.map((o) => o.ms)) / 1000))} MB/s`,
      `best of ${rounds} (the least disturbed round of each, on a busy machine): redis-check-rdb wall ${fmt(Math.min(...check.map((c) => c.ms)))} ms${checkCpu === undefined ? '' : `, CPU ${fmt(Math.min(...check.map((c) => c.cpuMs!)))} ms`}; ours wall ${fmt(Math.min(...ours.map((o) => o.ms)))} ms, CPU ${fmt(Math.min(...ours.map((o) => o.cpuMs)))} ms; ratio wall ${fmt(Math.min(...ours.map((o) => o.ms)) / Math.min(...check.map((c) => c.ms)), 2)}${checkCpu === undefined ? '' : `, CPU ${fmt(Math.min(...ours.map((o) => o.cpuMs)) / Math.min(...check.map((c) => c.cpuMs!)), 2)}`}`,
      `ratio ours / redis-check-rdb: wall ${fmt(oursMs / checkMs, 2)}, CPU ${checkCpu ? fmt(oursCpu / checkCpu, 2) : 'n/a'} (goal <= 0.5); with onRecord wall ${fmt(recMs / checkMs, 2)}, CPU ${checkCpu ? fmt(recCpu / checkCpu, 2) : 'n/a'}; warm wall ${fmt(median(oursWarm.map((o) => o.ms)) / checkMs, 2)}`,
      `peak RSS of node + tsx doing nothing: ${cpu(baselineRss()).replace(' ms', ' MB')}`,
      `CRC-64 alone (${crc64Implementation}): ${fmt(size / 1e6 / (crcMs / 1000))} MB/s, ${fmt(crcMs)} ms of the ${fmt(oursMs)} ms parse; JS loop alone ${fmt(size / 1e6 / (crcJsMs / 1000))} MB/s`,
      `machine: ${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}, node ${process.version}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await server?.stop();
  }
}

if (values.child) {
  await childParse(values.child, values.records ?? false, values.buffering ?? false, values.warm ?? false, values['as-verify'] ?? false);
} else {
  await main();
}
