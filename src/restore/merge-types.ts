/**
 * The shapes of a merge restore: options, progress, result, and the two errors it raises on purpose
 * (conflicts found before writing; a stop mid-way with what was written and how to resume). All are
 * plain data, so the CLI can print them or emit them as JSON.
 */
import type { Endpoint } from '../connect/index.js';
import { NeuralLogRedisError } from '../errors.js';
import type { RestoreSource } from './source.js';

export type ConflictPolicy = 'fail' | 'replace' | 'skip';

/**
 * How values reach the target: `restore` sends RESTORE with the RDB's raw value bytes (the fast,
 * exact path); `commands` rebuilds them with plain commands (targets that read an older RDB version);
 * `auto` (default) picks `restore` unless the target's RDB version is older than the backup's; the
 * commands path is taken only when a scan of the whole backup, before any write, finds every value
 * expressible on the target (restore/compatibility.ts), and refused otherwise.
 */
export type ValueEncoding = 'auto' | 'restore' | 'commands';

export interface MergeProgress {
  /** `verify`: the first pass (whole-file check, conflicts); `write`: the second */
  phase: 'verify' | 'write';
  /** items (function libraries and keys) read so far in this pass, in file order */
  records: number;
  written: number;
  skipped: number;
  expired: number;
  /** RDB bytes read so far in this pass */
  bytes: number;
  /** RDB bytes in the backup, when known */
  totalBytes?: number;
}

export interface MergeOptions {
  source: RestoreSource;
  endpoint: Endpoint;
  /** what to do with keys and function libraries that already exist on the target (default `fail`) */
  onConflict?: ConflictPolicy;
  /** only keys matching this glob (Redis MATCH semantics, on the key's bytes) */
  match?: string;
  /**
   * only keys this accepts (with `match`): a cluster restore sends each target master the keys of its
   * hash slots (restore/cluster-restore.ts)
   */
  keyFilter?: (key: Uint8Array) => boolean;
  /** the target is a cluster master that `keyFilter` routes to (a plain merge refuses cluster nodes) */
  clusterNode?: boolean;
  /** source database -> target database; databases not in the map keep their number */
  dbMap?: Map<number, number>;
  /** the number of items (function libraries and keys, in file order) a previous run completed */
  resumeAfter?: number;
  /** verify the backup and check the target, count what would be written and what exists; write nothing */
  dryRun?: boolean;
  valueEncoding?: ValueEncoding;
  /**
   * `auto` (default): a backup whose stored SHA-256 matched its manifest (checked by
   * openRestoreSource) was fully parsed and checksummed when it was taken, so the first pass parses it
   * again only to look keys up; `parse`: always parse the whole backup before writing
   */
  verify?: 'auto' | 'parse';
  /** commands awaiting a reply before reading pauses (default 10,000: merge.ts DEFAULT_MAX_IN_FLIGHT) */
  maxInFlight?: number;
  /** bytes of commands awaiting a reply before reading pauses (default 32 MiB) */
  maxInFlightBytes?: number;
  onProgress?: (progress: MergeProgress) => void;
  signal?: AbortSignal;
  /** the clock that decides which keys have expired (tests) */
  now?: () => number;
}

export interface ConflictReport {
  /** selected keys that already exist on the target */
  keys: number;
  /** function libraries of the backup that already exist on the target */
  libraries: number;
  /** the first few names, keys as `db N: "key"`, libraries as `library "name"` */
  examples: string[];
}

export interface MergeDatabase {
  from: number;
  to: number;
  /** keys of this database that were (or, in a dry run, would be) written */
  keys: number;
}

export interface MergeResult {
  dryRun: boolean;
  onConflict: ConflictPolicy;
  valueEncoding: 'restore' | 'commands';
  /** RDB version of the backup */
  rdbVersion: number;
  /** how the whole backup was known good before the first write (see MergeOptions.verify) */
  verifiedBy: 'parse' | 'manifest';
  /** which way values go and why: RESTORE payloads, or plain commands (the target reads an older RDB version) */
  path: string;
  /** the backup's writer (when known) and RDB version */
  backup: { engine?: 'redis' | 'valkey'; version?: string; rdbVersion: number };
  /** the target's engine, its own version, the newest RDB version it reads */
  target: { engine: 'redis' | 'valkey'; version: string; rdbVersion?: number; databases?: number };
  /** items in the backup: function libraries + keys */
  records: number;
  keys: number;
  libraries: number;
  /** items skipped because a previous run completed them (`resumeAfter`) */
  resumedAfter: number;
  /** keys not matching `match` */
  filtered: number;
  /** keys whose absolute expiry had already passed (not written: Redis would drop them) */
  expired: number;
  /** keys written (in a dry run: that would be written, conflicts aside) */
  written: number;
  /** keys left as they were because they existed (`skip`) */
  skipped: number;
  functions: { loaded: number; skipped: number };
  /** what already exists on the target (checked in `fail` mode and in dry runs) */
  conflicts?: ConflictReport;
  databases: MergeDatabase[];
  /** the last key written, in file order */
  lastKey?: string;
  bytes: number;
  elapsedMs: number;
  notes: string[];
}

/** `fail` mode found keys or libraries that exist on the target; nothing was written. */
export class MergeConflictError extends NeuralLogRedisError {
  constructor(readonly conflicts: ConflictReport) {
    const what = [
      conflicts.keys ? `${conflicts.keys} key${conflicts.keys === 1 ? '' : 's'}` : '',
      conflicts.libraries ? `${conflicts.libraries} function librar${conflicts.libraries === 1 ? 'y' : 'ies'}` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    super(
      'E_RESTORE_CONFLICT',
      `${what} of the backup already exist on the target (${conflicts.examples.join(', ')}${conflicts.keys + conflicts.libraries > conflicts.examples.length ? ', ...' : ''}); nothing was written. ` +
        "Choose --on-conflict skip (keep the target's) or --on-conflict replace (take the backup's), or narrow the merge with --match / --db-map.",
    );
  }
}

export interface MergeStop {
  /** why: an error reply, the connection failing, the backup turning out damaged, or the abort signal */
  reason: 'error' | 'connection' | 'corrupt' | 'aborted';
  /** keys written before the stopping point (all of them confirmed by the target) */
  written: number;
  skipped: number;
  expired: number;
  functionsLoaded: number;
  /** the last key written before the stopping point */
  lastKey?: string;
  /** items (libraries and keys, in file order) that are complete: pass this as --resume-after */
  resumeAfter: number;
  /** the item that failed, when one did */
  failedKey?: string;
  /**
   * commands sent but never answered (the connection broke): their keys may or may not exist on the
   * target, and a resume in `fail` mode would report those as conflicts
   */
  unconfirmed: number;
  /**
   * keys after the stopping point that the target had already written when the stop came: removed
   * again in `fail`/`skip` mode (they did not exist before); in `replace` mode a resume writes them again
   */
  writtenBeyond: number;
  /** what stopped it */
  message: string;
}

/** A merge stopped part-way: exactly what was written, and how to resume. */
export class MergeInterruptedError extends NeuralLogRedisError {
  constructor(
    readonly stop: MergeStop,
    cause?: unknown,
  ) {
    const unconfirmed = stop.unconfirmed
      ? ` ${stop.unconfirmed} command${stop.unconfirmed === 1 ? ' was' : 's were'} in flight without an answer when the connection broke: those keys may or may not be on the target, so resume with --on-conflict replace (or skip) rather than fail.`
      : '';
    const beyond = stop.writtenBeyond
      ? ` ${stop.writtenBeyond} later key${stop.writtenBeyond === 1 ? ' was' : 's were'} also written (replace mode: the resume writes them again).`
      : '';
    const why = stop.message.replace(/[.\s]+$/, '');
    const where = stop.failedKey ? ` at ${stop.failedKey} (item ${stop.resumeAfter})` : '';
    super(
      stop.reason === 'aborted' ? 'E_ABORTED' : 'E_RESTORE_INTERRUPTED',
      `the merge stopped${where}: ${why}. ${stop.written} key${stop.written === 1 ? ' was' : 's were'} written${stop.lastKey ? ` (the last: ${stop.lastKey})` : ''}; ` +
        `the first ${stop.resumeAfter} item${stop.resumeAfter === 1 ? '' : 's'} of the backup (function libraries and keys, in file order) are complete.${beyond}${unconfirmed} ` +
        `To finish, run the same restore again with --resume-after ${stop.resumeAfter}.`,
      { cause },
    );
  }
}
