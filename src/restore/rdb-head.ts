/**
 * The first bytes of an RDB: its format version (from the magic, `REDIS0012` or `VALKEY080`) and the
 * aux fields that follow it (`redis-ver`, `valkey-ver`, ...), read without the full parser, so that a
 * restore knows the backup's version and writer before it touches a target even when the file has no
 * manifest, and whatever version the parser reads. Also used on a data directory's own dump.rdb.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';

export interface RdbHead {
  rdbVersion: number;
  /** the 9-byte magic as text */
  magic: string;
  /** aux fields read before the first other opcode (or the end of the bytes looked at) */
  aux: Record<string, string>;
}

/** How many bytes a head is read from: the aux fields come first and are short. */
export const HEAD_BYTES = 64 * 1024;

const AUX = 0xfa;

/** Parses the head of `bytes`; undefined when they do not start with an RDB magic. */
export function parseRdbHead(bytes: Buffer): RdbHead | undefined {
  const magic = bytes.toString('latin1', 0, 9);
  const m = /^(?:REDIS(\d{4})|VALKEY(\d{3}))$/.exec(magic);
  if (!m) return undefined;
  const rdbVersion = Number(m[1] ?? m[2]);
  const aux: Record<string, string> = {};
  let at = 9;
  while (at < bytes.length && bytes[at] === AUX) {
    const key = readString(bytes, at + 1);
    if (!key) break;
    const value = readString(bytes, key.next);
    if (!value) break;
    aux[key.text] = value.text;
    at = value.next;
  }
  return { rdbVersion, magic, aux };
}

/** An RDB string (plain or integer-encoded; LZF-compressed ones end the scan) at `at`. */
function readString(b: Buffer, at: number): { text: string; next: number } | undefined {
  if (at >= b.length) return undefined;
  const first = b[at]!;
  const kind = first >> 6;
  let length: number;
  let next: number;
  if (kind === 0) [length, next] = [first & 0x3f, at + 1];
  else if (kind === 1) {
    if (at + 1 >= b.length) return undefined;
    [length, next] = [((first & 0x3f) << 8) | b[at + 1]!, at + 2];
  } else if (first === 0x80) {
    if (at + 5 > b.length) return undefined;
    [length, next] = [b.readUInt32BE(at + 1), at + 5];
  } else if (kind === 3) {
    const enc = first & 0x3f;
    if (enc === 0 && at + 2 <= b.length) return { text: String(b.readInt8(at + 1)), next: at + 2 };
    if (enc === 1 && at + 3 <= b.length) return { text: String(b.readInt16LE(at + 1)), next: at + 3 };
    if (enc === 2 && at + 5 <= b.length) return { text: String(b.readInt32LE(at + 1)), next: at + 5 };
    return undefined;
  } else return undefined;
  if (next + length > b.length) return undefined;
  return { text: b.toString('utf8', next, next + length), next: next + length };
}

/** The head of a stream of plain RDB bytes (reads at most HEAD_BYTES, then destroys the stream). */
export async function readRdbHead(stream: Readable): Promise<RdbHead | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      n += chunk.length;
      if (n >= HEAD_BYTES) break;
    }
  } finally {
    stream.destroy();
  }
  return parseRdbHead(Buffer.concat(chunks, n).subarray(0, HEAD_BYTES));
}

/** The head of a plain RDB file on disk (a data directory's dump.rdb or AOF base). */
export function readRdbHeadOfFile(path: string): RdbHead | undefined {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const n = readSync(fd, buffer, 0, HEAD_BYTES, 0);
    return parseRdbHead(buffer.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}
