/**
 * Error replies from a server during a pull, turned into ConnectionErrors that say what to do.
 * Passwords never appear: the endpoint is printed without one.
 */
import { formatRedisUrl, type Endpoint } from '../connect/url.js';
import { ConnectionError } from '../errors.js';
import type { RespError } from '../resp/index.js';

/** The ACL rules a user needs to pull an RDB (the `backup` user of deployments made by `up` has them). */
export const PULL_ACL_RULES = '+sync +psync +replconf +ping +info';

export function describeRefusal(reply: RespError, step: string, endpoint: Endpoint): ConnectionError {
  const where = formatRedisUrl(endpoint);
  const user = endpoint.username ?? 'default';
  const said = reply.message;
  switch (reply.kind) {
    case 'WRONGPASS':
      return new ConnectionError(`authentication failed at ${where} for user "${user}": wrong user name or password, or the user is disabled`, 'E_AUTH');
    case 'NOAUTH':
      return new ConnectionError(
        `${where} requires authentication; give a user and password (in the URL, --password-file or NEURALLOG_REDIS_PASSWORD), or use --dir`,
        'E_AUTH',
      );
    case 'NOPERM':
      return new ConnectionError(
        `user "${user}" is not allowed to run ${step} at ${where} (the server said: ${said}). Pulling a backup needs the ACL rules ${PULL_ACL_RULES}: ` +
          `grant them with ACL SETUSER ${user} ${PULL_ACL_RULES} (and keep them in the ACL file), or use --dir, whose backup user has them`,
        'E_NOPERM',
      );
    case 'DENIED':
      return new ConnectionError(
        `${where} refused us in protected mode: it has no password for its default user and only accepts loopback clients`,
        'E_DENIED',
      );
    case 'LOADING':
      return new ConnectionError(`${where} is loading its dataset into memory; try again when it has finished`, 'E_LOADING');
    case 'NOMASTERLINK':
    case 'MASTERDOWN':
      return new ConnectionError(
        `${where} is a replica that is not connected to its master, so it has no consistent copy to give (${said}); back up its master, or wait until its link is up`,
        'E_SYNC_REFUSED',
      );
    default:
  }
  if (step === 'AUTH' && /without any password configured/i.test(said)) {
    return new ConnectionError(
      `${where} has no password set for user "${user}" but we sent one; remove the password from the URL or the password file`,
      'E_AUTH',
    );
  }
  if (step === 'SYNC') {
    return new ConnectionError(
      `${where} refused SYNC: ${said}. The server's log says why (a failed fork or BGSAVE: check memory and vm.overcommit_memory)`,
      'E_SYNC_REFUSED',
    );
  }
  return new ConnectionError(`${where} answered ${step} with an error: ${said}`, 'E_PULL_REFUSED');
}
