/**
 * Replace restore of a live server at Redis's own loading speed: the CLI serves the backup as a
 * replication master, the target is told `REPLICAOF` the CLI, loads the RDB with its own loader,
 * and is made a master again with `REPLICAOF NO ONE`. With AOF on, Redis rewrites its AOF from the
 * loaded data; success is reported only once that rewrite has finished, since before it a crash
 * would bring back the old data.
 *
 * The RDB is parsed and checksummed as it streams, and its final bytes are held back until parse and
 * CRC pass, so a bad backup never completes a transfer: the target keeps serving its old data.
 *
 * Phases, in this order (a failure after the first change to the target rolls back what it can and
 * reports the target's state): check (nothing changed), serve (a listener only), set how the target
 * loads (swapdb: the first change), transfer and load, promote, wait for the AOF rewrite, verify.
 */
import { setTimeout as delay } from 'node:timers/promises';
// connect's own files, not its index (which brings the deployment schema: docs/architecture.md)
import type { Endpoint } from '../connect/url.js';
import type { ErrorCode, NeuralLogRedisError } from '../errors.js';
import type { FakeMaster } from '../replication/index.js';
import { RespClient } from '../resp/client.js';
import { measureRdbBytes, sourceOrigin, sourceValueTypes, type RestoreSource } from './source.js';
import { loadsOnlyAsForeign, rdbLoadVerdict, readerRefusal } from './compatibility.js';
import { readTargetFacts, replaceRefusals, RestoreFailedError, RestoreRefusedError, type TargetFacts } from './target.js';
import { moduleVerdict, sourceModuleNeeds, targetModules } from './modules.js';
import { info, isLoading, pollInfo, SILENCE_MS, withinMs } from './poll-info.js';
import { serveBackup, type ServedBackup } from './replace-serve.js';
import { COMMAND_WITHIN_MS, describeTargetNow, localAddressTowards, promoteBack, replicaOfNoOne } from './replace-target.js';
import { verifyTarget } from './replace-verify.js';

export { RestoreFailedError };

export type ReplacePhase = 'checking' | 'transferring' | 'loading' | 'promoting' | 'rewriting-aof' | 'verifying' | 'done' | 'rolling-back';

export interface ReplaceOptions {
  source: RestoreSource;
  /** an administrative user of the target (REPLICAOF, INFO, CONFIG GET, DUMP) */
  endpoint: Endpoint;
  /** the address the target reaches the CLI at; default: the CLI's own address on its connection to the target */
  listenHost?: string;
  sampleSize?: number;
  /**
   * how the target takes the RDB: `disk` (default) receives it whole into a file, then loads it;
   * `swapdb` loads it straight from the socket while keeping its old data in memory until the load
   * succeeds (faster: the transfer and the load overlap; needs memory for both datasets at once)
   */
  load?: 'disk' | 'swapdb' | 'auto';
  timeoutMs?: number;
  signal?: AbortSignal;
  onPhase?: (phase: ReplacePhase, detail?: string) => void;
  onTransferProgress?: (bytes: number, total: number) => void;
}

export interface ReplaceResult {
  mode: 'replace';
  /** how the target took the RDB */
  load: 'disk' | 'swapdb';
  target: string;
  keysBefore: Record<string, number>;
  keysAfter: Record<string, number>;
  expected: Record<string, { keys: number; expiredSince: number }>;
  aofRewritten: boolean;
  sampled: number;
  mismatches: string[];
  functions: number;
  seconds: number;
}

/** how long the transfer may go without moving before the target is taken as unable to fetch it */
const STALL_MS = 60_000;

/**
 * The deadline of each wait of a replace restore (transfer and load; the AOF rewrite): two minutes
 * plus one second per 2 MiB of RDB. Redis loads 50-200 MB/s on one core, so this is tens of times
 * what a working target needs, and a target that has stopped is found out within it.
 */
export function replaceWaitMs(rdbBytes: number): number {
  return 120_000 + Math.ceil(rdbBytes / (2 << 20)) * 1000;
}

/** One restore's connection and what it has changed on the target so far (read by the rollback). */
interface ReplaceRun {
  readonly options: ReplaceOptions;
  readonly client: RespClient;
  readonly phase: (phase: ReplacePhase, detail?: string) => void;
  /** the listener serving the backup, until it is closed */
  master?: FakeMaster;
  /** the target was told REPLICAOF the CLI and not yet made a master again */
  becameReplica: boolean;
  /** puts back a setting changed for the restore */
  restoreSettings?: () => Promise<void>;
  /** set once something on the target has been changed (from here on a failure reports its state) */
  changed: boolean;
  keysBefore: Record<string, number>;
}

export async function replaceRestore(options: ReplaceOptions): Promise<ReplaceResult> {
  const started = Date.now();
  const phase = options.onPhase ?? (() => undefined);
  phase('checking');
  // resp/'s client, not node-redis: loading that cost the start of a small restore ~0.18 s
  // (docs/benchmarks.md); the poll loop's silence limit speaks before a command's own deadline
  const client = await RespClient.open(options.endpoint, { name: 'neurallog-redis-restore', commandTimeoutMs: SILENCE_MS + 5000 });
  const run: ReplaceRun = { options, client, phase, becameReplica: false, changed: false, keysBefore: {} };
  try {
    const facts = await checkTarget(run);
    const rdbBytes = await measureRdbBytes(options.source);
    const waitMs = options.timeoutMs ?? replaceWaitMs(rdbBytes);
    const host = options.listenHost ?? (await localAddressTowards(options.endpoint));
    const served = await serveBackup({
      source: options.source,
      host,
      rdbBytes,
      sampleSize: options.sampleSize ?? 200,
      onTransferProgress: options.onTransferProgress,
    });
    run.master = served.master;
    const load = await setLoad(run, facts);
    const aofRewritesBefore = Number(facts.info.aof_rewrites ?? 0);
    await transferAndLoad(run, served, waitMs);
    const summary = served.summary;
    if (!summary) throw new RestoreFailedError('the backup was transferred but not verified to its end');
    await promote(run);
    const aofRewritten = facts.aofEnabled ? await waitForAofRewrite(run, aofRewritesBefore, waitMs) : false;
    phase('verifying');
    const verified = await verifyTarget(client, summary, served.sampler, served.expiredByDb);
    phase('done');
    return {
      mode: 'replace',
      load,
      target: `${options.endpoint.host}:${options.endpoint.port}`,
      keysBefore: run.keysBefore,
      keysAfter: verified.keysAfter,
      expected: verified.expected,
      aofRewritten,
      sampled: verified.sampled,
      mismatches: [],
      functions: summary.functions,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (error) {
    throw await rollBack(run, error);
  } finally {
    await run.master?.close().catch(() => undefined);
    await run.restoreSettings?.().catch(() => undefined);
    await client.close();
  }
}

/**
 * Phase 1, which changes nothing: the target's facts and refusals, whether it reads the backup, its
 * databases and modules, and the stored file's SHA-256 (started when the source was opened).
 */
async function checkTarget(run: ReplaceRun): Promise<TargetFacts> {
  const { options, client } = run;
  const facts = await readTargetFacts(client);
  const refusals = replaceRefusals(facts);
  const manifest = options.source.manifest;
  const origin = await sourceOrigin(options.source);
  const unreadable = readerRefusal(origin);
  if (unreadable) refusals.push(unreadable);
  const types = loadsOnlyAsForeign(origin, facts.engine) ? await sourceValueTypes(options.source) : undefined;
  const compatibility = rdbLoadVerdict(origin, facts.engine, types);
  if (!compatibility.loads)
    refusals.push(
      `${compatibility.message}; restore onto a server that reads it, or try --mode merge (it rebuilds values with plain commands where every value has a command form on the target)`,
    );
  if (manifest) {
    const top = Math.max(-1, ...Object.keys(manifest.keyspace.databases).map(Number));
    if (top >= facts.databases)
      refusals.push(`the backup has data in database ${top} but the target has ${facts.databases} databases; raise \`databases\` or use --mode merge --db-map`);
  }
  const refused = (reasons: string[], code?: ErrorCode, exitCode: 1 | 2 = 1) =>
    new RestoreRefusedError(
      `not restoring into ${options.endpoint.host}:${options.endpoint.port}: ${reasons.join('; ')}. Nothing was changed.`,
      code,
      exitCode,
    );
  if (refusals.length > 0) throw refused(refusals);
  // a server that meets module data without its module exits while loading: compare before anything changes
  const modules = moduleVerdict(await sourceModuleNeeds(options.source), await targetModules(client));
  if (modules && !modules.ok) throw refused([modules.message], 'E_RESTORE_MODULES', 2);
  if (modules?.note) run.phase('checking', modules.note);
  await options.source.digestChecked;
  return facts;
}

/** How the target takes the RDB; for swapdb, `repl-diskless-load swapdb` until the restore ends (the first change). */
async function setLoad(run: ReplaceRun, facts: TargetFacts): Promise<'disk' | 'swapdb'> {
  const { options, client } = run;
  const previousDisklessLoad = facts.replDisklessLoad;
  const setDisklessLoad = (value: string) => withinMs(client.sendCommand(['CONFIG', 'SET', 'repl-diskless-load', value]), COMMAND_WITHIN_MS);
  const load = options.load === 'auto' || options.load === undefined ? chooseLoad(facts, options.source.manifest?.rdb.usedMemory) : options.load;
  run.keysBefore = facts.keysPerDb;
  run.phase('checking', `load: ${load}`);
  if (load === 'swapdb' && previousDisklessLoad !== 'swapdb') {
    run.changed = true;
    await setDisklessLoad('swapdb');
    run.restoreSettings = () => setDisklessLoad(previousDisklessLoad).then(() => undefined);
  }
  return load;
}

/**
 * `REPLICAOF` the listener, then waits for the transfer, for the load to finish and for the link to
 * come up. Fails on the abort signal, a failed transfer, a transfer that does not move for STALL_MS,
 * the deadline, or a target that stops answering.
 */
async function transferAndLoad(run: ReplaceRun, served: ServedBackup, waitMs: number): Promise<void> {
  const { client, phase } = run;
  const { master, host, rdbBytes } = served;
  phase('transferring');
  const transferStart = Date.now();
  run.changed = true;
  await withinMs(client.sendCommand(['REPLICAOF', host, String(master.port)]), COMMAND_WITHIN_MS);
  run.becameReplica = true;
  let transferError: unknown;
  let transferDone = false;
  const transferred = master.transferred.then(
    () => (transferDone = true),
    (error: unknown) => {
      transferError = error;
      return false;
    },
  );
  const check = (): void => {
    if (transferError)
      throw new RestoreFailedError(
        `the transfer failed (the backup's final bytes were held back, so the target discards what it received): ${(transferError as Error).message}`,
        'E_RESTORE_TRANSFER',
        transferError,
      );
    if (!transferDone && Date.now() - (served.lastBytesAt || transferStart) > STALL_MS) {
      throw new RestoreFailedError(
        served.lastBytesAt === 0
          ? `the target did not fetch the backup from ${host}:${master.port} within ${STALL_MS / 1000} s: it cannot reach that address (give --listen ADDRESS, an address of this host the target can reach)`
          : `the transfer stalled: the target took no bytes for ${STALL_MS / 1000} s`,
        'E_RESTORE_STALLED',
      );
    }
  };
  let loadingSeen = false;
  const loaded = async (i: Record<string, string>): Promise<true | undefined> => {
    if (isLoading(i) && !loadingSeen) {
      loadingSeen = true;
      phase('loading');
    }
    const done = i.master_link_status === 'up' && i.master_sync_in_progress === '0' && i.loading === '0' && i.async_loading !== '1';
    // the transfer has been seen to finish (not merely the target's link: it may not have checked the file yet)
    if (done && (await Promise.race([transferred, delay(0).then(() => false)]))) return true;
    return undefined;
  };
  const deadline = {
    at: Date.now() + waitMs,
    error: () =>
      new RestoreFailedError(
        `the target did not finish receiving and loading the backup (${rdbBytes} bytes) within ${Math.round(waitMs / 1000)} s`,
        'E_RESTORE_TIMEOUT',
      ),
  };
  await pollInfo(client, loaded, deadline, { section: 'everything', doing: 'receiving or loading the backup', check, signal: run.options.signal });
}

/** `REPLICAOF NO ONE`, then the listener closes. */
async function promote(run: ReplaceRun): Promise<void> {
  run.phase('promoting');
  await withinMs(replicaOfNoOne(run.client), COMMAND_WITHIN_MS);
  run.becameReplica = false;
  await run.master?.close();
  run.master = undefined;
}

/** With AOF on: until the rewrite that follows the load has finished, a crash brings back the old data. */
async function waitForAofRewrite(run: ReplaceRun, rewritesBefore: number, waitMs: number): Promise<boolean> {
  run.phase('rewriting-aof');
  const rewritten = (p: Record<string, string>): true | undefined => {
    if (!(p.aof_rewrite_in_progress === '0' && p.aof_rewrite_scheduled === '0' && Number(p.aof_rewrites ?? 0) > rewritesBefore)) return undefined;
    if (p.aof_last_bgrewrite_status !== 'ok')
      throw new RestoreFailedError(
        `the target's AOF rewrite after the load failed (aof_last_bgrewrite_status:${p.aof_last_bgrewrite_status}); its data is the backup's in memory, but a restart would bring back the old data. Check its disk and run BGREWRITEAOF`,
      );
    return true;
  };
  const deadline = {
    at: Date.now() + waitMs,
    error: () =>
      new RestoreFailedError(
        `the target did not finish rewriting its AOF within ${Math.round(waitMs / 1000)} s; until it does, a crash brings back the old data`,
        'E_RESTORE_TIMEOUT',
      ),
  };
  return pollInfo(run.client, rewritten, deadline, { section: 'persistence', doing: 'rewriting its AOF' });
}

/**
 * After a failure: nothing to do when nothing was changed; else the listener goes and the target is
 * made a master again if it was told to replicate, and the error says what the target is now.
 */
async function rollBack(run: ReplaceRun, error: unknown): Promise<unknown> {
  if (!run.changed) return error;
  if (run.becameReplica) {
    run.phase('rolling-back');
    await run.master?.close().catch(() => undefined);
    run.master = undefined;
    await promoteBack(run.client);
  }
  // never guess: say what the target is now
  const state = await describeTargetNow(run.options.endpoint, run.keysBefore);
  const e = error as NeuralLogRedisError;
  return new RestoreFailedError(`${e?.message ?? String(error)}; ${state}`, e?.code ?? 'E_RESTORE_FAILED', error);
}

/**
 * `auto`: swapdb (faster: the load overlaps the transfer) where holding both datasets at once is safe;
 * disk otherwise, and when the backup's memory use is unknown.
 * - With maxmemory set: both fit under it (90 %), which the container limit (1.5 x maxmemory or
 *   more) then also holds.
 * - With maxmemory 0 (unlimited): the old dataset is small next to the backup (at most a tenth of
 *   it: an empty or nearly empty target, where swapdb needs hardly more memory than disk), or both
 *   fit in half the host's memory (total_system_memory), leaving the other half as headroom.
 */
export function chooseLoad(
  facts: Pick<TargetFacts, 'maxmemory' | 'usedMemory'> & Partial<Pick<TargetFacts, 'totalSystemMemory'>>,
  backupUsedMemory: number | undefined,
): 'disk' | 'swapdb' {
  if (backupUsedMemory === undefined) return 'disk';
  const both = facts.usedMemory + backupUsedMemory;
  if (facts.maxmemory > 0) return both <= facts.maxmemory * 0.9 ? 'swapdb' : 'disk';
  if (facts.usedMemory <= backupUsedMemory * 0.1) return 'swapdb';
  const host = facts.totalSystemMemory ?? 0;
  return host > 0 && both <= host * 0.5 ? 'swapdb' : 'disk';
}

/**
 * `restore --abort`: after a crash of the CLI mid-restore, makes the target a master again. It only
 * acts on a replica whose master link is down (the CLI's listener is gone), unless forced.
 */
export async function abortRestore(endpoint: Endpoint, options: { force?: boolean } = {}): Promise<{ wasReplicaOf?: string; changed: boolean }> {
  const client = await RespClient.open(endpoint);
  try {
    const i = await info(client, 'replication');
    if (i.role !== 'slave') return { changed: false };
    const wasReplicaOf = `${i.master_host}:${i.master_port}`;
    if (i.master_link_status === 'up' && !options.force) {
      throw new RestoreRefusedError(
        `the target replicates from ${wasReplicaOf} and its link is up: that is a real master, not an interrupted restore; nothing was changed (add --force to detach it anyway)`,
      );
    }
    await replicaOfNoOne(client);
    return { wasReplicaOf, changed: true };
  } finally {
    await client.close();
  }
}
