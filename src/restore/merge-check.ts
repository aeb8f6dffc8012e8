/**
 * The first pass of a merge: the whole backup is parsed and checksummed before anything is written
 * (a damaged backup is refused with the target untouched), counting what would be written, and, when
 * asked, which selected keys already exist on the target (pipelined multi-key EXISTS per database,
 * streaming: only the keys of the commands in flight are held).
 */
import { closeConnection, openConnection, type Endpoint } from '../connect/index.js';
import { NeuralLogRedisError } from '../errors.js';
import { displayKey } from '../rdb/index.js';
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

export async function checkPass(args: {
  source: RestoreSource;
  endpoint: Endpoint;
  selector: Selector;
  checkExisting: boolean;
  onProgress?: (p: MergeProgress) => void;
  signal?: AbortSignal;
}): Promise<CheckResult> {
  const { selector } = args;
  const out: Omit<CheckResult, 'rdbVersion' | 'checksumDisabled' | 'verifiedBy' | 'bytes'> = { records: 0, keys: 0, libraries: [], filtered: 0, expired: 0, selected: 0, databases: [] };
  const dbs = new Map<number, MergeDatabase>();
  let existing = 0;
  const suspects: Batch[] = [];
  let pipe: RestorePipe<Batch | 'select'> | undefined;
  let pipeDb = args.endpoint.db ?? 0;
  let batch: Batch | undefined;
  let replyError: string | undefined;

  if (args.checkExisting) {
    pipe = await RestorePipe.open<Batch | 'select'>(args.endpoint, (tag, reply: Reply) => {
      if (reply.type === '-') {
        replyError ??= reply.text;
        return;
      }
      if (tag === 'select') return;
      const n = Number(reply.text);
      if (n > 0) {
        existing += n;
        if (suspects.length < EXAMPLES) suspects.push(tag);
      }
    }, { name: 'neurallog-restore' });
  }
  const flush = () => {
    if (!batch || !pipe) return;
    if (batch.db !== pipeDb) {
      pipe.send(['SELECT', String(batch.db)], 'select');
      pipeDb = batch.db;
    }
    pipe.send(['EXISTS', ...batch.keys], batch);
    batch = undefined;
  };

  let lastReport = 0;
  const report = (bytes: number, force = false) => {
    const t = Date.now();
    if (!args.onProgress || (!force && t - lastReport < 250)) return;
    lastReport = t;
    args.onProgress({ phase: 'verify', records: out.records, written: 0, skipped: 0, expired: out.expired, bytes, totalBytes: args.source.rdbBytes });
  };

  try {
    const stream = args.source.open();
    const result = await feed(
      stream,
      {
        source: args.source.file,
        onFunction(code) {
          const index = out.records++;
          out.libraries.push({ name: libraryName(code) ?? `(unnamed library at item ${index})`, index });
        },
        onRecord(record) {
          const index = out.records++;
          out.keys++;
          const verdict = selector.key(record, index);
          if (verdict === 'filtered') out.filtered++;
          else if (verdict === 'expired') out.expired++;
          if (verdict !== 'write') return;
          out.selected++;
          const to = selector.targetDb(record.db);
          let d = dbs.get(record.db);
          if (!d) dbs.set(record.db, (d = { from: record.db, to, keys: 0 }));
          d.keys++;
          if (!pipe) return;
          if (batch && batch.db !== to) flush();
          batch ??= { db: to, keys: [] };
          batch.keys.push(Buffer.from(record.key));
          if (batch.keys.length >= EXISTS_BATCH) flush();
        },
      },
      async (bytes) => {
        selector.tick();
        if (args.signal?.aborted) throw STOP_FEED;
        if (pipe) {
          await pipe.settle(EXISTS_IN_FLIGHT, undefined, { signal: args.signal });
          if (args.signal?.aborted) throw STOP_FEED;
          if (replyError) throw new NeuralLogRedisError('E_RESTORE_CHECK', `the target refused the existence check: ${replyError}; nothing was written`);
        }
        report(bytes);
      },
    );
    if (pipe && result.summary) {
      flush();
      if (!(await pipe.settle(0, undefined, { signal: args.signal }))) result.summary = undefined;
    }
    if (!result.summary) {
      throw new MergeInterruptedError({ reason: 'aborted', written: 0, skipped: 0, expired: 0, functionsLoaded: 0, resumeAfter: selector.resumeAfter, unconfirmed: 0, writtenBeyond: 0, message: 'aborted while verifying the backup, before anything was written' });
    }
    if (pipe) {
      if (replyError) throw new NeuralLogRedisError('E_RESTORE_CHECK', `the target refused the existence check: ${replyError}; nothing was written`);
    }
    report(result.bytes, true);
    out.databases = [...dbs.values()].sort((a, b) => a.from - b.from);
    const check: CheckResult = { ...out, rdbVersion: result.summary.version, checksumDisabled: result.summary.checksum.disabled, verifiedBy: 'parse', bytes: result.bytes, types: { ...result.summary.types } };
    if (pipe) check.existing = { keys: existing, examples: await nameExamples(args.endpoint, suspects) };
    return check;
  } finally {
    pipe?.close();
  }
}

/** The first few existing keys of the batches whose EXISTS counted some (one round trip per key). */
async function nameExamples(endpoint: Endpoint, suspects: Batch[]): Promise<string[]> {
  if (suspects.length === 0) return [];
  const client = await openConnection(endpoint, { name: 'neurallog-restore' });
  const examples: string[] = [];
  try {
    for (const b of suspects) {
      await client.sendCommand(['SELECT', String(b.db)]);
      for (const key of b.keys) {
        if (examples.length >= EXAMPLES) return examples;
        if (Number(await client.sendCommand(['EXISTS', key])) > 0) examples.push(`db ${b.db}: ${displayKey(key)}`);
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
