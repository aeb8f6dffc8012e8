/**
 * The directive half of `config apply`: one CONFIG SET for every difference that can change at
 * runtime (Redis 7 and Valkey set several at once, all or none); an argument the server calls
 * immutable or protected moves to the restart list and the rest is sent again; then CONFIG REWRITE,
 * when the server has a config file.
 */
import type { DirectiveDrift } from './diff.js';
import { CHANGE_HINT, refusalKind } from './mutability.js';
import type { Session } from './session.js';

export interface DirectiveChange {
  name: string;
  /** the live value as shown (a password as a hash prefix) */
  from?: string;
  /** the model's value as shown */
  to: string;
  /** what CONFIG SET is given (never printed) */
  value: string;
}

export interface RestartItem {
  name: string;
  model: string;
  live?: string;
  reason: string;
}

export interface DirectivePlan {
  set: DirectiveChange[];
  restart: RestartItem[];
}

export function planDirectives(drift: readonly DirectiveDrift[]): DirectivePlan {
  const set: DirectiveChange[] = [];
  const restart: RestartItem[] = [];
  for (const d of drift) {
    if (d.change === 'runtime') set.push({ name: d.name, from: d.live, to: d.model, value: d.setText });
    else
      restart.push({
        name: d.name,
        model: d.model,
        live: d.live,
        reason: d.change === 'unsupported' ? (d.note ?? 'the server lacks it') : CHANGE_HINT[d.change],
      });
  }
  return { set, restart };
}

export interface DirectiveOutcome extends DirectivePlan {
  failed: Array<{ name: string; error: string }>;
}

/** CONFIG SET until what is left is accepted; each refused argument leaves the batch with its reason. */
export async function setDirectives(session: Session, plan: DirectivePlan): Promise<DirectiveOutcome> {
  let pending = [...plan.set];
  const restart = [...plan.restart];
  const failed: Array<{ name: string; error: string }> = [];
  while (pending.length > 0) {
    try {
      await session.send(['CONFIG', 'SET', ...pending.flatMap((c) => [c.name, c.value])]);
      break;
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      const refused = refusalKind(message);
      const named = refused?.name ?? /argument '([^']+)'/.exec(message)?.[1];
      const culprit = pending.find((c) => c.name === named);
      if (!culprit) {
        // the server did not say which argument: try each alone, to apply what it accepts
        return { set: await setOneByOne(session, pending, restart, failed), restart, failed };
      }
      pending = pending.filter((c) => c !== culprit);
      if (refused) restart.push({ name: culprit.name, model: culprit.to, live: culprit.from, reason: CHANGE_HINT[refused.kind] });
      else failed.push({ name: culprit.name, error: message });
    }
  }
  return { set: pending, restart, failed };
}

async function setOneByOne(
  session: Session,
  pending: DirectiveChange[],
  restart: RestartItem[],
  failed: Array<{ name: string; error: string }>,
): Promise<DirectiveChange[]> {
  const done: DirectiveChange[] = [];
  for (const change of pending) {
    try {
      await session.send(['CONFIG', 'SET', change.name, change.value]);
      done.push(change);
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      const refused = refusalKind(message);
      if (refused) restart.push({ name: change.name, model: change.to, live: change.from, reason: CHANGE_HINT[refused.kind] });
      else failed.push({ name: change.name, error: message });
    }
  }
  return done;
}

export interface FileStep {
  done: boolean;
  /** the file written (the server's path) */
  file?: string;
  /** why it was not done */
  reason?: string;
}

/** CONFIG REWRITE, so that a restart keeps what CONFIG SET changed. */
export async function rewriteConfig(session: Session, configFile: string, changed: number): Promise<FileStep> {
  if (changed === 0) return { done: false, reason: 'no directive was changed' };
  if (!configFile) return { done: false, reason: 'the server runs without a config file: the changes last until it restarts' };
  try {
    await session.send(['CONFIG', 'REWRITE']);
    return { done: true, file: configFile };
  } catch (error) {
    return { done: false, file: configFile, reason: `CONFIG REWRITE failed: ${(error as Error).message}` };
  }
}
