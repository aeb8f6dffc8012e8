/**
 * The duplicate check of fingerprints.ts in WebAssembly (a faster hash: docs/benchmarks.md): the
 * members of a batch are copied into the module's memory (one copy of the span of the reader's
 * buffer they lie in, plus the few that live elsewhere), and one call hashes each (MurmurHash64A, 8
 * bytes at a time) and inserts it into an open-addressing table of 64-bit fingerprints in the same
 * memory. The behaviour is that of the JS Fingerprints class (same queue and flush contract, same
 * sizing, same collision odds); the hash differs, which does not matter as one process uses one of
 * the two.
 *
 * Memory: the batch's entries (address, length) at ENTRIES_AT, the table from TABLE_AT, then the
 * batch's bytes. The memory grows with the largest collection and its largest batch; it never shrinks.
 */
import { FINGERPRINT_BATCH, tableLimit, tableSlots, type MemberFingerprints } from './fingerprints.js';
import { I32, I64, op, wasmModule } from './wasm-asm.js';

const ENTRIES_AT = 64;
const TABLE_AT = 1024;
const PAGE = 65536;
/** MurmurHash64A's multiplier */
const M = 0xc6a4a7935bd1e995n;
/**
 * A batch's ranges are copied as one span of the buffer (members and what lies between them: a
 * hash's values) up to this size; a range that would stretch it further is copied on its own, so
 * the memory grows with the largest member, not with the values between members.
 */
const SPAN_MAX = 256 << 10;

interface TableWasm {
  memory: WebAssembly.Memory;
  /** hashes and inserts `count` entries; the index of the first already there, or -1 */
  insert(entries: number, count: number, table: number, slots: number): number;
  /** re-inserts every fingerprint of one table into another (empty) one */
  rehash(from: number, fromSlots: number, to: number, toSlots: number): void;
}

function tableModule(): Uint8Array<ArrayBuffer> {
  const { get, set, tee, i32, i64, load32, load64, store64, block, loop, end, br, brIf } = op;
  /** the slot of fingerprint `h` (a local) in a table of `slots` (a local): multiplicative range reduction */
  const slotOf = (h: number, slots: number) => [
    ...get(h),
    ...i64(32),
    ...op.i64ShrU,
    ...get(slots),
    ...op.extendU,
    ...op.i64Mul,
    ...i64(32),
    ...op.i64ShrU,
    ...op.wrap,
  ];
  const address = (table: number, slot: number) => [...get(table), ...get(slot), ...i32(3), ...op.i32Shl, ...op.i32Add];
  /** slot = slot + 1, wrapping at slots */
  const nextSlot = (slot: number, slots: number) => [
    ...get(slot),
    ...i32(1),
    ...op.i32Add,
    ...tee(slot),
    ...get(slots),
    ...op.i32Eq,
    ...op.if,
    ...i32(0),
    ...set(slot),
    ...end,
  ];

  // insert: params 0 entries, 1 count, 2 table, 3 slots; locals 4 i, 5 p, 6 len, 7 end, 8 h (i64),
  // 9 k (i64), 10 slot, 11 v (i64), 12 rest
  const insert = [
    ...block,
    ...loop,
    ...get(4),
    ...get(1),
    ...op.i32GeU,
    ...brIf(1),
    ...address(0, 4),
    ...load32(0),
    ...set(5),
    ...address(0, 4),
    ...load32(4),
    ...set(6),
    // MurmurHash64A, seed 0
    ...get(6),
    ...op.extendU,
    ...i64(M),
    ...op.i64Mul,
    ...set(8),
    ...get(5),
    ...get(6),
    ...i32(-8),
    ...op.i32And,
    ...op.i32Add,
    ...set(7),
    ...block,
    ...loop,
    ...get(5),
    ...get(7),
    ...op.i32GeU,
    ...brIf(1),
    ...get(5),
    ...load64(0),
    ...i64(M),
    ...op.i64Mul,
    ...tee(9),
    ...get(9),
    ...i64(47),
    ...op.i64ShrU,
    ...op.i64Xor,
    ...i64(M),
    ...op.i64Mul,
    ...get(8),
    ...op.i64Xor,
    ...i64(M),
    ...op.i64Mul,
    ...set(8),
    ...get(5),
    ...i32(8),
    ...op.i32Add,
    ...set(5),
    ...br(0),
    ...end,
    ...end,
    // the last 1-7 bytes: a whole word read, the bytes past the member masked off
    ...get(6),
    ...i32(7),
    ...op.i32And,
    ...tee(12),
    ...op.if,
    ...get(8),
    ...get(5),
    ...load64(0),
    ...i64(1),
    ...get(12),
    ...i32(3),
    ...op.i32Shl,
    ...op.extendU,
    ...op.i64Shl,
    ...i64(1),
    ...op.i64Sub,
    ...op.i64And,
    ...op.i64Xor,
    ...i64(M),
    ...op.i64Mul,
    ...set(8),
    ...end,
    ...get(8),
    ...get(8),
    ...i64(47),
    ...op.i64ShrU,
    ...op.i64Xor,
    ...i64(M),
    ...op.i64Mul,
    ...tee(8),
    ...get(8),
    ...i64(47),
    ...op.i64ShrU,
    ...op.i64Xor,
    ...tee(8),
    // 0 marks an empty slot: a fingerprint of 0 becomes 1
    ...get(8),
    ...op.i64Eqz,
    ...op.extendU,
    ...op.i64Or,
    ...set(8),
    ...slotOf(8, 3),
    ...set(10),
    ...block,
    ...loop,
    ...address(2, 10),
    ...load64(0),
    ...tee(11),
    ...op.i64Eqz,
    ...op.if,
    ...address(2, 10),
    ...get(8),
    ...store64(0),
    ...br(2),
    ...end,
    ...get(11),
    ...get(8),
    ...op.i64Eq,
    ...op.if,
    ...get(4),
    ...op.return,
    ...end,
    ...nextSlot(10, 3),
    ...br(0),
    ...end,
    ...end,
    ...get(4),
    ...i32(1),
    ...op.i32Add,
    ...set(4),
    ...br(0),
    ...end,
    ...end,
    ...i32(-1),
  ];
  // rehash: params 0 from, 1 fromSlots, 2 to, 3 toSlots; locals 4 j, 5 v (i64), 6 slot
  const rehash = [
    ...block,
    ...loop,
    ...get(4),
    ...get(1),
    ...op.i32GeU,
    ...brIf(1),
    ...address(0, 4),
    ...load64(0),
    ...tee(5),
    ...op.i64Eqz,
    ...op.i32Eqz,
    ...op.if,
    ...slotOf(5, 3),
    ...set(6),
    ...block,
    ...loop,
    ...address(2, 6),
    ...load64(0),
    ...op.i64Eqz,
    ...op.if,
    ...address(2, 6),
    ...get(5),
    ...store64(0),
    ...br(2),
    ...end,
    ...nextSlot(6, 3),
    ...br(0),
    ...end,
    ...end,
    ...end,
    ...get(4),
    ...i32(1),
    ...op.i32Add,
    ...set(4),
    ...br(0),
    ...end,
    ...end,
  ];
  return wasmModule(1, [
    { name: 'insert', params: [I32, I32, I32, I32], results: [I32], locals: [I32, I32, I32, I32, I64, I64, I32, I64, I32], body: insert },
    { name: 'rehash', params: [I32, I32, I32, I32], results: [], locals: [I32, I64, I32], body: rehash },
  ]);
}

/** compiled once; each table is an instance of its own (with its own memory) */
let compiled: WebAssembly.Module | undefined;

function instantiate(): TableWasm | undefined {
  try {
    compiled ??= new WebAssembly.Module(tableModule());
    const exports = new WebAssembly.Instance(compiled).exports;
    return {
      memory: exports.m as WebAssembly.Memory,
      insert: exports.insert as TableWasm['insert'],
      rehash: exports.rehash as TableWasm['rehash'],
    };
  } catch {
    return undefined;
  }
}

let unavailable = false;

/**
 * A WebAssembly fingerprint table (a module instance of its own: each table has its own memory), or
 * undefined where WebAssembly is unavailable (node --jitless) or does not behave.
 */
export function wasmFingerprints(): MemberFingerprints | undefined {
  if (unavailable) return undefined;
  const w = instantiate();
  const table = w && new WasmFingerprints(w);
  if (table && selfCheck(table)) return table;
  unavailable = true;
  return undefined;
}

/** members a, b, 12 (as an integer), then a copy of "12" and b again: the first repeat is the 4th */
function selfCheck(table: WasmFingerprints): boolean {
  const bytes = Buffer.from('a-member-of-some-length|b|12');
  table.reset(10);
  table.queueRange(bytes, 0, 23);
  table.queueRange(bytes, 24, 25);
  table.queueInteger(12);
  table.queueCopy(bytes, 26, 28);
  table.queueRange(bytes, 24, 25);
  const ok = table.flush() === 3 && table.size === 3;
  table.reset(0);
  return ok;
}

class WasmFingerprints implements MemberFingerprints {
  queued = 0;
  size = 0;
  private slots = 0;
  private limit = 0;
  private view: Uint8Array;
  private entries: Int32Array;
  /** per queued member: its start in `buf` (>= 0), or -(its offset in the arena + 1) */
  private readonly starts = new Int32Array(FINGERPRINT_BATCH);
  private readonly lengths = new Int32Array(FINGERPRINT_BATCH);
  /** the buffer the queued ranges lie in, and their span */
  private buf: Uint8Array | undefined;
  private spanStart = 0;
  private spanEnd = 0;
  /** copies of queued members that do not lie in `buf` */
  private arena = Buffer.allocUnsafe(4096);
  private arenaUsed = 0;
  private readonly digits = Buffer.allocUnsafe(24);

  constructor(private readonly w: TableWasm) {
    this.view = new Uint8Array(w.memory.buffer);
    this.entries = new Int32Array(w.memory.buffer, ENTRIES_AT, 2 * FINGERPRINT_BATCH);
    this.reset(0);
  }

  reset(count: number): void {
    const slots = tableSlots(count);
    this.ensure(TABLE_AT + 8 * slots);
    this.view.fill(0, TABLE_AT, TABLE_AT + 8 * slots);
    this.slots = slots;
    this.limit = tableLimit(slots);
    this.size = 0;
    this.queued = 0;
    this.arenaUsed = 0;
    this.buf = undefined;
  }

  queueRange(buf: Uint8Array, start: number, end: number): boolean {
    if (this.buf !== buf) {
      if (this.buf) throw new Error('fingerprints: ranges of two buffers in one batch (flush before the buffer changes)');
      if (end - start > SPAN_MAX) return this.queueCopy(buf, start, end);
      this.buf = buf;
      this.spanStart = start;
      this.spanEnd = end;
    } else {
      const from = Math.min(start, this.spanStart);
      const to = Math.max(end, this.spanEnd);
      if (to - from > SPAN_MAX) return this.queueCopy(buf, start, end);
      this.spanStart = from;
      this.spanEnd = to;
    }
    const i = this.queued++;
    this.starts[i] = start;
    this.lengths[i] = end - start;
    return this.queued === FINGERPRINT_BATCH;
  }

  queueCopy(bytes: Uint8Array, start: number, end: number): boolean {
    const n = end - start;
    if (this.arenaUsed + n > this.arena.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.arena.length, this.arenaUsed + n));
      this.arena.copy(grown, 0, 0, this.arenaUsed);
      this.arena = grown;
    }
    this.arena.set(bytes.subarray(start, end), this.arenaUsed);
    const i = this.queued++;
    this.starts[i] = -(this.arenaUsed + 1);
    this.lengths[i] = n;
    this.arenaUsed += n;
    return this.queued === FINGERPRINT_BATCH;
  }

  queueInteger(value: number | bigint): boolean {
    const n = this.digits.write(String(value), 0, 'latin1');
    return this.queueCopy(this.digits, 0, n);
  }

  flush(): number {
    const n = this.queued;
    if (n === 0) return -1;
    while (this.size + n > this.limit) this.grow();
    const raw = this.buf && this.spanEnd > this.spanStart ? this.spanEnd - this.spanStart : 0;
    const dataAt = TABLE_AT + 8 * this.slots;
    // 8 bytes of slack: the hash reads a member's last partial word whole
    this.ensure(dataAt + raw + this.arenaUsed + 8);
    const view = this.view;
    if (raw > 0) view.set(this.buf!.subarray(this.spanStart, this.spanEnd), dataAt);
    if (this.arenaUsed > 0) view.set(this.arena.subarray(0, this.arenaUsed), dataAt + raw);
    const entries = this.entries;
    const rawBase = dataAt - this.spanStart;
    const arenaBase = dataAt + raw - 1;
    for (let i = 0; i < n; i++) {
      const start = this.starts[i]!;
      entries[2 * i] = start >= 0 ? rawBase + start : arenaBase - start;
      entries[2 * i + 1] = this.lengths[i]!;
    }
    const at = this.w.insert(ENTRIES_AT, n, TABLE_AT, this.slots);
    this.size += at < 0 ? n : at;
    this.queued = 0;
    this.arenaUsed = 0;
    this.buf = undefined;
    return at;
  }

  private grow(): void {
    const slots = 2 * this.slots;
    const from = TABLE_AT;
    const to = TABLE_AT + 8 * this.slots;
    this.ensure(to + 8 * slots);
    this.view.fill(0, to, to + 8 * slots);
    this.w.rehash(from, this.slots, to, slots);
    this.view.copyWithin(TABLE_AT, to, to + 8 * slots);
    this.slots = slots;
    this.limit = tableLimit(slots);
  }

  /** grows the memory to at least `bytes` */
  private ensure(bytes: number): void {
    const have = this.w.memory.buffer.byteLength;
    if (bytes <= have) return;
    this.w.memory.grow(Math.ceil((bytes - have) / PAGE));
    this.view = new Uint8Array(this.w.memory.buffer);
    this.entries = new Int32Array(this.w.memory.buffer, ENTRIES_AT, 2 * FINGERPRINT_BATCH);
  }
}
