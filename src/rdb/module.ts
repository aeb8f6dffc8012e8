/**
 * Module data, kept opaque but walked through its typed fields to find its end: after the 64-bit
 * module type id, fields `[opcode][data]` until opcode 0 (EOF): 1 signed and 2 unsigned integers
 * (length-encoded), 3 a 4-byte float, 4 an 8-byte double, 5 a string.
 */
import type { ByteReader } from './reader.js';
import type { DecodedModule } from './types.js';

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** the 9-character type name held in the top 54 bits of a module type id */
export function moduleTypeName(id: bigint): string {
  let rest = id >> 10n;
  let name = '';
  for (let i = 0; i < 9; i++) {
    name = NAME_CHARS[Number(rest & 63n)]! + name;
    rest >>= 6n;
  }
  return name;
}

/** reads fields through the EOF field */
export function readModuleFields(r: ByteReader): void {
  for (;;) {
    const at = r.pos;
    const opcode = r.len();
    if (opcode === 0) return;
    if (opcode === 5) r.skipStr();
    else readModuleField(r, opcode, at);
  }
}

/** the data of a numeric field (opcodes 1 to 4, read at `at`); any other opcode but 0 and 5 is an error */
export function readModuleField(r: ByteReader, opcode: number, at: number): void {
  switch (opcode) {
    case 1:
    case 2:
      r.lenBig();
      break;
    case 3:
      r.bytes(4);
      break;
    case 4:
      r.bytes(8);
      break;
    default:
      r.fail(`module field opcode ${opcode} is none of 0 (EOF), 1 (signed), 2 (unsigned), 3 (float), 4 (double), 5 (string)`, at);
  }
}

/** type 7 (MODULE_2) */
export function readModule(r: ByteReader, decode: boolean): DecodedModule | undefined {
  const moduleId = r.lenBig();
  const start = r.pos;
  readModuleFields(r);
  if (!decode) return undefined;
  return {
    moduleId,
    moduleName: moduleTypeName(moduleId),
    encodingVersion: Number(moduleId & 1023n),
    bytes: r.buf.subarray(start, r.pos),
  };
}
