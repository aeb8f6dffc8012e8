/**
 * Reading a real redis.conf (with its `include`s) into the deployment model. Problems are collected as
 * findings with file and line rather than thrown, so that `config lint` can report them all; callers
 * that need a usable model turn the first error into a ConfigError (see load.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseAclRules } from './acl-rules.js';
import { DEPRECATED_ALIASES, directiveSpec, type ReadState } from './directives.js';
import type { Finding } from './findings.js';
import { describeTarget, judgeDirective, type EngineTarget } from './engine-directives.js';
import { DEFAULT_RELEASE, defaultImage } from './engines.js';
import { redisBuiltinDefaults } from './redis-defaults.js';
import { ConfSyntaxError, tokenizeConf, type ConfLine } from './redis-conf-syntax.js';
import { aclUserSchema, deploymentSchema, type Deployment } from './schema.js';

export interface ReadDirective {
  name: string;
  args: string[];
  file: string;
  line: number;
  /**
   * true for a line of an included file: reports never show its arguments, and show its name only
   * when the target knows the directive (`include /etc/shadow` must not print the file's lines)
   */
  included?: boolean;
}

export interface ParsedRedisConf {
  deployment: Deployment;
  /** plaintext passwords found in `requirepass` and `user ... >password` lines, by user */
  secrets: Record<string, string>;
  /** every directive read, in order, for lint rules that look at the source */
  directives: ReadDirective[];
  /** syntax and value problems (severity error) and notes on what the model does not keep */
  findings: Finding[];
}

/** Directives that name paths on one machine: neurallog-redis passes them as redis-server arguments. */
const MACHINE_PATH_DIRECTIVES = new Set(['dir', 'aclfile', 'pidfile', 'unixsocket']);
const REPEATABLE = new Set(['save', 'client-output-buffer-limit', 'user', 'include', 'rename-command', 'loadmodule']);
const MAX_INCLUDE_DEPTH = 8;

const DEFAULT_TARGET: EngineTarget = { engine: 'redis', version: DEFAULT_RELEASE.redis };

/** Reads a redis.conf (and its includes) for a target release: directives it refuses are findings naming it. */
export function readRedisConfFile(path: string, target: EngineTarget = DEFAULT_TARGET): ParsedRedisConf {
  const parsed = emptyResult(target);
  readInto(parsed, path, undefined, [], { saveSeen: false }, target);
  return checkAgainstSchema(parsed, path);
}

export function parseRedisConfText(text: string, file = '<redis.conf>', target: EngineTarget = DEFAULT_TARGET): ParsedRedisConf {
  const parsed = emptyResult(target);
  readInto(parsed, file, text, [], { saveSeen: false }, target);
  return checkAgainstSchema(parsed, file);
}

/** The reader and the schema must agree: a model the schema rejects is reported, never passed on. */
function checkAgainstSchema(parsed: ParsedRedisConf, file: string): ParsedRedisConf {
  if (parsed.findings.some((f) => f.severity === 'error')) return parsed;
  const result = deploymentSchema.safeParse(parsed.deployment);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    parsed.findings.push(
      problem(
        'bad-value',
        `the file gives ${issue.path.join('.')} a value the model does not allow: ${issue.message}`,
        file,
        undefined,
        'Correct that setting.',
      ),
    );
  }
  return parsed;
}

function emptyResult(target: EngineTarget): ParsedRedisConf {
  const deployment = redisBuiltinDefaults();
  deployment.engine = target.engine;
  deployment.version = target.version;
  deployment.container.image = defaultImage(target.engine, target.version);
  return { deployment, secrets: {}, directives: [], findings: [] };
}

function problem(rule: string, message: string, file: string, line: number | undefined, fix: string): Finding {
  return { rule, severity: 'error', message, explanation: 'redis-server would refuse to start with this file.', fix, place: { file, line } };
}

/** One file being read: where its lines go, and the `include` chain that led to it. */
interface ReadContext {
  out: ParsedRedisConf;
  file: string;
  /** the resolved files from the outermost to this one */
  chain: string[];
  /** this file was reached through `include` (its lines are not quoted in messages) */
  included: boolean;
  state: ReadState;
  target: EngineTarget;
}

/** `including`: the files (resolved) whose `include` lines led here, outermost first. */
function readInto(out: ParsedRedisConf, file: string, text: string | undefined, including: string[], state: ReadState, target: EngineTarget): void {
  text ??= readConfText(out, file, including);
  if (text === undefined) return;
  let lines: ConfLine[];
  try {
    lines = tokenizeConf(text);
  } catch (error) {
    if (!(error instanceof ConfSyntaxError)) throw error;
    out.findings.push(
      problem('syntax', error.message, file, error.line, 'Balance the quotes; a closing quote must be followed by a space or the end of the line.'),
    );
    return;
  }
  const context: ReadContext = { out, file, chain: [...including, resolve(file)], included: including.length > 0, state, target };
  const seen = new Map<string, number>();
  for (const entry of lines) {
    const { line, name, args } = entry;
    out.directives.push({ name, args, file, line, ...(context.included ? { included: true } : {}) });
    const spec = directiveSpec(name);
    // in an included file, a line whose first word the target does not know is reported without it
    const known = spec !== undefined || knownToTarget(target, name);
    noteRepeat(context, seen, entry, spec?.name ?? DEPRECATED_ALIASES[name] ?? name, known);
    try {
      if (spec) spec.read(out.deployment, args, state);
      else readSpecialLine(context, entry);
    } catch (error) {
      if (context.included) {
        const what = known ? `"${name}"` : 'the line';
        out.findings.push(
          problem(
            'bad-value',
            `${what} at line ${line} of the included file ${file} is not valid (its value is not shown: it comes from an included file)`,
            file,
            line,
            `Correct line ${line} of ${file}.`,
          ),
        );
      } else {
        out.findings.push(problem('bad-value', `"${name}" ${(error as Error).message}`, file, line, `Correct the "${name}" line.`));
      }
    }
  }
}

/** The file's text, or undefined after reporting it unreadable (an unreadable include throws: its line reports it). */
function readConfText(out: ParsedRedisConf, file: string, including: string[]): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    // an unreadable include is the including line's problem: report it there
    if (including.length > 0) throw new Error(`cannot read ${file}: ${reason}`);
    out.findings.push(problem('unreadable-file', `cannot read the file: ${reason}`, file, undefined, 'Check the path and its permissions.'));
    return undefined;
  }
}

/** A second line for a setting that takes one value: a warning naming the first. */
function noteRepeat(context: ReadContext, seen: Map<string, number>, { line, name }: ConfLine, canonical: string, known: boolean): void {
  if (REPEATABLE.has(canonical) || (!known && context.included)) return;
  const earlier = seen.get(canonical);
  if (earlier !== undefined) {
    context.out.findings.push({
      rule: 'duplicate-directive',
      severity: 'warning',
      message: `"${name}" is set again (first at line ${earlier}); the last one wins`,
      explanation: 'Two values for one setting make the file say two things; readers may trust the first.',
      fix: `Keep one "${canonical}" line.`,
      place: { file: context.file, line },
    });
  }
  seen.set(canonical, line);
}

/** A line outside the directive table: include, requirepass, user, a machine path, or one the model keeps as is. Throws on a bad value. */
function readSpecialLine(context: ReadContext, { line, name, args }: ConfLine): void {
  const { out, file, chain } = context;
  if (name === 'include') {
    if (args.length !== 1) throw new Error('expects one path');
    const included = resolve(dirname(file), args[0]!);
    if (chain.includes(included)) throw new Error(`makes an include loop: ${[...chain.slice(chain.indexOf(included)), included].join(' -> ')}`);
    if (chain.length > MAX_INCLUDE_DEPTH) throw new Error(`includes nest deeper than ${MAX_INCLUDE_DEPTH} levels`);
    readInto(out, included, undefined, chain, context.state, context.target);
  } else if (name === 'requirepass') {
    if (args.length !== 1) throw new Error('expects one password');
    setDefaultPassword(out, args[0]!);
  } else if (name === 'user') {
    readUserLine(out, args);
  } else if (MACHINE_PATH_DIRECTIVES.has(name)) {
    out.findings.push({
      rule: 'machine-path',
      severity: 'info',
      message: `"${name}" names a path on one machine; the model leaves it out`,
      explanation:
        'One rendered redis.conf serves every place (this machine, Kubernetes, Docker); whoever starts redis-server passes the data directory and the ACL file as arguments.',
      fix: `Remove "${name}" from the file; \`neurallog-redis up\` and the rendered manifests supply it.`,
      place: { file, line },
    });
  } else {
    readOtherDirective(context, line, name, args);
  }
}

function readUserLine(out: ParsedRedisConf, args: string[]): void {
  if (args.length < 1) throw new Error('expects a user name and ACL rules');
  const { user, passwords } = parseAclRules(args[0]!, args.slice(1));
  const checked = aclUserSchema.safeParse(user);
  if (!checked.success) throw new Error(`for "${user.name}": ${checked.error.issues[0]!.message}`);
  const users = out.deployment.security.users.filter((u) => u.name !== user.name);
  out.deployment.security.users = [...users, user];
  if (passwords.length > 0) out.secrets[user.name] = passwords[0]!;
  else delete out.secrets[user.name];
}

/** A directive the model does not model: kept as it is when the target knows it, else an error finding. */
function readOtherDirective({ out, file, included, target }: ReadContext, line: number, name: string, args: string[]): void {
  const verdict = judgeDirective(target, name);
  if (verdict.status !== 'unknown') out.deployment.extraDirectives.push({ name, args });
  else if (included) {
    out.findings.push({
      rule: 'unknown-directive',
      severity: 'error',
      message: `line ${line} of the included file ${file} is not a directive ${describeTarget(target)} accepts (the line is not shown: it comes from an included file)`,
      explanation: `${describeTarget(target)} refuses to start with a line it does not know. A file given to \`include\` is reported by name and line only, since it may be any file this process can read.`,
      fix: `Check what ${file} is and why it is included; remove the include or correct that line.`,
      place: { file, line },
    });
  } else {
    out.findings.push({
      rule: 'unknown-directive',
      severity: 'error',
      message: `"${name}" is not a directive ${describeTarget(target)} accepts`,
      explanation: verdict.explanation,
      fix: verdict.replacement
        ? `Write "${verdict.replacement}" (the same setting on ${describeTarget(target)}), or remove the line.`
        : `Remove or correct the "${name}" line, or lint for the release that has it (--engine, --version).`,
      place: { file, line },
    });
  }
}

/** The target accepts the name (as itself, an alias, or ignored), or it is a line only a file can hold. */
function knownToTarget(target: EngineTarget, name: string): boolean {
  return judgeDirective(target, name).status !== 'unknown';
}

function setDefaultPassword(out: ParsedRedisConf, password: string): void {
  const users = out.deployment.security.users;
  const existing = users.find((u) => u.name === 'default');
  const user = existing ?? { name: 'default', enabled: true, nopass: true, keys: ['~*'], channels: ['&*'], commands: ['+@all'] };
  user.nopass = password === '';
  if (!existing) users.unshift(user);
  if (password === '') delete out.secrets.default;
  else out.secrets.default = password;
}
