/**
 * The model's ACL users against the live server's. The server writes a user's rules back in its own
 * canonical form (Redis 7.0 reorders and merges command rules: `+@all -@admin -@dangerous` comes back
 * as `+@all -@dangerous`), so the model's rules are not compared as text: each model user's key,
 * channel and command rules are set on a probe user (off, no password, deleted before returning) and
 * read back with ACL GETUSER, so both sides are in the server's own form. Flags (on/off, nopass) and
 * password hashes are compared directly; a hash is shown only as a short prefix.
 */
import type { AclUser, Deployment } from '../config/schema.js';
import { passwordHash, type Secrets } from '../render/acl.js';
import { couldNotRead, type Session } from './session.js';

/** The probe user's name: never a model user's; a leftover from a killed run is overwritten and deleted. */
export const PROBE_USER = 'neurallog-redis-drift-probe';

export interface UserRules {
  flags: string[];
  passwords: string[];
  commands: string;
  keys: string;
  channels: string;
  selectors: string;
}

export type UserField = keyof UserRules;

export interface UserDifference {
  field: UserField;
  model: string;
  live: string;
}

export interface UserDrift {
  name: string;
  /** missing: in the model only; extra: on the server only; different: both, with `differences` */
  status: 'missing' | 'extra' | 'different';
  differences: UserDifference[];
  /** the live user in short (extra users) */
  live?: string;
}

export interface AclDrift {
  users: UserDrift[];
  /** users whose passwords could not be compared (no secrets for them) */
  passwordsUnchecked: string[];
}

/** `#11b94799…`: enough to tell hashes apart, never the whole hash. */
export function hashPrefix(hash: string): string {
  return `#${hash.slice(0, 8)}…`;
}

function text(value: unknown): string {
  if (Array.isArray(value)) return value.map(text).join(' ');
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : '';
}

export function parseGetUser(reply: unknown): UserRules {
  const fields = new Map<string, unknown>();
  const list = Array.isArray(reply) ? (reply as unknown[]) : [];
  for (let i = 0; i + 1 < list.length; i += 2) fields.set(String(list[i]), list[i + 1]);
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => String(x as string)) : []);
  return {
    flags: strings(fields.get('flags')),
    passwords: strings(fields.get('passwords')),
    commands: text(fields.get('commands')),
    keys: text(fields.get('keys')),
    channels: text(fields.get('channels')),
    selectors: JSON.stringify(fields.get('selectors') ?? []),
  };
}

/** Flags that say nothing about the model: every release adds sanitize-payload to some users and not others. */
const IGNORED_FLAGS = new Set(['sanitize-payload']);
const comparableFlags = (flags: string[]) =>
  flags
    .filter((f) => !IGNORED_FLAGS.has(f))
    .sort()
    .join(' ');

/** The hashes the model gives a user, or undefined when the secrets do not say. */
export function modelHashes(user: AclUser, secrets: Secrets | undefined): string[] | undefined {
  if (user.nopass) return [];
  const password = secrets?.[user.name];
  if (password !== undefined) return [passwordHash(password)];
  if (!user.enabled && secrets !== undefined) return [];
  return undefined;
}

/** A model user's rules in the server's own form, read back from the probe user. */
async function canonicalRules(session: Session, user: AclUser, secrets: Secrets | undefined): Promise<{ rules: UserRules; hashesKnown: boolean }> {
  await session.send(['ACL', 'SETUSER', PROBE_USER, 'reset', ...user.keys, ...user.channels, ...user.commands]);
  const probe = parseGetUser(await session.send(['ACL', 'GETUSER', PROBE_USER]));
  const hashes = modelHashes(user, secrets);
  const flags = probe.flags.filter((f) => f !== 'on' && f !== 'off' && f !== 'nopass');
  flags.push(user.enabled ? 'on' : 'off');
  if (user.nopass) flags.push('nopass');
  return { rules: { ...probe, flags, passwords: hashes ?? [] }, hashesKnown: hashes !== undefined };
}

/**
 * Rules as a set: Redis 7.0 lists a user's subcommand rules in no stable order (a user loaded from the
 * ACL file and the same rules set by ACL SETUSER come back as `-function|flush -function|delete` and
 * `-function|delete -function|flush`). Both sides are the server's canonical form, in which a later
 * `+@all`/`-@all` has already replaced what came before, so the order carries no further meaning.
 */
function ruleSet(rules: string): string {
  return rules
    .split(' ')
    .filter((r) => r !== '')
    .sort()
    .join(' ');
}

function compareUser(model: UserRules, live: UserRules, hashesKnown: boolean): UserDifference[] {
  const out: UserDifference[] = [];
  if (comparableFlags(model.flags) !== comparableFlags(live.flags))
    out.push({ field: 'flags', model: comparableFlags(model.flags), live: comparableFlags(live.flags) });
  const hashes = (list: string[]) => [...list].sort().map(hashPrefix).join(' ');
  if (hashesKnown && [...model.passwords].sort().join(' ') !== [...live.passwords].sort().join(' '))
    out.push({ field: 'passwords', model: hashes(model.passwords) || '(none)', live: hashes(live.passwords) || '(none)' });
  for (const field of ['commands', 'keys', 'channels', 'selectors'] as const) {
    if (ruleSet(model[field]) !== ruleSet(live[field])) out.push({ field, model: model[field], live: live[field] });
  }
  return out;
}

function describeLive(rules: UserRules): string {
  const parts = [comparableFlags(rules.flags), `${rules.passwords.length} password${rules.passwords.length === 1 ? '' : 's'}`];
  for (const part of [rules.keys, rules.channels, rules.commands]) if (part) parts.push(part);
  return parts.join(', ');
}

export async function liveUsers(session: Session): Promise<Map<string, UserRules>> {
  let names: string[];
  try {
    names = ((await session.send(['ACL', 'USERS'])) as string[]).filter((n) => n !== PROBE_USER);
  } catch (error) {
    throw couldNotRead(error, 'ACL USERS', session);
  }
  const out = new Map<string, UserRules>();
  for (const name of names) out.set(name, parseGetUser(await session.send(['ACL', 'GETUSER', name])));
  return out;
}

/** Every user difference between the model and the server. */
export async function diffUsers(session: Session, model: Deployment, secrets: Secrets | undefined): Promise<AclDrift> {
  const live = await liveUsers(session);
  const users: UserDrift[] = [];
  const passwordsUnchecked: string[] = [];
  try {
    for (const user of model.security.users) {
      const current = live.get(user.name);
      let canonical;
      try {
        canonical = await canonicalRules(session, user, secrets);
      } catch (error) {
        if (/NOPERM|no permissions/i.test((error as Error)?.message ?? '')) throw error;
        // the server refuses the model's rules (a command or category this release lacks): a difference
        const refused = `(refused by the server: ${(error as Error).message})`;
        users.push({
          name: user.name,
          status: current ? 'different' : 'missing',
          differences: [{ field: 'commands', model: refused, live: current?.commands ?? '' }],
        });
        continue;
      }
      if (!canonical.hashesKnown) passwordsUnchecked.push(user.name);
      if (!current) users.push({ name: user.name, status: 'missing', differences: [] });
      else {
        const differences = compareUser(canonical.rules, current, canonical.hashesKnown);
        if (differences.length > 0) users.push({ name: user.name, status: 'different', differences });
      }
    }
  } catch (error) {
    throw couldNotRead(error, 'ACL SETUSER/GETUSER (the rules probe)', session);
  } finally {
    await session.send(['ACL', 'DELUSER', PROBE_USER]).catch(() => undefined);
  }
  const modelNames = new Set(model.security.users.map((u) => u.name));
  for (const [name, rules] of live) if (!modelNames.has(name)) users.push({ name, status: 'extra', differences: [], live: describeLive(rules) });
  return { users, passwordsUnchecked };
}
