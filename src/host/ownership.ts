/**
 * Whether a pid named by a deployment directory (its redis.pid or state.json) is that deployment's
 * server. A live redis-server is not enough: a copied directory (`cp -a`) or a pid file from another
 * deployment names a server that runs on another directory's files, and acting on it (reporting it
 * as ours, stopping it) would act on the wrong server. A pid is ours only when the process is a
 * Redis or Valkey server whose working directory is this deployment's data directory (redis-server
 * changes into `--dir` at start; `up` passes `<dir>/data`), or, when its working directory cannot be
 * read, whose command line names this deployment's redis.conf.
 */
import { readlinkSync, realpathSync } from 'node:fs';
/** the two paths of a deployment directory the judgement needs (connect's DeploymentPaths has them) */
export interface ServerPaths {
  /** redis-server's working directory */
  data: string;
  /** the rendered redis.conf */
  conf: string;
}
import { commandLine, isAlive, isRedisServer } from './processes.js';

export type PidVerdict =
  | { kind: 'ours'; pid: number }
  | { kind: 'none' }
  /** the file names a pid that is not our server: `reason` says what it is instead */
  | { kind: 'stale'; pid: number; reason: string };

/** The working directory of a process as this process sees it, or undefined when it cannot be read. */
export function processCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Judges one pid against the deployment at `paths`. */
export function judgePid(pid: number, paths: ServerPaths): PidVerdict {
  if (!isAlive(pid)) return { kind: 'stale', pid, reason: `pid ${pid} is not running` };
  if (!isRedisServer(pid)) return { kind: 'stale', pid, reason: `pid ${pid} is not a Redis or Valkey server` };
  const cwd = processCwd(pid);
  if (cwd !== undefined) {
    if (cwd === realPath(paths.data)) return { kind: 'ours', pid };
    return {
      kind: 'stale',
      pid,
      reason: `pid ${pid} is the server of another directory (it runs in ${cwd.replace(/ \(deleted\)$/, ', since deleted')}), not of ${paths.data}; it was left alone`,
    };
  }
  if (commandLine(pid).includes(paths.conf)) return { kind: 'ours', pid };
  return {
    kind: 'stale',
    pid,
    reason: `pid ${pid} is a server whose directory cannot be read (another user's process?), so it is not taken for this deployment's; it was left alone`,
  };
}

/**
 * The deployment's own running server, judged from redis.pid, then state.json. When neither names
 * our server but one names something else, the verdict is `stale` with the first such reason.
 */
export function findOwnServer(paths: ServerPaths, candidates: readonly (number | undefined)[]): PidVerdict {
  let stale: PidVerdict | undefined;
  for (const pid of candidates) {
    if (pid === undefined) continue;
    const verdict = judgePid(pid, paths);
    if (verdict.kind === 'ours') return verdict;
    stale ??= verdict;
  }
  return stale ?? { kind: 'none' };
}
