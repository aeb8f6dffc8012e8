/** Finding the Redis programs this toolkit drives; a clear install hint when one is missing. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MissingToolError } from '../errors.js';

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const PACKAGES: Record<string, string> = {
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  'redis-check-rdb': 'redis-tools',
  'redis-sentinel': 'redis-sentinel',
};

export function requireExecutable(name: string): string {
  const found = findOnPath(name);
  if (!found) {
    const pkg = PACKAGES[name] ?? name;
    throw new MissingToolError(
      name,
      `Install it with \`sudo apt-get install ${pkg}\` (Debian/Ubuntu), or run ./scripts/quickstart which installs what is missing.`,
    );
  }
  return found;
}
