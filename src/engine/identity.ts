/**
 * Which server we talk to: Redis or Valkey, and its version. Valkey answers `redis_version:7.2.4` to
 * old clients and gives its own version in `valkey_version` (with `server_name:valkey`); `--version`
 * prints "Redis server v=8.0.2 ..." or "Valkey server v=8.1.1 ...".
 */

export type EngineName = 'redis' | 'valkey';

export const ENGINE_NAMES: readonly EngineName[] = ['redis', 'valkey'];

export interface EngineIdentity {
  engine: EngineName;
  /** the engine's own release, e.g. "8.0.2" (Valkey's valkey_version, not its redis_version) */
  version: string;
}

/** "Redis" or "Valkey" */
export function engineTitle(engine: EngineName): string {
  return engine === 'valkey' ? 'Valkey' : 'Redis';
}

/** "Redis 8.0.2", "Valkey 8.1.1" */
export function describeEngine(id: EngineIdentity): string {
  return `${engineTitle(id.engine)} ${id.version}`;
}

/** From INFO server's fields (parsed into a record). */
export function identifyFromInfo(info: Record<string, string | undefined>): EngineIdentity {
  const valkey = info.valkey_version;
  if (valkey !== undefined || info.server_name === 'valkey') return { engine: 'valkey', version: valkey ?? info.redis_version ?? '0' };
  return { engine: 'redis', version: info.redis_version ?? '0' };
}

/** From the first line a server binary prints for `--version`; undefined when it is neither engine's. */
export function identifyFromVersionOutput(text: string): EngineIdentity | undefined {
  const m = /\b(Redis|Valkey) server v=(\d+\.\d+\.\d+)/i.exec(text);
  if (!m) return undefined;
  return { engine: m[1]!.toLowerCase() === 'valkey' ? 'valkey' : 'redis', version: m[2]! };
}

/** [major, minor, patch] of "8.0.2" (missing parts are 0, non-numbers NaN). */
export function versionParts(version: string): [number, number, number] {
  const [a = '0', b = '0', c = '0'] = version.trim().split(/[.-]/);
  return [Number(a), Number(b), Number(c)];
}

/** <0, 0, >0 as a is older than, the same release as, or newer than b. */
export function compareVersions(a: string, b: string): number {
  const pa = versionParts(a);
  const pb = versionParts(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** "8.0" of "8.0.2" */
export function releaseLine(version: string): string {
  const [major, minor] = versionParts(version);
  return `${major}.${minor}`;
}

/**
 * The writer of an RDB file from its aux fields: Valkey writes `valkey-ver` (8.0 and later, without
 * `redis-ver`), Redis writes `redis-ver`. Valkey 7.2 also wrote `redis-ver` (its 7.2.x), so a file
 * with `redis-ver` alone is Redis or Valkey 7.2. Undefined when neither field is there.
 */
export function identifyFromRdbAux(aux: Record<string, string | undefined>): EngineIdentity | undefined {
  const valkey = aux['valkey-ver'];
  if (valkey !== undefined) return { engine: 'valkey', version: valkey };
  const redis = aux['redis-ver'];
  if (redis !== undefined) return { engine: 'redis', version: redis };
  return undefined;
}

/** Whether a server of this identity has a command (or a command option) that first came in `since`. */
export function engineHas(id: EngineIdentity, since: { redis?: string; valkey?: string }): boolean {
  const first = since[id.engine];
  return first !== undefined && compareVersions(id.version, first) >= 0;
}
