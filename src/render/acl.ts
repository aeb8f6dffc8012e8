/**
 * users.acl from the model and the secrets: one line a user, password hashes only (SHA-256, as
 * Redis's `#<hash>` rule takes them), never a plaintext password.
 */
import { createHash } from 'node:crypto';
import type { AclUser, Deployment } from '../config/schema.js';
import { ConfigError } from '../errors.js';

export type Secrets = Readonly<Record<string, string>>;

export function passwordHash(password: string): string {
  return createHash('sha256').update(password, 'utf8').digest('hex');
}

/** The ACL rules of one user, as they follow `user <name>` in an ACL file or ACL SETUSER. */
export function aclRules(user: AclUser, secrets: Secrets): string[] {
  const rules: string[] = [user.enabled ? 'on' : 'off'];
  if (user.nopass) rules.push('nopass');
  else if (secrets[user.name] !== undefined) rules.push(`#${passwordHash(secrets[user.name]!)}`);
  else if (user.enabled) {
    throw new ConfigError(
      `user "${user.name}" is enabled but the secrets hold no password for it; run \`neurallog-redis up\` (it generates one) or add it to the secrets file`,
    );
  } else rules.push('resetpass');
  rules.push(...user.keys, ...user.channels, ...user.commands);
  return rules;
}

export function renderAcl(d: Deployment, secrets: Secrets): string {
  const lines = d.security.users.map((u) => ['user', u.name, ...aclRules(u, secrets)].join(' '));
  return `${lines.join('\n')}\n`;
}

/** Users that log in with a password, and so need one in the secrets file. */
export function usersNeedingPasswords(d: Deployment): string[] {
  return d.security.users.filter((u) => u.enabled && !u.nopass).map((u) => u.name);
}
