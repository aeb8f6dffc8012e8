/**
 * `loadgen (--url U | --dir D) --logs N [--seed S] [--json]`: writes NeuralLog-shaped data (see
 * src/workload/), connecting as the app user of a deployment made by `up` or as --url says.
 */
import { formatRedisUrl, resolveTarget } from '../connect/index.js';
import { UsageError } from '../errors.js';
import { loadgen, type LoadgenProgress } from '../workload/index.js';
import type { LoadgenFlags } from './model-flags.js';
import { printJson, printResult } from './output.js';

export async function loadgenCommand(flags: LoadgenFlags): Promise<number> {
  const logs = parseLogs(flags.logs);
  const seed = parseSeed(flags.seed);
  // --sentinel: the master the Sentinels name now
  const endpoint = await resolveTarget(flags, 'app');
  const progress = process.stderr.isTTY ? progressLine() : undefined;
  let result;
  try {
    result = await loadgen(endpoint, { logs, seed, onProgress: progress?.update });
  } finally {
    progress?.done();
  }
  const target = formatRedisUrl(endpoint);
  if (flags.json) {
    printJson({ target, seed, ...result });
  } else {
    printResult(
      `wrote ${count(result.logs, 'log')} (${count(result.keys, 'key')}: logs, indexes, ${count(result.rules, 'rule')}, ${count(result.patterns, 'pattern')}) ` +
        `to ${target} in ${result.seconds.toFixed(2)} s: ${n(result.commandsPerSecond)} commands/s, ${n(result.logsPerSecond)} logs/s (seed ${JSON.stringify(seed)})`,
    );
  }
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
