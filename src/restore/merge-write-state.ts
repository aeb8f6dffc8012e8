/**
 * What the phases of a merge's writing pass share: the counts of the outcome, the first failure, and
 * the bookkeeping of the replies (which item each one closes, which keys came after the failure).
 * Replies arrive in order, so `reply` sees every item's fate in file order.
 */
import type { Endpoint } from '../connect/index.js';
import { displayKey } from '../rdb/index.js';
import { ERROR_REPLY } from '../resp/index.js';
import type { ConflictPolicy, MergeDatabase, MergeProgress, MergeStop } from './merge-types.js';
import type { Selector } from './merge-scan.js';
import type { RestoreSource } from './source.js';
import type { TargetFeatures } from './value-commands.js';

export interface WriteArgs {
  source: RestoreSource;
  endpoint: Endpoint;
  selector: Selector;
  onConflict: ConflictPolicy;
  encoding: 'restore' | 'commands';
  rdbVersion: number;
  features: TargetFeatures;
  /** values whose payload is larger go through commands (the target's proto-max-bulk-len) */
  maxPayload: number;
  /** libraries that exist on the target (skip mode leaves them) */
  existingLibraries: Set<string>;
  maxInFlight: number;
  maxInFlightBytes: number;
  onProgress?: (p: MergeProgress) => void;
  signal?: AbortSignal;
}

export interface WriteOutcome {
  written: number;
  skipped: number;
  expired: number;
  filtered: number;
  functions: { loaded: number; skipped: number };
  databases: MergeDatabase[];
  lastKey?: string;
  bytes: number;
  records: number;
  /** set when the pass stopped part-way */
  stop?: MergeStop;
  cause?: unknown;
}

export type FinalKind = 'restore' | 'renamenx' | 'rename' | 'function';

/** the command whose reply decides an item (its key's fate), and what that reply must update */
export interface FinalTag {
  kind: 'final';
  index: number;
  final: FinalKind;
  key: Buffer;
  from: number;
  db: number;
  tmp?: Buffer;
}

/** What each command sent is, for its reply: a step of an item, the item's final command, or cleanup. */
export type Tag = { kind: 'select' | 'part' | 'cleanup'; index: number } | FinalTag | { kind: 'undo' };

export interface WriteFailure {
  index: number;
  message: string;
  key?: Buffer;
}

/** a key the target took after the failing item (the undo phase removes it in fail/skip mode) */
export interface KeyAt {
  db: number;
  key: Buffer;
}

export class WriteState {
  readonly out: WriteOutcome = { written: 0, skipped: 0, expired: 0, filtered: 0, functions: { loaded: 0, skipped: 0 }, databases: [], bytes: 0, records: 0 };
  /** keys written, per source database */
  readonly dbs = new Map<number, MergeDatabase>();
  lastKey: Buffer | undefined;
  /** the earliest item that failed */
  failure: WriteFailure | undefined;
  /** a step (not the final command) of item `index` failed: its final reply turns into an error */
  partError: { index: number; message: string } | undefined;
  readonly beyond: KeyAt[] = [];
  /** temporary keys of rebuilt values whose final RENAME failed */
  readonly strayTmps: Array<{ db: number; tmp: Buffer }> = [];
  /** item indexes with a final command awaiting its reply, oldest first (from `unansweredHead`) */
  readonly unanswered: number[] = [];
  unansweredHead = 0;
  /** no more items are sent */
  stopping = false;
  reason: MergeStop['reason'] | undefined;
  cause: unknown;

  constructor(readonly onConflict: ConflictPolicy) {}

  fail(index: number, message: string, key?: Buffer): void {
    if (!this.failure || index < this.failure.index) this.failure = { index, message, key };
    this.stopping = true;
  }

  /** The reply to one command, in the order they were sent. */
  reply(tag: Tag, type: number, n: number, errorText: string | undefined): void {
    if (tag.kind === 'undo') return;
    if (tag.kind !== 'final') {
      if (type === ERROR_REPLY) {
        if (tag.kind === 'select') this.fail(tag.index, `SELECT failed: ${errorText}`);
        else if (!this.partError || this.partError.index !== tag.index) this.partError = { index: tag.index, message: errorText! };
      }
      return;
    }
    this.answered();
    this.finalReply(tag, type, n, errorText);
  }

  /** the oldest unanswered final command got its reply (the list is compacted now and then) */
  private answered(): void {
    if (++this.unansweredHead > 4096 && this.unansweredHead * 2 > this.unanswered.length) {
      this.unanswered.splice(0, this.unansweredHead);
      this.unansweredHead = 0;
    }
  }

  private finalReply(tag: FinalTag, type: number, n: number, errorText: string | undefined): void {
    const index = tag.index;
    const onConflict = this.onConflict;
    const partFailed = this.partError?.index === index ? this.partError.message : undefined;
    let wrote = false;
    let error: string | undefined;
    if (errorText !== undefined) {
      if (tag.final === 'restore' && /^BUSYKEY/.test(errorText) && onConflict === 'skip' && !partFailed) {
        if (!this.failure || index < this.failure.index) this.out.skipped++;
        return;
      }
      error = /^BUSYKEY/.test(errorText) ? `${displayKey(tag.key)} appeared on the target after the conflict check (${errorText})` : errorText;
      if (tag.final === 'function') error = `FUNCTION LOAD of library "${tag.key.toString()}" failed: ${errorText}`;
      if (tag.tmp) this.strayTmps.push({ db: tag.db, tmp: tag.tmp });
    } else if (tag.final === 'renamenx' && type === 0x3a && n === 0) {
      if (onConflict === 'fail') error = `${displayKey(tag.key)} appeared on the target after the conflict check`;
      else if (!partFailed) {
        if (!this.failure || index < this.failure.index) this.out.skipped++;
        return;
      }
    } else wrote = true;
    if (partFailed) error = `rebuilding ${displayKey(tag.key)} failed: ${partFailed}`;
    if (error !== undefined) this.fail(index, error, tag.final === 'function' ? undefined : tag.key);
    if (wrote) this.wrote(tag);
  }

  /** the target took the item: counted when it comes before the first failure, else noted as beyond */
  private wrote(tag: FinalTag): void {
    const index = tag.index;
    if (tag.final === 'function') {
      if (!this.failure || index < this.failure.index) this.out.functions.loaded++;
      return;
    }
    if (this.failure && index >= this.failure.index) {
      this.beyond.push({ db: tag.db, key: tag.key });
      return;
    }
    this.out.written++;
    this.lastKey = tag.key;
    let d = this.dbs.get(tag.from);
    if (!d) this.dbs.set(tag.from, (d = { from: tag.from, to: tag.db, keys: 0 }));
    d.keys++;
  }
}
