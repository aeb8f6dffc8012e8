/**
 * Which server binary a deployment runs, and whether it will take the model. `up --server PATH` picks
 * one (redis-server, valkey-server, or a wrapper such as the Debian 13 root's host-bin ones); the
 * choice is remembered in the deployment directory (server.json), so a later `up` restarts the same
 * engine on data it wrote; without either, redis-server then valkey-server on PATH.
 *
 * Before anything starts, the rendered redis.conf is judged by the binary's own release table: a
 * directive that binary refuses stops `up` with the names, instead of a server that exits at once.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeTarget, refusedDirectives, tableFor, type EngineTarget } from '../config/engine-directives.js';
import { tokenizeConf } from '../config/redis-conf-syntax.js';
import type { Deployment } from '../config/schema.js';
import { describeLocated, locateServer, type LocatedServer } from '../engine/binaries.js';
import { releaseLine } from '../engine/identity.js';
import { UsageError } from '../errors.js';

const SERVER_FILE = 'server.json';

export interface RememberedServer {
  path: string;
  engine: EngineTarget['engine'];
  version: string;
}

export function serverFile(root: string): string {
  return join(root, SERVER_FILE);
}

/** The server a deployment last started with, if it recorded one. */
export function rememberedServer(root: string): RememberedServer | undefined {
  const file = serverFile(root);
  if (!existsSync(file)) return undefined;
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<RememberedServer>;
    if (typeof data.path === 'string' && (data.engine === 'redis' || data.engine === 'valkey') && typeof data.version === 'string')
      return data as RememberedServer;
  } catch {
    // a damaged record is no record: the default server is looked up again
  }
  return undefined;
}

export function rememberServer(root: string, server: LocatedServer): void {
  const record: RememberedServer = { path: server.path, engine: server.identity.engine, version: server.identity.version };
  writeFileSync(serverFile(root), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}

/** `--server`, else the deployment's remembered binary while it still exists, else PATH's. */
export function chooseServer(root: string, explicit?: string): LocatedServer {
  if (explicit) return locateServer(explicit);
  const remembered = rememberedServer(root);
  if (remembered && existsSync(remembered.path)) return locateServer(remembered.path);
  return locateServer();
}

/** The model's target next to the binary's release, when their release lines differ (a note for the user). */
export function targetMismatch(model: Pick<Deployment, 'engine' | 'version'>, server: LocatedServer): string | undefined {
  const id = server.identity;
  if (id.engine === model.engine && releaseLine(id.version) === releaseLine(model.version)) return undefined;
  return `the model targets ${describeTarget(model)}; this server is ${describeLocated(server)}`;
}

/**
 * Throws, naming each directive and why, when the server would refuse the rendered config. The
 * binary's own release decides (not the model's): it is the one that reads the file. A binary of a
 * release line without a table of its own (say Redis 8.2, judged by 8.0's) may accept names that
 * table lacks: those are not refused but returned as a note, and the server itself decides.
 */
export function assertServerAccepts(conf: string, model: Pick<Deployment, 'engine' | 'version'>, server: LocatedServer): string | undefined {
  const names = tokenizeConf(conf).map((l) => l.name);
  const refused = refusedDirectives(server.identity, names);
  if (refused.length === 0) return undefined;
  const { note } = tableFor(server.identity);
  if (note) return `${describeLocated(server)}: ${note}; it may refuse ${refused.map((r) => r.name).join(', ')} (not checked)`;
  const lines = refused.map((r) => `  ${r.name}: ${r.explanation}${r.replacement ? ` Write "${r.replacement}" instead.` : ''}`);
  throw new UsageError(
    `${describeLocated(server)} would refuse this model's config (nothing was started):\n${lines.join('\n')}\n` +
      `The model targets ${describeTarget(model)}${note ? `; ${note}` : ''}. Run a server of that release with --server PATH, or remove those directives from the model (extraDirectives).`,
    'E_SERVER_REFUSES_MODEL',
  );
}
