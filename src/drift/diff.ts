/**
 * `config diff`: the model against the live server. Directives: the model's rendered values against
 * CONFIG GET (directive-values.ts says how both are normalised); directives the model does not render
 * are not compared (docs/config-drift.md says why). Users: acl-drift.ts.
 */
import { judgeDirective, type DirectiveVerdict, type EngineTarget } from '../config/engine-directives.js';
import type { Deployment } from '../config/schema.js';
import { parseInfo } from '../connect/client.js';
import { describeEngine, identifyFromInfo } from '../engine/identity.js';
import type { Secrets } from '../render/acl.js';
import { diffUsers, type UserDrift } from './acl-drift.js';
import { liveValues, modelValues, shownValue } from './directive-values.js';
import { changeKind, type Change } from './mutability.js';
import { couldNotRead, type Session } from './session.js';

export interface DirectiveDrift {
  name: string;
  /** the model's value, normalised (sizes in bytes; a password as a hash prefix) */
  model: string;
  /** the live value, normalised; undefined when the server lacks the directive */
  live?: string;
  /** the value CONFIG SET is given (never printed: it may be a password) */
  setText: string;
  /** 'unsupported': the server's release has no such directive */
  change: Change | 'unsupported';
  note?: string;
}

export interface DriftReport {
  target: EngineTarget;
  /** "Redis 7.0.15" */
  server: string;
  /** the server's config file (INFO server config_file), "" when it runs without one */
  configFile: string;
  directives: DirectiveDrift[];
  users: UserDrift[];
  /** users whose password hashes were not compared: the secrets do not hold them */
  passwordsUnchecked: string[];
  notes: string[];
  /** directives + users that differ */
  differences: number;
}

async function serverFacts(session: Session): Promise<{ target: EngineTarget; server: string; configFile: string }> {
  let info: Record<string, string>;
  try {
    info = parseInfo((await session.send(['INFO', 'server'])) as string);
  } catch (error) {
    throw couldNotRead(error, 'INFO server', session);
  }
  const identity = identifyFromInfo(info);
  return { target: { engine: identity.engine, version: identity.version }, server: describeEngine(identity), configFile: info.config_file ?? '' };
}

async function configGet(session: Session, pattern: string): Promise<string[]> {
  try {
    return (await session.send(['CONFIG', 'GET', pattern])) as string[];
  } catch (error) {
    throw couldNotRead(error, `CONFIG GET ${pattern}`, session);
  }
}

function judgeOrUnknown(target: EngineTarget, name: string): DirectiveVerdict {
  try {
    return judgeDirective(target, name);
  } catch (error) {
    return { status: 'unknown', explanation: (error as Error).message };
  }
}

async function diffDirectives(session: Session, model: Deployment, target: EngineTarget, notes: string[]): Promise<DirectiveDrift[]> {
  const live = liveValues(await configGet(session, '*'), target);
  const out: DirectiveDrift[] = [];
  for (const [name, wanted] of modelValues(model, target)) {
    let current = live.get(name);
    // a hidden setting is answered by its exact name only
    if (!current) current = liveValues(await configGet(session, name), target).get(name);
    if (!current) {
      const verdict = judgeOrUnknown(target, name);
      if (verdict.status === 'ignored') {
        notes.push(`${name}: ${verdict.explanation}`);
        continue;
      }
      const explanation = verdict.status === 'unknown' ? verdict.explanation : `CONFIG GET does not answer for ${name}.`;
      out.push({ name, model: shownValue(name, wanted.value), setText: wanted.text, change: 'unsupported', note: explanation });
      continue;
    }
    if (current.value !== wanted.value)
      out.push({ name, model: shownValue(name, wanted.value), live: shownValue(name, current.value), setText: wanted.text, change: changeKind(name) });
  }
  return out;
}

export async function diffDeployment(session: Session, model: Deployment, secrets: Secrets | undefined): Promise<DriftReport> {
  const facts = await serverFacts(session);
  const notes: string[] = [];
  const directives = await diffDirectives(session, model, facts.target, notes);
  const acl = await diffUsers(session, model, secrets);
  if (acl.passwordsUnchecked.length > 0)
    notes.push(`passwords not compared for ${acl.passwordsUnchecked.join(', ')}: no secrets for them (give --secrets FILE, or use --dir)`);
  return {
    ...facts,
    directives,
    users: acl.users,
    passwordsUnchecked: acl.passwordsUnchecked,
    notes,
    differences: directives.length + acl.users.length,
  };
}
