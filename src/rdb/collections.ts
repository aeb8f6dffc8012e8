/**
 * Values of the list, set, sorted set and hash types, in every encoding RDB 1-10 uses: counted
 * sequences of strings (types 1-5) and blobs (zipmap, ziplist, intset, listpack, quicklists).
 * Each reader validates completely and, when `decode` is set, returns the elements.
 */
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
  num: number;
  count: number;
  key(): string;
  buf(): Buffer;
}

const show = (text: string): string => displayKey(Buffer.from(text, 'latin1'));

/** Reads a string holding a blob and runs `fn` on its contents; BlobErrors become file errors. */
export function withBlob<T>(r: ByteReader, what: string, fn: (blob: Buffer) => T): T {
  r.str();
  const enc = r.sEnc;
  const at = enc === STR_RAW ? r.sStart : r.sAt;
  const blob = r.lastBuf();
  try {
    return fn(blob);
  } catch (error) {
    if (error instanceof BlobError) {
      if (enc === STR_RAW) r.fail(`${what}: ${error.message}`, at + error.at);
      const form = enc === STR_LZF ? 'LZF-compressed' : 'integer-encoded';
      r.fail(`${what} (${form}): ${error.message} (offset ${error.at} of the uncompressed ${blob.length} bytes)`, at);
    }
    throw error;
  }
}

function count(r: ByteReader, what: string): number {
  const at = r.pos;
  const n = r.len();
  if (n === 0) r.fail(`${what} declares 0 elements (Redis never writes an empty ${what})`, at);
  return n;
}

export function readList(r: ByteReader, decode: boolean): Buffer[] | undefined {
  const n = count(r, 'list');
  if (!decode) {
    for (let i = 0; i < n; i++) r.skipStr();
    return undefined;
  }
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(r.strBuf());
  return out;
}

export function readSet(r: ByteReader, decode: boolean): Buffer[] | undefined {
  const n = count(r, 'set');
  const seen = new Set<string>();
  const out: Buffer[] | undefined = decode ? [] : undefined;
  for (let i = 0; i < n; i++) {
    r.str();
    const k = r.lastKey();
    if (seen.has(k)) r.fail(`set has the member ${show(k)} twice`, r.sAt);
    seen.add(k);
    if (out) out.push(r.lastBuf());
  }
  return out;
}

export function readHash(r: ByteReader, decode: boolean): Array<[Buffer, Buffer]> | undefined {
  const n = count(r, 'hash');
  const seen = new Set<string>();
  const out: Array<[Buffer, Buffer]> | undefined = decode ? [] : undefined;
  for (let i = 0; i < n; i++) {
    r.str();
    const k = r.lastKey();
    if (seen.has(k)) r.fail(`hash has the field ${show(k)} twice`, r.sAt);
    seen.add(k);
    if (out) {
      const field = r.lastBuf();
      out.push([field, r.strBuf()]);
    } else r.skipStr();
  }
  return out;
}

/** type 3 (text scores) and type 5 (binary doubles) */
export function readZset(r: ByteReader, binary: boolean, decode: boolean): Array<[Buffer, number]> | undefined {
  const n = count(r, 'sorted set');
  const seen = new Set<string>();
  const out: Array<[Buffer, number]> | undefined = decode ? [] : undefined;
  for (let i = 0; i < n; i++) {
    r.str();
    const k = r.lastKey();
    if (seen.has(k)) r.fail(`sorted set has the member ${show(k)} twice`, r.sAt);
    seen.add(k);
    const member = out ? r.lastBuf() : undefined;
    const at = r.pos;
    let score: number;
    if (binary) score = r.f64();
    else {
      const len = r.u8();
      if (len === 253) score = NaN;
      else if (len === 254) score = Infinity;
      else if (len === 255) score = -Infinity;
      else score = parseScore(r.bytes(len).toString('latin1'));
    }
    if (Number.isNaN(score)) r.fail(`sorted set member ${show(k)} has a score that is not a number`, at);
    if (out) out.push([member!, score]);
  }
  return out;
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
function readPairs(it: EntryReader, zset: boolean, decode: boolean): Array<[Buffer, Buffer | number]> | undefined {
  const seen = new Set<string>();
  const out: Array<[Buffer, Buffer | number]> | undefined = decode ? [] : undefined;
  const what = zset ? 'member' : 'field';
  let prevScore = -Infinity;
  let prevMember: string | undefined;
  while (it.next()) {
    const at = it.at;
    const k = it.key();
    if (seen.has(k)) throw new BlobError(`${what} ${show(k)} at offset ${at} appears twice`, at);
    seen.add(k);
    const first = out ? it.buf() : undefined;
    if (!it.next()) throw new BlobError(`holds an odd number of elements: the ${what} at offset ${at} has no ${zset ? 'score' : 'value'}`, at);
    if (zset) {
      const score = entryScore(it);
      // Redis keeps these sorted by score, then member bytes, and relies on it
      if (score < prevScore || (score === prevScore && prevMember !== undefined && k <= prevMember)) {
        throw new BlobError(`member ${show(k)} at offset ${at} (score ${score}) is out of order after ${show(prevMember!)} (score ${prevScore})`, at);
      }
      prevScore = score;
      prevMember = k;
      if (out) out.push([first!, score]);
    } else if (out) out.push([first!, it.buf()]);
  }
  if (seen.size === 0) throw new BlobError('is empty (Redis never writes an empty collection)', 0);
  return out;
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
  return withBlob(r, `hash ${type}`, (blob) => {
    if (type === 'zipmap') {
      const out: Array<[Buffer, Buffer]> | undefined = decode ? [] : undefined;
      readZipmap(blob, out);
      return out;
    }
    const it = type === 'ziplist' ? new ZiplistReader(blob) : new ListpackReader(blob);
    return readPairs(it, false, decode) as Array<[Buffer, Buffer]> | undefined;
  });
}

export function readZsetBlob(r: ByteReader, type: 'ziplist' | 'listpack', decode: boolean): Array<[Buffer, number]> | undefined {
  return withBlob(r, `sorted set ${type}`, (blob) => {
    const it = type === 'ziplist' ? new ZiplistReader(blob) : new ListpackReader(blob);
    return readPairs(it, true, decode) as Array<[Buffer, number]> | undefined;
  });
}

export function readIntsetBlob(r: ByteReader, decode: boolean): Buffer[] | undefined {
  const out: Buffer[] | undefined = decode ? [] : undefined;
  withBlob(r, 'set intset', (blob) => readIntset(blob, out));
  return out;
}

/** type 10: one ziplist */
export function readListZiplist(r: ByteReader, decode: boolean): Buffer[] | undefined {
  const out: Buffer[] | undefined = decode ? [] : undefined;
  withBlob(r, 'list ziplist', (blob) => {
    if (readAll(new ZiplistReader(blob), out) === 0) throw new BlobError('is empty (Redis never writes an empty list)', 0);
  });
  return out;
}

/** type 14 (nodes are ziplists) and type 18 (nodes are PLAIN strings or PACKED listpacks) */
export function readQuicklist(r: ByteReader, version2: boolean, decode: boolean): Buffer[] | undefined {
  const nodesAt = r.pos;
  const nodes = count(r, 'quicklist');
  const out: Buffer[] | undefined = decode ? [] : undefined;
  let total = 0;
  for (let i = 0; i < nodes; i++) {
    let container = 2;
    if (version2) {
      const at = r.pos;
      container = r.len();
      if (container !== 1 && container !== 2) r.fail(`quicklist node ${i} has container type ${container}, neither PLAIN (1) nor PACKED (2)`, at);
    }
    if (container === 1) {
      const at = r.pos;
      r.str();
      const length = r.sEnc === STR_RAW ? r.sEnd - r.sStart : 1;
      if (length === 0) r.fail(`quicklist PLAIN node ${i} is empty`, at);
      if (out) out.push(r.lastBuf());
      else if (r.sEnc === STR_LZF) r.checkLzf();
      total++;
      continue;
    }
    total += withBlob(r, `quicklist node ${i} ${version2 ? 'listpack' : 'ziplist'}`, (blob) => {
      if (blob.length === 0) throw new BlobError('is an empty string', 0);
      return readAll(version2 ? new ListpackReader(blob) : new ZiplistReader(blob), out);
    });
  }
  if (total === 0) r.fail(`quicklist of ${nodes} nodes holds no elements`, nodesAt);
  return out;
}
