/**
 * One lock per deployment directory (`.neurallog-redis/deployment.lock`, the hard-link lock of
 * file-lock.ts) around everything that changes what the directory and its server hold together:
 * `up` from its first write until the server serves (two `up` at once would start two servers on one
 * directory, or one on the other's redis.conf), and `rotate-password` around the read-modify-write
 * of secrets.json and users.acl and the live ACL SETUSER (two rotations at once lost one of them).
 *
 * `up` does not wait: the loser says another `up` is starting the deployment and stops. A rotation
 * waits its turn, for a bounded time, since rotations of different users are all meant to happen.
 */
import { join } from 'node:path';
import { NeuralLogRedisError } from '../errors.js';
import { takeLock, type FileLock, type LockHolder } from '../host/file-lock.js';
import { sleep } from '../host/index.js';

export const DEPLOYMENT_LOCK = 'deployment.lock';

export function deploymentLockPath(root: string): string {
  return join(root, DEPLOYMENT_LOCK);
}

/** What the holder of a deployment's lock is doing, in words. */
export function describeHolder(holder: LockHolder): string {
  if (holder.purpose === 'up') return `another \`up\` (pid ${holder.pid}) is starting it`;
  if (holder.purpose === 'rotate-password') return `a \`rotate-password\` (pid ${holder.pid}) is changing its passwords`;
  return `another neurallog-redis (pid ${holder.pid}, ${holder.purpose}) holds its lock`;
}

/** The lock is held by a live process; `up` exits 2 on it (nothing was done: run it again later). */
export class DeploymentBusyError extends NeuralLogRedisError {
  readonly holder: LockHolder;
  constructor(root: string, holder: LockHolder) {
    super('E_DEPLOYMENT_BUSY', `${root}: ${describeHolder(holder)}; nothing was done here. Wait for it to finish, then run \`status\` or this command again.`, {
      exitCode: 2,
    });
    this.holder = holder;
  }
}

/** Takes the deployment's lock at once or throws DeploymentBusyError. */
export function lockDeployment(root: string, purpose: string): FileLock {
  return takeLock(deploymentLockPath(root), { purpose, busy: (holder) => new DeploymentBusyError(root, holder) });
}

/** Takes the deployment's lock, waiting up to `timeoutMs` for a live holder to release it. */
export async function waitForDeploymentLock(root: string, purpose: string, timeoutMs = 60_000): Promise<FileLock> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return lockDeployment(root, purpose);
    } catch (error) {
      if (!(error instanceof DeploymentBusyError)) throw error;
      if (Date.now() >= deadline) {
        throw new NeuralLogRedisError(
          'E_DEPLOYMENT_BUSY',
          `${root}: ${describeHolder(error.holder)}, and still was after ${Math.round(timeoutMs / 1000)} s; nothing was changed. Try again when it is done.`,
          { exitCode: 2 },
        );
      }
      await sleep(20 + Math.floor(Math.random() * 30));
    }
  }
}
