/**
 * `config apply`: what `config diff` finds, changed where the server allows it at runtime, then
 * written to its files (CONFIG REWRITE, ACL SAVE) and compared again. With `dryRun`, the plan only:
 * nothing is sent but the reads of the comparison.
 */
import type { DeploymentPaths } from '../connect/deployment-dir.js';
import type { Secrets } from '../render/acl.js';
import type { Deployment } from '../config/schema.js';
import { planDirectives, rewriteConfig, setDirectives, type DirectiveChange, type FileStep, type RestartItem } from './apply-directives.js';
import { applyUsers, planUsers, saveAcl, type UserStep } from './apply-users.js';
import { diffDeployment, type DriftReport } from './diff.js';
import type { Session } from './session.js';

export interface ApplyOptions {
  dryRun?: boolean;
  deployment?: DeploymentPaths;
}

export interface ApplyResult {
  dryRun: boolean;
  before: DriftReport;
  /** directives set (with dryRun: to be set) */
  set: DirectiveChange[];
  /** differences only a restart (or nothing this tool can do) changes */
  restart: RestartItem[];
  failed: Array<{ name: string; error: string }>;
  rewrite: FileStep;
  /** with dryRun: the planned ACL commands (hashes shortened) */
  userSteps: Array<Pick<UserStep, 'name' | 'action' | 'shown'>>;
  usersSet: string[];
  usersDeleted: string[];
  usersSkipped: Array<{ name: string; reason: string }>;
  usersFailed: Array<{ name: string; error: string }>;
  aclSave: FileStep;
  /** the comparison after applying (undefined with dryRun) */
  after?: DriftReport;
  /** differences left: after.differences, or with dryRun those the plan leaves */
  remaining: number;
}

export async function applyDeployment(session: Session, model: Deployment, secrets: Secrets | undefined, options: ApplyOptions = {}): Promise<ApplyResult> {
  const before = await diffDeployment(session, model, secrets);
  const directivePlan = planDirectives(before.directives);
  const userPlan = planUsers(before.users, model, secrets, session.user);
  const userSteps = userPlan.steps.map(({ name, action, shown }) => ({ name, action, shown }));
  if (options.dryRun) {
    const planned = (reason: string) => ({ done: false, reason });
    return {
      dryRun: true,
      before,
      ...directivePlan,
      failed: [],
      rewrite: planned(
        directivePlan.set.length > 0 ? `would run CONFIG REWRITE${before.configFile ? '' : ' (but the server has no config file)'}` : 'nothing to set',
      ),
      userSteps,
      usersSet: [],
      usersDeleted: [],
      usersSkipped: userPlan.skipped,
      usersFailed: [],
      aclSave: planned(userPlan.steps.length > 0 ? 'would run ACL SAVE when the server has an ACL file' : 'no user to change'),
      remaining: directivePlan.restart.length + userPlan.skipped.length,
    };
  }
  const directives = await setDirectives(session, directivePlan);
  const rewrite = await rewriteConfig(session, before.configFile, directives.set.length);
  const users = await applyUsers(session, userPlan);
  const aclSave = await saveAcl(session, users.set.length + users.deleted.length, options.deployment);
  const after = await diffDeployment(session, model, secrets);
  return {
    dryRun: false,
    before,
    set: directives.set,
    restart: directives.restart,
    failed: directives.failed,
    rewrite,
    userSteps,
    usersSet: users.set,
    usersDeleted: users.deleted,
    usersSkipped: users.skipped,
    usersFailed: users.failed,
    aclSave,
    after,
    remaining: after.differences,
  };
}
