/**
 * `config lint`: what is wrong with a deployment on its engine and release (the model's `engine` and
 * `version`; for a redis.conf, the release it is read for), as findings. Pure: it judges what
 * readConfig() read (the model, and for a redis.conf the directives with their file and line), and
 * keeps the reader's own findings (unknown-directive, bad-value, duplicate-directive, machine-path).
 * The security rules live here; memory, persistence and the rest in lint-rules.ts.
 */
import type { ErrorPlace } from '../errors.js';
import { DEPRECATED_ALIASES, directiveSpec } from './directives.js';
import { sortFindings, type Finding } from './findings.js';
import { finding, type LintContext, type LintRule } from './lint-rule.js';
import { CONFIG_RULES } from './lint-rules.js';
import type { LoadedConfig } from './load.js';
import type { ReadDirective } from './redis-conf.js';
import type { AclUser, Deployment } from './schema.js';

export type { LintContext, LintRule } from './lint-rule.js';

function isLoopback(address: string): boolean {
  const a = address.replace(/^-/, '').toLowerCase();
  return a === 'localhost' || a === '::1' || a.startsWith('127.');
}

/** Addresses other machines can reach (0.0.0.0, *, ::, ::*, a LAN address), if any. */
export function remoteBinds(d: Deployment): string[] {
  return d.server.bind.filter((a) => !isLoopback(a));
}

/** The default user as Redis sees it: when nothing defines it, Redis creates it `on nopass ~* &* +@all`. */
function defaultUser(d: Deployment): { user: AclUser; index: number; implicit: boolean } {
  const index = d.security.users.findIndex((u) => u.name === 'default');
  if (index >= 0) return { user: d.security.users[index]!, index, implicit: false };
  return { user: { name: 'default', enabled: true, nopass: true, keys: ['~*'], channels: ['&*'], commands: ['+@all'] }, index: -1, implicit: true };
}

/** A redis.conf whose users come from an ACL file lint does not read: the user rules cannot judge it. */
const usersUnknown = (ctx: LintContext) => ctx.kind === 'redis.conf' && ctx.sets('aclfile');

/** protected mode refuses every non-loopback client (measured on 7.0.15, also with `bind 0.0.0.0` and `default` off; test/remote-access repeats it on Redis 8.0.2 and Valkey 8.1.1). */
function protectedModeBlocks(ctx: LintContext): boolean {
  return !usersUnknown(ctx) && ctx.d.server.protectedMode && defaultUser(ctx.d).user.nopass && remoteBinds(ctx.d).length > 0;
}

const AUTH_FIX_YAML =
  'Turn authentication on as the neurallog profile does: ACL users with passwords (app, backup, monitor, admin) and the default user off without nopass (`user default off resetpass -@all`).';
const AUTH_FIX_CONF =
  'Turn authentication on as the neurallog profile does: `user default off resetpass -@all`, and ACL users with password hashes (`user app on #<sha256> ~logs:* ...`) in an ACL file; `neurallog-redis render acl` writes them.';

const protectedModeRefusesRemote: LintRule = {
  id: 'protected-mode-refuses-remote',
  severity: 'error',
  summary: 'protected-mode yes while the default user has nopass: every non-loopback client is refused',
  check(ctx) {
    if (!protectedModeBlocks(ctx)) return [];
    const { user, implicit } = defaultUser(ctx.d);
    const who = implicit ? 'the default user (not defined, so Redis makes it `on nopass`)' : `the default user (${user.enabled ? 'on' : 'off'}) has nopass`;
    return [
      finding(
        this.id,
        'error',
        ctx.at('protected-mode', 'server.protectedMode'),
        `protected-mode is yes and ${who}: clients from other hosts get -DENIED although bind is ${ctx.d.server.bind.join(' ')}`,
        "Redis 7.0 refuses every client that does not come from loopback or a unix socket while protected mode is on and the default user has no password, whatever bind says and even when the default user is off (measured on 7.0.15). NeuralLog's services run on other hosts or pods, so none of them can connect.",
        ctx.kind === 'yaml' ? AUTH_FIX_YAML : AUTH_FIX_CONF,
      ),
    ];
  },
};

const noAuthentication: LintRule = {
  id: 'no-authentication',
  severity: 'error',
  summary: 'an enabled user has nopass (error when a non-loopback address is bound, warning otherwise)',
  check(ctx) {
    if (usersUnknown(ctx)) return [];
    const remote = remoteBinds(ctx.d);
    const blocked = protectedModeBlocks(ctx);
    const { user: dflt, implicit } = defaultUser(ctx.d);
    const users = [...ctx.d.security.users.map((user, index) => ({ user, index })), ...(implicit ? [{ user: dflt, index: -1 }] : [])];
    return users
      .filter(({ user }) => user.enabled && user.nopass)
      .map(({ user, index }) => {
        const exposed = remote.length > 0 && !blocked;
        const access = `${user.commands.join(' ') || 'no commands'} on ${user.keys.join(' ') || 'no keys'}`;
        const reach = exposed
          ? `any client that reaches ${remote.join(' ')} port ${ctx.d.server.port} is logged in as it (${access})`
          : remote.length > 0
            ? `protected mode now refuses remote clients, but local ones get in without a password (${access}), and turning protected mode off would open it to the network`
            : `any local client is logged in as it without a password (${access})`;
        return finding(
          this.id,
          exposed ? 'error' : 'warning',
          index >= 0 ? ctx.userAt(user.name, index) : ctx.at('requirepass', 'security.users'),
          `user "${user.name}" is on with nopass${index < 0 ? " (Redis's built-in default user)" : ''}: ${reach}`,
          'Without a password anyone who can connect may read every log, rewrite the rules and run FLUSHALL; Redis servers open to the network are scanned for and wiped within hours.',
          ctx.kind === 'yaml' ? AUTH_FIX_YAML : AUTH_FIX_CONF,
        );
      });
  },
};

/** Directives whose value is the password this server gives its master/primary (Valkey 8 renamed masterauth). */
const PRIMARY_PASSWORD_DIRECTIVES = new Set(['masterauth', 'primaryauth']);

const plaintextPassword: LintRule = {
  id: 'plaintext-password',
  severity: 'error',
  summary: 'requirepass, masterauth/primaryauth or `user ... >password` in a redis.conf (or masterauth/primaryauth in extraDirectives)',
  check(ctx) {
    const explanation =
      'A redis.conf is copied into ConfigMaps, images, backups and repositories and is readable by whoever can read the config; a password in it is no longer secret.';
    const fix =
      'Remove the password from this file. Keep passwords in a secrets file readable only by its owner (mode 0600), and give Redis only their SHA-256 hashes in the ACL file (`user app on #<sha256> ...`); `neurallog-redis render acl --secrets FILE` writes it.';
    const primaryFix =
      'Remove the password from the configuration and set it at start from a secret (a redis-server argument is visible in the process list, so prefer `CONFIG SET` over an authenticated connection, or an included file of mode 0600 that no repository holds).';
    const primaryWhy = (name: string) =>
      `${name} holds, in plain text, the password this server uses to authenticate to its ${name === 'primaryauth' ? 'primary' : 'master'}. ${explanation}`;
    const out: Finding[] = [];
    if (ctx.kind === 'yaml') {
      ctx.d.extraDirectives.forEach(({ name, args }, i) => {
        const lower = name.toLowerCase();
        if (PRIMARY_PASSWORD_DIRECTIVES.has(lower) && args[0])
          out.push(
            finding(
              this.id,
              'error',
              { file: ctx.file, path: `extraDirectives.${i}.args` },
              `${lower} holds a password in plain text`,
              primaryWhy(lower),
              primaryFix,
            ),
          );
      });
      return out;
    }
    for (const { name, args, file, line, included } of ctx.directives) {
      const lower = name.toLowerCase();
      if (lower === 'requirepass' && args[0])
        out.push(finding(this.id, 'error', { file, line }, "requirepass holds the default user's password in plain text", explanation, fix));
      if (PRIMARY_PASSWORD_DIRECTIVES.has(lower) && args[0])
        out.push(finding(this.id, 'error', { file, line }, `${lower} holds a password in plain text`, primaryWhy(lower), primaryFix));
      if (lower === 'user' && args.slice(1).some((a) => a.startsWith('>'))) {
        out.push(
          finding(
            this.id,
            'error',
            { file, line },
            included ? 'a user line gives a plaintext password (>...)' : `user "${args[0]}" is given a plaintext password (>...)`,
            explanation,
            fix,
          ),
        );
      }
    }
    return out;
  },
};

const aclFileWithUsers: LintRule = {
  id: 'aclfile-with-user-lines',
  severity: 'error',
  summary: 'aclfile together with `user` lines: redis-server refuses to start',
  check(ctx) {
    if (!usersUnknown(ctx)) return [];
    const users = ctx.directives.filter((d) => d.name.toLowerCase() === 'user');
    if (users.length === 0) {
      return [
        finding(
          'users-not-checked',
          'info',
          ctx.at('aclfile', 'security.users'),
          'users come from the file named by aclfile, which lint does not read',
          'The authentication rules (protected-mode-refuses-remote, no-authentication) need the users and were skipped.',
          "Lint the ACL file's users through a YAML model, or check that it turns the default user off without nopass.",
        ),
      ];
    }
    return users.map((u) =>
      finding(
        this.id,
        'error',
        { file: u.file, line: u.line },
        u.included ? 'a user is defined here while aclfile is also set' : `user "${u.args[0]}" is defined here while aclfile is also set`,
        'Redis 7.0 refuses to start when a config file both names an ACL file and defines users itself ("users defined in redis.conf and at the same setting an ACL file path is invalid").',
        'Define the users in the ACL file only.',
      ),
    );
  },
};

/** Every rule, in report order. Some rules emit a second id: appendfsync-no also appendfsync-always,
 * unknown-directive also duplicate-directive, aclfile-with-user-lines also users-not-checked. */
export const LINT_RULES: readonly LintRule[] = [protectedModeRefusesRemote, noAuthentication, aclFileWithUsers, plaintextPassword, ...CONFIG_RULES];

/** Reading findings after which the model holds defaults rather than the file's values. */
const UNUSABLE = new Set(['syntax', 'unreadable-file']);

function canonical(name: string): string {
  const lower = name.toLowerCase();
  return directiveSpec(lower)?.name ?? DEPRECATED_ALIASES[lower] ?? lower;
}

export function lintContext(loaded: LoadedConfig): LintContext {
  const { file, kind, directives } = loaded;
  const last = (test: (d: ReadDirective) => boolean): ReadDirective | undefined => {
    for (let i = directives.length - 1; i >= 0; i--) if (test(directives[i]!)) return directives[i];
    return undefined;
  };
  const lineOf = (d: ReadDirective | undefined): ErrorPlace => (d ? { file: d.file, line: d.line } : { file });
  const named = (directive: string) => (d: ReadDirective) => canonical(d.name) === canonical(directive);
  return {
    d: loaded.deployment,
    kind,
    file,
    directives,
    at: (directive, path) => (kind === 'yaml' ? { file, path } : lineOf(last(named(directive)))),
    sets: (directive) => kind === 'yaml' || directives.some(named(directive)),
    userAt(name, index) {
      if (kind === 'yaml') return { file, path: index >= 0 ? `security.users.${index}` : 'security.users' };
      const line = last((d) => d.name.toLowerCase() === 'user' && d.args[0] === name) ?? (name === 'default' ? last(named('requirepass')) : undefined);
      return lineOf(line);
    },
  };
}

/** Every finding for a loaded config: the reader's and the rules', errors first, then by line. */
export function lintDeployment(loaded: LoadedConfig): Finding[] {
  const findings: Finding[] = [...loaded.findings];
  // A file that could not be read or tokenised leaves the model at its defaults: judging those would
  // report problems the file does not have.
  if (!loaded.findings.some((f) => UNUSABLE.has(f.rule))) {
    const ctx = lintContext(loaded);
    for (const rule of LINT_RULES) findings.push(...rule.check(ctx));
  }
  return sortFindings(findings);
}
