/**
 * Where a server binary is and what it is. `up --server PATH` takes redis-server, valkey-server, or
 * a wrapper that runs one (the Debian 13 root's host-bin/ wrappers, scripts/build-engines-root).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { MissingToolError, UsageError } from '../errors.js';
import { describeEngine, identifyFromVersionOutput, type EngineIdentity } from './identity.js';

export interface LocatedServer {
  path: string;
  identity: EngineIdentity;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs `PATH --version` (deadline 10 s) and names the engine; throws when it is not a server. */
export function serverBinaryIdentity(path: string): EngineIdentity {
  const run = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (run.error) throw new UsageError(`${path}: cannot run it (${(run.error as NodeJS.ErrnoException).code ?? run.error.message})`, 'E_SERVER_BINARY');
  const id = identifyFromVersionOutput(`${run.stdout}\n${run.stderr}`);
  if (!id)
    throw new UsageError(
      `${path} is not redis-server or valkey-server: \`${path} --version\` printed "${(run.stdout || run.stderr).trim().split('\n')[0] ?? ''}"`,
      'E_SERVER_BINARY',
    );
  return id;
}

/**
 * The server binary to run: `explicit` when given (a path, or a name looked up on PATH), else
 * redis-server, else valkey-server, from PATH.
 */
export function locateServer(explicit?: string): LocatedServer {
  if (explicit) {
    const path = explicit.includes('/') ? explicit : onPath(explicit);
    if (!path) throw new MissingToolError(explicit, `No ${explicit} on PATH; give its full path to --server.`);
    return { path, identity: serverBinaryIdentity(path) };
  }
  for (const name of ['redis-server', 'valkey-server']) {
    const path = onPath(name);
    if (path) return { path, identity: serverBinaryIdentity(path) };
  }
  throw new MissingToolError(
    'redis-server',
    'Install it with `sudo apt-get install redis-server` (or valkey-server), or run ./scripts/quickstart which installs what is missing; `--server PATH` runs another binary.',
  );
}

export function describeLocated(server: LocatedServer): string {
  return `${describeEngine(server.identity)} (${server.path})`;
}
