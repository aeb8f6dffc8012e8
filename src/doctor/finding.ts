/**
 * What `doctor` reports: one finding per check, each with a stable id (docs/doctor.md lists them),
 * what it read, the threshold it judged against, its verdict and the fix.
 */
export const SEVERITIES = ['critical', 'warning', 'info', 'ok'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  /** stable, e.g. `memory.eviction-policy` */
  id: string;
  severity: Severity;
  /** one line: what is wrong (or right) */
  title: string;
  /** what was read, e.g. `maxmemory_policy:allkeys-lru, evicted_keys:0` */
  evidence: string;
  /** the rule the evidence was judged by */
  threshold: string;
  /** what to do; empty when there is nothing to do */
  fix: string;
}

/** How the doctor met the server. `unreachable`: it could not look (exit 2). */
export type Reach = 'connected' | 'unreachable' | 'not-running';

export interface DoctorReport {
  target: string;
  /** "Redis 7.0.15" when the server said */
  engine?: string;
  role?: string;
  reach: Reach;
  /** whether the kernel checks ran (the target is on this machine) */
  local: boolean;
  findings: Finding[];
  exitCode: 0 | 1 | 2;
}

export function finding(id: string, severity: Severity, title: string, evidence: string, threshold: string, fix = ''): Finding {
  return { id, severity, title, evidence, threshold, fix };
}

/** 0 when nothing is above `info`, 1 when a warning or critical finding exists; 2 when the server could not be examined. */
export function exitCodeOf(findings: readonly Finding[], reach: Reach): 0 | 1 | 2 {
  if (reach === 'unreachable') return 2;
  return findings.some((f) => f.severity === 'critical' || f.severity === 'warning') ? 1 : 0;
}

/** Most severe first, keeping each severity's findings in check order. */
export function bySeverity(findings: readonly Finding[]): Finding[] {
  return SEVERITIES.flatMap((s) => findings.filter((f) => f.severity === s));
}

export const MB = 1024 * 1024;

export function mib(bytes: number): string {
  return bytes >= 10 * MB ? `${Math.round(bytes / MB)} MiB` : `${(bytes / MB).toFixed(1)} MiB`;
}

/** A numeric INFO or CONFIG field; NaN when absent. */
export function num(fields: Readonly<Record<string, string>>, name: string): number {
  const v = fields[name];
  return v === undefined || v === '' ? NaN : Number(v);
}
