/**
 * The lint rules of `config lint`: each has a stable id, a severity, and returns findings that say
 * what is wrong (with the values read), why it matters for NeuralLog on the target engine and release,
 * and how to fix it.
 * Rules are pure functions of a LintContext (see lint.ts), which knows where each setting came from.
 */
import type { ErrorPlace } from '../errors.js';
import { releaseLine } from '../engine/identity.js';
import { directiveSpec } from './directives.js';
import { describeTarget, judgeDirective, tableFor, type EngineTarget } from './engine-directives.js';
import { DEFAULT_RELEASE, defaultImage, imageEngine, imageVersion } from './engines.js';
import type { Finding, Severity } from './findings.js';
import { requiredMemoryLimit } from './profiles.js';
import type { ReadDirective } from './redis-conf.js';
import type { Deployment } from './schema.js';
import { formatK8sBytes } from './units.js';

export interface LintContext {
  d: Deployment;
  kind: 'yaml' | 'redis.conf';
  file: string;
  directives: readonly ReadDirective[];
  /** where a setting is: the last redis.conf line that sets it (under any name), or the model path */
  at(directive: string, path: string): ErrorPlace;
  /** whether a redis.conf sets this directive (always true for a YAML model: every field has a value) */
  sets(directive: string): boolean;
  /** where user `name` (index `index` in the model) is defined */
  userAt(name: string, index: number): ErrorPlace;
}

export interface LintRule {
  id: string;
  /** the usual severity; some rules lower it depending on the context */
  severity: Severity;
  summary: string;
  check(ctx: LintContext): Finding[];
}

const MB = 1024 * 1024;
const mib = (bytes: number) => `${Number.isInteger(bytes / MB) ? bytes / MB : (bytes / MB).toFixed(1)} MiB`;

export function finding(rule: string, severity: Severity, place: ErrorPlace, message: string, explanation: string, fix: string): Finding {
  return { rule, severity, message, explanation, fix, place };
}

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
          'Redis is NeuralLog\'s primary data store, not a cache: eviction silently deletes logs, their index entries and rules, with no error to any client, and indexes are left pointing at logs that are gone.',
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
    const explanation = 'maxmemory limits the data, not the process: a save (BGSAVE) or an AOF rewrite forks, and under writes copy-on-write can duplicate up to half the data; each replica adds an output buffer up to its hard limit. Past the memory limit the kernel OOM-kills Redis and the writes since the last fsync are lost.';
    const lower = fits > 0 ? `, or lower ${ctx.kind === 'yaml' ? 'memory.maxmemory' : 'maxmemory'} to ${fits}mb` : '';
    if (ctx.kind === 'yaml') {
      return [
        finding(this.id, 'error', ctx.at('maxmemory', 'container.memoryLimit'), `container.memoryLimit is ${mib(limit)}, below the ${mib(required)} this model needs (${formula})`, explanation, `Set container.memoryLimit to at least ${requiredQuantity}${lower}.`),
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
    const notSet = ctx.sets('maxmemory') ? '' : ' (not set; Redis 7.0\'s default)';
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
        'Redis is NeuralLog\'s primary data store: a restart (pod rescheduled, OOM kill, upgrade) starts it empty, and every log, index and rule is gone.',
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
        finding(this.id, 'warning', place, 'appendfsync is no: the kernel decides when the AOF reaches the disk', 'Linux flushes dirty pages about every 30 seconds: a host crash or power loss loses that much of NeuralLog\'s writes (a crash of redis-server alone loses nothing).', fix),
      ];
    }
    return [
      finding('appendfsync-always', 'info', place, 'appendfsync is always: every write waits for an fsync', 'Write throughput falls to the disk\'s fsync rate (often a few hundred to a few thousand per second on network volumes), which NeuralLog\'s log ingestion can exceed.', `${fix} Keep always only if losing a second of logs is unacceptable and the disk keeps up.`),
    ];
  },
};

const targetOf = (d: Deployment): EngineTarget => ({ engine: d.engine, version: d.version });

/** The newer name a directive stands for on the target, or undefined. */
function aliasOf(target: EngineTarget, name: string): string | undefined {
  const verdict = judgeDirective(target, name);
  return verdict.status === 'alias' ? verdict.name : undefined;
}

const deprecatedAlias: LintRule = {
  id: 'deprecated-alias',
  severity: 'warning',
  summary: 'a directive or client class under an old name the target release still accepts (ziplist, slave, Valkey\'s master* and slowlog-*), naming the new one',
  check(ctx) {
    const target = targetOf(ctx.d);
    const explanation = `${describeTarget(target)} still accepts the old name as an alias, but its documentation, its default config file and this project's renderer use the new one; old names are kept only for compatibility and make searches and diffs miss the setting.`;
    const out: Finding[] = [];
    if (ctx.kind === 'redis.conf') {
      for (const { name, args, file, line, included } of ctx.directives) {
        const modern = aliasOf(target, name);
        if (modern) out.push(finding(this.id, 'warning', { file, line }, `"${name}" is the old name of "${modern}" on ${describeTarget(target)}`, explanation, `Write "${modern}" instead.`));
        if (name.toLowerCase() === 'client-output-buffer-limit') {
          for (let i = 0; i < args.length; i += 4) {
            if (args[i]!.toLowerCase() === 'slave') {
              // an included file's values are never repeated (config/redis-conf.ts)
              const fix = included ? 'Write the class as `replica`.' : `Write \`client-output-buffer-limit replica ${args.slice(i + 1, i + 4).join(' ')}\`.`;
              out.push(finding(this.id, 'warning', { file, line }, 'client-output-buffer-limit class "slave" is the old name of "replica"', explanation, fix));
            }
          }
        }
      }
      return out;
    }
    ctx.d.extraDirectives.forEach(({ name }, i) => {
      const modern = aliasOf(target, name);
      if (modern) out.push(finding(this.id, 'warning', { file: ctx.file, path: `extraDirectives.${i}.name` }, `"${name}" is the old name of "${modern}" on ${describeTarget(target)}`, explanation, `Write "${modern}" instead.`));
    });
    return out;
  },
};

const extraDirectives: LintRule = {
  id: 'unknown-directive',
  severity: 'error',
  summary: 'a directive the target engine and release refuse (e.g. set-max-listpack-entries before Redis 7.2, io-threads-do-reads from Redis 8.0 and Valkey 8.1); from a YAML model\'s extraDirectives here, from the reader for a redis.conf',
  check(ctx) {
    if (ctx.kind !== 'yaml') return [];
    const target = targetOf(ctx.d);
    const out: Finding[] = [];
    ctx.d.extraDirectives.forEach(({ name }, i) => {
      const place = { file: ctx.file, path: `extraDirectives.${i}.name` };
      const spec = directiveSpec(name);
      const verdict = judgeDirective(target, name);
      if (spec) {
        out.push(finding('duplicate-directive', 'warning', place, `"${name}" is a field of the model; as an extra directive it is rendered again after it and wins`, 'The model and the rendered file then say two different things, and lint judges the model\'s value.', `Remove the extra directive and set the model field for "${spec.name}" instead.`));
      } else if (verdict.status === 'unknown') {
        const fix = verdict.replacement ? `Write "${verdict.replacement}" (the same setting on ${describeTarget(target)}).` : `Remove or correct extraDirectives entry ${i}, or set \`engine\`/\`version\` to a release that has it.`;
        out.push(finding(this.id, 'error', place, `"${name}" is not a directive ${describeTarget(target)} accepts`, verdict.explanation, fix));
      }
    });
    return out;
  },
};

const ignoredDirective: LintRule = {
  id: 'ignored-directive',
  severity: 'warning',
  summary: 'a directive the target release accepts and ignores (e.g. io-threads-do-reads from Redis 8.0 and Valkey 8.1)',
  check(ctx) {
    const target = targetOf(ctx.d);
    const out: Finding[] = [];
    const report = (name: string, place: ErrorPlace, fix: string) => {
      const verdict = judgeDirective(target, name);
      if (verdict.status === 'ignored') out.push(finding(this.id, 'warning', place, `"${name}" has no effect on ${describeTarget(target)}`, verdict.explanation, fix));
    };
    if (ctx.kind === 'redis.conf') for (const { name, file, line } of ctx.directives) report(name, { file, line }, `Remove the "${name}" line.`);
    else ctx.d.extraDirectives.forEach(({ name }, i) => report(name, { file: ctx.file, path: `extraDirectives.${i}.name` }, `Remove extraDirectives entry ${i}.`));
    return out;
  },
};

const versionWithoutTable: LintRule = {
  id: 'version-without-table',
  severity: 'info',
  summary: 'the target release line has no directive table of its own; the nearest older line\'s is used',
  check(ctx) {
    const { note } = tableFor(targetOf(ctx.d));
    if (!note) return [];
    return [
      finding(this.id, 'info', ctx.kind === 'yaml' ? { file: ctx.file, path: 'version' } : { file: ctx.file }, `${describeTarget(targetOf(ctx.d))}: ${note}`, 'The directive tables come from the servers this project runs (Redis 7.0, 8.0; Valkey 8.1) and from src/config.c at the release tags it has (Redis 7.2, 7.4; Valkey 7.2, 8.0). A directive a newer release added is reported as unknown; one it dropped is not caught.', 'Check the release\'s own redis.conf or `CONFIG GET *` for directives outside the modelled ones.'),
    ];
  },
};

const imageEngineMismatch: LintRule = {
  id: 'image-engine-mismatch',
  severity: 'warning',
  summary: 'container.image names another engine or release line than `engine`/`version`',
  check(ctx) {
    if (ctx.kind !== 'yaml') return [];
    const image = ctx.d.container.image;
    const target = targetOf(ctx.d);
    const engine = imageEngine(image);
    const version = imageVersion(image);
    const problems: string[] = [];
    if (engine && engine !== target.engine) problems.push(`it runs ${engine === 'valkey' ? 'Valkey' : 'Redis'}`);
    else if (version && version.split('.').length >= 2 && releaseLine(version) !== releaseLine(target.version)) problems.push(`it runs the ${releaseLine(version)} line`);
    if (problems.length === 0) return [];
    return [
      finding(
        this.id,
        'warning',
        { file: ctx.file, path: 'container.image' },
        `container.image ${image} does not match the model's target ${describeTarget(target)}: ${problems.join(', ')}`,
        'Lint, the probes (redis-cli or valkey-cli) and the server command are chosen for the target; the pod runs the image. A release line with other directives refuses the config, and an RDB written by a newer line cannot be loaded by an older one.',
        `Set \`version\`/\`engine\` to what the image runs, or leave \`container.image\` out to get ${defaultImage(target.engine, target.version)}.`,
      ),
    ];
  },
};

const daemonizeYes: LintRule = {
  id: 'daemonize-yes',
  severity: 'warning',
  summary: 'daemonize yes: containers and supervisors need Redis in the foreground',
  check(ctx) {
    if (!ctx.d.server.daemonize) return [];
    return [
      finding(this.id, 'warning', ctx.at('daemonize', 'server.daemonize'), 'daemonize is yes: redis-server forks into the background and its first process exits', 'Docker, Kubernetes and systemd (Type=simple) watch the first process: when it exits the container stops or the service is restarted over and over; `neurallog-redis up` passes `--daemonize no` for the same reason.', `Set ${ctx.kind === 'yaml' ? '`server.daemonize: false`' : '`daemonize no`'}.`),
    ];
  },
};

const tcpKeepaliveOff: LintRule = {
  id: 'tcp-keepalive-off',
  severity: 'info',
  summary: 'tcp-keepalive 0 with timeout 0: connections of vanished clients are never closed',
  check(ctx) {
    const p = ctx.d.performance;
    if (p.tcpKeepalive !== 0 || p.timeout !== 0) return [];
    return [
      finding(this.id, 'info', ctx.at('tcp-keepalive', 'performance.tcpKeepalive'), 'tcp-keepalive is 0 and timeout is 0: a connection whose client vanished is never closed', 'Clients that disappear without closing (a killed pod, a dropped NAT or load-balancer entry) keep their connections and buffers until maxclients is reached.', `Set ${ctx.kind === 'yaml' ? '`performance.tcpKeepalive: 300`' : '`tcp-keepalive 300`'} (Redis's default).`),
    ];
  },
};

const imageNotPinned: LintRule = {
  id: 'image-not-pinned',
  severity: 'warning',
  summary: 'container.image without a full x.y.z version or digest (e.g. redis:7-alpine)',
  check(ctx) {
    if (ctx.kind !== 'yaml') return [];
    const image = ctx.d.container.image;
    const tag = /:([^/:@]+)$/.exec(image.split('@')[0]!)?.[1] ?? 'latest';
    if (image.includes('@sha256:') || /^\d+\.\d+\.\d+/.test(tag)) return [];
    return [
      finding(this.id, 'warning', { file: ctx.file, path: 'container.image' }, `container.image ${image} follows a moving tag (${tag})`, `A restart may pull a newer release than the ${describeTarget(targetOf(ctx.d))} this configuration is checked against (7-alpine now resolves to 7.4, not 7.0), and an RDB written by a newer version cannot be loaded by the older one, so a rollback fails.`, `Pin the version, e.g. \`${defaultImage(ctx.d.engine, /^\d+\.\d+\.\d+$/.test(ctx.d.version) ? ctx.d.version : DEFAULT_RELEASE[ctx.d.engine])}\`, or a digest.`),
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
  deprecatedAlias,
  extraDirectives,
  ignoredDirective,
  versionWithoutTable,
  imageEngineMismatch,
  daemonizeYes,
  tcpKeepaliveOff,
  imageNotPinned,
];
