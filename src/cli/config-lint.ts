/**
 * `neurallog-redis config lint FILE [--json]`: read a redis.conf or a YAML model, run the lint rules,
 * print one block per finding (or one JSON object). Exit 1 when an error-level finding exists.
 */
import { isAbsolute, relative } from 'node:path';
import type { Finding, Severity } from '../config/findings.js';
import { lintDeployment } from '../config/lint.js';
import { readConfig } from '../config/load.js';
import { ConfigError, type ErrorPlace } from '../errors.js';
import { printJson, printResult } from './output.js';

export interface ConfigLintOptions {
  json?: boolean;
}

export interface LintReport {
  file: string;
  findings: Finding[];
  errors: number;
  warnings: number;
}

export function lintFile(file: string): LintReport {
  const loaded = readConfig(file);
  // A redis.conf that cannot be read at all is a file the user named wrongly, not a finding about it.
  const unreadable = loaded.findings.find((f) => f.rule === 'unreadable-file' && f.place?.file === file && f.place.line === undefined);
  if (unreadable) throw new ConfigError(`${unreadable.message}. ${unreadable.fix}`, { file });
  const findings = lintDeployment(loaded);
  return {
    file,
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
  const summary = `${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')}${infos > 0 ? `, ${infos} info` : ''} in ${shownFile(report.file)}`;
  return [...blocks, summary].join('\n\n');
}

export async function configLintCommand(file: string, options: ConfigLintOptions = {}): Promise<number> {
  const report = lintFile(file);
  if (options.json) printJson({ file: report.file, findings: report.findings, errors: report.errors, warnings: report.warnings });
  else printResult(formatReport(report));
  return report.errors > 0 ? 1 : 0;
}
