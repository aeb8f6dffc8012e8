/**
 * Changing a user's password without downtime. Under the deployment's lock (so that rotations of
 * different users at once cannot lose one another's change: each reads the secrets the previous one
 * wrote), the new password goes to the secrets file first (so it is never lost), then live into the
 * server with ACL SETUSER (by hash: the plaintext never crosses the wire), then into users.acl. A
 * rotation reports success only after the server has accepted the new password (AUTH on a new
 * connection); otherwise the previous password is put back in the server and in both files.
 * Connections already authenticated stay up; new ones need the new password.
 */
import {
  closeConnection,
  deploymentPaths,
  generatePassword,
  openConnection,
  readDeploymentModel,
  readRunState,
  readSecrets,
  clientHost,
  isDeploymentDir,
  writePrivateFile,
  writeSecrets,
  type Endpoint,
} from '../connect/index.js';
import type { Deployment } from '../config/schema.js';
import { RuntimeError, UsageError } from '../errors.js';
import { passwordHash, renderAcl } from '../render/index.js';
import { adminEndpointFor, adminLogin } from './admin-access.js';
import { waitForDeploymentLock } from './deployment-lock.js';
import { requireDirArgument, runningPid } from './deployment.js';

export interface RotateResult {
  user: string;
  live: boolean;
  /** true when the server accepted the new password (AUTH) before this returned */
  verified: boolean;
  secretsFile: string;
}

export interface RotateOptions {
  /** how long to wait for another rotation or an `up` holding the deployment's lock (default 60 s) */
  lockTimeoutMs?: number;
}

/** Why `user` cannot have its password rotated, or undefined when it can. */
function refusal(model: Deployment, user: string): string | undefined {
  const target = model.security.users.find((u) => u.name === user);
  const names = model.security.users.filter((u) => !u.nopass && u.enabled).map((u) => u.name);
  if (user === 'default') {
    return `the default user is off by design (\`user default off resetpass -@all\`): clients log in as named users, and a password would only invite turning it on; rotate one of ${names.join(', ')}`;
  }
  if (!target || target.nopass) return `the deployment has no password user "${user}"; its users: ${names.join(', ')}`;
  if (!target.enabled) return `user "${user}" is off in the model; a password would not let anyone in. Its users with passwords: ${names.join(', ')}`;
  return undefined;
}

export async function rotatePassword(dir: string, user: string, options: RotateOptions = {}): Promise<RotateResult> {
  requireDirArgument(dir);
  const paths = deploymentPaths(dir);
  if (!isDeploymentDir(paths.root))
    throw new UsageError(`${paths.root} is not a deployment made by \`neurallog-redis up\` (no deployment.json); no password was changed`);
  const model = readDeploymentModel(paths);
  const refused = refusal(model, user);
  if (refused) throw new UsageError(refused);

  const lock = await waitForDeploymentLock(paths.root, 'rotate-password', options.lockTimeoutMs);
  try {
    // read under the lock: the secrets another rotation has just written are the ones we keep
    const secrets = readSecrets(paths.secrets);
    const previous = { ...secrets.users };
    const password = generatePassword();
    const pid = runningPid(paths);
    secrets.users[user] = password;
    writeSecrets(paths.secrets, secrets);
    const restoreFiles = () => {
      writeSecrets(paths.secrets, { version: 1, users: previous });
      writePrivateFile(paths.acl, renderAcl(model, previous));
    };
    if (pid === undefined) {
      writePrivateFile(paths.acl, renderAcl(model, secrets.users));
      return { user, live: false, verified: false, secretsFile: paths.secrets };
    }
    const state = readRunState(paths);
    const host = state?.host ?? clientHost(model.server.bind);
    const port = state?.port ?? model.server.port;
    const login = adminLogin(model, previous);
    if (!login) {
      restoreFiles();
      throw new RuntimeError(`no user to administer the server as (an enabled admin with a password); the password of "${user}" was not changed`, 'E_NO_ADMIN');
    }
    let client;
    try {
      client = await openConnection(adminEndpointFor(login, host, port));
    } catch (error) {
      restoreFiles();
      throw error;
    }
    try {
      await client.sendCommand(['ACL', 'SETUSER', user, 'resetpass', `#${passwordHash(password)}`]);
    } catch (error) {
      await closeConnection(client);
      restoreFiles();
      throw error;
    }
    const endpoint: Endpoint = { host, port, tls: false, db: 0, username: user, password };
    try {
      await proveLogin(endpoint);
    } catch (error) {
      // the server did not take it: give it the previous password back, and the files too
      try {
        const back = previous[user] !== undefined ? `#${passwordHash(previous[user])}` : 'nopass';
        await client.sendCommand(['ACL', 'SETUSER', user, 'resetpass', back]);
      } finally {
        await closeConnection(client);
        restoreFiles();
      }
      throw new RuntimeError(
        `the server did not accept the new password of "${user}" (${(error as Error).message}); the previous password was put back and stays valid`,
        'E_ROTATE_UNVERIFIED',
        error,
      );
    }
    await closeConnection(client);
    writePrivateFile(paths.acl, renderAcl(model, secrets.users));
    return { user, live: true, verified: true, secretsFile: paths.secrets };
  } finally {
    lock.release();
  }
}

/** Opens a new connection as the user with the new password: AUTH succeeds only if the server took it. */
async function proveLogin(endpoint: Endpoint): Promise<void> {
  const client = await openConnection(endpoint, { connectTimeoutMs: 5000 });
  await closeConnection(client);
}
