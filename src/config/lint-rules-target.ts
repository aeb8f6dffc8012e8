/**
 * The lint rules about the target engine and release (aliases, unknown and ignored directives, the
 * directive table), the file's form (daemonize, tcp-keepalive) and the container image.
 */
import { releaseLine } from '../engine/identity.js';
import { directiveSpec } from './directives.js';
import { describeTarget, judgeDirective, tableFor, type EngineTarget } from './engine-directives.js';
import { DEFAULT_RELEASE, defaultImage, imageEngine, imageVersion } from './engines.js';
import { finding, type LintRule } from './lint-rule.js';
import type { ErrorPlace } from '../errors.js';
import type { Finding } from './findings.js';
import type { Deployment } from './schema.js';

const targetOf = (d: Deployment): EngineTarget => ({ engine: d.engine, version: d.version });

/** The newer name a directive stands for on the target, or undefined. */
function aliasOf(target: EngineTarget, name: string): string | undefined {
  const verdict = judgeDirective(target, name);
  return verdict.status === 'alias' ? verdict.name : undefined;
}

const deprecatedAlias: LintRule = {
  id: 'deprecated-alias',
  severity: 'warning',
  summary:
    "a directive or client class under an old name the target release still accepts (ziplist, slave, Valkey's master* and slowlog-*), naming the new one",
  check(ctx) {
    const target = targetOf(ctx.d);
    const explanation = `${describeTarget(target)} still accepts the old name as an alias, but its documentation, its default config file and this project's renderer use the new one; old names are kept only for compatibility and make searches and diffs miss the setting.`;
    const out: Finding[] = [];
    if (ctx.kind === 'redis.conf') {
      for (const { name, args, file, line, included } of ctx.directives) {
        const modern = aliasOf(target, name);
        if (modern)
          out.push(
            finding(
              this.id,
              'warning',
              { file, line },
              `"${name}" is the old name of "${modern}" on ${describeTarget(target)}`,
              explanation,
              `Write "${modern}" instead.`,
            ),
          );
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
      if (modern)
        out.push(
          finding(
            this.id,
            'warning',
            { file: ctx.file, path: `extraDirectives.${i}.name` },
            `"${name}" is the old name of "${modern}" on ${describeTarget(target)}`,
            explanation,
            `Write "${modern}" instead.`,
          ),
        );
    });
    return out;
  },
};

const extraDirectives: LintRule = {
  id: 'unknown-directive',
  severity: 'error',
  summary:
    "a directive the target engine and release refuse (e.g. set-max-listpack-entries before Redis 7.2, io-threads-do-reads from Redis 8.0 and Valkey 8.1); from a YAML model's extraDirectives here, from the reader for a redis.conf",
  check(ctx) {
    if (ctx.kind !== 'yaml') return [];
    const target = targetOf(ctx.d);
    const out: Finding[] = [];
    ctx.d.extraDirectives.forEach(({ name }, i) => {
      const place = { file: ctx.file, path: `extraDirectives.${i}.name` };
      const spec = directiveSpec(name);
      const verdict = judgeDirective(target, name);
      if (spec) {
        out.push(
          finding(
            'duplicate-directive',
            'warning',
            place,
            `"${name}" is a field of the model; as an extra directive it is rendered again after it and wins`,
            "The model and the rendered file then say two different things, and lint judges the model's value.",
            `Remove the extra directive and set the model field for "${spec.name}" instead.`,
          ),
        );
      } else if (verdict.status === 'unknown') {
        const fix = verdict.replacement
          ? `Write "${verdict.replacement}" (the same setting on ${describeTarget(target)}).`
          : `Remove or correct extraDirectives entry ${i}, or set \`engine\`/\`version\` to a release that has it.`;
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
      if (verdict.status === 'ignored')
        out.push(finding(this.id, 'warning', place, `"${name}" has no effect on ${describeTarget(target)}`, verdict.explanation, fix));
    };
    if (ctx.kind === 'redis.conf') for (const { name, file, line } of ctx.directives) report(name, { file, line }, `Remove the "${name}" line.`);
    else
      ctx.d.extraDirectives.forEach(({ name }, i) => report(name, { file: ctx.file, path: `extraDirectives.${i}.name` }, `Remove extraDirectives entry ${i}.`));
    return out;
  },
};

const versionWithoutTable: LintRule = {
  id: 'version-without-table',
  severity: 'info',
  summary: "the target release line has no directive table of its own; the nearest older line's is used",
  check(ctx) {
    const { note } = tableFor(targetOf(ctx.d));
    if (!note) return [];
    return [
      finding(
        this.id,
        'info',
        ctx.kind === 'yaml' ? { file: ctx.file, path: 'version' } : { file: ctx.file },
        `${describeTarget(targetOf(ctx.d))}: ${note}`,
        'The directive tables come from the servers this project runs (Redis 7.0, 8.0; Valkey 8.1) and from src/config.c at the release tags it has (Redis 7.2, 7.4; Valkey 7.2, 8.0). A directive a newer release added is reported as unknown; one it dropped is not caught.',
        "Check the release's own redis.conf or `CONFIG GET *` for directives outside the modelled ones.",
      ),
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
    else if (version && version.split('.').length >= 2 && releaseLine(version) !== releaseLine(target.version))
      problems.push(`it runs the ${releaseLine(version)} line`);
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
      finding(
        this.id,
        'warning',
        ctx.at('daemonize', 'server.daemonize'),
        'daemonize is yes: redis-server forks into the background and its first process exits',
        'Docker, Kubernetes and systemd (Type=simple) watch the first process: when it exits the container stops or the service is restarted over and over; `neurallog-redis up` passes `--daemonize no` for the same reason.',
        `Set ${ctx.kind === 'yaml' ? '`server.daemonize: false`' : '`daemonize no`'}.`,
      ),
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
      finding(
        this.id,
        'info',
        ctx.at('tcp-keepalive', 'performance.tcpKeepalive'),
        'tcp-keepalive is 0 and timeout is 0: a connection whose client vanished is never closed',
        'Clients that disappear without closing (a killed pod, a dropped NAT or load-balancer entry) keep their connections and buffers until maxclients is reached.',
        `Set ${ctx.kind === 'yaml' ? '`performance.tcpKeepalive: 300`' : '`tcp-keepalive 300`'} (Redis's default).`,
      ),
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
      finding(
        this.id,
        'warning',
        { file: ctx.file, path: 'container.image' },
        `container.image ${image} follows a moving tag (${tag})`,
        `A restart may pull a newer release than the ${describeTarget(targetOf(ctx.d))} this configuration is checked against (7-alpine now resolves to 7.4, not 7.0), and an RDB written by a newer version cannot be loaded by the older one, so a rollback fails.`,
        `Pin the version, e.g. \`${defaultImage(ctx.d.engine, /^\d+\.\d+\.\d+$/.test(ctx.d.version) ? ctx.d.version : DEFAULT_RELEASE[ctx.d.engine])}\`, or a digest.`,
      ),
    ];
  },
};

/** in the order `config lint` reports them */
export const TARGET_RULES: readonly LintRule[] = [
  deprecatedAlias,
  extraDirectives,
  ignoredDirective,
  versionWithoutTable,
  imageEngineMismatch,
  daemonizeYes,
  tcpKeepaliveOff,
  imageNotPinned,
];
