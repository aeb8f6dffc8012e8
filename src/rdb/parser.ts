/**
 * A push-based streaming RDB reader: write() chunks of any size (down to one byte), end() for the
 * summary. Records come out through callbacks as soon as their last byte arrives.
 *
 * Parsing is synchronous over a buffer (contents.ts reads the items). When an item (an opcode with
 * its data, or a key with its value and the expiry/idle/freq opcodes before it) is incomplete, the
 * parser keeps the item's bytes (views, not copies) and retries only once the buffered bytes have at
 * least doubled, or reached what the item is known or projected to need, or the stream ended: re-
 * reading stays amortised linear, and memory is bounded by the largest item, not by the file. A
 * large chunk after an unfinished item is bridged (the item finished in a small buffer, then parsing
 * continues inside the chunk), not copied. The CRC-64 covers each byte once, as items complete.
 *
 * A large value that is not complete in the bytes at hand is read element by element instead
 * (incremental.ts): the commit point then moves after each element, and what the parser keeps is
 * bounded by the largest element, not by the value. When every value's raw bytes are wanted
 * (RdbParserOptions.rawValues 'all', see RdbRawValues), the bytes read are kept as views of the
 * chunks they came in and handed over as the record's pieces: never joined, never read twice.
 */
import { joinRefused, NEED_MORE, RdbFormatError, toCallerError } from './errors.js';
import { RdbContents } from './contents.js';
import { crc64Hex, crc64Init, crc64Update, type Crc64State } from './crc64.js';
import { ByteReader } from './reader.js';
import { truncatedError } from './truncation.js';
import { adjacentJoined } from './views.js';
import type { RdbLeanParserOptions, RdbParserOptions, RdbSummary } from './types.js';

const enum State {
  Header,
  Body,
  Checksum,
  Done,
  Failed,
}

/** a chunk at least this long after an unfinished item is bridged rather than copied (slices of one read are joined as views first) */
const BRIDGE_MIN = 16 * 1024;
const EMPTY = Buffer.alloc(0);
/** inside a value read element by element, retry once this many more bytes have arrived */
const OPEN_RETRY_STEP = 8 * 1024;

export class RdbStreamParser {
  private readonly source: string | undefined;
  private readonly maxRecordBytes: number;
  private state = State.Header;
  private error: unknown;

  /** bytes not yet consumed, starting at absolute offset `base` */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private retryAt = 0;
  /** bytes the unfinished item was known to need when it stopped */
  private needHint = 0;
  private base = 0;
  private readonly reader: ByteReader;
  private partialKey: Buffer | undefined;

  private readonly crc: Crc64State = crc64Init();
  private readonly contents: RdbContents;
  private storedChecksum = '';
  private totalBytes = 0;
  private maxPending = 0;
  private readonly strict: boolean;
  /** bytes after the checksum (not strict: Redis loads such a file, ignoring them) */
  private trailing = 0;
  /** the trailing bytes' warning has been given (end() may be called again) */
  private endWarned = false;

  /**
   * Without onRecord (or with rawValues 'none' or `{ maxBytes }`) the parser reads large values
   * element by element and its memory does not grow with them; with onRecord and rawValues 'all'
   * (the default then) every record carries its value's raw bytes.
   */
  constructor(options?: RdbParserOptions);
  constructor(options: RdbLeanParserOptions);
  constructor(options: RdbParserOptions | RdbLeanParserOptions);
  constructor(options: RdbParserOptions | RdbLeanParserOptions = {}) {
    this.source = options.source;
    this.maxRecordBytes = options.maxRecordBytes ?? 2 ** 32;
    this.reader = new ByteReader(Buffer.alloc(0), 0, 0, 0, this.source, this.maxRecordBytes);
    this.contents = new RdbContents(options);
    this.strict = options.strict === true;
    this.reader.strict = this.strict;
    this.reader.onWarning = (warning) => this.contents.warn(warning);
  }

  /** keys read so far (a cheap progress counter: no onRecord needed) */
  get keysRead(): number {
    return this.contents.keysRead;
  }

  /** true once the EOF opcode (and checksum) have been read */
  get finished(): boolean {
    return this.state === State.Done;
  }

  /** bytes accepted so far */
  get position(): number {
    return this.base + this.pendingBytes;
  }

  /** bytes of the value read element by element kept for its record (rawValues 'all') */
  private get piecesBytes(): number {
    return this.contents.pieces?.bytes ?? 0;
  }

  /** bytes of earlier writes the parser keeps now (the unfinished item or element and what follows; a value's pieces) */
  get bufferedBytes(): number {
    return this.pendingBytes + this.piecesBytes;
  }

  /** the most bytes of earlier writes the parser has kept at once between two write() calls */
  get maxBufferedBytes(): number {
    return this.maxPending;
  }

  /**
   * Feeds the next bytes. The parser takes the chunk over (records' key and value are views into it,
   * and an unfinished item stays a view until it completes): do not modify a chunk once written.
   * Throws RdbFormatError at the first anomaly; every later call throws it again.
   *
   * With `transient`, the caller may reuse the chunk's memory as soon as write() returns (a read
   * buffer that is filled again): the parser copies what it keeps of it, which is the unfinished
   * item (usually a few KiB). Records and callbacks then see views that are valid only during the
   * callback.
   */
  write(chunk: Buffer, transient = false): void {
    this.writeChunk(chunk);
    if (transient) this.contents.pieces?.copyViewsOf(chunk.buffer);
    if (transient && this.pendingBytes > 0) {
      // only the last two entries can be views of this chunk: the chunk itself when it was only
      // queued (earlier entries were copied by earlier calls), or what run() kept of it (at most two)
      const memory = chunk.buffer;
      const pending = this.pending;
      for (let i = Math.max(0, pending.length - 2); i < pending.length; i++) if (pending[i]!.buffer === memory) pending[i] = Buffer.from(pending[i]!);
    }
  }

  private writeChunk(chunk: Buffer): void {
    if (this.state === State.Failed) throw this.error;
    if (chunk.length === 0) return;
    if (this.state === State.Done) {
      if (!this.strict) {
        this.trailing += chunk.length;
        return;
      }
      this.failWith(
        new RdbFormatError(`${chunk.length}+ bytes follow the end of the RDB (its checksum ends at byte ${this.totalBytes})`, {
          source: this.source,
          offset: this.totalBytes,
        }),
      );
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.retryAt) this.checkLimit();
    else {
      this.run(false);
      // a value kept in pieces grows while it is read: checked once the run is over
      if (this.piecesBytes > 0) this.checkLimit();
    }
    const kept = this.pendingBytes + this.piecesBytes;
    if (kept > this.maxPending) this.maxPending = kept;
  }

  /** Fails when the parser keeps more than maxRecordBytes: of the record read in pieces, or of the unfinished item. */
  private checkLimit(): void {
    if (this.pendingBytes + this.piecesBytes <= this.maxRecordBytes) return;
    const c = this.contents.cursor;
    const [what, place] = this.piecesBytes > 0 ? ['record', { offset: c.offset, key: c.key }] : ['item', { offset: this.base }];
    const message = `the ${what} starting here is larger than the ${this.maxRecordBytes}-byte limit (maxRecordBytes)`;
    this.failWith(new RdbFormatError(message, { source: this.source, ...place }));
  }

  /** Declares the input complete: throws RdbFormatError if it is truncated, otherwise the summary. */
  end(): RdbSummary {
    if (this.state === State.Failed) throw this.error;
    if (this.state !== State.Done) this.run(true);
    if (this.trailing > 0 && !this.endWarned) {
      this.endWarned = true;
      const at = this.totalBytes;
      this.contents.warn({
        code: 'trailing-bytes',
        offset: at,
        message: new RdbFormatError(
          `${this.trailing} bytes follow the end of the RDB (its checksum ends at byte ${at}); Redis and Valkey load the file and ignore them (an AOF's RDB preamble is followed by its commands); an error with strict`,
          { source: this.source, offset: at },
        ).message,
      });
    }
    return this.summary();
  }

  /** bytes after the end of the RDB (0 with strict, which refuses them) */
  get trailingBytes(): number {
    return this.trailing;
  }

  summary(): RdbSummary {
    const computed = crc64Hex(this.crc);
    const stored = this.storedChecksum;
    const disabled = stored === '' || /^0+$/.test(stored);
    return this.contents.summary(
      this.totalBytes,
      { stored, computed, verified: this.state === State.Done && !disabled && stored === computed, disabled },
      this.trailing,
    );
  }

  private failWith(error: unknown): never {
    this.state = State.Failed;
    this.error = error;
    this.pending = [];
    this.pendingBytes = 0;
    this.contents.pieces?.drop();
    throw error;
  }

  /**
   * Parses the pending bytes. When a small unfinished item is followed by a large chunk, the item is
   * finished in a small "bridge" buffer (the item's bytes and the chunk's first bytes) and parsing
   * then moves into the chunk itself, so large chunks are never copied.
   */
  private run(final: boolean, bridging = true): void {
    let taken: ReturnType<RdbStreamParser['takePending']>;
    try {
      taken = this.takePending(bridging);
    } catch (error) {
      this.failWith(joinRefused(error, this.pendingBytes, { source: this.source, offset: this.base }));
    }
    const head = taken.head;
    let { buf, tail } = taken;
    const r = this.reader;
    r.reset(buf, 0, buf.length, this.base);
    if (this.contents.pieces) this.contents.pieces.from = 0;
    let committed = 0;
    let crcDone = 0;
    try {
      while (this.state !== State.Done) {
        committed = r.pos;
        this.contents.itemStart = committed;
        if (tail && committed >= head) {
          // the bridged item is done: continue inside the chunk itself
          crc64Update(this.crc, buf, crcDone, committed);
          if (this.contents.open) this.contents.pieces?.keep(buf, committed, committed - head);
          this.base += head;
          committed -= head;
          crcDone = committed;
          buf = tail;
          tail = undefined;
          r.reset(buf, committed, buf.length, this.base);
          this.contents.itemStart = committed;
        }
        if (this.state === State.Body) {
          if (this.contents.readItems(r, tail ? head : final ? Infinity : buf.length)) {
            // the EOF opcode: the checksum covers everything through it
            crc64Update(this.crc, buf, crcDone, r.pos);
            crcDone = r.pos;
            this.state = this.contents.version >= 5 ? State.Checksum : State.Done;
            if (this.state === State.Done) this.totalBytes = this.base + r.pos;
          } else if (!tail) r.more(1);
        } else {
          if (committed === buf.length && !final) r.more(1);
          if (this.state === State.Header) {
            this.contents.header(r, this.source);
            this.state = State.Body;
          } else this.checksum(r);
        }
      }
      this.ended(buf, tail, head, r);
    } catch (error) {
      if (error === NEED_MORE) {
        committed = this.contents.itemStart;
        crc64Update(this.crc, buf, crcDone, committed);
        if (this.contents.open) this.contents.pieces?.keep(buf, committed);
        if (tail) this.rebridge(buf, tail, head, committed, final);
        else this.keepRest(buf, committed, r, final);
        return;
      }
      if (this.state === State.Failed) throw error;
      this.failWith(toCallerError(error, { source: this.source, offset: r.base + r.pos, key: r.currentKey() }));
    }
  }

  /**
   * The pending bytes as one buffer to parse. With `bridging`, a large last chunk after a small
   * unfinished item is cut: `buf` holds the item and the chunk's first bytes, `tail` the whole chunk,
   * and `head` is where the chunk starts in `buf`.
   */
  private takePending(bridging: boolean): { buf: Buffer; tail: Buffer | undefined; head: number } {
    const pending = adjacentJoined(this.pending);
    const last = pending[pending.length - 1] ?? EMPTY;
    const head = this.pendingBytes - last.length;
    let tail: Buffer | undefined;
    let buf: Buffer;
    if (bridging && pending.length > 1 && last.length >= BRIDGE_MIN + 2 * head) {
      const prefix = Math.max(BRIDGE_MIN, 2 * head, this.needHint);
      if (prefix < last.length) {
        tail = last;
        pending[pending.length - 1] = last.subarray(0, prefix);
        buf = Buffer.concat(pending, head + prefix);
      } else buf = Buffer.concat(pending, this.pendingBytes);
    } else buf = pending.length === 1 ? last : Buffer.concat(pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return { buf, tail, head };
  }

  /** The RDB ended at the reader's position: bytes after it are trailing (counted, or damage when strict). */
  private ended(buf: Buffer, tail: Buffer | undefined, head: number, r: ByteReader): void {
    const committed = r.pos;
    if (tail) {
      // the RDB ended inside the bridge; whatever follows in the chunk is trailing garbage
      this.base += committed;
      if (!this.strict) {
        this.trailing += head + tail.length - committed;
        return;
      }
      this.failWith(
        new RdbFormatError(`${head + tail.length - committed} bytes follow the end of the RDB (its checksum ends at byte ${this.base})`, {
          source: this.source,
          offset: this.base,
        }),
      );
    }
    if (committed < buf.length && !this.strict) this.trailing += buf.length - committed;
    else if (committed < buf.length) {
      r.fail(`${buf.length - committed} bytes follow the end of the RDB (its checksum ends at byte ${this.base + committed})`, committed);
    }
    this.base += committed;
  }

  /** The item at `committed` is longer than the bridge: start again from it, copying the chunk this time. */
  private rebridge(buf: Buffer, tail: Buffer, head: number, committed: number, final: boolean): void {
    this.base += committed;
    if (committed < head) {
      this.pending = [buf.subarray(committed, head), tail];
      this.pendingBytes = head - committed + tail.length;
    } else {
      this.pending = [tail.subarray(committed - head)];
      this.pendingBytes = tail.length - (committed - head);
    }
    this.run(final, false);
  }

  private keepRest(buf: Buffer, committed: number, r: ByteReader, final: boolean): void {
    const restLength = buf.length - committed;
    const key = r.currentKey();
    this.partialKey = key ? Buffer.from(key) : undefined;
    const need = r.needEnd - committed;
    this.base += committed;
    if (final) {
      const where = this.state === State.Header ? 'header' : this.state === State.Checksum ? 'checksum' : 'body';
      const open = this.contents.open ? this.contents.cursor.offset : undefined;
      this.failWith(truncatedError({ where, source: this.source, base: this.base, restLength, need, key: this.partialKey, openRecordAt: open }));
    }
    // a view, not a copy: write() takes over the chunks it is given
    if (restLength > 0) this.pending = [buf.subarray(committed)];
    this.pendingBytes = restLength;
    // retry once the bytes have doubled, or reached what the item needs or (within reason) is projected to need
    const guess = Math.min(r.guessEnd - committed, 8 * restLength);
    this.retryAt = Math.max(2 * restLength, need, guess, restLength + 1);
    const contents = this.contents;
    if (contents.retryItem === this.base) {
      // a value that is read element by element once it is long enough: try again by then
      const cap = Math.max(contents.retryBytes, restLength + 1);
      if (cap < this.retryAt) this.retryAt = cap;
    }
    contents.retryItem = -1;
    // inside a value read element by element, gather a few KiB first: one retry for many elements
    if (contents.open && this.retryAt < restLength + OPEN_RETRY_STEP && restLength + OPEN_RETRY_STEP <= this.maxRecordBytes) {
      this.retryAt = restLength + OPEN_RETRY_STEP;
    }
    this.needHint = need;
    if (this.retryAt > this.maxRecordBytes && need > this.maxRecordBytes) {
      this.failWith(
        new RdbFormatError(`the item starting here needs ${need} bytes, more than the ${this.maxRecordBytes}-byte limit (maxRecordBytes)`, {
          source: this.source,
          offset: this.base,
          key: this.partialKey,
        }),
      );
    }
  }

  private checksum(r: ByteReader): void {
    const at = r.pos;
    r.need(8);
    const stored = r.buf.readBigUInt64LE(at).toString(16).padStart(16, '0');
    this.storedChecksum = stored;
    const computed = crc64Hex(this.crc);
    if (stored !== '0000000000000000' && stored !== computed) {
      r.fail(`checksum mismatch: the file stores CRC-64 ${stored} but its bytes give ${computed}`, at);
    }
    r.pos = at + 8;
    this.totalBytes = this.base + r.pos;
    this.state = State.Done;
  }
}
