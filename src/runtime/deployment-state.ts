/**
 * What is on file about a deployment's running server (redis.pid, state.json), judged against the
 * processes of this machine: a pid file copied from elsewhere, or left by a server that has ended,
 * does not name our server.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { readRunState, type DeploymentPaths } from '../connect/index.js';
import { findOwnServer, type PidVerdict } from '../host/index.js';
import type { EngineName } from '../engine/identity.js';
import { UsageError } from '../errors.js';

/** Our server's pid, or why the pid on file is not ours. */
export function ownServer(paths: DeploymentPaths): PidVerdict {
  return findOwnServer(paths, [readPidFile(paths.pid), readRunState(paths)?.pid]);
}

/** The pid of the redis-server running on this deployment (its own, not one a copied pid file names), if any. */
export function runningPid(paths: DeploymentPaths): number | undefined {
  const verdict = ownServer(paths);
  return verdict.kind === 'ours' ? verdict.pid : undefined;
}

/** Removes redis.pid and state.json naming a pid that is not our server (never the process itself). */
export function forgetStalePid(paths: DeploymentPaths): void {
  rmSync(paths.pid, { force: true });
  rmSync(paths.state, { force: true });
}

function readPidFile(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const pid = Number(readFileSync(path, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export interface EngineFacts {
  /** the running (or, before the first start, chosen) server's engine and release */
  engine?: EngineName;
  engineVersion?: string;
  /** the server binary */
  serverPath?: string;
  /** what the model targets (`engine`, `version`) */
  target: { engine: EngineName; version: string };
}

export function requireDirArgument(dir: string): void {
  if (dir.trim() === '') throw new UsageError('--dir is empty; give the deployment directory (default .neurallog-redis), e.g. --dir .neurallog-redis');
}
