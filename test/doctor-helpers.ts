/** What the doctor tests share: running doctor in-process against a test server, finding a check. */
import assert from 'node:assert/strict';
import type { DoctorReport, Finding, Severity } from '../src/doctor/finding.js';
import { runDoctor, type DoctorOptions } from '../src/doctor/run.js';
import type { TestServer } from './helpers/redis.js';

/** A URL with the user's password in it (in-process only: never printed, never in argv). */
export function urlAs(server: Pick<TestServer, 'port' | 'passwords'>, user: string, host = '127.0.0.1'): string {
  const password = server.passwords[user];
  return `redis://${user}${password === undefined ? '' : `:${encodeURIComponent(password)}`}@${host}:${server.port}`;
}

export function doctor(url: string, options: Omit<DoctorOptions, 'url'> = {}): Promise<DoctorReport> {
  return runDoctor({ url, timeoutMs: 10_000, ...options });
}

/** The finding with this id, asserted present and (when given) of this severity. */
export function expectFinding(report: DoctorReport, id: string, severity?: Severity): Finding {
  const found = report.findings.find((f) => f.id === id);
  assert.ok(found, `no ${id} in ${report.findings.map((f) => `${f.id}:${f.severity}`).join(', ')}`);
  if (severity) assert.equal(found.severity, severity, `${id}: ${found.title} (${found.evidence})`);
  return found;
}

/** Polls `condition` every 50 ms until it holds or `ms` pass. */
export async function until(condition: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
