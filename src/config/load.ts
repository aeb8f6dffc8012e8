/**
 * Loading a deployment from what a user gives us: a YAML model file (a profile plus overrides) or a
 * redis.conf. Validation errors name the file, the line and the path in it, and what is allowed.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { Finding } from './findings.js';
import type { EngineTarget } from './engine-directives.js';
import { DEFAULT_RELEASE, defaultImage, versionProblem } from './engines.js';
import { DEFAULT_PROFILE, profile } from './profiles.js';
import { readRedisConfFile, type ReadDirective } from './redis-conf.js';
import { deploymentSchema, PROFILES, type Deployment, type ProfileName } from './schema.js';

export interface LoadedConfig {
  deployment: Deployment;
  kind: 'yaml' | 'redis.conf';
  file: string;
  /** passwords found in a redis.conf (requirepass, user >password) */
  secrets: Record<string, string>;
  /** findings from reading the file (errors make the model unusable) */
  findings: Finding[];
  directives: ReadDirective[];
}

export function isYamlPath(path: string): boolean {
  return /\.(ya?ml|json)$/i.test(path);
}

/** An engine and/or release chosen on the command line (`--engine`, `--version`); either may be absent. */
export type TargetChoice = Partial<EngineTarget>;

/**
 * The target a choice comes to: an engine alone takes that engine's default release; nothing at all
 * takes `fallback` (for a redis.conf, the default profile's: the release `render` deploys).
 */
export function resolveTarget(choice: TargetChoice = {}, fallback: EngineTarget = { engine: 'redis', version: DEFAULT_RELEASE.redis }): EngineTarget {
  const engine = choice.engine ?? fallback.engine;
  const version = choice.version ?? (choice.engine && choice.engine !== fallback.engine ? DEFAULT_RELEASE[choice.engine] : fallback.version);
  const problem = versionProblem(engine, version);
  if (problem) throw new ConfigError(problem);
  return { engine, version };
}

/**
 * A YAML model's own `engine`/`version`, overridden by a command-line choice; an engine without a
 * version takes that engine's default release, and either without `container.image` takes the
 * official image of the release, so the model stays one consistent deployment.
 */
function withTarget(data: Record<string, unknown>, base: { engine: EngineTarget['engine']; version: string }, choice: TargetChoice): Record<string, unknown> {
  const engine = (choice.engine ?? data.engine) as EngineTarget['engine'] | undefined;
  const version = (choice.version ?? data.version) as string | undefined;
  if (engine === undefined && version === undefined) return data;
  const out: Record<string, unknown> = { ...data };
  if (engine !== undefined) out.engine = engine;
  out.version = version ?? (engine !== undefined && engine !== base.engine ? DEFAULT_RELEASE[engine] : base.version);
  const container = isPlain(data.container) ? data.container : {};
  const chosenEngine = (out.engine ?? base.engine) as string;
  // a value the schema will refuse is left for it to report, with its line
  if (container.image === undefined && typeof out.version === 'string' && (chosenEngine === 'redis' || chosenEngine === 'valkey')) {
    out.container = { ...container, image: defaultImage(chosenEngine, out.version) };
  }
  return out;
}

/** Reads a YAML model or a redis.conf; problems come back as findings. `target` overrides the engine and release. */
export function readConfig(file: string, target: TargetChoice = {}): LoadedConfig {
  if (!isYamlPath(file)) {
    const parsed = readRedisConfFile(file, resolveTarget(target, profileTarget()));
    return { deployment: parsed.deployment, kind: 'redis.conf', file, secrets: parsed.secrets, findings: parsed.findings, directives: parsed.directives };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { file });
  }
  return { ...parseYamlModel(text, file, target), kind: 'yaml', file, secrets: {}, directives: [] };
}

/** The default profile's engine and release: what a redis.conf is judged for unless told otherwise. */
export function profileTarget(): EngineTarget {
  const d = profile(DEFAULT_PROFILE);
  return { engine: d.engine, version: d.version };
}

/** Like readConfig, but a file with an error-level problem throws one ConfigError naming file and line. */
export function loadConfig(file: string, target: TargetChoice = {}): LoadedConfig {
  const loaded = readConfig(file, target);
  const first = loaded.findings.find((f) => f.severity === 'error');
  if (first) {
    const more = loaded.findings.filter((f) => f.severity === 'error').length - 1;
    throw new ConfigError(
      `${first.message}. ${first.fix}${more > 0 ? ` (${more} more problem${more > 1 ? 's' : ''}: run \`neurallog-redis config lint ${file}\`)` : ''}`,
      first.place,
    );
  }
  return loaded;
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Overrides replace arrays and scalars and merge objects key by key. */
export function deepMerge(base: unknown, override: unknown): unknown {
  if (!isPlain(base) || !isPlain(override)) return override === undefined ? base : override;
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = key in base ? deepMerge(base[key], value) : value;
  return out;
}

export function parseYamlModel(text: string, file: string, target: TargetChoice = {}): { deployment: Deployment; findings: Finding[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new ConfigError(`not valid YAML: ${e.message.split('\n')[0]}`, { file, line: lineOf(e.pos[0]) });
  }
  const data: unknown = doc.toJS() ?? {};
  if (!isPlain(data)) throw new ConfigError('a deployment file holds a mapping (e.g. `memory: {maxmemory: 512mb}`)', { file, line: 1 });
  const profileName = (data.profile ?? DEFAULT_PROFILE) as ProfileName;
  if (!PROFILES.includes(profileName)) {
    throw new ConfigError(`profile "${String(data.profile)}" does not exist; allowed: ${PROFILES.join(', ')}`, {
      file,
      line: lineOf(nodeOffset(doc, ['profile'])),
      path: 'profile',
    });
  }
  const base = profile(profileName);
  const merged = deepMerge(base, withTarget(data, base, target));
  const result = deploymentSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    // an unknown field is found at its own key, not at the mapping that holds it
    const path = [...issue.path.map(String), ...(issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [])];
    throw new ConfigError(describeIssue(issue), { file, line: lineOf(nodeOffset(doc, path)), path: path.join('.') });
  }
  return { deployment: result.data, findings: [] };
}

function nodeOffset(doc: ReturnType<typeof parseDocument>, path: string[]): number | undefined {
  for (let depth = path.length; depth > 0; depth--) {
    const keys = path.slice(0, depth).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
    const node = doc.getIn(keys, true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return node.range[0];
  }
  return undefined;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_value':
      return `allowed values: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return issue.errors.flat().find((e) => e.code === 'custom')?.message ?? issue.errors[0]?.[0]?.message ?? issue.message;
    default:
      return issue.message;
  }
}
