import { parseDurationSeconds } from '../config/units.js';
import { bySeverity, type DoctorReport, type Finding, type Severity } from '../doctor/finding.js';
import { runDoctor } from '../doctor/run.js';
import { namesTopology, runTopologyDoctor, topologySpec, type TopologyDoctorReport } from '../doctor/topology.js';
import { UsageError } from '../errors.js';
import type { DoctorFlags } from './doctor-flags.js';
import { printJson, printResult } from './output.js';

const colour = (): boolean => process.stdout.isTTY === true && !process.env.NO_COLOR;
const CODES: Record<Severity, string> = { critical: '31;1', warning: '33', info: '36', ok: '32' };
const paint = (severity: Severity, text: string): string => (colour() ? `\x1b[${CODES[severity]}m${text}\x1b[0m` : text);
const dim = (text: string): string => (colour() ? `\x1b[2m${text}\x1b[0m` : text);

/** Exit codes: 0 nothing above info, 1 a warning or critical finding, 2 the server could not be examined. */
export async function doctorCommand(flags: DoctorFlags): Promise<number> {
  const seconds = parseDurationSeconds(flags.timeout);
  if (seconds === undefined || seconds < 0.1 || seconds > 60) throw new UsageError(`--timeout takes a duration from 100ms to 60s, not "${flags.timeout}"`);
  const timeoutMs = Math.round(seconds * 1000);
  if (flags.url && (flags.sentinel || flags.cluster)) throw new UsageError('give either --url or a topology (--sentinel, --cluster), not both');
  if (namesTopology(flags)) {
    const topology = await runTopologyDoctor(await topologySpec(flags), { timeoutMs, host: flags.host });
    if (flags.json)
      printJson({ ...topology, nodes: topology.nodes.map((n) => ({ ...n, findings: bySeverity(n.findings) })), findings: bySeverity(topology.findings) });
    else printResult(formatTopologyReport(topology));
    return topology.exitCode;
  }
  const report = await runDoctor({ url: flags.url, dir: flags.dir, passwordFile: flags.passwordFile, timeoutMs, host: flags.host });
  if (flags.json) printJson({ ...report, findings: bySeverity(report.findings) });
  else printResult(formatReport(report));
  return report.exitCode;
}

function formatFinding(f: Finding): string {
  const lines = [`  ${paint(f.severity, f.severity.toUpperCase().padEnd(8))} ${f.title} ${dim(`[${f.id}]`)}`, `           read: ${f.evidence}`];
  if (f.severity !== 'ok') {
    if (f.threshold) lines.push(`           rule: ${f.threshold}`);
    if (f.fix) lines.push(`           fix:  ${f.fix}`);
  }
  return lines.join('\n');
}

function findingGroups(findings: readonly Finding[], listOk = true): string[] {
  const groups: string[] = [];
  for (const severity of ['critical', 'warning', 'info'] as const) {
    const found = findings.filter((f) => f.severity === severity);
    if (found.length > 0) groups.push(`${paint(severity, `${severity} (${found.length})`)}\n${found.map(formatFinding).join('\n')}`);
  }
  const ok = findings.filter((f) => f.severity === 'ok');
  if (ok.length > 0) groups.push(`${paint('ok', `ok (${ok.length})`)}${listOk ? `: ${ok.map((f) => f.id).join(', ')}` : ''}`);
  return groups;
}

/** 0 healthy, 1 problems found, 2 `unreachable` (what could not be examined) */
function verdictOf(exitCode: 0 | 1 | 2, unreachable: string): string {
  return exitCode === 0 ? paint('ok', 'healthy') : exitCode === 1 ? paint('warning', 'problems found') : paint('critical', unreachable);
}

/** Each node as one server's report, then the topology's own findings and one verdict. */
export function formatTopologyReport(report: TopologyDoctorReport): string {
  const head = `doctor: ${report.kind} topology ${report.target}${report.masterName ? ` (master name ${report.masterName})` : ''}, ${report.nodes.length} nodes`;
  const nodes = report.nodes.map((n) => {
    const verdict = verdictOf(n.exitCode, 'could not examine it');
    return `== ${n.name} ${n.address}${n.engine ? ` (${n.engine}, ${n.role})` : ''}: ${verdict}\n${findingGroups(n.findings, false).join('\n')}`;
  });
  const verdict = verdictOf(report.exitCode, 'a node could not be examined');
  return `${head}\n\n${nodes.join('\n\n')}\n\n== the topology\n${findingGroups(report.findings).join('\n')}\n\n${verdict}`;
}

export function formatReport(report: DoctorReport): string {
  const head = `doctor: ${report.target}${report.engine ? ` (${report.engine}, ${report.role})` : ''}`;
  const groups = findingGroups(report.findings);
  const verdict = verdictOf(report.exitCode, 'could not examine the server');
  const hostNote = report.local ? '' : '\n(the server is not on this machine: kernel checks skipped)';
  return `${head}\n\n${groups.join('\n\n')}\n\n${verdict}${hostNote}`;
}
