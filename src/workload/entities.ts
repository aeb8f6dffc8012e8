/**
 * The things NeuralLog stores, generated from a seeded Random: log entries, alerting rules with their
 * actions, and detected patterns. The vocabulary is fixed, so the set of index keys is small and known.
 */
import { Random, weightedTable } from './prng.js';

export const LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

export const SOURCES = [
  'api-gateway',
  'auth-service',
  'user-service',
  'payment-service',
  'order-service',
  'inventory-service',
  'notification-service',
  'search-service',
  'log-ingest',
  'rule-engine',
  'scheduler',
  'web-frontend',
] as const;

export const TAGS = [
  'http',
  'database',
  'cache',
  'auth',
  'payment',
  'security',
  'performance',
  'timeout',
  'retry',
  'queue',
  'kubernetes',
  'deploy',
  'user',
  'billing',
  'email',
  'webhook',
  'latency',
  'disk',
  'memory',
  'network',
] as const;

/** Logs start here and move forward 1..2000 ms at a time (about one log per second). */
export const EPOCH_MS = Date.UTC(2024, 0, 1);
const MAX_GAP_MS = 2000;

const levelTable = weightedTable<Level>([
  ['debug', 15],
  ['info', 60],
  ['warn', 15],
  ['error', 8],
  ['fatal', 2],
]);
const environmentTable = weightedTable([
  ['production', 70],
  ['staging', 20],
  ['development', 10],
] as const);
const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
const PATTERN_TYPES = ['error_burst', 'repeated_message', 'latency_spike', 'anomaly', 'new_error'] as const;
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'] as const;
const RESOURCES = ['users', 'orders', 'payments', 'products', 'sessions', 'rules', 'logs'] as const;
const TABLES = ['users', 'orders', 'payments', 'inventory', 'sessions', 'audit_events'] as const;
const DEPENDENCIES = ['postgres', 'redis', 'kafka', 'stripe-api', 'smtp-relay', 'elasticsearch'] as const;
const CURRENCIES = ['USD', 'EUR', 'GBP'] as const;
const TIMEOUTS = [500, 1000, 2000, 5000] as const;
const QUEUES = ['emails', 'webhooks', 'exports', 'rule-evaluations'] as const;

/** The JSON stored under logs:{id}. */
export interface LogEntry {
  id: string;
  timestamp: string;
  level: Level;
  source: string;
  message: string;
  tags: string[];
  environment: string;
  host: string;
  traceId: string;
  data: Record<string, string | number | boolean>;
}

export interface Rule {
  id: string;
  name: string;
  description: string;
  condition: string;
  severity: string;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  actions: Array<Record<string, string | number>>;
}

export interface Pattern {
  /** stream entry ID, `<ms>-0`, strictly increasing */
  streamId: string;
  fields: string[];
}

/** A message and the JSON text of its `data` object. */
type Message = { message: string; data: string };
type Template = (r: Random, level: Level) => Message;

/*
 * Log JSON is assembled as text: JSON.stringify was the largest cost of generating a log. This is
 * safe because every string placed in it comes from the fixed vocabulary above, digits or hex,
 * none of which needs escaping (a test parses generated logs back).
 */
const TEMPLATES: Template[] = [
  (r) => {
    const method = r.pick(METHODS);
    const path = `/api/v1/${r.pick(RESOURCES)}/${r.int(100000)}`;
    const status = r.weighted(statusTable);
    const durationMs = r.range(1, 1500);
    return {
      message: `${method} ${path} ${status} in ${durationMs}ms`,
      data: `{"method":"${method}","path":"${path}","status":${status},"durationMs":${durationMs}}`,
    };
  },
  (r) => {
    const table = r.pick(TABLES);
    const durationMs = r.range(1, 900);
    const rows = r.int(5000);
    return { message: `Query on ${table} returned ${rows} rows in ${durationMs}ms`, data: `{"table":"${table}","rows":${rows},"durationMs":${durationMs}}` };
  },
  (r, level) => {
    const userId = `u-${r.int(1000000)}`;
    const ip = `10.${r.int(256)}.${r.int(256)}.${r.int(256)}`;
    const ok = level === 'debug' || level === 'info';
    return {
      message: ok ? `User ${userId} logged in from ${ip}` : `Failed login for user ${userId} from ${ip}`,
      data: `{"userId":"${userId}","ip":"${ip}","success":${ok}}`,
    };
  },
  (r, level) => {
    const paymentId = `pay_${r.hex(12)}`;
    const amount = r.range(100, 500000);
    const currency = r.pick(CURRENCIES);
    const status = level === 'error' || level === 'fatal' ? 'declined' : 'captured';
    return {
      message: `Payment ${paymentId} of ${(amount / 100).toFixed(2)} ${currency} ${status}`,
      data: `{"paymentId":"${paymentId}","amountCents":${amount},"currency":"${currency}","status":"${status}"}`,
    };
  },
  (r) => {
    const dependency = r.pick(DEPENDENCIES);
    const timeoutMs = r.pick(TIMEOUTS);
    const attempt = r.range(1, 5);
    return {
      message: `Connection to ${dependency} timed out after ${timeoutMs}ms (attempt ${attempt})`,
      data: `{"dependency":"${dependency}","timeoutMs":${timeoutMs},"attempt":${attempt}}`,
    };
  },
  (r) => {
    const key = `session:${r.hex(8)}`;
    const hit = r.chance(70);
    return { message: `Cache ${hit ? 'hit' : 'miss'} for ${key}`, data: `{"key":"${key}","hit":${hit}}` };
  },
  (r) => {
    const queue = r.pick(QUEUES);
    const depth = r.int(20000);
    return { message: `Queue ${queue} depth is ${depth}`, data: `{"queue":"${queue}","depth":${depth}}` };
  },
];

const statusTable = weightedTable([
  [200, 70],
  [201, 8],
  [204, 5],
  [400, 5],
  [401, 3],
  [404, 5],
  [500, 3],
  [503, 1],
] as const);

/** One generated log: what the indexes need, and the stored JSON (a LogEntry). */
export interface GeneratedLog {
  id: string;
  timeMs: number;
  level: Level;
  source: string;
  tags: string[];
  json: string;
}

/** Generates log entries in time order. */
export class LogFactory {
  #time = EPOCH_MS;
  readonly #clock = new IsoClock();
  constructor(private readonly r: Random) {}

  next(): GeneratedLog {
    const r = this.r;
    const timeMs = (this.#time += r.range(1, MAX_GAP_MS));
    const id = r.uuid();
    const level = r.weighted(levelTable);
    const source = r.pick(SOURCES);
    const tagCount = r.range(1, 3);
    const tags: string[] = [];
    while (tags.length < tagCount) {
      const tag = r.pick(TAGS);
      if (!tags.includes(tag)) tags.push(tag);
    }
    const { message, data } = r.pick(TEMPLATES)(r, level);
    const environment = r.weighted(environmentTable);
    const host = `${source}-${r.hex(4)}-${r.int(4)}`;
    const traceId = r.hex(32);
    const json =
      `{"id":"${id}","timestamp":"${this.#clock.format(timeMs)}","level":"${level}","source":"${source}",` +
      `"message":"${message}","tags":["${tags.join('","')}"],"environment":"${environment}","host":"${host}",` +
      `"traceId":"${traceId}","data":${data}}`;
    return { id, timeMs, level, source, tags, json };
  }
}

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const PAD3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const DAY_MS = 86_400_000;

/** `Date#toISOString` for times that mostly stay within one day: the date part is cached. */
export class IsoClock {
  #dayStart = Number.NaN;
  #datePrefix = '';

  format(ms: number): string {
    let inDay = ms - this.#dayStart;
    if (!(inDay >= 0 && inDay < DAY_MS)) {
      this.#dayStart = ms - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
      this.#datePrefix = new Date(this.#dayStart).toISOString().slice(0, 11);
      inDay = ms - this.#dayStart;
    }
    const millis = inDay % 1000;
    const seconds = Math.floor(inDay / 1000);
    return `${this.#datePrefix}${PAD2[Math.floor(seconds / 3600)]}:${PAD2[Math.floor(seconds / 60) % 60]}:${PAD2[seconds % 60]}.${PAD3[millis]}Z`;
  }
}

export function makeRule(r: Random, nowMs: number): Rule {
  const level = r.pick(['warn', 'error', 'error', 'fatal'] as const);
  const source = r.pick(SOURCES);
  const kind = r.int(3);
  const count = r.range(3, 50);
  const windowSeconds = r.pick([60, 300, 900, 3600]);
  const condition =
    kind === 0
      ? { type: 'threshold', level, source, count, windowSeconds }
      : kind === 1
        ? { type: 'pattern', source, messageContains: r.pick(['timed out', 'declined', 'Failed login', 'depth']), count, windowSeconds }
        : { type: 'absence', source, windowSeconds };
  const name = kind === 0 ? `${level} spike in ${source}` : kind === 1 ? `Repeated messages in ${source}` : `${source} went quiet`;
  const actionCount = r.range(1, 3);
  const actions: Rule['actions'] = [];
  for (let i = 0; i < actionCount; i++) {
    const type = r.pick(['email', 'slack', 'webhook', 'pagerduty'] as const);
    if (type === 'email') actions.push({ type, to: `oncall-${source}@example.com`, subject: name });
    else if (type === 'slack') actions.push({ type, channel: `#alerts-${source}`, mention: r.pick(['@here', '@oncall', '']) });
    else if (type === 'webhook') actions.push({ type, url: `https://hooks.example.com/neurallog/${r.hex(16)}`, method: 'POST', timeoutMs: 5000 });
    else actions.push({ type, service: `${source}-oncall`, urgency: r.pick(['low', 'high']) });
  }
  const createdMs = nowMs - r.int(30 * 24 * 3600) * 1000;
  return {
    id: r.uuid(),
    name,
    description: `Alert when ${JSON.stringify(condition)} holds`,
    condition: JSON.stringify(condition),
    severity: r.pick(SEVERITIES),
    enabled: r.chance(90),
    createdAt: new Date(createdMs).toISOString(),
    updatedAt: new Date(nowMs).toISOString(),
    actions,
  };
}

export function makePattern(r: Random, nowMs: number, recentLogIds: readonly string[], lastRuleId: string | undefined): Pattern {
  const count = r.range(2, 200);
  const windowMs = r.range(10, 600) * 1000;
  const fields = [
    'patternId',
    r.uuid(),
    'type',
    r.pick(PATTERN_TYPES),
    'source',
    r.pick(SOURCES),
    'level',
    r.pick(['warn', 'error', 'fatal']),
    'count',
    String(count),
    'firstSeen',
    new Date(nowMs - windowMs).toISOString(),
    'lastSeen',
    new Date(nowMs).toISOString(),
    'confidence',
    `0.${String(r.range(500, 999))}`,
    'sampleLogIds',
    JSON.stringify(recentLogIds),
  ];
  if (lastRuleId !== undefined) fields.push('ruleId', lastRuleId);
  return { streamId: `${nowMs}-0`, fields };
}
