/**
 * rdb/: CRC-64, LZF, and the streaming RDB reader (bytes in, records out) with the decoders of
 * listpack, ziplist, intset, zipmap, quicklist, stream and module values.
 */
export { RdbFormatError, RdbUnsupportedError, displayKey, type RdbWarning } from './errors.js';
export {
  READS as RDB_READS,
  RDB_FOREIGN_MAX,
  RDB_FOREIGN_MIN,
  RDB_MAX_REDIS_VERSION,
  RDB_MAX_VALKEY_VERSION,
  RDB_VALKEY_FIRST,
  RDB_WRITERS,
  REDIS_MAGIC,
  VALKEY_MAGIC,
  describeRdbVersion,
  rdbMagic,
  rdbWriters,
  type RdbWriterRow,
} from './versions.js';
export { crc64, crc64Bytes, crc64Digest, crc64Hex, crc64Init, crc64Update, type Crc64State } from './crc64.js';
export { lzfDecompress, lzfValidate } from './lzf.js';
export { RdbStreamParser } from './parser.js';
export { decodeValue } from './value.js';
export { moduleTypeName } from './module.js';
export { rdbVerifier, type RdbLeanVerifierOptions, type RdbVerifier, type RdbVerifierOptions } from './verifier.js';
export {
  KINDS,
  KIND_OF_TYPE,
  OP as RDB_OPCODE,
  RDB_MAX_VERSION,
  TYPE as RDB_TYPE,
  VALKEY_HASH_2 as RDB_TYPE_VALKEY_HASH_2,
  type DecodedModule,
  type DecodedStream,
  type DecodedStreamConsumer,
  type DecodedStreamEntry,
  type DecodedStreamGroup,
  type DecodedStreamPending,
  type DecodedValue,
  type RdbDatabaseSummary,
  type RdbKeyRecord,
  type RdbKind,
  type RdbLeanParserOptions,
  type RdbModuleAux,
  type RdbParserOptions,
  type RdbRawValues,
  type RdbRecord,
  type RdbSummary,
} from './types.js';
