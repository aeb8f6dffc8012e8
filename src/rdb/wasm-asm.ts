/**
 * Just enough of the WebAssembly binary format to write the few small functions the RDB reader runs
 * as WebAssembly (crc64.ts, fingerprint-table.ts) without a toolchain: LEB128 numbers, sections, the
 * opcodes they use, and a module of functions over one exported memory.
 */

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** signed LEB128 of a 32-bit integer, or of a 64-bit one given as a bigint */
export function sleb(value: number | bigint): number[] {
  let n = BigInt.asIntN(64, BigInt(value));
  const out: number[] = [];
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && !(b & 0x40)) || (n === -1n && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];

export const I32 = 0x7f;
export const I64 = 0x7e;

/** instructions, as byte arrays to spread into a body */
export const op = {
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  tee: (i: number) => [0x22, i],
  i32: (n: number) => [0x41, ...sleb(n)],
  i64: (n: number | bigint) => [0x42, ...sleb(n)],
  load32: (offset = 0) => [0x28, 2, ...uleb(offset)],
  load64: (offset = 0) => [0x29, 3, ...uleb(offset)],
  load8: (offset = 0) => [0x2d, 0, ...uleb(offset)],
  store64: (offset = 0) => [0x37, 3, ...uleb(offset)],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  return: [0x0f],
  i32Eqz: [0x45],
  i32Eq: [0x46],
  i32GtU: [0x4b],
  i32GeU: [0x4f],
  i64Eqz: [0x50],
  i64Eq: [0x51],
  i32Add: [0x6a],
  i32And: [0x71],
  i32Xor: [0x73],
  i32Shl: [0x74],
  i64Sub: [0x7d],
  i64Mul: [0x7e],
  i64And: [0x83],
  i64Or: [0x84],
  i64Xor: [0x85],
  i64Shl: [0x86],
  i64ShrU: [0x88],
  wrap: [0xa7],
  extendU: [0xad],
} as const;

export interface WasmFunction {
  params: number[];
  results: number[];
  /** locals after the parameters, in order */
  locals: number[];
  body: number[];
  /** exported under this name */
  name: string;
}

/** A module of `functions` over one memory of `pages` 64 KiB pages, exported as "m". */
export function wasmModule(pages: number, functions: WasmFunction[]): Uint8Array<ArrayBuffer> {
  const types = functions.map((f) => [0x60, ...uleb(f.params.length), ...f.params, ...uleb(f.results.length), ...f.results]);
  const code = functions.map((f) => {
    const locals = vec(f.locals.map((type) => [1, type]));
    const body = [...locals, ...f.body, ...op.end];
    return [...uleb(body.length), ...body];
  });
  const name = (text: string) => [...uleb(text.length), ...Buffer.from(text, 'latin1')];
  const exports = [[...name('m'), 0x02, 0], ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(7, vec(exports)),
    ...section(10, vec(code)),
  ]);
}
