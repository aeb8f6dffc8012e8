/**
 * Changing a user's password without downtime: the new password goes to the secrets file first (so it
 * is never lost), then live into the server with ACL SETUSER (by hash: the plaintext never crosses the
 * wire), then into users.acl. Connections already authenticated stay up; new ones need the new password.
 */
import { closeConnection, deploymentPaths, generatePassword, openConnection, readDeploymentModel, readRunState, readSecrets, clientHost, writePrivateFile, writeSecrets } from '../connect/index.js';
import { UsageError } from '../errors.js';
import { passwordHash, renderAcl } from '../render/index.js';
import { ADMIN_USER, runningPid } from './deployment.js';

export interface RotateResult {
  user: string;
  live: boolean;
  secretsFile: string;
}

export async function rotatePassword(dir: string, user: string): Promise<RotateResult> {
  const paths = deploymentPaths(dir);
  const model = readDeploymentModel(paths);
  const target = model.security.users.find((u) => u.name === user);
  if (!target || target.nopass) {
    const names = model.security.users.filter((u) => !u.nopass && u.enabled).map((u) => u.name);
    throw new UsageError(`the deployment has no password user "${user}"; its users: ${names.join(', ')}`);
  }
  const secrets = readSecrets(paths.secrets);
  const previous = { ...secrets.users };
  const password = generatePassword();
  const pid = runningPid(paths);
  secrets.users[user] = password;
  writeSecrets(paths.secrets, secrets);
  if (pid !== undefined) {
    const state = readRunState(paths);
    const client = await openConnection({
      host: state?.host ?? clientHost(model.server.bind),
      port: state?.port ?? model.server.port,
      tls: false,
      db: 0,
      username: ADMIN_USER,
      password: previous[ADMIN_USER],
    }).catch((error: unknown) => {
      writeSecrets(paths.secrets, { version: 1, users: previous });
      throw error;
    });
    try {
      await client.sendCommand(['ACL', 'SETUSER', user, 'resetpass', `#${passwordHash(password)}`]);
    } catch (error) {
      writeSecrets(paths.secrets, { version: 1, users: previous });
      throw error;
    } finally {
      await closeConnection(client);
    }
  }
  writePrivateFile(paths.acl, renderAcl(model, secrets.users));
  return { user, live: pid !== undefined, secretsFile: paths.secrets };
}
