/**
 * The lint rules of `config lint`: each has a stable id, a severity, and returns findings that say
 * what is wrong (with the values read), why it matters for NeuralLog on the target engine and release,
 * and how to fix it.
 * Rules are pure functions of a LintContext (see lint.ts), which knows where each setting came from.
 */
import type { ErrorPlace } from '../errors.js';
import { finding, type LintContext, type LintRule } from './lint-rule.js';
import { TARGET_RULES } from './lint-rules-target.js';
import { requiredMemoryLimit } from './profiles.js';
import { formatK8sBytes } from './units.js';

const MB = 1024 * 1024;
const mib = (bytes: number) => `${Number.isInteger(bytes / MB) ? bytes / MB : (bytes / MB).toFixed(1)} MiB`;

const evictionDeletesPrimaryData: LintRule = {
  id: 'eviction-deletes-primary-data',
  severity: 'warning',
  summary: 'maxmemory-policy allkeys-* or volatile-*: Redis deletes NeuralLog data when memory is full',
  check(ctx) {
    const policy = ctx.d.memory.maxmemoryPolicy;
    if (policy === 'noeviction') return [];
    const place = ctx.at('maxmemory-policy', 'memory.maxmemoryPolicy');
    const dormant = ctx.d.memory.maxmemory === 0 ? ' (dormant while maxmemory is 0, active as soon as a limit is set)' : '';
    const fix = `Set ${ctx.kind === 'yaml' ? '`memory.maxmemoryPolicy: noeviction`' : '`maxmemory-policy noeviction`'}: at maxmemory writes then fail with an OOM error that NeuralLog reports, and nothing is deleted; size memory and log retention (TTL) so the limit is not reached.`;
    if (policy.startsWith('allkeys-')) {
      return [
        finding(
          this.id,
          'warning',
          place,
          `maxmemory-policy ${policy} deletes keys of any kind when memory is full${dormant}`,
          "Redis is NeuralLog's primary data store, not a cache: eviction silently deletes logs, their index entries and rules, with no error to any client, and indexes are left pointing at logs that are gone.",
          fix,
        ),
      ];
    }
    const retention = ctx.kind === 'yaml' && ctx.d.retention.logsTtlSeconds > 0 ? ` (retention.logsTtlSeconds is ${ctx.d.retention.logsTtlSeconds})` : '';
    return [
      finding(
        this.id,
        'warning',
        place,
        `maxmemory-policy ${policy} deletes keys that have a TTL when memory is full${dormant}`,
        `Keys with a TTL are NeuralLog's logs under retention${retention}: under memory pressure they are evicted before their retention ends, silently. Keys without a TTL (rules, indexes) are never evicted, so once no key with a TTL is left, writes fail with OOM as under noeviction.`,
        fix,
      ),
    ];
  },
};

const maxmemoryWithoutHeadroom: LintRule = {
  id: 'maxmemory-without-headroom',
  severity: 'error',
  summary: 'the memory limit is below 1.5 x maxmemory + replicas x replica output-buffer hard limit',
  check(ctx) {
    const d = ctx.d;
    const limit = d.container.memoryLimit;
    if (d.memory.maxmemory === 0 || limit === 0) return [];
    const required = requiredMemoryLimit(d);
    if (limit >= required) return [];
    const replicaBytes = d.container.replicas * d.advanced.clientOutputBufferLimit.replica.hardLimit;
    const fits = Math.floor((limit - replicaBytes) / 1.5 / MB);
    const requiredQuantity = formatK8sBytes(Math.ceil(required / MB) * MB);
    const formula = `1.5 x maxmemory ${mib(d.memory.maxmemory)} + ${d.container.replicas} replica(s) x ${mib(d.advanced.clientOutputBufferLimit.replica.hardLimit)} output buffer`;
    const explanation =
      'maxmemory limits the data, not the process: a save (BGSAVE) or an AOF rewrite forks, and under writes copy-on-write can duplicate up to half the data; each replica adds an output buffer up to its hard limit. Past the memory limit the kernel OOM-kills Redis and the writes since the last fsync are lost.';
    const lower = fits > 0 ? `, or lower ${ctx.kind === 'yaml' ? 'memory.maxmemory' : 'maxmemory'} to ${fits}mb` : '';
    if (ctx.kind === 'yaml') {
      return [
        finding(
          this.id,
          'error',
          ctx.at('maxmemory', 'container.memoryLimit'),
          `container.memoryLimit is ${mib(limit)}, below the ${mib(required)} this model needs (${formula})`,
          explanation,
          `Set container.memoryLimit to at least ${requiredQuantity}${lower}.`,
        ),
      ];
    }
    // A redis.conf does not say the memory limit: judge it against the guide's container limit, as a warning.
    return [
      finding(
        this.id,
        'warning',
        ctx.at('maxmemory', 'memory.maxmemory'),
        `maxmemory ${mib(d.memory.maxmemory)} needs a memory limit of at least ${mib(required)} (${formula}); the guide's container limit is ${mib(limit)} (redis.conf does not say the limit, so lint assumes the guide's)`,
        explanation,
        `Give the container or host at least ${requiredQuantity} (Kubernetes resources.limits.memory; container.memoryLimit in a YAML model)${lower}.`,
      ),
    ];
  },
};

/**
 * Below this, maxmemory cannot hold NeuralLog's data at all. An empty server already uses about
 * 0.9 MiB (used_memory of an empty Redis 7.0.15, 8.0.2, Valkey 8.1.1), and the first backup (a
 * replica) adds the 1 MiB replication backlog, which counts against maxmemory: with noeviction every
 * write then fails with OOM.
 */
export const MAXMEMORY_FLOOR = 4 * MB;

const maxmemoryTooSmall: LintRule = {
  id: 'maxmemory-too-small',
  severity: 'error',
  summary: `maxmemory above 0 and below ${MAXMEMORY_FLOOR / MB} MiB: the server has no room for data (an empty one uses about 1 MiB)`,
  check(ctx) {
    const max = ctx.d.memory.maxmemory;
    if (max === 0 || max >= MAXMEMORY_FLOOR) return [];
    return [
      finding(
        this.id,
        'error',
        ctx.at('maxmemory', 'memory.maxmemory'),
        `maxmemory is ${max === 1 ? '1 byte' : `${max} bytes`}${max >= 1024 * 1024 ? ` (${mib(max)})` : ''}, less than the ${mib(MAXMEMORY_FLOOR)} a server needs before any data: ${max < 1024 * 1024 ? 'every write fails with OOM from the start' : 'writes fail with OOM after a handful of keys'}`,
        'An empty Redis or Valkey already uses about 0.9 MiB (used_memory), and the first backup or replica adds a 1 MiB replication backlog that counts against maxmemory. With noeviction every write is refused with OOM; with an eviction policy every key is deleted as soon as it is written. A bare number is bytes: `maxmemory 256` is 256 bytes, not 256 MB.',
        `Give maxmemory a unit: ${ctx.kind === 'yaml' ? '`memory.maxmemory: 256mb`' : '`maxmemory 256mb`'} (about two thirds of the memory limit).`,
      ),
    ];
  },
};

const maxmemoryUnlimited: LintRule = {
  id: 'maxmemory-unlimited',
  severity: 'warning',
  summary: 'maxmemory 0: Redis grows until the OOM killer stops it',
  check(ctx) {
    if (ctx.d.memory.maxmemory !== 0) return [];
    const notSet = ctx.sets('maxmemory') ? '' : " (not set; Redis 7.0's default)";
    return [
      finding(
        this.id,
        'warning',
        ctx.at('maxmemory', 'memory.maxmemory'),
        `maxmemory is 0, unlimited${notSet}`,
        'Without a limit Redis grows until the kernel or the container runtime kills it, losing the writes since the last fsync; with a limit and noeviction, writes fail with an OOM error NeuralLog can report while the data stays safe.',
        `Set ${ctx.kind === 'yaml' ? 'memory.maxmemory' : 'maxmemory'} to about two thirds of the memory limit (e.g. 256mb for 384Mi), less any replica output buffers.`,
      ),
    ];
  },
};

function savePlace(ctx: LintContext): ErrorPlace {
  return ctx.sets('appendonly') || ctx.kind === 'yaml' ? ctx.at('appendonly', 'persistence.appendonly') : ctx.at('save', 'persistence.save');
}

const persistenceOff: LintRule = {
  id: 'persistence-off',
  severity: 'error',
  summary: 'appendonly no and no save points: nothing reaches disk',
  check(ctx) {
    const p = ctx.d.persistence;
    if (p.appendonly || p.save.length > 0) return [];
    return [
      finding(
        this.id,
        'error',
        savePlace(ctx),
        'appendonly is no and there are no save points: nothing is ever written to disk',
        "Redis is NeuralLog's primary data store: a restart (pod rescheduled, OOM kill, upgrade) starts it empty, and every log, index and rule is gone.",
        `Set ${ctx.kind === 'yaml' ? '`persistence.appendonly: true` with `persistence.appendfsync: everysec`' : '`appendonly yes` and `appendfsync everysec`'}, as the guide and the neurallog profile do.`,
      ),
    ];
  },
};

const rdbOnly: LintRule = {
  id: 'rdb-only',
  severity: 'warning',
  summary: 'appendonly no with save points: minutes of writes lost on a crash',
  check(ctx) {
    const p = ctx.d.persistence;
    if (p.appendonly || p.save.length === 0) return [];
    const longest = p.save.reduce((a, b) => (b.seconds > a.seconds ? b : a));
    const points = p.save.map((s) => `${s.seconds} ${s.changes}`).join(', ');
    return [
      finding(
        this.id,
        'warning',
        savePlace(ctx),
        `appendonly is no: only RDB snapshots (save ${points}) persist the data`,
        `A crash loses every write since the last snapshot: up to ${Math.round(longest.seconds / 60)} minutes with \`save ${longest.seconds} ${longest.changes}\` when writes are few, and snapshots fork a copy of the data each time.`,
        `Set ${ctx.kind === 'yaml' ? '`persistence.appendonly: true`' : '`appendonly yes`'} with appendfsync everysec (at most about a second of writes lost); the save points may stay as a second copy.`,
      ),
    ];
  },
};

const appendfsync: LintRule = {
  id: 'appendfsync-no',
  severity: 'warning',
  summary: 'appendfsync no (warning); appendfsync always (info, as rule appendfsync-always)',
  check(ctx) {
    const p = ctx.d.persistence;
    if (!p.appendonly || p.appendfsync === 'everysec') return [];
    const place = ctx.at('appendfsync', 'persistence.appendfsync');
    const fix = `Use ${ctx.kind === 'yaml' ? '`persistence.appendfsync: everysec`' : '`appendfsync everysec`'}: at most about a second of writes lost, at a fraction of the cost.`;
    if (p.appendfsync === 'no') {
      return [
        finding(
          this.id,
          'warning',
          place,
          'appendfsync is no: the kernel decides when the AOF reaches the disk',
          "Linux flushes dirty pages about every 30 seconds: a host crash or power loss loses that much of NeuralLog's writes (a crash of redis-server alone loses nothing).",
          fix,
        ),
      ];
    }
    return [
      finding(
        'appendfsync-always',
        'info',
        place,
        'appendfsync is always: every write waits for an fsync',
        "Write throughput falls to the disk's fsync rate (often a few hundred to a few thousand per second on network volumes), which NeuralLog's log ingestion can exceed.",
        `${fix} Keep always only if losing a second of logs is unacceptable and the disk keeps up.`,
      ),
    ];
  },
};

/** The rules about memory, persistence, the file's form and the container; lint.ts adds the security rules. */
export const CONFIG_RULES: readonly LintRule[] = [
  evictionDeletesPrimaryData,
  maxmemoryWithoutHeadroom,
  maxmemoryTooSmall,
  maxmemoryUnlimited,
  persistenceOff,
  rdbOnly,
  appendfsync,
  ...TARGET_RULES,
];
