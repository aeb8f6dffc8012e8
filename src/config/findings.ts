/**
 * Validation and lint results are values, not exceptions: a list of findings, each with a stable rule
 * id, a severity, what is wrong (with evidence), why it matters, and how to fix it.
 */
import type { ErrorPlace } from '../errors.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  explanation: string;
  fix: string;
  place?: ErrorPlace;
}

const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || (a.place?.line ?? 0) - (b.place?.line ?? 0) || a.rule.localeCompare(b.rule));
}
