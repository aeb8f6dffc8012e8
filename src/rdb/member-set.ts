/**
 * The members of one large set, sorted set or hash read element by element (incremental.ts): a
 * 64-bit fingerprint each (fingerprints.ts; WebAssembly in fingerprint-table.ts), inserted in
 * batches, and the first member seen twice, reported once the value has ended.
 */
import { show } from './collections.js';
import { wasmFingerprints } from './fingerprint-table.js';
import { FINGERPRINT_BATCH, Fingerprints, type MemberFingerprints } from './fingerprints.js';
import { STR_INT, STR_RAW, type ByteReader } from './reader.js';

export class MemberSet {
  private readonly seen: MemberFingerprints = wasmFingerprints() ?? new Fingerprints();
  /** where each member queued in `seen` starts (positions in the reader's buffer, see flush) */
  private readonly queuedAt = new Int32Array(FINGERPRINT_BATCH);
  /** the first member seen twice: absolute offset and text (-1: none) */
  private dupAt = -1;
  private dupText = '';

  /** a new value of `n` members */
  reset(n: number): void {
    this.seen.reset(n);
  }

  /** forgets the duplicate of the previous value */
  forget(): void {
    this.dupAt = -1;
    this.dupText = '';
  }

  /**
   * Queues the member last read by r.str() (a sorted set's score may have been read since; it leaves
   * the member's place alone). After the first duplicate, members are no longer recorded.
   */
  insert(r: ByteReader): void {
    if (this.dupAt >= 0) return;
    const seen = this.seen;
    this.queuedAt[seen.queued] = r.sAt;
    let full: boolean;
    if (r.sEnc === STR_RAW) full = seen.queueRange(r.buf, r.sStart, r.sEnd);
    else if (r.sEnc === STR_INT) full = seen.queueInteger(r.sInt);
    else {
      const b = r.lastBufTransient();
      full = seen.queueCopy(b, 0, b.length);
    }
    if (full) this.insertQueued(r);
  }

  /** inserts what is queued: the queue holds positions in r.buf, which the parser replaces between calls */
  flush(r: ByteReader): void {
    if (this.seen.queued > 0) this.insertQueued(r);
  }

  /** fails with `what` and the member seen twice, if there was one */
  noDuplicates(r: ByteReader, what: string): void {
    this.flush(r);
    if (this.dupAt >= 0) r.fail(`${what} ${show(this.dupText)} twice`, this.dupAt - r.base);
  }

  /** inserts the queued members; remembers the first one seen twice (read again for its text) */
  private insertQueued(r: ByteReader): void {
    const i = this.seen.flush();
    if (i < 0 || this.dupAt >= 0) return;
    const at = this.queuedAt[i]!;
    const pos = r.pos;
    r.pos = at;
    r.str();
    this.dupText = r.lastKey();
    r.pos = pos;
    this.dupAt = r.base + at;
  }
}
