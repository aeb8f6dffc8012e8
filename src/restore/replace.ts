/**
 * Replace restore of a live server at Redis's own loading speed: the CLI serves the backup as a
 * replication master, the target is told `REPLICAOF` the CLI, loads the RDB with its own loader,
 * and is made a master again with `REPLICAOF NO ONE`. With AOF on, Redis rewrites its AOF from the
 * loaded data; success is reported only once that rewrite has finished, since before it a crash
 * would bring back the old data.
 *
 * The RDB is parsed and checksummed as it streams, and its final bytes are held back until parse and
 * CRC pass, so a bad backup never completes a transfer: the target keeps serving its old data.
 */
import { connect as netConnect } from 'node:net';
// connect's own files, not its index (which brings the deployment schema: docs/architecture.md)
import { closeConnection, openConnection, parseInfo, type RedisConnection } from '../connect/client.js';
import type { Endpoint } from '../connect/url.js';
import { NeuralLogRedisError, RestoreFailedError, type ErrorCode } from '../errors.js';
export { RestoreFailedError };
import { decodeValue, rdbVerifier, type RdbRecord, type RdbSummary } from '../rdb/index.js';
import { serveRdbAsMaster, type FakeMaster } from '../replication/index.js';
import { measureRdbBytes, sourceOrigin, sourceValueTypes, type RestoreSource } from './source.js';
import { loadsOnlyAsForeign, rdbLoadVerdict, readerRefusal } from './compatibility.js';
import { keysPerDb, readTargetFacts, replaceRefusals, RestoreRefusedError, type TargetFacts } from './target.js';
import { moduleVerdict, sourceModuleNeeds, targetModules } from './modules.js';
import { compareDecoded, dumpToDecoded } from './compare.js';

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
  onPhase?(phase: ReplacePhase, detail?: string): void;
  onTransferProgress?(bytes: number, total: number): void;
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

const POLL_MS = 50;
/** how long one INFO may take while the target loads (it answers between chunks of its load) */
const INFO_WITHIN_MS = 10_000;
/** how long the target may go unanswered during a restore before it is taken as gone */
const SILENCE_MS = 30_000;
/** how long the transfer may go without moving before the target is taken as unable to fetch it */
const STALL_MS = 60_000;
/** a command that changes the target's role or settings */
const COMMAND_WITHIN_MS = 10_000;

/**
 * The deadline of each wait of a replace restore (transfer and load; the AOF rewrite): two minutes
 * plus one second per 2 MiB of RDB. Redis loads 50-200 MB/s on one core, so this is tens of times
 * what a working target needs, and a target that has stopped is found out within it.
 */
export function replaceWaitMs(rdbBytes: number): number {
  return 120_000 + Math.ceil(rdbBytes / (2 << 20)) * 1000;
}

/** The local address of a connection to the target: an address the target can route back to. */
function localAddressTowards(endpoint: Endpoint): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: endpoint.host, port: endpoint.port, timeout: COMMAND_WITHIN_MS });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new RestoreFailedError(`no answer from ${endpoint.host}:${endpoint.port} within ${COMMAND_WITHIN_MS / 1000} s`, 'E_UNREACHABLE'));
    });
    socket.once('connect', () => {
      const address = socket.localAddress ?? '127.0.0.1';
      socket.destroy();
      resolve(address.replace(/^::ffff:/, ''));
    });
    socket.once('error', reject);
  });
}

async function info(client: RedisConnection, section = 'everything'): Promise<Record<string, string>> {
  return parseInfo(String(await client.sendCommand(['INFO', section])));
}

/** INFO with a deadline: undefined when it fails or does not answer within `ms` */
async function infoWithin(client: RedisConnection, section: string, ms = INFO_WITHIN_MS): Promise<Record<string, string> | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      info(client, section).catch(() => undefined),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `REPLICAOF NO ONE` after a failed transfer. A target that was loading asynchronously (swapdb)
 * answers -LOADING until it has dropped the partial load and swapped its old data back: retried for
 * up to 30 s. Best effort: the caller then reads the target's state and reports it.
 */
async function promoteBack(client: RedisConnection): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until && client.isOpen) {
    try {
      await withinMs(client.sendCommand(['REPLICAOF', 'NO', 'ONE']), 5000);
      return;
    } catch (error) {
      if (!/LOADING/.test((error as Error)?.message ?? '')) return;
      await sleep(100);
    }
  }
}

/** Keeps track of how long the target has gone without answering; throws once that is too long. */
class TargetWatch {
  private lastAnswer = Date.now();
  constructor(private readonly client: RedisConnection, private readonly what: string) {}
  answered(): void {
    this.lastAnswer = Date.now();
  }
  check(): void {
    const gone = !this.client.isOpen;
    if (gone || Date.now() - this.lastAnswer > SILENCE_MS) {
      throw new RestoreFailedError(
        `the target ${gone ? 'closed the connection' : `did not answer for ${SILENCE_MS / 1000} s`} while ${this.what} (a server that meets data it cannot load exits; see its log)`,
        'E_RESTORE_TARGET_LOST',
      );
    }
  }
}

const sum = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * What the target is now, read afresh over a new connection (the old one may be gone): its role,
 * whether it loads, its keys against before. Used to end every failed restore with the truth.
 */
export async function describeTargetNow(endpoint: Endpoint, keysBefore: Record<string, number>): Promise<string> {
  let client: RedisConnection;
  try {
    client = await openConnection(endpoint, { name: 'neurallog-redis-restore-check', connectTimeoutMs: 5000 });
  } catch (error) {
    return `the target does not answer now (${(error as Error).message.split('\n')[0]}): it may have exited (see its log); once it runs again, check its data`;
  }
  try {
    const i = await infoWithin(client, 'everything', 5000);
    if (!i) return 'the target accepts connections but did not answer INFO within 5 s; check it';
    const now = keysPerDb(i);
    const same = Object.keys({ ...now, ...keysBefore }).every((db) => (now[db] ?? 0) === (keysBefore[db] ?? 0));
    const role = i.role === 'master' ? 'a writable master' : `still a replica of ${i.master_host}:${i.master_port} (run restore --abort)`;
    return `the target is now ${role}${i.loading === '1' || i.async_loading === '1' ? ', still loading' : ''}, holding ${sum(now)} keys${same ? ', the same number in each database as before the restore' : ''} (it held ${sum(keysBefore)} before)`;
  } finally {
    await closeConnection(client);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Reservoir sample of records seen while streaming (bounded memory). */
class Sampler {
  readonly picked: RdbRecord[] = [];
  private seen = 0;
  constructor(private readonly size: number) {}
  offer(record: RdbRecord): void {
    this.seen++;
    if (record.kind === 'module') return;
    if (this.picked.length < this.size) this.picked.push(copyRecord(record));
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < this.size) this.picked[j] = copyRecord(record);
    }
  }
}

function copyRecord(r: RdbRecord): RdbRecord {
  return { ...r, key: Buffer.from(r.key), value: Buffer.from(r.value) };
}

export async function replaceRestore(options: ReplaceOptions): Promise<ReplaceResult> {
  const started = Date.now();
  const phase = options.onPhase ?? (() => undefined);
  phase('checking');
  const client = await openConnection(options.endpoint, { name: 'neurallog-redis-restore' });
  let master: FakeMaster | undefined;
  let becameReplica = false;
  let restoreSettings: (() => Promise<void>) | undefined;
  /** set once something on the target has been changed (from here on a failure reports its state) */
  let changed = false;
  let keysBefore: Record<string, number> = {};
  try {
    const facts: TargetFacts = await readTargetFacts(client);
    const refusals = replaceRefusals(facts);
    const manifest = options.source.manifest;
    const origin = await sourceOrigin(options.source);
    const unreadable = readerRefusal(origin);
    if (unreadable) refusals.push(unreadable);
    const types = loadsOnlyAsForeign(origin, facts.engine) ? await sourceValueTypes(options.source) : undefined;
    const compatibility = rdbLoadVerdict(origin, facts.engine, types);
    if (!compatibility.loads) refusals.push(`${compatibility.message}; restore onto a server that reads it, or try --mode merge (it rebuilds values with plain commands where every value has a command form on the target)`);
    if (manifest) {
      const top = Math.max(-1, ...Object.keys(manifest.keyspace.databases).map(Number));
      if (top >= facts.databases) refusals.push(`the backup has data in database ${top} but the target has ${facts.databases} databases; raise \`databases\` or use --mode merge --db-map`);
    }
    const refused = (reasons: string[], code?: ErrorCode, exitCode: 1 | 2 = 1) =>
      new RestoreRefusedError(`not restoring into ${options.endpoint.host}:${options.endpoint.port}: ${reasons.join('; ')}. Nothing was changed.`, code, exitCode);
    if (refusals.length > 0) throw refused(refusals);
    // a server that meets module data without its module exits while loading: compare before anything changes
    const modules = moduleVerdict(await sourceModuleNeeds(options.source), await targetModules(client));
    if (modules && !modules.ok) throw refused([modules.message], 'E_RESTORE_MODULES', 2);
    if (modules?.note) phase('checking', modules.note);
    // the stored file's SHA-256 (started when the source was opened) before the first change
    await options.source.digestChecked;

    const rdbBytes = await measureRdbBytes(options.source);
    const waitMs = options.timeoutMs ?? replaceWaitMs(rdbBytes);
    const sampler = new Sampler(options.sampleSize ?? 200);
    const expiredByDb = new Map<number, number>();
    let summary: RdbSummary | undefined;
    let transferStart = 0;
    /** when the transfer last moved (0: not yet); a target that never connects or stops reading ends the wait */
    let lastBytesAt = 0;
    let transferDone = false;
    const host = options.listenHost ?? (await localAddressTowards(options.endpoint));
    master = await serveRdbAsMaster({
      host,
      rdbBytes,
      rdb: () => {
        const now = Date.now();
        const verifier = rdbVerifier({
          source: options.source.file,
          holdBack: true,
          // values over 1 MiB are checked element by element and not kept, so they are not sampled
          rawValues: { maxBytes: 1 << 20 },
          onRecord: (r) => {
            if (r.value) sampler.offer(r as RdbRecord);
            if (r.expireAtMs !== undefined && r.expireAtMs <= now) expiredByDb.set(r.db, (expiredByDb.get(r.db) ?? 0) + 1);
          },
        });
        verifier.on('finish', () => {
          try {
            summary = verifier.summary();
          } catch {
            // the error reaches the transfer
          }
        });
        // the plain bytes may come from a decompressing program: when the transfer ends early (the
        // verifier is destroyed), the source goes too, or the program would wait on a full pipe
        // forever and keep this process alive; a failing source fails the transfer
        const plain = options.source.open();
        verifier.once('close', () => plain.destroy());
        plain.once('error', (error) => verifier.destroy(error));
        return plain.pipe(verifier);
      },
      onTransferProgress: (bytes) => {
        lastBytesAt = Date.now();
        options.onTransferProgress?.(bytes, rdbBytes);
      },
    });
    const previousDisklessLoad = facts.replDisklessLoad;
    const setDisklessLoad = (value: string) => withinMs(client.sendCommand(['CONFIG', 'SET', 'repl-diskless-load', value]), COMMAND_WITHIN_MS);
    const load = options.load === 'auto' || options.load === undefined ? chooseLoad(facts, manifest?.rdb.usedMemory) : options.load;
    keysBefore = facts.keysPerDb;
    phase('checking', `load: ${load}`);
    if (load === 'swapdb' && previousDisklessLoad !== 'swapdb') {
      changed = true;
      await setDisklessLoad('swapdb');
      restoreSettings = () => setDisklessLoad(previousDisklessLoad).then(() => undefined);
    }
    const aofRewritesBefore = Number(facts.info.aof_rewrites ?? 0);
    const abort = () => {
      throw new RestoreFailedError('the restore was interrupted', 'E_ABORTED');
    };

    phase('transferring');
    transferStart = Date.now();
    changed = true;
    await withinMs(client.sendCommand(['REPLICAOF', host, String(master.port)]), COMMAND_WITHIN_MS);
    becameReplica = true;
    let transferError: unknown;
    const transferred = master.transferred.then(
      () => (transferDone = true),
      (error: unknown) => {
        transferError = error;
        return false;
      },
    );
    // wait for the transfer, then for the load to finish and the link to come up
    let loadingSeen = false;
    const loadDeadline = Date.now() + waitMs;
    const loadWatch = new TargetWatch(client, 'receiving or loading the backup');
    for (;;) {
      if (options.signal?.aborted) abort();
      if (transferError) throw new RestoreFailedError(`the transfer failed (the backup's final bytes were held back, so the target discards what it received): ${(transferError as Error).message}`, 'E_RESTORE_TRANSFER', transferError);
      if (!transferDone && Date.now() - (lastBytesAt || transferStart) > STALL_MS) {
        throw new RestoreFailedError(
          lastBytesAt === 0
            ? `the target did not fetch the backup from ${host}:${master.port} within ${STALL_MS / 1000} s: it cannot reach that address (give --listen ADDRESS, an address of this host the target can reach)`
            : `the transfer stalled: the target took no bytes for ${STALL_MS / 1000} s`,
          'E_RESTORE_STALLED',
        );
      }
      if (Date.now() > loadDeadline) throw new RestoreFailedError(`the target did not finish receiving and loading the backup (${rdbBytes} bytes) within ${Math.round(waitMs / 1000)} s`, 'E_RESTORE_TIMEOUT');
      const i = await infoWithin(client, 'everything');
      if (!i) loadWatch.check();
      else {
        loadWatch.answered();
        if (i.loading === '1' && !loadingSeen) {
          loadingSeen = true;
          phase('loading');
        }
        if (i.async_loading === '1' && !loadingSeen) {
          loadingSeen = true;
          phase('loading');
        }
        const done = i.master_link_status === 'up' && i.master_sync_in_progress === '0' && i.loading === '0' && i.async_loading !== '1';
        if (done && (await Promise.race([transferred, sleep(0).then(() => false)]))) break;
      }
      await sleep(POLL_MS);
    }
    if (!summary) throw new RestoreFailedError('the backup was transferred but not verified to its end');

    phase('promoting');
    await withinMs(client.sendCommand(['REPLICAOF', 'NO', 'ONE']), COMMAND_WITHIN_MS);
    becameReplica = false;
    await master.close();
    master = undefined;

    let aofRewritten = false;
    if (facts.aofEnabled) {
      phase('rewriting-aof');
      const rewriteDeadline = Date.now() + waitMs;
      const rewriteWatch = new TargetWatch(client, 'rewriting its AOF');
      for (;;) {
        if (Date.now() > rewriteDeadline) throw new RestoreFailedError(`the target did not finish rewriting its AOF within ${Math.round(waitMs / 1000)} s; until it does, a crash brings back the old data`, 'E_RESTORE_TIMEOUT');
        const p = await infoWithin(client, 'persistence');
        if (!p) {
          rewriteWatch.check();
          await sleep(POLL_MS);
          continue;
        }
        rewriteWatch.answered();
        if (p.aof_rewrite_in_progress === '0' && p.aof_rewrite_scheduled === '0' && Number(p.aof_rewrites ?? 0) > aofRewritesBefore) {
          if (p.aof_last_bgrewrite_status !== 'ok') throw new RestoreFailedError(`the target's AOF rewrite after the load failed (aof_last_bgrewrite_status:${p.aof_last_bgrewrite_status}); its data is the backup's in memory, but a restart would bring back the old data. Check its disk and run BGREWRITEAOF`);
          aofRewritten = true;
          break;
        }
        await sleep(POLL_MS);
      }
    }

    phase('verifying');
    const after = { keysPerDb: keysPerDb(await info(client, 'keyspace')) };
    const expected: ReplaceResult['expected'] = {};
    const mismatches: string[] = [];
    for (const [db, s] of Object.entries(summary.databases)) {
      const expiredSince = expiredByDb.get(Number(db)) ?? 0;
      expected[db] = { keys: s.keys, expiredSince };
      const got = after.keysPerDb[db] ?? 0;
      if (got > s.keys || got < s.keys - expiredSince) mismatches.push(`database ${db} holds ${got} keys; the backup has ${s.keys} (${expiredSince} expired since)`);
    }
    for (const db of Object.keys(after.keysPerDb)) {
      if (!(db in summary.databases) && (after.keysPerDb[db] ?? 0) > 0) mismatches.push(`database ${db} holds ${after.keysPerDb[db]} keys the backup does not have`);
    }
    let sampled = 0;
    // one pipeline: the sample by database, a SELECT where the database changes (replies in order)
    const picked = [...sampler.picked].sort((a, b) => a.db - b.db);
    const dumps: Array<Promise<Buffer | null>> = [];
    let selected = -1;
    for (const record of picked) {
      if (record.db !== selected) {
        client.sendCommand(['SELECT', String(record.db)]).catch(() => undefined);
        selected = record.db;
      }
      dumps.push(client.sendCommand(['DUMP', record.key], { typeMapping: { 36: Buffer } } as never) as Promise<Buffer | null>);
    }
    const replies = await withinMs(Promise.all(dumps), 60_000);
    for (const [i, record] of picked.entries()) {
      const dump = replies[i]!;
      if (dump === null) {
        if (record.expireAtMs !== undefined && record.expireAtMs <= Date.now()) continue;
        mismatches.push(`key ${JSON.stringify(record.key.toString())} (db ${record.db}) is missing`);
        continue;
      }
      sampled++;
      const difference = compareDecoded(decodeValue(record.type, record.value), dumpToDecoded(dump));
      if (difference) mismatches.push(`key ${JSON.stringify(record.key.toString())} (db ${record.db}) differs: ${difference}`);
    }
    await withinMs(client.sendCommand(['SELECT', '0']), COMMAND_WITHIN_MS);
    if (mismatches.length > 0) {
      throw new RestoreFailedError(`the target does not hold what the backup holds: ${mismatches.slice(0, 5).join('; ')}${mismatches.length > 5 ? ` (and ${mismatches.length - 5} more)` : ''}`, 'E_RESTORE_VERIFY');
    }
    phase('done');
    void transferStart;
    return {
      mode: 'replace',
      load,
      target: `${options.endpoint.host}:${options.endpoint.port}`,
      keysBefore,
      keysAfter: after.keysPerDb,
      expected,
      aofRewritten,
      sampled,
      mismatches,
      functions: summary.functions,
      seconds: (Date.now() - started) / 1000,
    };
  } catch (error) {
    if (!changed) throw error;
    if (becameReplica) {
      phase('rolling-back');
      await master?.close().catch(() => undefined);
      master = undefined;
      await promoteBack(client);
    }
    // never guess: say what the target is now
    const state = await describeTargetNow(options.endpoint, keysBefore);
    const e = error as NeuralLogRedisError;
    throw new RestoreFailedError(`${e?.message ?? String(error)}; ${state}`, e?.code ?? 'E_RESTORE_FAILED', error);
  } finally {
    await master?.close().catch(() => undefined);
    await restoreSettings?.().catch(() => undefined);
    await closeConnection(client);
  }
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
export function chooseLoad(facts: Pick<TargetFacts, 'maxmemory' | 'usedMemory'> & Partial<Pick<TargetFacts, 'totalSystemMemory'>>, backupUsedMemory: number | undefined): 'disk' | 'swapdb' {
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
  const client = await openConnection(endpoint);
  try {
    const i = await info(client, 'replication');
    if (i.role !== 'slave') return { changed: false };
    const wasReplicaOf = `${i.master_host}:${i.master_port}`;
    if (i.master_link_status === 'up' && !options.force) {
      throw new RestoreRefusedError(`the target replicates from ${wasReplicaOf} and its link is up: that is a real master, not an interrupted restore; nothing was changed (add --force to detach it anyway)`);
    }
    await client.sendCommand(['REPLICAOF', 'NO', 'ONE']);
    return { wasReplicaOf, changed: true };
  } finally {
    await closeConnection(client);
  }
}
