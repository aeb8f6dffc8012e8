/** The shape of a `config lint` rule and of what it is given (lint.ts builds the context). */
import type { ErrorPlace } from '../errors.js';
import type { Finding, Severity } from './findings.js';
import type { ReadDirective } from './redis-conf.js';
import type { Deployment } from './schema.js';

export interface LintContext {
  d: Deployment;
  kind: 'yaml' | 'redis.conf';
  file: string;
  directives: readonly ReadDirective[];
  /** where a setting is: the last redis.conf line that sets it (under any name), or the model path */
  at(directive: string, path: string): ErrorPlace;
  /** whether a redis.conf sets this directive (always true for a YAML model: every field has a value) */
  sets(directive: string): boolean;
  /** where user `name` (index `index` in the model) is defined */
  userAt(name: string, index: number): ErrorPlace;
}

export interface LintRule {
  id: string;
  /** the usual severity; some rules lower it depending on the context */
  severity: Severity;
  summary: string;
  check(ctx: LintContext): Finding[];
}

export function finding(rule: string, severity: Severity, place: ErrorPlace, message: string, explanation: string, fix: string): Finding {
  return { rule, severity, message, explanation, fix, place };
}
