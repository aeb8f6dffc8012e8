/**
 * The sending side of a merge's writing pass: each item of the backup, as the parser completes it,
 * becomes its commands on the pipeline. A key goes as one RESTORE of its raw value bytes when the
 * encoding allows it and the payload fits the target, else as plain commands that build it under a
 * temporary name and rename it into place; a function library goes as FUNCTION LOAD. SELECT is sent
 * when the target database changes.
 */
import { randomBytes } from 'node:crypto';
import { decodeValue, type RdbRecord } from '../rdb/index.js';
import { encodeBulk, type CommandArg, type RespPipeline } from '../resp/index.js';
import { libraryName } from './merge-target.js';
import type { FinalTag, Tag, WriteArgs, WriteState } from './merge-write-state.js';
import { PAYLOAD_OVERHEAD, payloadFrame } from './restore-payload.js';
import { buildCommands } from './value-commands.js';

const ARG = {
  RESTORE: encodeBulk('RESTORE'),
  ZERO: encodeBulk('0'),
  ABSTTL: encodeBulk('ABSTTL'),
  REPLACE: encodeBulk('REPLACE'),
  IDLETIME: encodeBulk('IDLETIME'),
  FREQ: encodeBulk('FREQ'),
};

export class WriteSender {
  readonly #a: WriteArgs;
  readonly #s: WriteState;
  readonly #pipe: RespPipeline<Tag>;
  readonly #replace: boolean;
  /** names the temporary keys of rebuilt values */
  readonly #runId = randomBytes(6).toString('hex');
  /** the database the connection has selected */
  #pipeDb: number;

  constructor(a: WriteArgs, s: WriteState, pipe: RespPipeline<Tag>) {
    this.#a = a;
    this.#s = s;
    this.#pipe = pipe;
    this.#replace = a.onConflict === 'replace';
    this.#pipeDb = a.endpoint.db ?? 0;
  }

  useDb(db: number, tag: Tag): void {
    if (db === this.#pipeDb) return;
    this.#pipe.send(['SELECT', String(db)], tag);
    this.#pipeDb = db;
  }

  /** DEL `key` in `db`, after the pass (its reply is not looked at) */
  undo(db: number, key: Buffer): void {
    this.useDb(db, { kind: 'undo' });
    this.#pipe.send(['DEL', key], { kind: 'undo' });
  }

  /** A function library: FUNCTION LOAD, unless skip mode leaves one the target has. */
  onFunction(code: Buffer): void {
    const s = this.#s;
    if (s.stopping) return;
    const index = s.out.records++;
    if (this.#a.selector.resumed(index)) return;
    const name = libraryName(code) ?? '';
    const replace = this.#replace;
    if (!replace && this.#a.onConflict === 'skip' && this.#a.existingLibraries.has(name)) {
      s.out.functions.skipped++;
      return;
    }
    this.#sendFinal(['FUNCTION', 'LOAD', ...(replace ? ['REPLACE'] : []), code], {
      kind: 'final',
      index,
      final: 'function',
      key: Buffer.from(name),
      from: -1,
      db: -1,
    });
  }

  /** A key: counted when the selector leaves it out, else written by RESTORE or by commands. */
  onRecord(record: RdbRecord): void {
    const s = this.#s;
    if (s.stopping) return;
    const a = this.#a;
    const index = s.out.records++;
    const verdict = a.selector.key(record, index);
    if (verdict === 'filtered') s.out.filtered++;
    else if (verdict === 'expired') s.out.expired++;
    if (verdict !== 'write') return;
    const to = a.selector.targetDb(record.db);
    this.useDb(to, { kind: 'select', index });
    if (a.encoding === 'restore' && valueLength(record) + PAYLOAD_OVERHEAD <= a.maxPayload) {
      this.#restoreKey(record, index, to);
      return;
    }
    try {
      this.#rebuildKey(record, index, to);
    } catch (error) {
      // a value commands cannot rebuild (a module type): nothing of it was sent
      s.fail(index, (error as Error).message, Buffer.from(record.key));
    }
  }

  #sendFinal(args: readonly CommandArg[], tag: FinalTag): void {
    this.#pipe.send(args, tag);
    this.#s.unanswered.push(tag.index);
  }

  /** RESTORE key ttl payload ABSTTL [REPLACE] [IDLETIME s] [FREQ f], the value's bytes framed as a DUMP */
  #restoreKey(record: RdbRecord, index: number, to: number): void {
    const pipe = this.#pipe;
    const replace = this.#replace;
    const key = Buffer.from(record.key);
    const value = record.valueParts ?? [record.value];
    const frame = payloadFrame(record.type, value, this.#a.rdbVersion);
    const idle = record.idleSeconds !== undefined && this.#a.features.rdbVersion >= 9;
    const freq = record.lfuFreq !== undefined && this.#a.features.rdbVersion >= 9;
    pipe.begin(5 + (replace ? 1 : 0) + (idle ? 2 : 0) + (freq ? 2 : 0));
    pipe.argEncoded(ARG.RESTORE);
    pipe.arg(key);
    if (record.expireAtMs === undefined) pipe.argEncoded(ARG.ZERO);
    else pipe.argInt(record.expireAtMs);
    pipe.argParts([frame.head, ...value, frame.tail], frame.length);
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
    this.#s.unanswered.push(index);
  }

  /** the value's plain commands under a temporary name, then RENAME (replace) or RENAMENX + DEL */
  #rebuildKey(record: RdbRecord, index: number, to: number): void {
    const a = this.#a;
    const key = Buffer.from(record.key);
    const tmp = Buffer.from(`neurallog-restore:tmp:${this.#runId}:${index}`);
    const decoded = decodeValue(record.type, record.value, { source: a.source.file });
    const commands = buildCommands(key, tmp, decoded, record.expireAtMs, a.features, a.selector.now);
    if (commands === null) {
      this.#s.out.expired++; // every field had expired: nothing to write
      return;
    }
    for (const command of commands) this.#pipe.send(command, { kind: 'part', index });
    const tag = { kind: 'final' as const, index, key, from: record.db, db: to, tmp };
    if (this.#replace) this.#sendFinal(['RENAME', tmp, key], { ...tag, final: 'rename' });
    else {
      this.#sendFinal(['RENAMENX', tmp, key], { ...tag, final: 'renamenx' });
      this.#pipe.send(['DEL', tmp], { kind: 'cleanup', index });
    }
  }
}

/** the value's length, without joining a value that came in pieces */
function valueLength(record: RdbRecord): number {
  const parts = record.valueParts;
  if (parts === undefined) return record.value.length;
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}
