/**
 * The engine matrix: every Redis and Valkey this machine can run for the tests. Redis 7.0 comes from
 * the host (Debian 12); Redis 8.0 and Valkey 8.1 from the Debian 13 root that
 * scripts/build-engines-root builds (CI always builds it). Server-facing tests loop over
 * `testEngines()` and put the engine's label in each test's title.
 *
 * NEURALLOG_REDIS_TEST_ENGINES=redis-8.0,valkey-8.1 narrows the matrix (ids as `engineId` gives).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEngine, identifyFromVersionOutput, releaseLine, type EngineIdentity } from '../../src/engine/index.js';
import { findOnPath } from '../../src/runtime/index.js';

export interface TestEngine {
  /** "redis-7.0", "redis-8.0", "valkey-8.1" */
  id: string;
  /** "Redis 7.0.15" */
  label: string;
  identity: EngineIdentity;
  /** the server binary (a chroot wrapper for the root's engines) */
  server: string;
  /** the engine's own CLI (redis-cli or valkey-cli) */
  cli: string;
  checkRdb?: string;
  sentinel?: string;
  /** directories for this engine's servers must live under this one (the root's /tmp for the root's engines) */
  tempParent: string;
  /** true for the root's engines */
  inRoot: boolean;
}

export const ENGINES_ROOT = process.env.NEURALLOG_REDIS_ENGINES_ROOT ?? '/var/cache/neurallog-redis/debian13';
const ROOT_READY = join(ENGINES_ROOT, '.neurallog-engines-ready');

function identify(path: string): EngineIdentity | undefined {
  const run = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return run.status === 0 ? identifyFromVersionOutput(run.stdout) : undefined;
}

function engine(server: string, tools: { cli: string; checkRdb?: string; sentinel?: string }, tempParent: string, inRoot: boolean): TestEngine | undefined {
  const identity = identify(server);
  if (!identity) return undefined;
  return { id: `${identity.engine}-${releaseLine(identity.version)}`, label: describeEngine(identity), identity, server, ...tools, tempParent, inRoot };
}

let cached: TestEngine[] | undefined;

/** Every engine present, host first; one line on stderr (once per test run) when the root is absent. */
export function allTestEngines(): TestEngine[] {
  if (cached) return cached;
  const found: TestEngine[] = [];
  const hostServer = findOnPath('redis-server');
  if (hostServer) {
    const e = engine(
      hostServer,
      { cli: findOnPath('redis-cli') ?? 'redis-cli', checkRdb: findOnPath('redis-check-rdb'), sentinel: findOnPath('redis-sentinel') },
      tmpdir(),
      false,
    );
    if (e) found.push(e);
  }
  const rootUsable = existsSync(ROOT_READY) && process.getuid?.() === 0;
  if (rootUsable) {
    const bin = (name: string) => join(ENGINES_ROOT, 'host-bin', name);
    for (const prefix of ['redis', 'valkey']) {
      if (!existsSync(bin(`${prefix}-server`))) continue;
      const e = engine(
        bin(`${prefix}-server`),
        { cli: bin(`${prefix}-cli`), checkRdb: bin(`${prefix}-check-rdb`), sentinel: bin(`${prefix}-sentinel`) },
        join(ENGINES_ROOT, 'tmp'),
        true,
      );
      if (e) found.push(e);
    }
  } else {
    noticeOnce(
      existsSync(ROOT_READY)
        ? `# Redis 8.0 and Valkey 8.1 tests skipped: the Debian 13 root at ${ENGINES_ROOT} needs root (chroot) to run its servers`
        : `# Redis 8.0 and Valkey 8.1 tests skipped: no Debian 13 root at ${ENGINES_ROOT}; build it with scripts/build-engines-root`,
    );
  }
  cached = found;
  return found;
}

/** The engines this run tests: all present, or those NEURALLOG_REDIS_TEST_ENGINES names. */
export function testEngines(): TestEngine[] {
  const wanted = process.env.NEURALLOG_REDIS_TEST_ENGINES?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const all = allTestEngines();
  return wanted ? all.filter((e) => wanted.includes(e.id)) : all;
}

/** The host's engine (Redis 7.0 on Debian 12): the one tests that need no matrix use. */
export function hostEngine(): TestEngine | undefined {
  return allTestEngines().find((e) => !e.inRoot);
}

/** An engine by id, when present (for cross-version tests). */
export function engineById(id: string): TestEngine | undefined {
  return allTestEngines().find((e) => e.id === id);
}

/** One notice per `node --test` run (each test file runs in a process of its own, children of the runner). */
function noticeOnce(line: string): void {
  const marker = join(tmpdir(), `nlr-engines-notice-${process.ppid}`);
  try {
    writeFileSync(marker, '', { flag: 'wx' });
  } catch {
    return;
  }
  process.stderr.write(`${line}\n`);
}
