/**
 * `neurallog-redis config diff --url URL | --dir DIR [--config FILE] [--secrets FILE] [--json]`: the
 * model against the live server (src/drift/). Exit 0 when they match, 1 when they differ, 2 when the
 * comparison could not run.
 */
import { formatRedisUrl } from '../connect/url.js';
import { diffDeployment, openSession, resolveDriftSource, type DriftReport, type DriftSource, type Session } from '../drift/index.js';
import { CHANGE_HINT } from '../drift/mutability.js';
import { ConnectionError, isNeuralLogRedisError } from '../errors.js';
import type { ConfigDiffFlags } from './config-diff-flags.js';
import { printJson, printResult } from './output.js';

/** Runs `work` on an admin session; an error that is not one of ours means the command could not run (exit 2). */
export async function withSession<T>(source: DriftSource, what: string, work: (session: Session) => Promise<T>): Promise<T> {
  const session = await openSession(source.endpoint);
  try {
    return await work(session);
  } catch (error) {
    if (isNeuralLogRedisError(error)) throw error;
    throw new ConnectionError(
      `${what} could not finish at ${formatRedisUrl(source.endpoint)}: ${(error as Error)?.message ?? String(error)}`,
      'E_CONNECT',
      error,
    );
  } finally {
    await session.close();
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.min(40, Math.max(...rows.map((r) => r[i]!.length))));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

export function formatDrift(report: DriftReport): string[] {
  const lines: string[] = [];
  if (report.directives.length > 0) {
    const rows = [['directive', 'model', 'live', 'change']];
    for (const d of report.directives) {
      const change =
        d.change === 'unsupported' ? `not on this server: ${d.note ?? ''}` : d.change === 'runtime' ? 'runtime' : `${d.change}: ${CHANGE_HINT[d.change]}`;
      rows.push([d.name, d.model === '' ? '""' : d.model, d.live === undefined ? '(none)' : d.live === '' ? '""' : d.live, change]);
    }
    lines.push('', ...table(rows));
  }
  for (const u of report.users) {
    if (u.status === 'extra') lines.push('', `user ${u.name}: on the server, not in the model (${u.live ?? ''})`);
    else if (u.status === 'missing' && u.differences.length === 0) lines.push('', `user ${u.name}: in the model, not on the server`);
    else {
      lines.push(
        '',
        `user ${u.name}: ${u.status === 'missing' ? 'not on the server; its rules:' : `differs in ${u.differences.map((f) => f.field).join(', ')}`}`,
      );
      for (const f of u.differences) lines.push(`  ${f.field}  model: ${f.model || '""'}`, `  ${' '.repeat(f.field.length)}  live:  ${f.live || '""'}`);
    }
  }
  for (const note of report.notes) lines.push('', `note: ${note}`);
  return lines;
}

export function driftJson(report: DriftReport) {
  return {
    server: report.server,
    target: report.target,
    configFile: report.configFile,
    clean: report.differences === 0,
    differences: report.differences,
    directives: report.directives.map(({ setText: _value, ...shown }) => shown),
    users: report.users,
    passwordsUnchecked: report.passwordsUnchecked,
    notes: report.notes,
  };
}

export async function configDiffCommand(flags: ConfigDiffFlags): Promise<number> {
  const source = await resolveDriftSource(flags);
  const report = await withSession(source, 'config diff', (session) => diffDeployment(session, source.model, source.secrets));
  if (flags.json) printJson({ url: formatRedisUrl(source.endpoint), model: source.modelFrom, ...driftJson(report) });
  else {
    const head = `${report.server} at ${formatRedisUrl(source.endpoint)} against ${source.modelFrom}`;
    const summary =
      report.differences === 0
        ? 'No difference: the server matches the model.'
        : `${plural(report.directives.length, 'directive')} and ${plural(report.users.length, 'user')} differ; \`config apply\` changes what can change at runtime.`;
    printResult([head, ...formatDrift(report), '', summary].join('\n'));
  }
  return report.differences > 0 ? 1 : 0;
}
