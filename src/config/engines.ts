/**
 * The engine and release a model targets, and what follows from them: the default release of each
 * engine, the official image that runs it, and the names of its server and CLI programs.
 *
 * Default releases (docs/deploy.md explains the choice): the newest patch release, as far as this
 * project could verify, of the release lines the test suite runs for real (Redis 8.0.2 and Valkey
 * 8.1.1 from Debian 13). A patch release changes neither the directives a server accepts nor the RDB
 * format it writes; it does carry the security fixes the older images lack (redis:8.0.2 predates the
 * fixes for CVE-2025-32023, CVE-2025-48367 in 8.0.3 and CVE-2025-49844/46817/46818/46819 in 8.0.4;
 * valkey 8.1.1 predates the same Lua fixes in 8.1.4 and the July 2026 ones in 8.1.9).
 */
import { compareVersions, engineTitle, releaseLine, type EngineName } from '../engine/identity.js';
import { OLDEST_LINE } from './engine-directives.js';

export const ENGINES = ['redis', 'valkey'] as const satisfies readonly EngineName[];

export const DEFAULT_RELEASE: Record<EngineName, string> = { redis: '8.0.4', valkey: '8.1.9' };

/** "8.0" or "8.0.2" (major.minor, optionally .patch). */
export const VERSION_PATTERN = /^\d+\.\d+(\.\d+)?$/;

/** The official image of a release: `redis:8.0.4-alpine`, `valkey/valkey:8.1.9-alpine`. */
export function defaultImage(engine: EngineName, version: string): string {
  return engine === 'valkey' ? `valkey/valkey:${version}-alpine` : `redis:${version}-alpine`;
}

/** The server program an engine's image and packages ship. */
export function serverProgram(engine: EngineName): string {
  return engine === 'valkey' ? 'valkey-server' : 'redis-server';
}

/** The CLI an engine's image ships (the valkey/valkey image's is valkey-cli). */
export function cliProgram(engine: EngineName): string {
  return engine === 'valkey' ? 'valkey-cli' : 'redis-cli';
}

/** Why a version cannot be a target, or undefined when it can. */
export function versionProblem(engine: EngineName, version: string): string | undefined {
  if (!VERSION_PATTERN.test(version)) return `"${version}" is not a release; write e.g. "8.0" or "8.0.2"`;
  if (compareVersions(releaseLine(version), OLDEST_LINE[engine]) < 0) {
    return `${engineTitle(engine)} ${version} is older than ${engineTitle(engine)} ${OLDEST_LINE[engine]}, the oldest release this tool renders for (the model's encodings are listpacks, new in Redis 7.0; Valkey starts at 7.2)`;
  }
  return undefined;
}

/** The engine an image reference names (its repository is `redis` or `valkey`), if it names one. */
export function imageEngine(image: string): EngineName | undefined {
  const repo =
    image
      .split('@')[0]!
      .replace(/:[^/:]*$/, '')
      .split('/')
      .pop() ?? '';
  if (/^valkey/.test(repo)) return 'valkey';
  if (/^redis/.test(repo)) return 'redis';
  return undefined;
}

/** The release an image tag names (`8.0.4` of `redis:8.0.4-alpine`, `7` of `redis:7-alpine`), if any. */
export function imageVersion(image: string): string | undefined {
  const tag = /:([^/:@]+)$/.exec(image.split('@')[0]!)?.[1];
  return tag ? /^(\d+(?:\.\d+){0,2})(?:-|$)/.exec(tag)?.[1] : undefined;
}
