/**
 * rdb/: CRC-64, LZF, and the streaming RDB reader (bytes in, records out) with the decoders of
 * listpack, ziplist, intset, zipmap, quicklist, stream and module values.
 */
export { RdbFormatError, displayKey } from './errors.js';
export { crc64, crc64Bytes, crc64Digest, crc64Hex, crc64Init, crc64Update, type Crc64State } from './crc64.js';
export { lzfDecompress, lzfValidate } from './lzf.js';
export { RdbStreamParser } from './parser.js';
export { decodeValue } from './value.js';
export { moduleTypeName } from './module.js';
export { rdbVerifier, type RdbLeanVerifierOptions, type RdbVerifier, type RdbVerifierOptions } from './verifier.js';
export {
  KINDS, KIND_OF_TYPE, OP as RDB_OPCODE, RDB_MAX_VERSION, TYPE as RDB_TYPE,
  type DecodedModule, type DecodedStream, type DecodedStreamConsumer, type DecodedStreamEntry, type DecodedStreamGroup,
  type DecodedStreamPending, type DecodedValue, type RdbDatabaseSummary, type RdbKeyRecord, type RdbKind, type RdbLeanParserOptions,
  type RdbModuleAux, type RdbParserOptions, type RdbRawValues, type RdbRecord, type RdbSummary,
} from './types.js';
