/**
 * The user half of `config apply`: ACL SETUSER <name> reset <the model's rules> (passwords as
 * #<sha256>, never in clear) for missing and different users, ACL DELUSER for extra ones, the user
 * this command is logged in as last and never disabled or deleted; then ACL SAVE when the server
 * keeps its users in an ACL file.
 */
import { chmodSync, existsSync, realpathSync } from 'node:fs';
import type { Deployment } from '../config/schema.js';
import type { DeploymentPaths } from '../connect/deployment-dir.js';
import { aclRules, type Secrets } from '../render/acl.js';
import type { UserDrift } from './acl-drift.js';
import type { FileStep } from './apply-directives.js';
import type { Session } from './session.js';

export interface UserStep {
  name: string;
  action: 'setuser' | 'deluser';
  /** the rules sent, passwords as a hash prefix only */
  shown: string;
  rules: string[];
}

export interface UserPlan {
  steps: UserStep[];
  skipped: Array<{ name: string; reason: string }>;
}

const shownRules = (rules: string[]) => rules.map((r) => (r.startsWith('#') ? `${r.slice(0, 9)}…` : r)).join(' ');

export function planUsers(drift: readonly UserDrift[], model: Deployment, secrets: Secrets | undefined, self: string): UserPlan {
  const steps: UserStep[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  for (const d of drift) {
    if (d.status === 'extra') {
      if (d.name === self) skipped.push({ name: d.name, reason: 'it is the user this command is logged in as; delete it as another administrator' });
      else steps.push({ name: d.name, action: 'deluser', shown: '', rules: [] });
      continue;
    }
    const user = model.security.users.find((u) => u.name === d.name)!;
    if (d.name === self && !user.enabled) {
      skipped.push({ name: d.name, reason: 'the model turns off the user this command is logged in as; change it as another administrator' });
      continue;
    }
    if (!user.nopass && user.enabled && secrets?.[user.name] === undefined) {
      skipped.push({ name: d.name, reason: 'no password for it in the secrets: give --secrets FILE (or use --dir)' });
      continue;
    }
    const rules = ['reset', ...aclRules(user, secrets ?? {})];
    steps.push({ name: d.name, action: 'setuser', shown: shownRules(rules), rules });
  }
  // the own user last: a mistake in its rules cannot cut off the changes to the others
  steps.sort((a, b) => Number(a.name === self) - Number(b.name === self));
  return { steps, skipped };
}

export interface UserOutcome {
  set: string[];
  deleted: string[];
  skipped: Array<{ name: string; reason: string }>;
  failed: Array<{ name: string; error: string }>;
}

export async function applyUsers(session: Session, plan: UserPlan): Promise<UserOutcome> {
  const out: UserOutcome = { set: [], deleted: [], skipped: [...plan.skipped], failed: [] };
  for (const step of plan.steps) {
    try {
      if (step.action === 'deluser') {
        await session.send(['ACL', 'DELUSER', step.name]);
        out.deleted.push(step.name);
      } else {
        await session.send(['ACL', 'SETUSER', step.name, ...step.rules]);
        out.set.push(step.name);
      }
    } catch (error) {
      out.failed.push({ name: step.name, error: (error as Error)?.message ?? String(error) });
    }
  }
  return out;
}

/**
 * ACL SAVE, when the server has an ACL file. The server writes the file afresh with mode 0644 (less its
 * umask); the deployment's users.acl holds password hashes, so with --dir it is made 0600 again.
 */
export async function saveAcl(session: Session, changed: number, deployment: DeploymentPaths | undefined): Promise<FileStep> {
  if (changed === 0) return { done: false, reason: 'no user was changed' };
  let aclfile = '';
  try {
    aclfile = ((await session.send(['CONFIG', 'GET', 'aclfile'])) as string[])[1] ?? '';
  } catch (error) {
    return { done: false, reason: `CONFIG GET aclfile failed: ${(error as Error).message}` };
  }
  if (!aclfile) return { done: false, reason: 'the server keeps its users without an ACL file: the changes last until it restarts' };
  try {
    await session.send(['ACL', 'SAVE']);
  } catch (error) {
    return { done: false, file: aclfile, reason: `ACL SAVE failed: ${(error as Error).message}` };
  }
  if (deployment && existsSync(deployment.acl) && existsSync(aclfile) && realpathSync(aclfile) === realpathSync(deployment.acl))
    chmodSync(deployment.acl, 0o600);
  return { done: true, file: aclfile };
}
