/**
 * What a Redis or Valkey release accepts in a config file, from the generated tables
 * (directive-tables.ts): the tables are expanded once, a target (engine + version) is mapped to the
 * table of its release line (or, for a line without one, the nearest older line of the same engine,
 * said so), and a directive name is judged: accepted, an alias of a newer name, or unknown, with
 * what the other releases know about it.
 */
import { compareVersions, describeEngine, engineTitle, releaseLine, type EngineName } from '../engine/identity.js';
import { DIRECTIVE_TABLES } from './directive-tables.js';

export interface EngineTarget {
  engine: EngineName;
  /** "8.0" or "8.0.2" */
  version: string;
}

/** Accepted only in a config file (never by CONFIG GET), by every release the tables cover. */
export const FILE_ONLY_DIRECTIVES: readonly string[] = ['include', 'rename-command', 'user', 'loadmodule'];

/** The oldest release line each engine's tables cover: Redis 7.0 (listpacks), Valkey's first, 7.2. */
export const OLDEST_LINE: Record<EngineName, string> = { redis: '7.0', valkey: '7.2' };

export interface DirectiveTable {
  id: string;
  engine: EngineName;
  line: string;
  source: string;
  measured: boolean;
  names: ReadonlySet<string>;
  /** alias -> the name it stands for */
  aliases: ReadonlyMap<string, string>;
  /** accepted in a config file and ignored (deprecated, or dropped but still taken) */
  ignored: ReadonlySet<string>;
}

function expand(): Map<string, DirectiveTable> {
  const out = new Map<string, DirectiveTable>();
  for (const [id, data] of Object.entries(DIRECTIVE_TABLES)) {
    const base = data.base ? out.get(data.base) : undefined;
    if (data.base && !base) throw new Error(`directive table ${id} names base ${data.base} before it is defined`);
    const names = new Set(base?.names ?? FILE_ONLY_DIRECTIVES);
    for (const n of data.removed) names.delete(n);
    for (const n of data.added) names.add(n);
    const aliases = new Map(base?.aliases ?? []);
    for (const a of data.aliasesRemoved) aliases.delete(a);
    for (const [a, n] of Object.entries(data.aliasesAdded)) aliases.set(a, n);
    const ignored = new Set(base?.ignored ?? []);
    for (const n of data.ignoredRemoved) ignored.delete(n);
    for (const n of data.ignoredAdded) ignored.add(n);
    out.set(id, { id, engine: data.engine, line: data.line, source: data.source, measured: data.measured, names, aliases, ignored });
  }
  return out;
}

let expanded: Map<string, DirectiveTable> | undefined;
/** Every table, oldest line first within an engine. */
export function allDirectiveTables(): DirectiveTable[] {
  expanded ??= expand();
  return [...expanded.values()].sort((a, b) => (a.engine === b.engine ? compareVersions(a.line, b.line) : a.engine < b.engine ? -1 : 1));
}

/** "Redis 8.0", "Valkey 8.1.1": the target as written. */
export function describeTarget(t: EngineTarget): string {
  return describeEngine(t);
}

export interface ResolvedTable {
  table: DirectiveTable;
  /** set when the target's line has no table of its own: which table stands in, and why */
  note?: string;
}

/** The table for a target: its own line's, else the nearest older line's (said in `note`). */
export function tableFor(target: EngineTarget): ResolvedTable {
  const line = releaseLine(target.version);
  const tables = allDirectiveTables().filter((t) => t.engine === target.engine);
  const own = tables.find((t) => t.line === line);
  if (own) return { table: own };
  const older = tables.filter((t) => compareVersions(t.line, line) < 0);
  const nearest = older[older.length - 1];
  if (!nearest)
    throw new RangeError(
      `${describeTarget(target)} is older than ${engineTitle(target.engine)} ${OLDEST_LINE[target.engine]}, the oldest release this tool knows`,
    );
  const newest = nearest === tables[tables.length - 1];
  return {
    table: nearest,
    note: `no table for ${engineTitle(target.engine)} ${line}: checked against ${engineTitle(target.engine)} ${nearest.line}'s${newest ? ', the newest this tool knows (a newer release may accept more)' : ''}`,
  };
}

export type DirectiveVerdict =
  | { status: 'accepted' }
  /** accepted, as the old name of `name` */
  | { status: 'alias'; name: string }
  /** accepted and ignored: the server starts, the line has no effect */
  | { status: 'ignored'; explanation: string }
  /** refused by the target; `explanation` says what other releases know, `replacement` a name the target accepts instead */
  | { status: 'unknown'; explanation: string; replacement?: string };

function lines(tables: DirectiveTable[]): string {
  const byEngine = new Map<EngineName, string[]>();
  for (const t of tables) byEngine.set(t.engine, [...(byEngine.get(t.engine) ?? []), t.line]);
  return [...byEngine].map(([engine, ls]) => `${engineTitle(engine)} ${ls.join(', ')}`).join('; ');
}

/** Judges one directive name for a target. */
export function judgeDirective(target: EngineTarget, rawName: string): DirectiveVerdict {
  const name = rawName.toLowerCase();
  const { table, note } = tableFor(target);
  if (table.names.has(name)) {
    const modern = table.aliases.get(name);
    return modern ? { status: 'alias', name: modern } : { status: 'accepted' };
  }
  const line = `${engineTitle(table.engine)} ${table.line}`;
  const here = note ? `${describeTarget(target)} (judged by ${line}'s table)` : describeTarget(target);
  const all = allDirectiveTables();
  if (table.ignored.has(name)) {
    const had = all.filter((t) => t.engine === table.engine && compareVersions(t.line, table.line) < 0 && t.names.has(name));
    const history = had.length > 0 ? ` (${engineTitle(table.engine)} ${had[had.length - 1]!.line} still used it)` : '';
    return { status: 'ignored', explanation: `${here} accepts the line for compatibility and ignores it${history}: the setting has no effect.` };
  }
  const knownBy = all.filter((t) => t.names.has(name));
  // the same setting under another name that this release does accept (a rename either way)
  let replacement: string | undefined;
  for (const t of all) {
    const modern = t.aliases.get(name);
    if (modern && table.names.has(modern)) replacement = modern;
    for (const [alias, n] of t.aliases) if (n === name && table.names.has(alias)) replacement ??= table.aliases.get(alias) ?? alias;
  }
  if (knownBy.length === 0) {
    return {
      status: 'unknown',
      explanation: `No Redis or Valkey release this tool knows (${lines(all)}) has it; ${here} refuses to start with it.`,
      replacement,
    };
  }
  const sameEngine = all.filter((t) => t.engine === table.engine);
  const later = sameEngine.filter((t) => compareVersions(t.line, table.line) > 0 && t.names.has(name));
  const earlier = sameEngine.filter((t) => compareVersions(t.line, table.line) < 0 && t.names.has(name));
  let history: string;
  if (later.length > 0 && earlier.length === 0) history = `It arrived in ${engineTitle(table.engine)} ${later[0]!.line}.`;
  else if (earlier.length > 0) history = `${engineTitle(table.engine)} ${earlier[earlier.length - 1]!.line} had it; ${line} dropped it.`;
  else history = `Only ${lines(knownBy)} ${knownBy.length === 1 ? 'has' : 'have'} it.`;
  return { status: 'unknown', explanation: `${history} ${here} refuses to start with it.`, replacement };
}

/** The directive names of a rendered or read redis.conf that a target refuses, with the verdicts. */
export function refusedDirectives(target: EngineTarget, names: Iterable<string>): Array<{ name: string; explanation: string; replacement?: string }> {
  const out: Array<{ name: string; explanation: string; replacement?: string }> = [];
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const v = judgeDirective(target, name);
    if (v.status === 'unknown') out.push({ name, explanation: v.explanation, replacement: v.replacement });
  }
  return out;
}
