/**
 * Reading ACL rules (`user app on >secret ~logs:* +@read`, from redis.conf `user` lines or an ACL
 * file) into the model's user shape. Passwords never enter the model: plaintext ones are returned
 * beside it (they belong in the secrets file) and hashes are kept apart for lint to report.
 */
import type { AclUser } from './schema.js';

export interface ParsedAclUser {
  user: AclUser;
  /** plaintext passwords given with `>` */
  passwords: string[];
  /** SHA-256 hex hashes given with `#` */
  hashes: string[];
}

export function parseAclRules(name: string, rules: readonly string[]): ParsedAclUser {
  const user: AclUser = { name, enabled: false, nopass: false, keys: [], channels: [], commands: [] };
  const passwords: string[] = [];
  const hashes: string[] = [];
  for (const rule of rules) {
    const lower = rule.toLowerCase();
    if (lower === 'on') user.enabled = true;
    else if (lower === 'off') user.enabled = false;
    else if (lower === 'nopass') {
      user.nopass = true;
      passwords.length = 0;
      hashes.length = 0;
    } else if (lower === 'resetpass') {
      user.nopass = false;
      passwords.length = 0;
      hashes.length = 0;
    } else if (rule.startsWith('>')) {
      passwords.push(rule.slice(1));
      user.nopass = false;
    } else if (rule.startsWith('<')) {
      const i = passwords.indexOf(rule.slice(1));
      if (i >= 0) passwords.splice(i, 1);
    } else if (rule.startsWith('#')) {
      if (!/^#[0-9a-fA-F]{64}$/.test(rule)) throw new Error(`"${rule}" is not a SHA-256 password hash (# and 64 hex digits)`);
      hashes.push(rule.slice(1).toLowerCase());
      user.nopass = false;
    } else if (rule.startsWith('!')) {
      const i = hashes.indexOf(rule.slice(1).toLowerCase());
      if (i >= 0) hashes.splice(i, 1);
    } else if (rule.startsWith('~') || /^%(R|W|RW)~/i.test(rule) || lower === 'allkeys') user.keys.push(lower === 'allkeys' ? '~*' : rule);
    else if (lower === 'resetkeys') user.keys = [];
    else if (rule.startsWith('&') || lower === 'allchannels') user.channels.push(lower === 'allchannels' ? '&*' : rule);
    else if (lower === 'resetchannels') user.channels = [];
    else if (rule.startsWith('+') || rule.startsWith('-')) user.commands.push(rule);
    else if (lower === 'allcommands') user.commands.push('+@all');
    else if (lower === 'nocommands') user.commands.push('-@all');
    else if (lower === 'reset') {
      Object.assign(user, { enabled: false, nopass: false, keys: [], channels: [], commands: [] });
      passwords.length = 0;
      hashes.length = 0;
    } else if (rule.startsWith('(')) throw new Error(`selectors ("${rule}") are not supported by the model`);
    else throw new Error(`"${rule}" is not an ACL rule`);
  }
  return { user, passwords, hashes };
}
