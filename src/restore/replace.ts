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
import { closeConnection, openConnection, parseInfo, type Endpoint, type RedisConnection } from '../connect/index.js';
import { NeuralLogRedisError } from '../errors.js';
import { decodeValue, rdbVerifier, type RdbRecord, type RdbSummary } from '../rdb/index.js';
import { serveRdbAsMaster, type FakeMaster } from '../replication/index.js';
import { measureRdbBytes, sourceOrigin, sourceValueTypes, type RestoreSource } from './source.js';
import { loadsOnlyAsForeign, rdbLoadVerdict, readerRefusal } from './compatibility.js';
import { readTargetFacts, replaceRefusals, RestoreRefusedError, type TargetFacts } from './target.js';
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

export class RestoreFailedError extends NeuralLogRedisError {
  constructor(message: string, code = 'E_RESTORE_FAILED', cause?: unknown) {
    super(code, message, { cause });
  }
}

/** The local address of a connection to the target: an address the target can route back to. */
function localAddressTowards(endpoint: Endpoint): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: endpoint.host, port: endpoint.port });
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

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
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
  const deadline = started + (options.timeoutMs ?? 6 * 3600_000);
  const phase = options.onPhase ?? (() => undefined);
  phase('checking');
  const client = await openConnection(options.endpoint, { name: 'neurallog-redis-restore' });
  let master: FakeMaster | undefined;
  let becameReplica = false;
  let restoreSettings: (() => Promise<void>) | undefined;
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
    if (refusals.length > 0) throw new RestoreRefusedError(`not restoring into ${options.endpoint.host}:${options.endpoint.port}: ${refusals.join('; ')}. Nothing was changed.`);

    const rdbBytes = await measureRdbBytes(options.source);
    const sampler = new Sampler(options.sampleSize ?? 200);
    const expiredByDb = new Map<number, number>();
    let summary: RdbSummary | undefined;
    let transferStart = 0;
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
      onTransferProgress: (bytes) => options.onTransferProgress?.(bytes, rdbBytes),
    });
    const keysBefore = facts.keysPerDb;
    const previousDisklessLoad = facts.replDisklessLoad;
    const setDisklessLoad = (value: string) => client.sendCommand(['CONFIG', 'SET', 'repl-diskless-load', value]);
    const load = options.load === 'auto' || options.load === undefined ? chooseLoad(facts, manifest?.rdb.usedMemory) : options.load;
    phase('checking', `load: ${load}`);
    if (load === 'swapdb' && previousDisklessLoad !== 'swapdb') {
      await setDisklessLoad('swapdb');
      restoreSettings = () => setDisklessLoad(previousDisklessLoad).then(() => undefined);
    }
    const aofRewritesBefore = Number(facts.info.aof_rewrites ?? 0);
    const abort = () => {
      throw new RestoreFailedError('the restore was interrupted; the target was put back as a master with its previous data', 'E_ABORTED');
    };

    phase('transferring');
    transferStart = Date.now();
    await client.sendCommand(['REPLICAOF', host, String(master.port)]);
    becameReplica = true;
    let transferError: unknown;
    const transferred = master.transferred.then(
      () => true,
      (error: unknown) => {
        transferError = error;
        return false;
      },
    );
    // wait for the transfer, then for the load to finish and the link to come up
    let loadingSeen = false;
    for (;;) {
      if (options.signal?.aborted) abort();
      if (transferError) throw new RestoreFailedError(`the transfer failed, so the target keeps its previous data: ${(transferError as Error).message}`, 'E_RESTORE_TRANSFER', transferError);
      if (Date.now() > deadline) throw new RestoreFailedError('the target did not finish loading the backup in time');
      const i = await info(client, 'everything').catch(() => undefined);
      if (i) {
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
    await client.sendCommand(['REPLICAOF', 'NO', 'ONE']);
    becameReplica = false;
    await master.close();
    master = undefined;

    let aofRewritten = false;
    if (facts.aofEnabled) {
      phase('rewriting-aof');
      for (;;) {
        if (Date.now() > deadline) throw new RestoreFailedError('the target did not finish rewriting its AOF in time; until it does, a crash brings back the old data');
        const p = await info(client, 'persistence');
        if (p.aof_rewrite_in_progress === '0' && p.aof_rewrite_scheduled === '0' && Number(p.aof_rewrites ?? 0) > aofRewritesBefore) {
          if (p.aof_last_bgrewrite_status !== 'ok') throw new RestoreFailedError(`the target's AOF rewrite after the load failed (aof_last_bgrewrite_status:${p.aof_last_bgrewrite_status}); its data is the backup's in memory, but a restart would bring back the old data. Check its disk and run BGREWRITEAOF`);
          aofRewritten = true;
          break;
        }
        await sleep(POLL_MS);
      }
    }

    phase('verifying');
    const after = await readTargetFacts(client);
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
    for (const record of sampler.picked) {
      await client.sendCommand(['SELECT', String(record.db)]);
      const dump = (await client.sendCommand(['DUMP', record.key], { typeMapping: { 36: Buffer } } as never)) as Buffer | null;
      if (dump === null) {
        if (record.expireAtMs !== undefined && record.expireAtMs <= Date.now()) continue;
        mismatches.push(`key ${JSON.stringify(record.key.toString())} (db ${record.db}) is missing`);
        continue;
      }
      sampled++;
      const difference = compareDecoded(decodeValue(record.type, record.value), dumpToDecoded(dump));
      if (difference) mismatches.push(`key ${JSON.stringify(record.key.toString())} (db ${record.db}) differs: ${difference}`);
    }
    await client.sendCommand(['SELECT', '0']);
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
    if (becameReplica) {
      phase('rolling-back');
      await master?.close().catch(() => undefined);
      master = undefined;
      await client.sendCommand(['REPLICAOF', 'NO', 'ONE']).catch(() => undefined);
    }
    throw error;
  } finally {
    await master?.close().catch(() => undefined);
    await restoreSettings?.().catch(() => undefined);
    await closeConnection(client);
  }
}

/**
 * `auto`: swapdb (faster: the load overlaps the transfer) only when both datasets fit under the
 * target's maxmemory at once, which the container limit (1.5 x maxmemory or more) then also holds;
 * disk otherwise, and when maxmemory is unlimited or the backup's memory use is unknown.
 */
export function chooseLoad(facts: Pick<TargetFacts, 'maxmemory' | 'usedMemory'>, backupUsedMemory: number | undefined): 'disk' | 'swapdb' {
  if (facts.maxmemory <= 0 || backupUsedMemory === undefined) return 'disk';
  return facts.usedMemory + backupUsedMemory <= facts.maxmemory * 0.9 ? 'swapdb' : 'disk';
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
