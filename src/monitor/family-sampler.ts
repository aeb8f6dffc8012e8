/**
 * Keys and memory of NeuralLog's key families (logs, indexes, rules, patterns), counted in the
 * background and never on the scrape path: each pass walks a bounded stretch of the keyspace with
 * SCAN (continuing where the last pass stopped) and asks MEMORY USAGE of a few of the keys it saw,
 * inside a time budget. A finished walk gives exact key counts; memory is the average sampled size
 * times the count. Until the first walk finishes, counts are extrapolated from DBSIZE.
 */
import type { RedisConnection } from '../connect/client.js';
import type { MetricSet } from './metric-set.js';

export const FAMILIES = ['logs', 'indexes', 'rules', 'patterns', 'other'] as const;
export type FamilyName = (typeof FAMILIES)[number];

/** which family a key belongs to, by the prefixes NeuralLog writes (src/workload/commands.ts) */
export function familyOf(key: string): FamilyName {
  if (key.startsWith('logs:')) return 'logs';
  if (key.startsWith('idx:')) return 'indexes';
  if (key.startsWith('rules:') || key.startsWith('rule:')) return 'rules';
  if (key.startsWith('patterns:')) return 'patterns';
  return 'other';
}

interface Tally {
  keys: Record<FamilyName, number>;
  sampledBytes: Record<FamilyName, number>;
  sampledKeys: Record<FamilyName, number>;
}

/** keys of each family whose size is always asked, each walk */
const ALWAYS_SAMPLED = 256;
/** a bound on the spread queue */
const MAX_QUEUED = 4096;

const zeros = (): Record<FamilyName, number> => ({ logs: 0, indexes: 0, rules: 0, patterns: 0, other: 0 });
const emptyTally = (): Tally => ({ keys: zeros(), sampledBytes: zeros(), sampledKeys: zeros() });

export interface SamplerOptions {
  /** SCAN COUNT per call */
  scanCount?: number;
  /** SCAN calls per pass at most */
  scansPerPass?: number;
  /** MEMORY USAGE calls per pass at most */
  memorySamplesPerPass?: number;
  /** MEMORY USAGE's SAMPLES: elements of a collection it looks at (default 5, as Redis; 0 = all, exact and O(n)) */
  elementSamples?: number;
  /** a pass stops once this much time has gone */
  passBudgetMs?: number;
  now?: () => number;
}

export interface FamilyFigures {
  keys: Record<FamilyName, number>;
  memoryBytes: Record<FamilyName, number>;
  /** true once a whole walk has finished (counts exact as of then) */
  complete: boolean;
  /** when the figures were last updated (ms since the epoch) */
  at: number;
  scannedTotal: number;
  walks: number;
}

export class FamilySampler {
  private cursor = '0';
  private current = emptyTally();
  private finished: Tally | undefined;
  private dbsize = 0;
  private scannedThisWalk = 0;
  private scannedTotal = 0;
  private walks = 0;
  private at = 0;
  private memoryAllowed = true;
  /** the walk's SCAN has reached the end; it finishes when the backlog is measured */
  private walkEnded = false;
  /** keys of small families waiting for MEMORY USAGE (never dropped: their sizes differ the most) */
  private readonly backlog: Array<[string, FamilyName]> = [];
  /** a spread of large families' keys waiting for MEMORY USAGE (bounded; measured after the backlog) */
  private readonly spread: Array<[string, FamilyName]> = [];
  /** keys of each family queued for measuring this walk */
  private queued = zeros();

  constructor(private readonly options: SamplerOptions = {}) {}

  /** one bounded pass over the next stretch of the keyspace */
  async pass(client: RedisConnection): Promise<void> {
    const now = this.options.now ?? Date.now;
    const started = now();
    const budget = { left: this.options.memorySamplesPerPass ?? 20 };
    this.dbsize = Number(await client.sendCommand(['DBSIZE']));
    await this.measure(client, budget);
    for (let scans = 0; !this.walkEnded && scans < (this.options.scansPerPass ?? 4) && now() - started < (this.options.passBudgetMs ?? 50); scans++) {
      const reply: unknown = await client.sendCommand(['SCAN', this.cursor, 'COUNT', String(this.options.scanCount ?? 500)]);
      const [cursor, keys] = reply as [string, string[]];
      this.cursor = String(cursor);
      this.tally(keys.map(String));
      await this.measure(client, budget);
      if (this.cursor === '0') this.walkEnded = true;
    }
    // a walk is done once the sizes of every key it chose to measure are in
    if (this.walkEnded && this.backlog.length === 0) {
      this.finished = this.current;
      this.current = emptyTally();
      this.scannedThisWalk = 0;
      this.queued = zeros();
      this.spread.length = 0;
      this.walkEnded = false;
      this.walks++;
    }
    this.at = now();
  }

  /** counts the keys, and queues the ones whose size will be asked */
  private tally(keys: string[]): void {
    this.scannedThisWalk += keys.length;
    this.scannedTotal += keys.length;
    // every key of a small family (up to 256 a walk: the few index sets differ in size by orders of
    // magnitude), then a spread of one in seven of the large ones
    const first: Array<[string, FamilyName]> = [];
    keys.forEach((key, i) => {
      const family = familyOf(key);
      this.current.keys[family]++;
      if (family === 'other' || !this.memoryAllowed) return;
      if (this.queued[family] < ALWAYS_SAMPLED) {
        first.push([key, family]);
        this.queued[family]++;
      } else if ((this.scannedTotal + i) % 7 === 0 && this.spread.length < MAX_QUEUED) this.spread.push([key, family]);
    });
    // one key of each family in turn, so the budget is not spent on logs alone
    this.backlog.push(...roundRobin(first));
  }

  /** MEMORY USAGE of queued keys, within this pass's budget: small families first */
  private async measure(client: RedisConnection, budget: { left: number }): Promise<void> {
    const take = Math.max(0, budget.left);
    const toSample = this.backlog.splice(0, take);
    toSample.push(...this.spread.splice(0, take - toSample.length));
    budget.left -= toSample.length;
    if (toSample.length === 0) return;
    // node-redis pipelines concurrent commands on the one connection
    const sizes = await Promise.all(
      toSample.map(([key]) => client.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', String(this.options.elementSamples ?? 5)]).catch((e: Error) => e)),
    );
    sizes.forEach((size, i) => {
      if (size instanceof Error) {
        if (/NOPERM/.test(size.message)) this.memoryAllowed = false;
        return;
      }
      if (size === null) return; // gone since SCAN saw it
      const family = toSample[i]![1];
      this.current.sampledBytes[family] += Number(size);
      this.current.sampledKeys[family]++;
    });
    if (!this.memoryAllowed) this.backlog.length = this.spread.length = 0;
  }

  figures(): FamilyFigures {
    const tally = this.finished ?? this.current;
    const keys = zeros();
    const memoryBytes = zeros();
    // before the first walk ends, this walk's share of each family, scaled to the whole keyspace
    const scale = this.finished || this.scannedThisWalk === 0 ? 1 : this.dbsize / this.scannedThisWalk;
    const sizes = this.finished ?? this.current;
    for (const family of FAMILIES) {
      keys[family] = Math.round(tally.keys[family] * scale);
      const sampled = sizes.sampledKeys[family] || this.current.sampledKeys[family];
      const bytes = sizes.sampledKeys[family] ? sizes.sampledBytes[family] : this.current.sampledBytes[family];
      // the sampled keys as measured, the rest at their average
      memoryBytes[family] = sampled ? Math.round(bytes + (bytes / sampled) * Math.max(0, keys[family] - sampled)) : 0;
    }
    return { keys, memoryBytes, complete: this.finished !== undefined, at: this.at, scannedTotal: this.scannedTotal, walks: this.walks };
  }
}

function roundRobin(list: ReadonlyArray<[string, FamilyName]>): Array<[string, FamilyName]> {
  const queues = FAMILIES.map((family) => list.filter(([, f]) => f === family));
  const out: Array<[string, FamilyName]> = [];
  for (let i = 0; out.length < list.length; i++) for (const queue of queues) if (i < queue.length) out.push(queue[i]!);
  return out;
}

export function addFamilyMetrics(set: MetricSet, figures: FamilyFigures, nowMs: number): void {
  for (const family of FAMILIES) {
    set.gauge('neurallog_keys', figures.keys[family], { family });
    if (family !== 'other') set.gauge('neurallog_memory_bytes', figures.memoryBytes[family], { family });
  }
  set.gauge('neurallog_keys_complete', figures.complete ? 1 : 0);
  set.gauge('neurallog_keys_age_seconds', figures.at ? (nowMs - figures.at) / 1000 : -1);
  set.counter('neurallog_sampler_scanned_keys_total', figures.scannedTotal);
  set.counter('neurallog_sampler_walks_total', figures.walks);
}
