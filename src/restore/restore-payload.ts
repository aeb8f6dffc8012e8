/**
 * DUMP/RESTORE payloads built from an RDB record's raw value bytes, exactly as `DUMP` makes them:
 *
 *   [type byte][value bytes][u16 LE RDB version][CRC-64 LE of everything before]
 *
 * Which RDB version a target reads is src/engine's to say (restore/compatibility.ts asks it).
 */
import { crc64Init, crc64Update, type Crc64State } from '../rdb/index.js';

/** Bytes a payload adds around the value: the type byte, the 2-byte version and the 8-byte CRC. */
export const PAYLOAD_OVERHEAD = 11;

/** The two small pieces of a payload around its value, so callers can write the value without copying it. */
export interface PayloadFrame {
  /** [type] */
  head: Buffer;
  /** [u16 LE version][crc64 LE] */
  tail: Buffer;
  /** head + value + tail */
  length: number;
}

const TYPE_BYTE: Buffer[] = Array.from({ length: 256 }, (_, t) => Buffer.from([t]));

/**
 * The head and tail of the payload of a value (RDB value type `type`) given as the pieces it came in,
 * in order (one piece when it came whole), stamped with `rdbVersion`.
 */
export function payloadFrame(type: number, pieces: readonly Uint8Array[], rdbVersion: number): PayloadFrame {
  if (!Number.isInteger(type) || type < 0 || type > 255) throw new RangeError(`RDB value type ${type} is not a byte`);
  if (!Number.isInteger(rdbVersion) || rdbVersion < 1 || rdbVersion > 0xffff) throw new RangeError(`RDB version ${rdbVersion} does not fit a payload`);
  const head = TYPE_BYTE[type]!;
  const tail = Buffer.allocUnsafe(10);
  tail.writeUInt16LE(rdbVersion, 0);
  const crc: Crc64State = crc64Init();
  crc64Update(crc, head);
  let length = 0;
  for (const piece of pieces) {
    crc64Update(crc, piece);
    length += piece.length;
  }
  crc64Update(crc, tail, 0, 2);
  tail.writeInt32LE(crc.lo | 0, 2);
  tail.writeInt32LE(crc.hi | 0, 6);
  return { head, tail, length: length + PAYLOAD_OVERHEAD };
}

/** The whole payload as one buffer (tests, small values; merge writes the frame's parts instead). */
export function restorePayload(type: number, value: Uint8Array, rdbVersion: number): Buffer {
  const frame = payloadFrame(type, [value], rdbVersion);
  return Buffer.concat([frame.head, value, frame.tail], frame.length);
}

/** Splits a DUMP payload into its parts, checking its length (not its CRC). */
export function parsePayload(payload: Buffer): { type: number; value: Buffer; rdbVersion: number; crc: Buffer } {
  if (payload.length < PAYLOAD_OVERHEAD) throw new RangeError(`a DUMP payload has at least ${PAYLOAD_OVERHEAD} bytes, this one ${payload.length}`);
  const end = payload.length;
  return { type: payload[0]!, value: payload.subarray(1, end - 10), rdbVersion: payload.readUInt16LE(end - 10), crc: payload.subarray(end - 8) };
}
