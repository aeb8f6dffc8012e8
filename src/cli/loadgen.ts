/**
 * `loadgen (--url U | --dir D | --sentinel S --master-name M | --cluster SEEDS) --logs N [--seed S]
 * [--json]`: writes NeuralLog-shaped data (see src/workload/), connecting as the app user of a
 * deployment made by `up` or as the flags say. Through Sentinel it writes to the master the Sentinels
 * name; to a cluster, each command to the master owning its slot (workload/cluster-loadgen.ts).
 */
import { formatRedisUrl } from '../connect/index.js';
import { resolveTarget } from '../discover/index.js';
import { topologyFromOptions } from '../connect/topology-target.js';
import { UsageError } from '../errors.js';
import { loadgen, loadgenCluster, type LoadgenProgress, type LoadgenResult } from '../workload/index.js';
import type { LoadgenFlags } from './model-flags.js';
import { printJson, printResult } from './output.js';

export async function loadgenCommand(flags: LoadgenFlags): Promise<number> {
  const logs = parseLogs(flags.logs);
  const seed = parseSeed(flags.seed);
  if (flags.url && flags.cluster) throw new UsageError('give either --url or --cluster, not both');
  const cluster = flags.url ? undefined : topologyFromOptions(flags, 'app');
  const progress = process.stderr.isTTY ? progressLine() : undefined;
  let result: LoadgenResult;
  let target: string;
  let routing: string | undefined;
  try {
    if (cluster?.kind === 'cluster') {
      const r = await loadgenCluster(cluster.seeds, cluster.credentials, { logs, seed, onProgress: progress?.update });
      if (flags.json) {
        printJson({ target: { cluster: cluster.seeds.map((s) => `${s.host}:${s.port}`) }, seed, ...r });
        return 0;
      }
      [result, target] = [r, `the cluster (${r.masters.length} masters)`];
      routing = `  by master: ${r.masters.map((m) => `${m.node} ${n(m.commands)}`).join(', ')}; MOVED ${r.moved}, ASK ${r.ask}, slot map asked again ${r.mapRefreshes} time(s)`;
    } else {
      // --sentinel: the master the Sentinels name now
      const endpoint = await resolveTarget(flags, 'app');
      result = await loadgen(endpoint, { logs, seed, onProgress: progress?.update });
      target = formatRedisUrl(endpoint);
      if (flags.json) {
        printJson({ target, seed, ...result });
        return 0;
      }
    }
  } finally {
    progress?.done();
  }
  printResult(
    `wrote ${count(result.logs, 'log')} (${count(result.keys, 'key')}: logs, indexes, ${count(result.rules, 'rule')}, ${count(result.patterns, 'pattern')}) ` +
      `to ${target} in ${result.seconds.toFixed(2)} s: ${n(result.commandsPerSecond)} commands/s, ${n(result.logsPerSecond)} logs/s (seed ${JSON.stringify(seed)})` +
      (routing ? `\n${routing}` : ''),
  );
  return 0;
}

export function parseLogs(text: string | undefined): number {
  const value = (text ?? '').trim();
  const logs = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(logs) || logs < 1) {
    throw new UsageError(`--logs takes a positive whole number of log entries (e.g. --logs 100000), not "${text ?? ''}"`);
  }
  return logs;
}

export function parseSeed(text: string | undefined): string {
  const seed = text ?? '1';
  if (seed.length === 0 || seed.length > 200 || /[\u0000-\u001f\u007f]/.test(seed)) {
    throw new UsageError(`--seed takes 1 to 200 printable characters (any word or number; the same seed writes the same data), not ${JSON.stringify(seed)}`);
  }
  return seed;
}

const n = (value: number) => Math.round(value).toLocaleString('en-US');
const count = (value: number, noun: string) => `${n(value)} ${noun}${value === 1 ? '' : 's'}`;

/** One self-overwriting line on a terminal's stderr, at most five times a second. */
function progressLine(): { update: (p: LoadgenProgress) => void; done: () => void } {
  let last = 0;
  let shown = false;
  return {
    update: (p) => {
      const now = Date.now();
      if (now - last < 200 && p.logs < p.totalLogs) return;
      last = now;
      shown = true;
      const percent = Math.floor((100 * p.logs) / p.totalLogs);
      const rate = p.seconds > 0 ? p.commands / p.seconds : 0;
      process.stderr.write(`\r\x1b[Kloadgen: ${n(p.logs)} / ${n(p.totalLogs)} logs (${percent}%), ${n(rate)} commands/s`);
    },
    done: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
