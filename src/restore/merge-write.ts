/**
 * The second pass of a merge: the backup is parsed again as it streams and every selected item is
 * sent, pipelined, as it completes: RESTORE with the raw value bytes (or the plain-command fallback),
 * FUNCTION LOAD for libraries, SELECT when the target database changes. Reading pauses while too many
 * commands (or bytes) await replies, so memory stays flat whatever the backup's size.
 *
 * Replies arrive in order, so the first failure has an exact place: everything before it is written
 * (or skipped, or expired), and the keys after it that the target had already taken are removed again
 * (`fail`/`skip`: they did not exist before) or left for the resume to rewrite (`replace`).
 */
import { randomBytes } from 'node:crypto';
import type { Endpoint } from '../connect/index.js';
import { decodeValue, displayKey, RdbFormatError, type RdbRecord } from '../rdb/index.js';
import type { ConflictPolicy, MergeDatabase, MergeProgress, MergeStop } from './merge-types.js';
import { feed, STOP_FEED, type Selector } from './merge-scan.js';
import { libraryName } from './merge-target.js';
import { encodeBulk, ERROR_REPLY, openPipeline, type CommandArg } from '../resp/index.js';
import { PAYLOAD_OVERHEAD, payloadFrame } from './restore-payload.js';
import type { RestoreSource } from './source.js';
import { buildCommands, type TargetFeatures } from './value-commands.js';

/** how long an aborted merge waits for the answers to the commands it has sent */
const DRAIN_MS = 10_000;
const CONNECT_MS = 5000;

const ARG = {
  RESTORE: encodeBulk('RESTORE'),
  ZERO: encodeBulk('0'),
  ABSTTL: encodeBulk('ABSTTL'),
  REPLACE: encodeBulk('REPLACE'),
  IDLETIME: encodeBulk('IDLETIME'),
  FREQ: encodeBulk('FREQ'),
};

type FinalKind = 'restore' | 'renamenx' | 'rename' | 'function';

type Tag =
  | { kind: 'select' | 'part' | 'cleanup'; index: number }
  | { kind: 'final'; index: number; final: FinalKind; key: Buffer; from: number; db: number; tmp?: Buffer }
  | { kind: 'undo' };

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

export async function writePass(a: WriteArgs): Promise<WriteOutcome> {
  const { selector, onConflict } = a;
  const replace = onConflict === 'replace';
  const runId = randomBytes(6).toString('hex');
  const out: WriteOutcome = { written: 0, skipped: 0, expired: 0, filtered: 0, functions: { loaded: 0, skipped: 0 }, databases: [], bytes: 0, records: 0 };
  const dbs = new Map<number, MergeDatabase>();
  let lastKey: Buffer | undefined;
  let failure: { index: number; message: string; key?: Buffer } | undefined;
  let partError: { index: number; message: string } | undefined;
  const beyond: Array<{ db: number; key: Buffer }> = [];
  const strayTmps: Array<{ db: number; tmp: Buffer }> = [];
  /** item indexes with a final command awaiting its reply, oldest first */
  const unanswered: number[] = [];
  let unansweredHead = 0;
  let stopping = false;

  const fail = (index: number, message: string, key?: Buffer) => {
    if (!failure || index < failure.index) failure = { index, message, key };
    stopping = true;
  };

  const onReply = (tag: Tag, type: number, n: number, errorText: string | undefined) => {
    if (tag.kind === 'undo') return;
    if (tag.kind !== 'final') {
      if (type === ERROR_REPLY) {
        if (tag.kind === 'select') fail(tag.index, `SELECT failed: ${errorText}`);
        else if (!partError || partError.index !== tag.index) partError = { index: tag.index, message: errorText! };
      }
      return;
    }
    if (++unansweredHead > 4096 && unansweredHead * 2 > unanswered.length) {
      unanswered.splice(0, unansweredHead);
      unansweredHead = 0;
    }
    const index = tag.index;
    const partFailed = partError?.index === index ? partError.message : undefined;
    let wrote = false;
    let error: string | undefined;
    if (errorText !== undefined) {
      if (tag.final === 'restore' && /^BUSYKEY/.test(errorText) && onConflict === 'skip' && !partFailed) {
        if (!failure || index < failure.index) out.skipped++;
        return;
      }
      error = /^BUSYKEY/.test(errorText) ? `${displayKey(tag.key)} appeared on the target after the conflict check (${errorText})` : errorText;
      if (tag.final === 'function') error = `FUNCTION LOAD of library "${tag.key.toString()}" failed: ${errorText}`;
      if (tag.tmp) strayTmps.push({ db: tag.db, tmp: tag.tmp });
    } else if (tag.final === 'renamenx' && type === 0x3a && n === 0) {
      if (onConflict === 'fail') error = `${displayKey(tag.key)} appeared on the target after the conflict check`;
      else if (!partFailed) {
        if (!failure || index < failure.index) out.skipped++;
        return;
      }
    } else wrote = true;
    if (partFailed) error = `rebuilding ${displayKey(tag.key)} failed: ${partFailed}`;
    if (error !== undefined) fail(index, error, tag.final === 'function' ? undefined : tag.key);
    if (!wrote) return;
    if (tag.final === 'function') {
      if (!failure || index < failure.index) out.functions.loaded++;
      return;
    }
    if (failure && index >= failure.index) {
      beyond.push({ db: tag.db, key: tag.key });
      return;
    }
    out.written++;
    lastKey = tag.key;
    let d = dbs.get(tag.from);
    if (!d) dbs.set(tag.from, (d = { from: tag.from, to: tag.db, keys: 0 }));
    d.keys++;
  };

  const pipe = await openPipeline<Tag>(a.endpoint, { onReply, name: 'neurallog-restore', connectTimeoutMs: CONNECT_MS });
  let pipeDb = a.endpoint.db ?? 0;
  const useDb = (db: number, tag: Tag) => {
    if (db === pipeDb) return;
    pipe.send(['SELECT', String(db)], tag);
    pipeDb = db;
  };
  const sendFinal = (args: readonly CommandArg[], tag: Tag & { kind: 'final' }) => {
    pipe.send(args, tag);
    unanswered.push(tag.index);
  };

  const restoreKey = (record: RdbRecord, index: number, to: number) => {
    const key = Buffer.from(record.key);
    const frame = payloadFrame(record.type, record.value, a.rdbVersion);
    const idle = record.idleSeconds !== undefined && a.features.rdbVersion >= 9;
    const freq = record.lfuFreq !== undefined && a.features.rdbVersion >= 9;
    pipe.begin(5 + (replace ? 1 : 0) + (idle ? 2 : 0) + (freq ? 2 : 0));
    pipe.argEncoded(ARG.RESTORE);
    pipe.arg(key);
    if (record.expireAtMs === undefined) pipe.argEncoded(ARG.ZERO);
    else pipe.argInt(record.expireAtMs);
    pipe.argParts([frame.head, record.value, frame.tail], frame.length);
    pipe.argEncoded(ARG.ABSTTL);
    if (replace) pipe.argEncoded(ARG.REPLACE);
    if (idle) {
      pipe.argEncoded(ARG.IDLETIME);
      pipe.argInt(record.idleSeconds!);
    }
    if (freq) {
      pipe.argEncoded(ARG.FREQ);
      pipe.argInt(record.lfuFreq!);
    }
    pipe.end({ kind: 'final', index, final: 'restore', key, from: record.db, db: to });
    unanswered.push(index);
  };

  const rebuildKey = (record: RdbRecord, index: number, to: number) => {
    const key = Buffer.from(record.key);
    const tmp = Buffer.from(`neurallog-restore:tmp:${runId}:${index}`);
    const decoded = decodeValue(record.type, record.value, { source: a.source.file });
    const commands = buildCommands(key, tmp, decoded, record.expireAtMs, a.features, selector.now);
    if (commands === null) {
      out.expired++; // every field had expired: nothing to write
      return;
    }
    for (const command of commands) pipe.send(command, { kind: 'part', index });
    const tag = { kind: 'final' as const, index, key, from: record.db, db: to, tmp };
    if (replace) sendFinal(['RENAME', tmp, key], { ...tag, final: 'rename' });
    else {
      sendFinal(['RENAMENX', tmp, key], { ...tag, final: 'renamenx' });
      pipe.send(['DEL', tmp], { kind: 'cleanup', index });
    }
  };

  let lastReport = 0;
  const report = (bytes: number, force = false) => {
    const t = Date.now();
    if (!a.onProgress || (!force && t - lastReport < 250)) return;
    lastReport = t;
    a.onProgress({ phase: 'write', records: out.records, written: out.written, skipped: out.skipped, expired: out.expired, bytes, totalBytes: a.source.rdbBytes });
  };

  let reason: MergeStop['reason'] | undefined;
  let cause: unknown;
  try {
    const result = await feed(
      a.source.open(),
      {
        source: a.source.file,
        onFunction(code) {
          if (stopping) return;
          const index = out.records++;
          if (selector.resumed(index)) return;
          const name = libraryName(code) ?? '';
          if (!replace && onConflict === 'skip' && a.existingLibraries.has(name)) {
            out.functions.skipped++;
            return;
          }
          sendFinal(['FUNCTION', 'LOAD', ...(replace ? ['REPLACE'] : []), code], { kind: 'final', index, final: 'function', key: Buffer.from(name), from: -1, db: -1 });
        },
        onRecord(record) {
          if (stopping) return;
          const index = out.records++;
          const verdict = selector.key(record, index);
          if (verdict === 'filtered') out.filtered++;
          else if (verdict === 'expired') out.expired++;
          if (verdict !== 'write') return;
          const to = selector.targetDb(record.db);
          useDb(to, { kind: 'select', index });
          if (a.encoding === 'restore' && record.value.length + PAYLOAD_OVERHEAD <= a.maxPayload) {
            restoreKey(record, index, to);
            return;
          }
          try {
            rebuildKey(record, index, to);
          } catch (error) {
            // a value commands cannot rebuild (a module type): nothing of it was sent
            fail(index, (error as Error).message, Buffer.from(record.key));
          }
        },
      },
      async (bytes) => {
        selector.tick();
        if (a.signal?.aborted) {
          reason = 'aborted';
          stopping = true;
        }
        if (stopping) throw STOP_FEED;
        await pipe.settle(a.maxInFlight, a.maxInFlightBytes, { signal: a.signal });
        if (a.signal?.aborted) reason = 'aborted';
        if (stopping || a.signal?.aborted) throw STOP_FEED;
        report(bytes);
      },
    );
    out.bytes = result.bytes;
    if (!(await pipe.settle(0, undefined, { signal: a.signal }))) reason = 'aborted';
  } catch (error) {
    cause = error;
    if (pipe.failure) reason = 'connection';
    else if (error instanceof RdbFormatError) reason = 'corrupt';
    else reason = 'error';
    stopping = true;
  }
  if (reason !== 'connection') {
    try {
      // the answers to what was sent; after an abort, no longer than DRAIN_MS
      if (!(await pipe.settle(0, undefined, reason === 'aborted' ? { deadline: Date.now() + DRAIN_MS } : {}))) {
        pipe.destroy();
        throw new Error(`the target did not answer the ${pipe.inFlight} commands in flight within ${DRAIN_MS / 1000} s of the abort`);
      }
      // keys the target took after the failing item did not exist before (fail/skip): remove them again
      if (failure && !replace) {
        for (const b of beyond) {
          useDb(b.db, { kind: 'undo' });
          pipe.send(['DEL', b.key], { kind: 'undo' });
        }
        beyond.length = 0;
      }
      for (const t of strayTmps) {
        useDb(t.db, { kind: 'undo' });
        pipe.send(['DEL', t.tmp], { kind: 'undo' });
      }
      await pipe.settle(0);
    } catch (error) {
      cause ??= error;
      reason = 'connection';
    }
  }
  void pipe.close();
  out.databases = [...dbs.values()].sort((x, y) => x.from - y.from);
  if (lastKey) out.lastKey = displayKey(lastKey);
  report(out.bytes, true);
  if (failure && reason !== 'connection') reason = 'error';
  if (reason === undefined) return out;
  const pendingFinals = unanswered.length - unansweredHead;
  const resumeAfter = failure ? failure.index : reason === 'connection' && pendingFinals > 0 ? unanswered[unansweredHead]! : out.records;
  const message =
    failure?.message ??
    (reason === 'aborted' ? 'aborted' : reason === 'connection' ? `the connection to the target failed (${(cause as Error)?.message ?? String(cause)})` : `${(cause as Error)?.message ?? String(cause)}`);
  out.stop = {
    reason,
    written: out.written,
    skipped: out.skipped,
    expired: out.expired,
    functionsLoaded: out.functions.loaded,
    ...(out.lastKey ? { lastKey: out.lastKey } : {}),
    resumeAfter,
    ...(failure?.key ? { failedKey: displayKey(failure.key) } : {}),
    unconfirmed: reason === 'connection' ? pendingFinals : 0,
    writtenBeyond: beyond.length,
    message,
  };
  out.cause = cause;
  return out;
}
