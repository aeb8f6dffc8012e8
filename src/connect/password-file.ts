/** A password from a file that others cannot read (never from argv), or from the environment. */
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';

export const PASSWORD_ENV = 'NEURALLOG_REDIS_PASSWORD';

export function readPasswordFile(path: string): string {
  let text: string;
  try {
    const stats = statSync(path);
    // others must not read it; the group may (Kubernetes mounts Secrets 0440 for the pod's fsGroup)
    if (stats.isFile() && stats.mode & 0o007) {
      throw new UsageError(
        `the password file ${path} is readable by others (mode ${(stats.mode & 0o777).toString(8)}); run \`chmod 600 ${path}\``,
        'E_PASSWORD_FILE_MODE',
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read the password file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return text.replace(/\r?\n$/, '');
}
