/**
 * The raw bytes of a value read element by element while records carry their values (rawValues
 * 'all'): views of the buffers they came in, kept in order as the parser's commit point moves past
 * them, and handed to the record as RdbRecord.valueParts. Nothing is joined unless a consumer reads
 * RdbRecord.value.
 */
import type { RdbKeyRecord } from './types.js';

export class ValuePieces {
  #pieces: Buffer[] = [];
  /** bytes kept */
  bytes = 0;
  /** where the value's bytes not yet kept start in the reader's buffer */
  from = 0;

  /** keeps `buf`'s bytes from `from` to `end`; the value's bytes go on at `nextFrom` of the next buffer */
  keep(buf: Buffer, end: number, nextFrom = 0): void {
    if (end > this.from) {
      this.#pieces.push(buf.subarray(this.from, end));
      this.bytes += end - this.from;
    }
    this.from = nextFrom;
  }

  /** copies the pieces that are views of `memory`, a buffer its writer will reuse (the last ones) */
  copyViewsOf(memory: ArrayBufferLike): void {
    const pieces = this.#pieces;
    for (let i = pieces.length - 1; i >= 0 && pieces[i]!.buffer === memory; i--) pieces[i] = Buffer.from(pieces[i]!);
  }

  /** the pieces kept, which this no longer holds */
  take(): Buffer[] {
    const pieces = this.#pieces;
    this.drop();
    return pieces;
  }

  drop(): void {
    this.#pieces = [];
    this.bytes = 0;
  }
}

/**
 * Gives `record` the value read in `pieces`: RdbRecord.valueParts, and `value`, which joins them the
 * first time it is read (a consumer that writes the pieces one after another never pays for that).
 */
export function withPieces(record: RdbKeyRecord, pieces: Buffer[]): void {
  record.valueParts = pieces;
  Object.defineProperty(record, 'value', {
    configurable: true,
    enumerable: true,
    get(): Buffer {
      const value = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
      Object.defineProperty(record, 'value', { value, configurable: true, enumerable: true, writable: true });
      return value;
    },
  });
}
