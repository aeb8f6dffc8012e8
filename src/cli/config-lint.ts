/**
 * `neurallog-redis config lint FILE [--engine redis|valkey] [--version X.Y[.Z]] [--json]`: read a
 * redis.conf or a YAML model, run the lint rules for the target engine and release, print one block
 * per finding (or one JSON object). Exit 1 when an error-level finding exists.
 */
import { isAbsolute, relative } from 'node:path';
import type { Finding, Severity } from '../config/findings.js';
import { lintDeployment } from '../config/lint.js';
import { describeTarget, type EngineTarget } from '../config/engine-directives.js';
import { readConfig, type TargetChoice } from '../config/load.js';
import { ConfigError, UsageError, type ErrorPlace } from '../errors.js';
import type { ConfigLintFlags } from './model-flags.js';
import { printJson, printResult } from './output.js';

export interface LintReport {
  file: string;
  /** what the file was judged for */
  target: EngineTarget;
  findings: Finding[];
  errors: number;
  warnings: number;
}

/** --engine (commander has checked it against its choices) and --version. */
export function targetChoice(options: Pick<ConfigLintFlags, 'engine' | 'version'>): TargetChoice {
  const choice: TargetChoice = {};
  if (options.engine !== undefined) choice.engine = options.engine;
  if (options.version !== undefined) choice.version = options.version;
  return choice;
}

export function lintFile(file: string, choice: TargetChoice = {}): LintReport {
  let loaded;
  try {
    loaded = readConfig(file, choice);
  } catch (error) {
    // a release lint has no table for, before any file is read, is the command line's fault
    if (error instanceof ConfigError && !error.place?.file && (choice.version || choice.engine)) throw new UsageError(`--version/--engine: ${error.message}`);
    throw error;
  }
  // A redis.conf that cannot be read at all is a file the user named wrongly, not a finding about it.
  const unreadable = loaded.findings.find((f) => f.rule === 'unreadable-file' && f.place?.file === file && f.place.line === undefined);
  if (unreadable) throw new ConfigError(`${unreadable.message}. ${unreadable.fix}`, { file });
  const findings = lintDeployment(loaded);
  return {
    file,
    target: { engine: loaded.deployment.engine, version: loaded.deployment.version },
    findings,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
  };
}

const useColour = () => process.stdout.isTTY === true && !process.env.NO_COLOR;
const COLOUR: Record<Severity, string> = { error: '31', warning: '33', info: '36' };

function severityLabel(severity: Severity): string {
  const padded = severity.padEnd(7);
  return useColour() ? `\x1b[${COLOUR[severity]}m${padded}\x1b[0m` : padded;
}

function shownFile(file: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

export function formatPlace(place: ErrorPlace | undefined): string {
  if (!place?.file) return place?.path ?? '';
  const file = shownFile(place.file);
  if (place.line !== undefined) return `${file}:${place.line}`;
  return place.path ? `${file} ${place.path}` : file;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function formatReport(report: LintReport): string {
  // A rule that fires on several lines (deprecated-alias) explains itself once.
  const explained = new Set<string>();
  const blocks = report.findings.map((f) => {
    const why = explained.has(f.explanation) ? `(as for ${f.rule} above)` : f.explanation;
    explained.add(f.explanation);
    return [`${severityLabel(f.severity)} ${f.rule}  ${formatPlace(f.place)}`.trimEnd(), `  ${f.message}`, `  why: ${why}`, `  fix: ${f.fix}`].join('\n');
  });
  const infos = report.findings.length - report.errors - report.warnings;
  const summary = `${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')}${infos > 0 ? `, ${infos} info` : ''} in ${shownFile(report.file)} (for ${describeTarget(report.target)})`;
  return [...blocks, summary].join('\n\n');
}

export async function configLintCommand(file: string, options: ConfigLintFlags = {}): Promise<number> {
  const report = lintFile(file, targetChoice(options));
  if (options.json) printJson({ file: report.file, target: report.target, findings: report.findings, errors: report.errors, warnings: report.warnings });
  else printResult(formatReport(report));
  return report.errors > 0 ? 1 : 0;
}
