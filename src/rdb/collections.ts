/**
 * Values of the list, set, sorted set and hash types, in every encoding RDB 1-12 uses but hashes
 * with field expiries (hash-expiry.ts): counted
 * sequences of strings (types 1-5) and blobs (zipmap, ziplist, intset, listpack, quicklists).
 * Each reader validates completely and, when `decode` is set, returns the elements.
 */
import type { MemberSet } from './byte-set.js';
import { BlobError, displayKey } from './errors.js';
import { readIntset } from './intset.js';
import { ListpackReader } from './listpack.js';
import { ByteReader, STR_LZF, STR_RAW } from './reader.js';
import { ZiplistReader } from './ziplist.js';
import { readZipmap } from './zipmap.js';

/** what listpack and ziplist readers have in common */
interface EntryReader {
  next(): boolean;
  at: number;
  isStr: boolean;
  sStart: number;
  sEnd: number;
  num: number;
  big: bigint | undefined;
  count: number;
  key(): string;
  buf(): Buffer;
}

export const show = (text: string): string => displayKey(Buffer.from(text, 'latin1'));

/**
 * Reads a string holding a blob (listpack, ziplist, ...) and returns its contents; remembers where
 * it was, so that blobFailure can turn a BlobError into an error at the right file offset. Unless
 * `keep`, an LZF-compressed blob is decompressed into a buffer the next blob reuses.
 */
export function openBlob(r: ByteReader, keep: boolean): Buffer {
  r.str();
  r.blobEnc = r.sEnc;
  r.blobAt = r.sEnc === STR_RAW ? r.sStart : r.sAt;
  return keep || r.sEnc !== STR_LZF ? r.lastBuf() : r.lastBufTransient();
}

/** the error to throw for `error` raised while checking the blob `openBlob` returned */
export function blobFailure(r: ByteReader, what: string, blob: Buffer, error: unknown): unknown {
  if (!(error instanceof BlobError)) return error;
  if (r.blobEnc === STR_RAW) return r.error(`${what}: ${error.message}`, r.blobAt + error.at);
  const form = r.blobEnc === STR_LZF ? 'LZF-compressed' : 'integer-encoded';
  return r.error(`${what} (${form}): ${error.message} (offset ${error.at} of the uncompressed ${blob.length} bytes)`, r.blobAt);
}

/** the element count of a collection, which Redis never writes empty */
export function count(r: ByteReader, what: string): number {
  const at = r.pos;
  const n = r.len();
  if (n === 0) r.fail(`${what} declares 0 elements (Redis never writes an empty ${what})`, at);
  return n;
}

export function readList(r: ByteReader, decode: boolean): Buffer[] | undefined {
  const n = count(r, 'list');
  r.track(r.pos, n);
  if (!decode) {
    for (let i = 0; i < n; i++) {
      r.progDone = i;
      r.skipStr();
    }
    r.untrack();
    return undefined;
  }
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(r.strBuf());
  r.untrack();
  return out;
}

export function readSet(r: ByteReader, decode: boolean): Buffer[] | undefined {
  const n = count(r, 'set');
  const seen = r.members;
  seen.reset(r.buf);
  r.track(r.pos, n);
  const out: Buffer[] | undefined = decode ? [] : undefined;
  for (let i = 0; i < n; i++) {
    r.progDone = i;
    r.str();
    r.addLastTo(seen);
    if (out) out.push(r.lastBuf());
  }
  r.untrack();
  noDuplicates(r, seen, 'set has the member');
  return out;
}

/** fails on the first member recorded twice in `seen` */
function noDuplicates(r: ByteReader, seen: MemberSet, what: string): void {
  const d = seen.findDuplicate();
  if (d >= 0) r.fail(`${what} ${show(seen.text(d))} twice`, seen.place(d));
}

export function readHash(r: ByteReader, decode: boolean): Array<[Buffer, Buffer]> | undefined {
  const n = count(r, 'hash');
  const seen = r.members;
  seen.reset(r.buf);
  r.track(r.pos, n);
  const out: Array<[Buffer, Buffer]> | undefined = decode ? [] : undefined;
  for (let i = 0; i < n; i++) {
    r.progDone = i;
    r.str();
    r.addLastTo(seen);
    if (out) {
      const field = r.lastBuf();
      out.push([field, r.strBuf()]);
    } else r.skipStr();
  }
  r.untrack();
  noDuplicates(r, seen, 'hash has the field');
  return out;
}

/** type 3 (text scores) and type 5 (binary doubles) */
export function readZset(r: ByteReader, binary: boolean, decode: boolean): Array<[Buffer, number]> | undefined {
  const n = count(r, 'sorted set');
  const seen = r.members;
  seen.reset(r.buf);
  r.track(r.pos, n);
  const out: Array<[Buffer, number]> | undefined = decode ? [] : undefined;
  readZsetEntries(r, n, binary, seen, out);
  r.untrack();
  noDuplicates(r, seen, 'sorted set has the member');
  return out;
}

/**
 * The loop of readZset, in a function of its own: V8 compiles a long loop on its own (on-stack
 * replacement) before the code after it has run, and that cached loop code then bailed out at the
 * loop's exit on every later large sorted set (13 bailouts in one 36 MB file).
 */
function readZsetEntries(r: ByteReader, n: number, binary: boolean, seen: ByteReader['members'], out: Array<[Buffer, number]> | undefined): void {
  for (let i = 0; i < n; i++) {
    r.progDone = i;
    r.str();
    r.addLastTo(seen);
    const member = out ? r.lastBuf() : undefined;
    const memberAt = r.sAt;
    const at = r.pos;
    const score = readScore(r, binary);
    if (Number.isNaN(score)) {
      const end = r.pos;
      r.pos = memberAt;
      r.str();
      const name = show(r.lastKey());
      r.pos = end;
      r.fail(`sorted set member ${name} has a score that is not a number`, at);
    }
    if (out) out.push([member!, score]);
  }
}

/** a score: a binary double (type 5), or a length-prefixed text (type 3) */
export function readScore(r: ByteReader, binary: boolean): number {
  if (binary) return r.f64();
  const len = r.u8();
  if (len === 253) return NaN;
  if (len === 254) return Infinity;
  if (len === 255) return -Infinity;
  return parseScore(r.bytes(len).toString('latin1'));
}

const SCORE = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/** a score written as text (old zsets, listpacks, ziplists); NaN when it is not a number */
export function parseScore(text: string): number {
  if (SCORE.test(text)) return Number(text);
  const t = text.toLowerCase();
  if (t === 'inf' || t === '+inf' || t === 'infinity' || t === '+infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  return NaN;
}

function entryScore(it: EntryReader): number {
  const score = it.isStr ? parseScore(it.key()) : it.num;
  if (Number.isNaN(score)) throw new BlobError(`score at offset ${it.at} (${show(it.key())}) is not a number`, it.at);
  return score;
}

/** field/value (hash) or member/score (zset) pairs of a listpack or ziplist */
function readPairs(blob: Buffer, it: EntryReader, zset: boolean, decode: boolean, seen: MemberSet): Array<[Buffer, Buffer | number]> | undefined {
  seen.reset(blob);
  const out: Array<[Buffer, Buffer | number]> | undefined = decode ? [] : undefined;
  const what = zset ? 'member' : 'field';
  let havePrev = false;
  let prevScore = -Infinity;
  let prevIsStr = false;
  let prevStart = 0;
  let prevEnd = 0;
  let prevInt: number | bigint = 0;
  while (it.next()) {
    const at = it.at;
    const isStr = it.isStr;
    const start = it.sStart;
    const end = it.sEnd;
    const int = it.big ?? it.num;
    if (isStr) seen.add(start, end, at);
    else seen.addInteger(int, at);
    const first = out ? it.buf() : undefined;
    if (!it.next()) throw new BlobError(`holds an odd number of elements: the ${what} at offset ${at} has no ${zset ? 'score' : 'value'}`, at);
    if (zset) {
      const score = entryScore(it);
      // Redis keeps these sorted by score, then member bytes, and relies on it
      if (
        havePrev &&
        (score < prevScore || (score === prevScore && entryText(blob, isStr, start, end, int) <= entryText(blob, prevIsStr, prevStart, prevEnd, prevInt)))
      ) {
        const before = entryText(blob, prevIsStr, prevStart, prevEnd, prevInt);
        throw new BlobError(
          `member ${show(entryText(blob, isStr, start, end, int))} at offset ${at} (score ${score}) is out of order after ${show(before)} (score ${prevScore})`,
          at,
        );
      }
      havePrev = true;
      prevScore = score;
      prevIsStr = isStr;
      prevStart = start;
      prevEnd = end;
      prevInt = int;
      if (out) out.push([first!, score]);
    } else if (out) out.push([first!, it.buf()]);
  }
  if (seen.size === 0) throw new BlobError('is empty (Redis never writes an empty collection)', 0);
  const d = seen.findDuplicate();
  if (d >= 0) throw new BlobError(`${what} ${show(seen.text(d))} at offset ${seen.place(d)} appears twice`, seen.place(d));
  return out;
}

function entryText(blob: Buffer, isStr: boolean, start: number, end: number, int: number | bigint): string {
  return isStr ? blob.toString('latin1', start, end) : String(int);
}

function readAll(it: EntryReader, out: Buffer[] | undefined): number {
  let n = 0;
  while (it.next()) {
    n++;
    if (out) out.push(it.buf());
  }
  return n;
}

export function readHashBlob(r: ByteReader, type: 'zipmap' | 'ziplist' | 'listpack', decode: boolean): Array<[Buffer, Buffer]> | undefined {
  const blob = openBlob(r, decode);
  try {
    if (type === 'zipmap') {
      const out: Array<[Buffer, Buffer]> | undefined = decode ? [] : undefined;
      readZipmap(blob, out);
      return out;
    }
    const it = type === 'ziplist' ? new ZiplistReader(blob) : new ListpackReader(blob);
    return readPairs(blob, it, false, decode, r.members) as Array<[Buffer, Buffer]> | undefined;
  } catch (error) {
    throw blobFailure(r, 'hash ' + type, blob, error);
  }
}

export function readZsetBlob(r: ByteReader, type: 'ziplist' | 'listpack', decode: boolean): Array<[Buffer, number]> | undefined {
  const blob = openBlob(r, decode);
  try {
    const it = type === 'ziplist' ? new ZiplistReader(blob) : new ListpackReader(blob);
    return readPairs(blob, it, true, decode, r.members) as Array<[Buffer, number]> | undefined;
  } catch (error) {
    throw blobFailure(r, 'sorted set ' + type, blob, error);
  }
}

/** type 20 (Redis 7.2): a listpack of distinct members (rdb.c lpValidateIntegrityAndDups, tuple_len 1) */
export function readSetListpack(r: ByteReader, decode: boolean): Buffer[] | undefined {
  const out: Buffer[] | undefined = decode ? [] : undefined;
  const blob = openBlob(r, decode);
  try {
    const it = new ListpackReader(blob);
    const seen = r.members;
    seen.reset(blob);
    while (it.next()) {
      if (it.isStr) seen.add(it.sStart, it.sEnd, it.at);
      else seen.addInteger(it.big ?? it.num, it.at);
      if (out) out.push(it.buf());
    }
    if (seen.size === 0) throw new BlobError('is empty (Redis never writes an empty set)', 0);
    const d = seen.findDuplicate();
    if (d >= 0) throw new BlobError(`member ${show(seen.text(d))} at offset ${seen.place(d)} appears twice`, seen.place(d));
  } catch (error) {
    throw blobFailure(r, 'set listpack', blob, error);
  }
  return out;
}

export function readIntsetBlob(r: ByteReader, decode: boolean): Buffer[] | undefined {
  const out: Buffer[] | undefined = decode ? [] : undefined;
  const blob = openBlob(r, decode);
  try {
    readIntset(blob, out);
  } catch (error) {
    throw blobFailure(r, 'set intset', blob, error);
  }
  return out;
}

/** type 10: one ziplist */
export function readListZiplist(r: ByteReader, decode: boolean): Buffer[] | undefined {
  const out: Buffer[] | undefined = decode ? [] : undefined;
  const blob = openBlob(r, decode);
  try {
    if (readAll(new ZiplistReader(blob), out) === 0) throw new BlobError('is empty (Redis never writes an empty list)', 0);
  } catch (error) {
    throw blobFailure(r, 'list ziplist', blob, error);
  }
  return out;
}

/** type 14 (nodes are ziplists) and type 18 (nodes are PLAIN strings or PACKED listpacks) */
export function readQuicklist(r: ByteReader, version2: boolean, decode: boolean): Buffer[] | undefined {
  const nodesAt = r.pos;
  const nodes = count(r, 'quicklist');
  const out: Buffer[] | undefined = decode ? [] : undefined;
  let total = 0;
  r.track(r.pos, nodes);
  for (let i = 0; i < nodes; i++) {
    r.progDone = i;
    if (version2 && readContainer(r, i) === 1) {
      const at = r.pos;
      r.str();
      const length = r.sEnc === STR_RAW ? r.sEnd - r.sStart : 1;
      if (length === 0) r.fail(`quicklist PLAIN node ${i} is empty`, at);
      if (out) out.push(r.lastBuf());
      else if (r.sEnc === STR_LZF) r.checkLzf();
      total++;
      continue;
    }
    total += readPackedNode(r, i, version2, out);
  }
  r.untrack();
  if (total === 0) r.fail(`quicklist of ${nodes} nodes holds no elements`, nodesAt);
  return out;
}

/** PACKED quicklist node `i` (a listpack for type 18, a ziplist for type 14); returns its element count */
export function readPackedNode(r: ByteReader, i: number, version2: boolean, out: Buffer[] | undefined): number {
  const blob = openBlob(r, out !== undefined);
  try {
    if (blob.length === 0) throw new BlobError('is an empty string', 0);
    return readAll(version2 ? new ListpackReader(blob) : new ZiplistReader(blob), out);
  } catch (error) {
    throw blobFailure(r, `quicklist node ${i} ${version2 ? 'listpack' : 'ziplist'}`, blob, error);
  }
}

/** the container type of quicklist 2 node `i`: PLAIN (1) or PACKED (2) */
export function readContainer(r: ByteReader, i: number): number {
  const at = r.pos;
  const container = r.len();
  if (container !== 1 && container !== 2) r.fail(`quicklist node ${i} has container type ${container}, neither PLAIN (1) nor PACKED (2)`, at);
  return container;
}
