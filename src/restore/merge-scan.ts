/**
 * What both passes of a merge share: deciding per item what happens to it (already done by a previous
 * run, filtered out, expired, or written to which database), and feeding a backup's RDB bytes to the
 * streaming parser in small slices with an await between them, which is where backpressure, progress
 * and stopping happen.
 */
import type { Readable } from 'node:stream';
import { RdbStreamParser, type RdbKeyRecord, type RdbLeanParserOptions, type RdbParserOptions, type RdbSummary } from '../rdb/index.js';
import { UsageError } from '../errors.js';
import { globMatcher } from './glob.js';

/** Bytes handed to the parser at a time: records come out synchronously, so this bounds a burst. */
const SLICE = 64 * 1024;

export type Verdict = 'resumed' | 'filtered' | 'expired' | 'write';

export class Selector {
  readonly #match: (key: Uint8Array) => boolean;
  readonly #keep: ((key: Uint8Array) => boolean) | undefined;
  readonly #dbMap: Map<number, number>;
  readonly #resumeAfter: number;
  readonly #clock: () => number;
  /** the expiry time, refreshed by tick() between slices */
  now: number;

  constructor(options: { match?: string; dbMap?: Map<number, number>; resumeAfter?: number; now?: () => number; keyFilter?: (key: Uint8Array) => boolean }) {
    this.#clock = options.now ?? Date.now;
    this.now = this.#clock();
    this.#match = globMatcher(options.match);
    this.#keep = options.keyFilter;
    this.#dbMap = options.dbMap ?? new Map();
    this.#resumeAfter = options.resumeAfter ?? 0;
    if (!Number.isSafeInteger(this.#resumeAfter) || this.#resumeAfter < 0)
      throw new UsageError(`--resume-after takes a count of items (0 or more), not ${options.resumeAfter}`);
    for (const [from, to] of this.#dbMap) {
      if (!Number.isSafeInteger(from) || from < 0 || !Number.isSafeInteger(to) || to < 0)
        throw new UsageError(`--db-map maps database numbers (0 or more): ${from}:${to} is not one`);
    }
  }

  tick(): void {
    this.now = this.#clock();
  }

  get resumeAfter(): number {
    return this.#resumeAfter;
  }

  targetDb(db: number): number {
    return this.#dbMap.get(db) ?? db;
  }

  /** item `index` (libraries and keys count, in file order) was completed by an earlier run */
  resumed(index: number): boolean {
    return index < this.#resumeAfter;
  }

  key(record: RdbKeyRecord, index: number): Verdict {
    if (index < this.#resumeAfter) return 'resumed';
    if (!this.#match(record.key) || (this.#keep !== undefined && !this.#keep(record.key))) return 'filtered';
    if (record.expireAtMs !== undefined && record.expireAtMs <= this.now) return 'expired';
    return 'write';
  }
}

/** Thrown by a `between` callback to end the feed early (not an error). */
export const STOP_FEED: unique symbol = Symbol('stop feed');

export interface FeedResult {
  /** the parser's summary, or undefined when the feed was stopped */
  summary?: RdbSummary;
  bytes: number;
}

/**
 * Parses `stream` with the given callbacks, awaiting `between(bytesSoFar)` after each slice.
 * RdbFormatError (damage, truncation, checksum) and stream errors propagate.
 */
export async function feed(stream: Readable, options: RdbParserOptions | RdbLeanParserOptions, between: (bytes: number) => Promise<void>): Promise<FeedResult> {
  const parser = new RdbStreamParser(options);
  let bytes = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length; at += SLICE) {
        const slice = chunk.length <= SLICE ? chunk : chunk.subarray(at, Math.min(chunk.length, at + SLICE));
        parser.write(slice);
        bytes += slice.length;
        await between(bytes);
      }
    }
  } catch (error) {
    if (error === STOP_FEED) {
      stream.destroy();
      return { bytes };
    }
    stream.destroy();
    throw error;
  }
  return { summary: parser.end(), bytes };
}
