/**
 * rdbVerifier: a Transform that passes RDB bytes through unchanged while parsing them. Any anomaly
 * destroys the stream with the RdbFormatError. With `holdBack`, the last bytes seen (at least the EOF
 * opcode and the 8-byte checksum) are withheld until the end of input has been verified, so a bad
 * RDB never reaches its destination complete.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { RdbStreamParser } from './parser.js';
import type { RdbLeanParserOptions, RdbParserOptions, RdbSummary } from './types.js';

interface HoldBackOptions {
  /** withhold the final bytes until the whole RDB is verified (default false) */
  holdBack?: boolean;
  /** how many trailing bytes holdBack withholds (default and minimum 9) */
  holdBackBytes?: number;
  /**
   * called once, as soon as the parser has read the EOF opcode and a matching checksum (before the
   * input ends), with the RDB's length in bytes: a pull can stop waiting for more (PulledRdb.rdbComplete)
   */
  onComplete?: (rdbBytes: number) => void;
}

export interface RdbVerifierOptions extends RdbParserOptions, HoldBackOptions {}

/** a verifier whose records need not carry their values (see RdbRawValues) */
export interface RdbLeanVerifierOptions extends RdbLeanParserOptions, HoldBackOptions {}

export interface RdbVerifier extends Transform {
  /** the summary of the verified RDB; throws until the input has ended and passed verification */
  summary(): RdbSummary;
  /** true once the input has ended and passed verification */
  readonly verified: boolean;
  readonly parser: RdbStreamParser;
}

class RdbVerifierStream extends Transform implements RdbVerifier {
  readonly parser: RdbStreamParser;
  private finalSummary: RdbSummary | undefined = undefined;
  private readonly hold: number;
  private held: Buffer | undefined = undefined;
  private onComplete: ((rdbBytes: number) => void) | undefined;

  constructor(options: RdbVerifierOptions | RdbLeanVerifierOptions) {
    super();
    this.parser = new RdbStreamParser(options as RdbParserOptions);
    this.hold = options.holdBack ? Math.max(9, options.holdBackBytes ?? 9) : 0;
    this.onComplete = options.onComplete;
  }

  get verified(): boolean {
    return this.finalSummary !== undefined;
  }

  summary(): RdbSummary {
    if (!this.finalSummary) throw new Error('rdbVerifier: the summary exists only once the whole RDB has passed through and verified');
    return this.finalSummary;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!Buffer.isBuffer(chunk)) chunk = Buffer.from(chunk);
    try {
      this.parser.write(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (this.onComplete && this.parser.finished) {
      const onComplete = this.onComplete;
      this.onComplete = undefined;
      onComplete(this.parser.position);
    }
    if (this.hold === 0) {
      callback(null, chunk);
      return;
    }
    const held = this.held;
    if (chunk.length >= this.hold) {
      if (held) this.push(held);
      if (chunk.length > this.hold) this.push(chunk.subarray(0, chunk.length - this.hold));
      this.held = Buffer.from(chunk.subarray(chunk.length - this.hold));
    } else {
      const all = held ? Buffer.concat([held, chunk]) : Buffer.from(chunk);
      if (all.length > this.hold) {
        this.push(all.subarray(0, all.length - this.hold));
        this.held = all.subarray(all.length - this.hold);
      } else this.held = all;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.finalSummary = this.parser.end();
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (this.held) this.push(this.held);
    this.held = undefined;
    this.emit('summary', this.finalSummary);
    callback();
  }
}

/**
 * A pass-through stream that verifies the RDB flowing through it (see RdbVerifierOptions). Without
 * onRecord, or with rawValues 'none' or `{ maxBytes }`, it keeps memory flat within large values.
 */
export function rdbVerifier(options?: RdbVerifierOptions): RdbVerifier;
export function rdbVerifier(options: RdbLeanVerifierOptions): RdbVerifier;
export function rdbVerifier(options: RdbVerifierOptions | RdbLeanVerifierOptions = {}): RdbVerifier {
  return new RdbVerifierStream(options);
}
