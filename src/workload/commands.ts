/**
 * The dataset as a stream of Redis commands (string arrays): a pure function of {logs, seed}, so the
 * same commands can be sent by our client, encoded for `redis-cli --pipe`, or compared in tests.
 *
 * Per log entry: SET logs:{id} <json>, ZADD idx:logs:time <ms> <id>, SADD to its level, source and
 * tag sets. About one rule per 1000 logs (HSET rules:{id}, DEL + RPUSH rule:actions:{id}) and one
 * detected pattern per 100 logs (XADD patterns:detected <ms>-0 ...), at least one of each. The run
 * starts with DEL patterns:detected because stream IDs are explicit (so the data is reproducible),
 * which makes a second run with the same seed leave exactly the same data.
 */
import { LEVELS, LogFactory, SOURCES, TAGS, makePattern, makeRule, type GeneratedLog } from './entities.js';
import { Random } from './prng.js';

export const KEYS = {
  log: (id: string) => `logs:${id}`,
  time: 'idx:logs:time',
  level: (level: string) => `idx:logs:level:${level}`,
  source: (source: string) => `idx:logs:source:${source}`,
  tag: (tag: string) => `idx:logs:tag:${tag}`,
  rule: (id: string) => `rules:${id}`,
  ruleActions: (id: string) => `rule:actions:${id}`,
  patterns: 'patterns:detected',
} as const;

/** Index keys built once, so the hot loop neither concatenates nor rehashes them. */
const LEVEL_KEYS = keyTable(LEVELS, KEYS.level);
const SOURCE_KEYS = keyTable(SOURCES, KEYS.source);
const TAG_KEYS = keyTable(TAGS, KEYS.tag);

function keyTable(names: readonly string[], key: (name: string) => string): Map<string, string> {
  return new Map(names.map((name) => [name, key(name)]));
}

export interface WorkloadOptions {
  /** number of log entries (a positive integer) */
  logs: number;
  /** any string; the same seed gives the same data */
  seed: string;
}

/** Counts kept while the commands are generated. */
export interface WorkloadTally {
  logs: number;
  rules: number;
  patterns: number;
  commands: number;
  /** distinct keys written so far (what DBSIZE shows on an empty database afterwards) */
  keys: number;
}

export function emptyTally(): WorkloadTally {
  return { logs: 0, rules: 0, patterns: 0, commands: 0, keys: 0 };
}

export function ruleCount(logs: number): number {
  return Math.max(1, Math.floor(logs / 1000));
}

export function patternCount(logs: number): number {
  return Math.max(1, Math.floor(logs / 100));
}

/**
 * One step of the workload: a log entry (the hot path: its commands have a fixed shape) or the
 * commands of a rarer item (the first DEL, a pattern, a rule).
 */
export type WorkloadStep =
  { kind: 'log'; log: GeneratedLog; levelKey: string; sourceKey: string; tagKeys: string[] } | { kind: 'commands'; commands: string[][] };

/** The workload as steps, in order; fills `tally` as each step is yielded. */
export function* workloadSteps(options: WorkloadOptions, tally: WorkloadTally = emptyTally()): Generator<WorkloadStep, WorkloadTally, void> {
  const { logs } = options;
  if (!Number.isSafeInteger(logs) || logs < 1) throw new RangeError(`logs must be a positive integer, not ${logs}`);
  const r = new Random(`neurallog-workload:${options.seed}`);
  const factory = new LogFactory(r);
  const rules = ruleCount(logs);
  const patterns = patternCount(logs);
  /** keys other than logs:{id}; the vocabulary keeps this small (plus two per rule) */
  const otherKeys = new Set<string>([KEYS.time]);
  const recent: string[] = [];
  let lastRuleId: string | undefined;
  let nextRule = 0;
  let nextRuleAt = spreadAt(0, logs, rules);
  let nextPattern = 0;
  let nextPatternAt = spreadAt(0, logs, patterns);

  tally.commands++;
  yield { kind: 'commands', commands: [['DEL', KEYS.patterns]] };

  for (let i = 0; i < logs; i++) {
    const log = factory.next();
    const levelKey = LEVEL_KEYS.get(log.level)!;
    const sourceKey = SOURCE_KEYS.get(log.source)!;
    const tagKeys = log.tags.map((tag) => TAG_KEYS.get(tag)!);
    otherKeys.add(levelKey).add(sourceKey);
    for (const key of tagKeys) otherKeys.add(key);
    tally.logs++;
    tally.commands += 4 + tagKeys.length;
    tally.keys = tally.logs + otherKeys.size;
    yield { kind: 'log', log, levelKey, sourceKey, tagKeys };
    recent.push(log.id);
    if (recent.length > 3) recent.shift();

    if (i === nextPatternAt) {
      const pattern = makePattern(r, log.timeMs, recent, lastRuleId);
      otherKeys.add(KEYS.patterns);
      tally.patterns++;
      tally.commands++;
      tally.keys = tally.logs + otherKeys.size;
      yield { kind: 'commands', commands: [['XADD', KEYS.patterns, pattern.streamId, ...pattern.fields]] };
      nextPatternAt = spreadAt(++nextPattern, logs, patterns);
    }
    if (i === nextRuleAt) {
      const rule = makeRule(r, log.timeMs);
      const ruleKey = KEYS.rule(rule.id);
      const actionsKey = KEYS.ruleActions(rule.id);
      otherKeys.add(ruleKey).add(actionsKey);
      tally.rules++;
      tally.commands += 3;
      tally.keys = tally.logs + otherKeys.size;
      yield {
        kind: 'commands',
        commands: [
          [
            'HSET',
            ruleKey,
            'id',
            rule.id,
            'name',
            rule.name,
            'description',
            rule.description,
            'condition',
            rule.condition,
            'severity',
            rule.severity,
            'enabled',
            String(rule.enabled),
            'createdAt',
            rule.createdAt,
            'updatedAt',
            rule.updatedAt,
          ],
          ['DEL', actionsKey],
          ['RPUSH', actionsKey, ...rule.actions.map((a) => JSON.stringify(a))],
        ],
      };
      lastRuleId = rule.id;
      nextRuleAt = spreadAt(++nextRule, logs, rules);
    }
  }
  return tally;
}

/** The commands of one log entry. */
export function logCommands(step: Extract<WorkloadStep, { kind: 'log' }>): string[][] {
  const { id, timeMs, json } = step.log;
  const out = [
    ['SET', KEYS.log(id), json],
    ['ZADD', KEYS.time, String(timeMs), id],
    ['SADD', step.levelKey, id],
    ['SADD', step.sourceKey, id],
  ];
  for (const key of step.tagKeys) out.push(['SADD', key, id]);
  return out;
}

/** Yields the workload's commands in order; fills `tally` as it goes. */
export function* commands(options: WorkloadOptions, tally: WorkloadTally = emptyTally()): Generator<string[], WorkloadTally, void> {
  for (const step of workloadSteps(options, tally)) {
    yield* step.kind === 'log' ? logCommands(step) : step.commands;
  }
  return tally;
}

/** Runs the generator to the end without sending anything: the counts a run will produce. */
export function describeWorkload(options: WorkloadOptions): WorkloadTally {
  const tally = emptyTally();
  for (const _ of commands(options, tally)) {
    // counting only
  }
  return tally;
}

/** Index of the log after which item k of `count` spread evenly over `logs` logs is emitted. */
function spreadAt(k: number, logs: number, count: number): number {
  return k >= count ? -1 : Math.floor(((k + 1) * logs) / count) - 1;
}
