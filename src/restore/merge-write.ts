/**
 * The second pass of a merge: the backup is parsed again as it streams and every selected item is
 * sent, pipelined, as it completes: RESTORE with the raw value bytes (or the plain-command fallback),
 * FUNCTION LOAD for libraries, SELECT when the target database changes. Reading pauses while too many
 * commands (or bytes) await replies, so memory stays flat whatever the backup's size.
 *
 * Replies arrive in order, so the first failure has an exact place: everything before it is written
 * (or skipped, or expired), and the keys after it that the target had already taken are removed again
 * (`fail`/`skip`: they did not exist before) or left for the resume to rewrite (`replace`).
 *
 * The pass runs in phases over one `WriteState`: open the pipeline, stream the backup into it
 * (`WriteSender` turns each item into commands, `WriteState.reply` books each reply), drain what is
 * in flight and undo what came after a failure, then summarise.
 */
import { displayKey, RdbFormatError } from '../rdb/index.js';
import { openPipeline, type RespPipeline } from '../resp/index.js';
import { feed, STOP_FEED } from './merge-scan.js';
import { WriteSender } from './merge-write-send.js';
import { WriteState, type Tag, type WriteArgs, type WriteOutcome } from './merge-write-state.js';

export type { WriteArgs, WriteOutcome } from './merge-write-state.js';

/** how long an aborted merge waits for the answers to the commands it has sent */
const DRAIN_MS = 10_000;
const CONNECT_MS = 5000;
/** the least time between two progress reports */
const REPORT_MS = 250;
/**
 * Commands prepared ahead while the stored file's SHA-256 is still being checked (held, not sent;
 * the byte bound still applies): the target gets a full pipeline the moment the check passes.
 */
const PREPARED_AHEAD = 100_000;

export async function writePass(a: WriteArgs): Promise<WriteOutcome> {
  const state = new WriteState(a.onConflict);
  const pipe = await openPipeline<Tag>(a.endpoint, {
    onReply: (tag, type, n, errorText) => state.reply(tag, type, n, errorText),
    name: 'neurallog-restore',
    connectTimeoutMs: CONNECT_MS,
  });
  // until the stored file's SHA-256 has matched its manifest (openRestoreSource's deferred check),
  // commands are prepared but held back; a mismatch drops them unsent
  let refused: unknown;
  pipe.hold();
  a.source.digestChecked.then(
    () => pipe.release(),
    (error: unknown) => {
      refused = error;
      pipe.destroy();
    },
  );
  const sender = new WriteSender(a, state, pipe);
  const progress = new ProgressReporter(a, state);
  await streamBackup(a, state, sender, pipe, progress);
  // a stream that ended (or failed) while its commands were held: the check decides first
  if (pipe.holding) await a.source.digestChecked.catch(() => undefined);
  if (refused !== undefined) throw refused;
  if (state.reason !== 'connection') await drainAndUndo(a, state, sender, pipe);
  void pipe.close();
  return summarise(state, progress);
}

/** Reports the write phase's counts to `onProgress`, at most every REPORT_MS unless forced. */
class ProgressReporter {
  #last = 0;
  constructor(
    private readonly a: WriteArgs,
    private readonly state: WriteState,
  ) {}

  report(bytes: number, force = false): void {
    const t = Date.now();
    if (!this.a.onProgress || (!force && t - this.#last < REPORT_MS)) return;
    this.#last = t;
    const out = this.state.out;
    this.a.onProgress({
      phase: 'write',
      records: out.records,
      written: out.written,
      skipped: out.skipped,
      expired: out.expired,
      bytes,
      totalBytes: this.a.source.rdbBytes,
    });
  }
}

/**
 * Parses the backup and sends every item; between chunks, waits while too much is in flight and stops
 * on the abort signal or a failure. Whatever ends the stream early is recorded as the state's reason.
 */
async function streamBackup(a: WriteArgs, state: WriteState, sender: WriteSender, pipe: RespPipeline<Tag>, progress: ProgressReporter): Promise<void> {
  try {
    const result = await feed(
      a.source.open(),
      {
        source: a.source.file,
        onFunction: (code) => sender.onFunction(code),
        onRecord: (record) => sender.onRecord(record),
      },
      async (bytes) => {
        a.selector.tick();
        if (a.signal?.aborted) {
          state.reason = 'aborted';
          state.stopping = true;
        }
        if (state.stopping) throw STOP_FEED;
        await pipe.settle(pipe.holding ? PREPARED_AHEAD : a.maxInFlight, a.maxInFlightBytes, { signal: a.signal });
        if (a.signal?.aborted) state.reason = 'aborted';
        if (state.stopping || a.signal?.aborted) throw STOP_FEED;
        progress.report(bytes);
      },
    );
    state.out.bytes = result.bytes;
    if (!(await pipe.settle(0, undefined, { signal: a.signal }))) state.reason = 'aborted';
  } catch (error) {
    state.cause = error;
    if (pipe.failure) state.reason = 'connection';
    else if (error instanceof RdbFormatError) state.reason = 'corrupt';
    else state.reason = 'error';
    state.stopping = true;
  }
}

/**
 * Waits for the answers to what was sent (after an abort, no longer than DRAIN_MS), then removes the
 * keys that came after a failure (fail/skip: they did not exist before) and stray temporary keys.
 */
async function drainAndUndo(a: WriteArgs, state: WriteState, sender: WriteSender, pipe: RespPipeline<Tag>): Promise<void> {
  try {
    if (!(await pipe.settle(0, undefined, state.reason === 'aborted' ? { deadline: Date.now() + DRAIN_MS } : {}))) {
      pipe.destroy();
      throw new Error(`the target did not answer the ${pipe.inFlight} commands in flight within ${DRAIN_MS / 1000} s of the abort`);
    }
    if (state.failure && a.onConflict !== 'replace') {
      for (const b of state.beyond) sender.undo(b.db, b.key);
      state.beyond.length = 0;
    }
    for (const t of state.strayTmps) sender.undo(t.db, t.tmp);
    await pipe.settle(0);
  } catch (error) {
    state.cause ??= error;
    state.reason = 'connection';
  }
}

/** The outcome: the counts, and when the pass stopped part-way, where to resume and why. */
function summarise(state: WriteState, progress: ProgressReporter): WriteOutcome {
  const { out, failure } = state;
  out.databases = [...state.dbs.values()].sort((x, y) => x.from - y.from);
  if (state.lastKey) out.lastKey = displayKey(state.lastKey);
  progress.report(out.bytes, true);
  let reason = state.reason;
  if (failure && reason !== 'connection') reason = 'error';
  if (reason === undefined) return out;
  const cause = state.cause;
  const pendingFinals = state.unanswered.length - state.unansweredHead;
  const resumeAfter = failure ? failure.index : reason === 'connection' && pendingFinals > 0 ? state.unanswered[state.unansweredHead]! : out.records;
  const message =
    failure?.message ??
    (reason === 'aborted'
      ? 'aborted'
      : reason === 'connection'
        ? `the connection to the target failed (${(cause as Error)?.message ?? String(cause)})`
        : `${(cause as Error)?.message ?? String(cause)}`);
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
    writtenBeyond: state.beyond.length,
    message,
  };
  out.cause = cause;
  return out;
}
