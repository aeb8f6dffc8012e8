/**
 * `neurallog-redis config apply --url URL | --dir DIR [--dry-run] [--json]`: change the live server to
 * the model where it can change at runtime (src/drift/apply.ts). Exit 0 when nothing differs
 * afterwards (with --dry-run: when nothing differs now), 1 when something does, 2 when it could not run.
 */
import { formatRedisUrl } from '../connect/url.js';
import { applyDeployment, resolveDriftSource, type ApplyResult } from '../drift/index.js';
import type { ConfigApplyFlags } from './config-apply-flags.js';
import { driftJson, formatDrift, withSession } from './config-diff.js';
import { printJson, printResult } from './output.js';

function formatApply(result: ApplyResult): string[] {
  const would = result.dryRun ? 'would ' : '';
  const lines: string[] = [];
  if (result.set.length > 0) {
    lines.push(`${result.dryRun ? 'Would set' : 'Set'} with CONFIG SET:`);
    for (const c of result.set) lines.push(`  ${c.name} ${c.to === '' ? '""' : c.to}  (was ${c.from === '' ? '""' : (c.from ?? '?')})`);
  }
  for (const f of result.failed) lines.push(`Could not set ${f.name}: ${f.error}`);
  if (result.restart.length > 0) {
    lines.push('Needs a restart (or cannot be changed here):');
    for (const r of result.restart) lines.push(`  ${r.name}: model ${r.model || '""'}, live ${r.live ?? '(none)'}: ${r.reason}`);
  }
  lines.push(result.rewrite.done ? `CONFIG REWRITE wrote ${result.rewrite.file}` : `CONFIG REWRITE not run: ${result.rewrite.reason}`);
  if (result.dryRun) for (const s of result.userSteps) lines.push(`Would run ACL ${s.action.toUpperCase()} ${s.name}${s.shown ? ` ${s.shown}` : ''}`);
  if (result.usersSet.length > 0) lines.push(`ACL SETUSER: ${result.usersSet.join(', ')}`);
  if (result.usersDeleted.length > 0) lines.push(`ACL DELUSER: ${result.usersDeleted.join(', ')}`);
  for (const s of result.usersSkipped) lines.push(`User ${s.name} ${would}left as is: ${s.reason}`);
  for (const f of result.usersFailed) lines.push(`User ${f.name} could not be changed: ${f.error}`);
  lines.push(result.aclSave.done ? `ACL SAVE wrote ${result.aclSave.file}` : `ACL SAVE not run: ${result.aclSave.reason}`);
  return lines;
}

export async function configApplyCommand(flags: ConfigApplyFlags): Promise<number> {
  const source = await resolveDriftSource(flags);
  const result = await withSession(source, 'config apply', (session) =>
    applyDeployment(session, source.model, source.secrets, { dryRun: flags.dryRun === true, deployment: source.deployment }),
  );
  if (flags.json) {
    printJson({
      url: formatRedisUrl(source.endpoint),
      model: source.modelFrom,
      dryRun: result.dryRun,
      set: result.set.map(({ value: _value, ...shown }) => shown),
      restart: result.restart,
      failed: result.failed,
      rewrite: result.rewrite,
      users: { steps: result.userSteps, set: result.usersSet, deleted: result.usersDeleted, skipped: result.usersSkipped, failed: result.usersFailed },
      aclSave: result.aclSave,
      before: driftJson(result.before),
      after: result.after ? driftJson(result.after) : undefined,
      remaining: result.remaining,
    });
  } else {
    const head = `${result.before.server} at ${formatRedisUrl(source.endpoint)} against ${source.modelFrom}${result.dryRun ? ' (dry run: nothing is changed)' : ''}`;
    const body = result.before.differences === 0 ? ['No difference: nothing to apply.'] : formatApply(result);
    const left = result.after && result.after.differences > 0 ? ['', 'Still different afterwards:', ...formatDrift(result.after)] : [];
    printResult([head, '', ...body, ...left].join('\n'));
  }
  if (result.dryRun) return result.before.differences > 0 ? 1 : 0;
  return result.remaining > 0 ? 1 : 0;
}
