/**
 * The first pass of a merge: the whole backup is parsed and checksummed before anything is written
 * (a damaged backup is refused with the target untouched), counting what would be written, and, when
 * asked, which selected keys already exist on the target (pipelined multi-key EXISTS per database,
 * streaming: only the keys of the commands in flight are held).
 */
import { closeConnection, openConnection, type Endpoint } from '../connect/index.js';
import { NeuralLogRedisError } from '../errors.js';
import { displayKey, type RdbKeyRecord } from '../rdb/index.js';
import { MergeInterruptedError, type MergeDatabase, type MergeProgress } from './merge-types.js';
import { feed, STOP_FEED, type Selector } from './merge-scan.js';
import { libraryName } from './merge-target.js';
import { RestorePipe, type Reply } from './pipe.js';
import type { RestoreSource } from './source.js';

const EXISTS_BATCH = 256;
const EXISTS_IN_FLIGHT = 64;
const EXAMPLES = 5;

export interface CheckResult {
  rdbVersion: number;
  /** the RDB was saved with `rdbchecksum no` */
  checksumDisabled: boolean;
  /**
   * `parse`: this pass parsed and checksummed every byte; `manifest`: the stored file's SHA-256 equals
   * its manifest's, which records that the backup passed the same full parse and CRC when it was taken
   */
  verifiedBy: 'parse' | 'manifest';
  /** RDB bytes read by this pass */
  bytes: number;
  records: number;
  keys: number;
  /** library names of the backup's functions, in file order, with their item index */
  libraries: Array<{ name: string; index: number }>;
  filtered: number;
  expired: number;
  /** keys that would be written */
  selected: number;
  databases: MergeDatabase[];
  /** keys per RDB value type byte (a parse only; the manifest plan does not know them) */
  types?: Record<string, number>;
  /** present when existence was checked */
  existing?: { keys: number; examples: string[] };
}

interface Batch {
  db: number;
  keys: Buffer[];
}

/**
 * Which selected keys already exist on the target: batches of keys of one database, each one
 * pipelined EXISTS (a SELECT before it where the database changes); the batches whose EXISTS counted
 * some are kept as suspects (the first few) to name examples from.
 */
class ExistenceCheck {
  existing = 0;
  readonly suspects: Batch[] = [];
  replyError: string | undefined;
  private batch: Batch | undefined;
  private pipeDb: number;

  private constructor(
    private readonly pipe: RestorePipe<Batch | 'select'>,
    db: number,
    private readonly batchKeys: number,
  ) {
    this.pipeDb = db;
  }

  /** `batchKeys`: keys per EXISTS (1 on a cluster node: keys of different slots would be CROSSSLOT) */
  static async open(endpoint: Endpoint, batchKeys = EXISTS_BATCH): Promise<ExistenceCheck> {
    // no reply comes before the first send, by which time `check` is set
    let check: ExistenceCheck | undefined;
    const pipe = await RestorePipe.open<Batch | 'select'>(endpoint, (tag, reply: Reply) => check!.reply(tag, reply), { name: 'neurallog-restore' });
    check = new ExistenceCheck(pipe, endpoint.db ?? 0, batchKeys);
    return check;
  }

  private reply(tag: Batch | 'select', reply: Reply): void {
    if (reply.type === '-') {
      this.replyError ??= reply.text;
      return;
    }
    if (tag === 'select') return;
    const n = Number(reply.text);
    if (n > 0) {
      this.existing += n;
      if (this.suspects.length < EXAMPLES) this.suspects.push(tag);
    }
  }

  add(db: number, key: Buffer): void {
    if (this.batch && this.batch.db !== db) this.flush();
    this.batch ??= { db, keys: [] };
    this.batch.keys.push(key);
    if (this.batch.keys.length >= this.batchKeys) this.flush();
  }

  flush(): void {
    const batch = this.batch;
    if (!batch) return;
    if (batch.db !== this.pipeDb) {
      this.pipe.send(['SELECT', String(batch.db)], 'select');
      this.pipeDb = batch.db;
    }
    this.pipe.send(['EXISTS', ...batch.keys], batch);
    this.batch = undefined;
  }

  /** waits until at most `inFlight` checks are unanswered; false when the signal ended the wait */
  settle(inFlight: number, signal: AbortSignal | undefined): Promise<boolean> {
    return this.pipe.settle(inFlight, undefined, { signal });
  }

  /** throws when the target refused a check */
  checkReplies(): void {
    if (this.replyError) throw new NeuralLogRedisError('E_RESTORE_CHECK', `the target refused the existence check: ${this.replyError}; nothing was written`);
  }

  close(): void {
    void this.pipe.close();
  }
}

type Counts = Omit<CheckResult, 'rdbVersion' | 'checksumDisabled' | 'verifiedBy' | 'bytes'>;

export async function checkPass(args: {
  source: RestoreSource;
  endpoint: Endpoint;
  selector: Selector;
  checkExisting: boolean;
  /** the target is a cluster node: one key per EXISTS */
  clusterNode?: boolean;
  onProgress?: (p: MergeProgress) => void;
  signal?: AbortSignal;
}): Promise<CheckResult> {
  const { selector } = args;
  const out: Counts = { records: 0, keys: 0, libraries: [], filtered: 0, expired: 0, selected: 0, databases: [] };
  const dbs = new Map<number, MergeDatabase>();
  const exists = args.checkExisting ? await ExistenceCheck.open(args.endpoint, args.clusterNode ? 1 : EXISTS_BATCH) : undefined;
  const report = progressReporter(args, out);
  try {
    const result = await feed(
      args.source.open(),
      {
        source: args.source.file,
        // only keys are looked at: large values are checked element by element, never held whole
        rawValues: 'none',
        onFunction(code) {
          const index = out.records++;
          out.libraries.push({ name: libraryName(code) ?? `(unnamed library at item ${index})`, index });
        },
        onRecord(record) {
          const to = countRecord(out, dbs, selector, record);
          if (to !== undefined) exists?.add(to, Buffer.from(record.key));
        },
      },
      async (bytes) => {
        selector.tick();
        if (args.signal?.aborted) throw STOP_FEED;
        if (exists) {
          await exists.settle(EXISTS_IN_FLIGHT, args.signal);
          if (args.signal?.aborted) throw STOP_FEED;
          exists.checkReplies();
        }
        report(bytes);
      },
    );
    if (exists && result.summary) {
      exists.flush();
      if (!(await exists.settle(0, args.signal))) result.summary = undefined;
    }
    if (!result.summary) {
      throw new MergeInterruptedError({
        reason: 'aborted',
        written: 0,
        skipped: 0,
        expired: 0,
        functionsLoaded: 0,
        resumeAfter: selector.resumeAfter,
        unconfirmed: 0,
        writtenBeyond: 0,
        message: 'aborted while verifying the backup, before anything was written',
      });
    }
    exists?.checkReplies();
    report(result.bytes, true);
    out.databases = [...dbs.values()].sort((a, b) => a.from - b.from);
    const check: CheckResult = {
      ...out,
      rdbVersion: result.summary.version,
      checksumDisabled: result.summary.checksum.disabled,
      verifiedBy: 'parse',
      bytes: result.bytes,
      types: { ...result.summary.types },
    };
    if (exists) check.existing = { keys: exists.existing, examples: await nameExamples(args.endpoint, exists.suspects) };
    return check;
  } finally {
    exists?.close();
  }
}

/** Counts one key of the backup; returns its target database when it is selected for writing. */
function countRecord(out: Counts, dbs: Map<number, MergeDatabase>, selector: Selector, record: RdbKeyRecord): number | undefined {
  const index = out.records++;
  out.keys++;
  const verdict = selector.key(record, index);
  if (verdict === 'filtered') out.filtered++;
  else if (verdict === 'expired') out.expired++;
  if (verdict !== 'write') return undefined;
  out.selected++;
  const to = selector.targetDb(record.db);
  let d = dbs.get(record.db);
  if (!d) dbs.set(record.db, (d = { from: record.db, to, keys: 0 }));
  d.keys++;
  return to;
}

/** Progress of the first pass, at most every 250 ms unless forced. */
function progressReporter(args: { source: RestoreSource; onProgress?: (p: MergeProgress) => void }, out: Counts): (bytes: number, force?: boolean) => void {
  let lastReport = 0;
  return (bytes, force = false) => {
    const t = Date.now();
    if (!args.onProgress || (!force && t - lastReport < 250)) return;
    lastReport = t;
    args.onProgress({ phase: 'verify', records: out.records, written: 0, skipped: 0, expired: out.expired, bytes, totalBytes: args.source.rdbBytes });
  };
}

/** The first few existing keys of the batches whose EXISTS counted some (one round trip per key). */
async function nameExamples(endpoint: Endpoint, suspects: Batch[]): Promise<string[]> {
  if (suspects.length === 0) return [];
  const client = await openConnection(endpoint, { name: 'neurallog-restore' });
  const examples: string[] = [];
  try {
    for (const b of suspects) {
      await client.select(b.db);
      for (const key of b.keys) {
        if (examples.length >= EXAMPLES) return examples;
        if ((await client.exists(key)) > 0) examples.push(`db ${b.db}: ${displayKey(key)}`);
      }
    }
    return examples;
  } finally {
    await closeConnection(client);
  }
}

/**
 * The plan of a backup whose stored bytes match a verified manifest, without parsing it all: counts
 * and databases from the manifest, library names from the start of the RDB (Redis writes functions
 * before any key, so the scan stops at the first key).
 */
export async function manifestPlan(source: RestoreSource, selector: Selector): Promise<CheckResult> {
  const m = source.manifest!;
  const libraries: Array<{ name: string; index: number }> = [];
  let bytes = 0;
  if (m.keyspace.functions > 0) {
    let index = 0;
    const scan = await feed(
      source.open(),
      {
        source: source.file,
        onFunction(code) {
          const i = index++;
          libraries.push({ name: libraryName(code) ?? `(unnamed library at item ${i})`, index: i });
        },
        onRecord() {
          throw STOP_FEED;
        },
      },
      async () => undefined,
    );
    bytes = scan.bytes;
  }
  const databases = Object.entries(m.keyspace.databases)
    .map(([db, d]) => ({ from: Number(db), to: selector.targetDb(Number(db)), keys: d.keys }))
    .filter((d) => d.keys > 0)
    .sort((a, b) => a.from - b.from);
  return {
    rdbVersion: m.rdb.version,
    checksumDisabled: !m.rdb.checksumVerified,
    verifiedBy: 'manifest',
    bytes,
    records: m.keyspace.keys + m.keyspace.functions,
    keys: m.keyspace.keys,
    libraries,
    filtered: 0,
    expired: 0,
    selected: m.keyspace.keys,
    databases,
  };
}
