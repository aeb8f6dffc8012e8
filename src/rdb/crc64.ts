/**
 * CRC-64/Jones as Redis computes it (crc64.c): polynomial 0xad93d23594c935a9, reflected input and
 * output, initial value 0, no final xor. CRC("123456789") = 0xe9c6d914c4b8d9ca.
 *
 * The state is two signed 32-bit halves, so the hot loop stays in small integers (no BigInt). Bulk
 * data goes through slicing-by-16: 16 tables of 256 entries, each entry the CRC contribution of one
 * byte followed by k zero bytes; one step folds 16 input bytes with 32 table loads. Words are read
 * through an Int32Array view aligned on the underlying ArrayBuffer (little-endian hosts), bytes
 * before the first aligned word and after the last full block one at a time.
 */
import { endianness } from 'node:os';
import { I32, I64, op, wasmModule } from './wasm-asm.js';

export interface Crc64State {
  lo: number;
  hi: number;
}

const SLICES = 16;
/** TABLE[(k * 256 + byte) * 2] = low half, + 1 = high half, for the byte followed by k zero bytes */
const TABLE = buildTables();
const LITTLE_ENDIAN = endianness() === 'LE';

function buildTables(): Int32Array {
  // the reflected polynomial, 0x95ac9329ac4bc9b5
  let poly = 0xad93d23594c935a9n;
  let reflected = 0n;
  for (let i = 0; i < 64; i++) {
    reflected = (reflected << 1n) | (poly & 1n);
    poly >>= 1n;
  }
  const polyLo = Number(reflected & 0xffffffffn) | 0;
  const polyHi = Number(reflected >> 32n) | 0;
  const t = new Int32Array(SLICES * 256 * 2);
  for (let n = 0; n < 256; n++) {
    let lo = n;
    let hi = 0;
    for (let bit = 0; bit < 8; bit++) {
      const carry = lo & 1;
      lo = (lo >>> 1) | (hi << 31);
      hi = hi >>> 1;
      if (carry) {
        lo ^= polyLo;
        hi ^= polyHi;
      }
    }
    t[n * 2] = lo | 0;
    t[n * 2 + 1] = hi | 0;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let n = 0; n < 256; n++) {
      const prevLo = t[((k - 1) * 256 + n) * 2]!;
      const prevHi = t[((k - 1) * 256 + n) * 2 + 1]!;
      const idx = (prevLo & 0xff) * 2;
      t[(k * 256 + n) * 2] = (t[idx]! ^ ((prevLo >>> 8) | (prevHi << 24))) | 0;
      t[(k * 256 + n) * 2 + 1] = (t[idx + 1]! ^ (prevHi >>> 8)) | 0;
    }
  }
  return t;
}

export function crc64Init(): Crc64State {
  return { lo: 0, hi: 0 };
}

/** Folds `buf[start, end)` into `state` (mutated and returned). */
export function crc64Update(state: Crc64State, buf: Uint8Array, start = 0, end = buf.length): Crc64State {
  if (end - start >= WASM_MIN && WASM) return wasmUpdate(WASM, state, buf, start, end);
  return jsUpdate(state, buf, start, end);
}

function jsUpdate(state: Crc64State, buf: Uint8Array, start: number, end: number): Crc64State {
  const t = TABLE;
  let lo = state.lo | 0;
  let hi = state.hi | 0;
  let i = start;
  if (end - i >= 64 && LITTLE_ENDIAN) {
    // bytes until the absolute address is 4-aligned
    while (((buf.byteOffset + i) & 3) !== 0) {
      const idx = ((lo ^ buf[i]!) & 0xff) << 1;
      lo = t[idx]! ^ ((lo >>> 8) | (hi << 24));
      hi = t[idx + 1]! ^ (hi >>> 8);
      i++;
    }
    const blocks = (end - i) >>> 4;
    const words = new Int32Array(buf.buffer, buf.byteOffset + i, blocks * 4);
    const n = words.length;
    for (let w = 0; w < n; w += 4) {
      const a = lo ^ words[w]!;
      const b = hi ^ words[w + 1]!;
      const c = words[w + 2]!;
      const d = words[w + 3]!;
      const i15 = 7680 + ((a & 0xff) << 1);
      const i14 = 7168 + ((a >>> 7) & 510);
      const i13 = 6656 + ((a >>> 15) & 510);
      const i12 = 6144 + ((a >>> 23) & 510);
      const i11 = 5632 + ((b & 0xff) << 1);
      const i10 = 5120 + ((b >>> 7) & 510);
      const i9 = 4608 + ((b >>> 15) & 510);
      const i8 = 4096 + ((b >>> 23) & 510);
      const i7 = 3584 + ((c & 0xff) << 1);
      const i6 = 3072 + ((c >>> 7) & 510);
      const i5 = 2560 + ((c >>> 15) & 510);
      const i4 = 2048 + ((c >>> 23) & 510);
      const i3 = 1536 + ((d & 0xff) << 1);
      const i2 = 1024 + ((d >>> 7) & 510);
      const i1 = 512 + ((d >>> 15) & 510);
      const i0 = (d >>> 23) & 510;
      lo = t[i15]! ^ t[i14]! ^ t[i13]! ^ t[i12]! ^ t[i11]! ^ t[i10]! ^ t[i9]! ^ t[i8]! ^ t[i7]! ^ t[i6]! ^ t[i5]! ^ t[i4]! ^ t[i3]! ^ t[i2]! ^ t[i1]! ^ t[i0]!;
      hi =
        t[i15 + 1]! ^
        t[i14 + 1]! ^
        t[i13 + 1]! ^
        t[i12 + 1]! ^
        t[i11 + 1]! ^
        t[i10 + 1]! ^
        t[i9 + 1]! ^
        t[i8 + 1]! ^
        t[i7 + 1]! ^
        t[i6 + 1]! ^
        t[i5 + 1]! ^
        t[i4 + 1]! ^
        t[i3 + 1]! ^
        t[i2 + 1]! ^
        t[i1 + 1]! ^
        t[i0 + 1]!;
    }
    i += n * 4;
  }
  for (; i < end; i++) {
    const idx = ((lo ^ buf[i]!) & 0xff) << 1;
    lo = t[idx]! ^ ((lo >>> 8) | (hi << 24));
    hi = t[idx + 1]! ^ (hi >>> 8);
  }
  state.lo = lo;
  state.hi = hi;
  return state;
}

export function crc64Digest(state: Crc64State): bigint {
  return (BigInt(state.hi >>> 0) << 32n) | BigInt(state.lo >>> 0);
}

/** 16 lowercase hex digits, most significant first (as `redis-check-rdb` thinks of the value). */
export function crc64Hex(state: Crc64State): string {
  return (state.hi >>> 0).toString(16).padStart(8, '0') + (state.lo >>> 0).toString(16).padStart(8, '0');
}

/** CRC-64 of a whole buffer. */
export function crc64(buf: Uint8Array): bigint {
  return crc64Digest(crc64Update(crc64Init(), buf));
}

/** The 8 little-endian bytes Redis stores after the EOF opcode (and after a DUMP payload). */
export function crc64Bytes(state: Crc64State): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeInt32LE(state.lo | 0, 0);
  out.writeInt32LE(state.hi | 0, 4);
  return out;
}

/*
 * The WebAssembly version of the slicing-by-16 loop. Memory: the state (8 bytes) at 0, the 16 tables
 * (i64 little-endian, the same bytes as TABLE) from 64, input copied to DATA in blocks of DATA_SIZE.
 * update(ptr, len) folds memory[ptr, ptr + len) into the state.
 */
// below this the call and the copy cost more than the loop saves (measured on 32-511 byte inputs:
// the JS loop 85-380 MB/s, WebAssembly 180-830 MB/s from 32 bytes up); DUMP payloads of small values
// are most of a merge's CRC work
const WASM_MIN = 32;
const TABLES_AT = 64;
const DATA = 65536;
const DATA_SIZE = 1 << 20;

interface CrcWasm {
  memory: Uint8Array;
  state: Int32Array;
  update(ptr: number, len: number): void;
}

const WASM: CrcWasm | undefined = LITTLE_ENDIAN ? instantiate() : undefined;

function wasmUpdate(w: CrcWasm, state: Crc64State, buf: Uint8Array, start: number, end: number): Crc64State {
  w.state[0] = state.lo;
  w.state[1] = state.hi;
  for (let i = start; i < end; i += DATA_SIZE) {
    const n = Math.min(DATA_SIZE, end - i);
    // a whole small buffer is copied as it is: a subarray would be one more object per call
    w.memory.set(i === 0 && n === buf.length ? buf : buf.subarray(i, i + n), DATA);
    w.update(DATA, n);
  }
  state.lo = w.state[0]!;
  state.hi = w.state[1]!;
  return state;
}

function instantiate(): CrcWasm | undefined {
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(crcModule()));
    const memory = new Uint8Array((instance.exports.m as WebAssembly.Memory).buffer);
    memory.set(new Uint8Array(TABLE.buffer, TABLE.byteOffset, TABLE.byteLength), TABLES_AT);
    const w: CrcWasm = { memory, state: new Int32Array(memory.buffer, 0, 2), update: instance.exports.u as (p: number, l: number) => void };
    // self-check against the JS loop before trusting it
    const probe = Buffer.from('123456789'.repeat(100));
    const a = wasmUpdate(w, crc64Init(), probe, 0, probe.length);
    const b = jsUpdate(crc64Init(), probe, 0, probe.length);
    return a.lo === b.lo && a.hi === b.hi ? w : undefined;
  } catch {
    return undefined;
  }
}

/** the module's bytes: (func (param ptr i32) (param len i32)), memory "m", export "u" */
function crcModule(): Uint8Array<ArrayBuffer> {
  const { get, set, i32, i64, load64, load8, store64, block, loop, end, br, brIf } = op;
  // locals: 0 ptr, 1 len, 2 crc (i64), 3 end (i32), 4 a (i64), 5 b (i64)
  // table `t`, entry for byte k of local `x`
  const lookup = (x: number, k: number, t: number) => [
    ...get(x),
    ...(k ? [...i64(8 * k), ...op.i64ShrU] : []),
    ...op.wrap,
    ...i32(255),
    ...op.i32And,
    ...i32(3),
    ...op.i32Shl,
    ...load64(TABLES_AT + t * 2048),
  ];
  const fold: number[] = [];
  for (let k = 0; k < 8; k++) fold.push(...lookup(4, k, 15 - k), ...(k ? op.i64Xor : []));
  for (let k = 0; k < 8; k++) fold.push(...lookup(5, k, 7 - k), ...op.i64Xor);
  const body = [
    ...i32(0),
    ...load64(0),
    ...set(2),
    ...get(0),
    ...get(1),
    ...op.i32Add,
    ...set(3),
    // 16 bytes at a time
    ...block,
    ...loop,
    ...get(0),
    ...i32(16),
    ...op.i32Add,
    ...get(3),
    ...op.i32GtU,
    ...brIf(1),
    ...get(2),
    ...get(0),
    ...load64(0),
    ...op.i64Xor,
    ...set(4),
    ...get(0),
    ...load64(8),
    ...set(5),
    ...fold,
    ...set(2),
    ...get(0),
    ...i32(16),
    ...op.i32Add,
    ...set(0),
    ...br(0),
    ...end,
    ...end,
    // the rest a byte at a time
    ...block,
    ...loop,
    ...get(0),
    ...get(3),
    ...op.i32GeU,
    ...brIf(1),
    ...get(2),
    ...op.wrap,
    ...get(0),
    ...load8(0),
    ...op.i32Xor,
    ...i32(255),
    ...op.i32And,
    ...i32(3),
    ...op.i32Shl,
    ...load64(TABLES_AT),
    ...get(2),
    ...i64(8),
    ...op.i64ShrU,
    ...op.i64Xor,
    ...set(2),
    ...get(0),
    ...i32(1),
    ...op.i32Add,
    ...set(0),
    ...br(0),
    ...end,
    ...end,
    ...i32(0),
    ...get(2),
    ...store64(0),
  ];
  return wasmModule((DATA + DATA_SIZE) / 65536, [{ name: 'u', params: [I32, I32], results: [], locals: [I64, I32, I64, I64], body }]);
}

/** which implementation large updates use (for benchmarks and tests) */
export const crc64Implementation: 'wasm' | 'js' = WASM ? 'wasm' : 'js';

/** the JS loop alone (for tests and benchmarks) */
export function crc64UpdateJs(state: Crc64State, buf: Uint8Array, start = 0, end = buf.length): Crc64State {
  return jsUpdate(state, buf, start, end);
}
