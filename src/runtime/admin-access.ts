/**
 * Which user the toolkit administers a local deployment as (SHUTDOWN, ACL SETUSER, INFO): the
 * `admin` user with its password from the secrets file, as the neurallog profile has it; else, for a
 * model run with --allow-insecure (the guide's, whose only user is the default one with nopass), an
 * enabled nopass user with every command and every key. A model with neither cannot be administered.
 */
import { existsSync } from 'node:fs';
import type { AclUser, Deployment } from '../config/schema.js';
import type { DeploymentPaths } from '../connect/deployment-dir.js';
import { readSecrets } from '../connect/secrets.js';
import type { Endpoint } from '../connect/url.js';
import { RuntimeError } from '../errors.js';

/** The user the toolkit itself administers a deployment with, when the model has it. */
export const ADMIN_USER = 'admin';

export interface AdminLogin {
  /** undefined: the default user (no AUTH) */
  username?: string;
  password?: string;
  /** how to say it: "admin", or "the default user (nopass)" */
  label: string;
}

function canDoEverything(user: AclUser): boolean {
  return user.enabled && user.commands.includes('+@all') && !user.commands.some((c) => c.startsWith('-')) && user.keys.includes('~*');
}

/** The login `up`, `down`, `status` and `rotate-password` use, or undefined when the model has none. */
export function adminLogin(model: Pick<Deployment, 'security'>, passwords: Readonly<Record<string, string>>): AdminLogin | undefined {
  const admin = model.security.users.find((u) => u.name === ADMIN_USER);
  if (admin && admin.enabled && !admin.nopass && admin.commands.includes('+@all') && passwords[ADMIN_USER] !== undefined) {
    return { username: ADMIN_USER, password: passwords[ADMIN_USER], label: ADMIN_USER };
  }
  const open = model.security.users.find((u) => u.nopass && canDoEverything(u));
  if (open) return { username: open.name === 'default' ? undefined : open.name, label: `the ${open.name} user (nopass)` };
  return undefined;
}

/** True when the model can be administered once its passwords exist (admin with a password, or an open superuser). */
export function modelHasAdminLogin(model: Pick<Deployment, 'security'>): boolean {
  return adminLogin(model, { [ADMIN_USER]: 'x' }) !== undefined;
}

export function adminEndpointFor(login: AdminLogin, host: string, port: number): Endpoint {
  return { host, port, tls: false, db: 0, username: login.username, password: login.password };
}

/** The endpoint the toolkit administers the deployment through (admin, or the open superuser of an insecure model). */
export function adminEndpoint(paths: DeploymentPaths, model: Deployment, host: string, port: number): Endpoint {
  const passwords = existsSync(paths.secrets) ? readSecrets(paths.secrets).users : {};
  const login = adminLogin(model, passwords);
  if (!login)
    throw new RuntimeError(
      `${paths.root}: the model has no user this tool can administer the server as (an enabled "${ADMIN_USER}" with a password in ${paths.secrets})`,
      'E_NO_ADMIN',
    );
  return adminEndpointFor(login, host, port);
}

/** The login status reads INFO with: monitor (least privilege) when it has a password, else the admin login. */
export function statusEndpoint(paths: DeploymentPaths, model: Deployment, host: string, port: number): Endpoint {
  const passwords = existsSync(paths.secrets) ? readSecrets(paths.secrets).users : {};
  const monitor = model.security.users.find((u) => u.name === 'monitor' && u.enabled && !u.nopass);
  if (monitor && passwords.monitor !== undefined) return { host, port, tls: false, db: 0, username: 'monitor', password: passwords.monitor };
  return adminEndpoint(paths, model, host, port);
}
