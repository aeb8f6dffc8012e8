/**
 * Streams (RDB types 15, 19 and 21: 19 adds the first and max-deleted IDs, entries-added and each
 * group's entries-read; 21, Redis 7.2, each consumer's active time after its seen time, rdb.c at 7.2.0). Nodes: a 16-byte master ID (ms, seq: u64 big-endian) and a listpack
 * whose master entry is `count, deleted, n, field_1..field_n, 0`, followed by entries
 * `flags, ms-delta, seq-delta, [n, field, value, ... | value, ...], lp-count` (flag 1 deleted, 2 same
 * fields as the master). Then the stream's length and IDs, and the consumer groups with their
 * pending entries (PEL) and consumers.
 * Checked: node keys, listpack structure, master entry, entry counts and lp-counts, IDs strictly
 * increasing and not after the last ID, length against the live entries (a warning unless strict:
 * Redis loads a stream whose length disagrees), group and consumer names
 * unique, every consumer PEL entry in the group PEL and every group PEL entry owned exactly once.
 */
import { BlobError, displayKey } from './errors.js';
import { blobFailure, openBlob } from './collections.js';
import { ListpackReader } from './listpack.js';
import { ByteReader, STR_RAW } from './reader.js';
import type { DecodedStream, DecodedStreamEntry, DecodedStreamGroup } from './types.js';

const U64_MAX = (1n << 64n) - 1n;

/**
 * ms and seq are exact: numbers while they fit 2^53, BigInts beyond (relational comparisons between
 * the two are exact in JS, so the checks below never need to convert).
 */
export interface Id {
  ms: number | bigint;
  seq: number | bigint;
}

const exact = (v: bigint): number | bigint => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

/** a + d, exactly */
function plus(a: number | bigint, d: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof d === 'number') {
    const sum = a + d;
    if (Number.isSafeInteger(sum)) return sum;
  }
  return exact(BigInt(a) + BigInt(d));
}

const outside64 = (v: number | bigint): boolean => v < 0 || (typeof v === 'bigint' && v > U64_MAX);

const idText = (id: Id): string => `${id.ms}-${id.seq}`;
const idCompare = (a: Id, b: Id): number => (a.ms < b.ms ? -1 : a.ms > b.ms ? 1 : a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0);
const rawIdText = (raw: Buffer): string => `${raw.readBigUInt64BE(0)}-${raw.readBigUInt64BE(8)}`;

interface NodeResult {
  live: number;
  dead: number;
  last: Id | undefined;
}

/** steps to the next listpack entry, which must exist */
function step(it: ListpackReader, what: string): void {
  if (!it.next()) throw new BlobError(`stream listpack ends before ${what}`, it.lp.length - 1);
}

/** offset of the master entry inside a listpack */
const LP_MASTER_AT = 6;

function readNode(lp: Buffer, master: Id, prev: Id | undefined, entries: DecodedStreamEntry[] | undefined): NodeResult {
  const it = new ListpackReader(lp);
  step(it, 'its master entry');
  const count = it.int('master entry count');
  step(it, 'the master deleted count');
  const deleted = it.int('master deleted count');
  step(it, 'the master field count');
  const masterFieldsAt = it.at;
  const fieldCount = it.int('master field count');
  if (count < 0 || deleted < 0 || fieldCount < 0)
    throw new BlobError(`stream master entry has negative counts (${count}, ${deleted}, ${fieldCount})`, masterFieldsAt);
  const masterFields: Buffer[] = [];
  for (let j = 0; j < fieldCount; j++) {
    step(it, 'a master field name');
    if (entries) masterFields.push(Buffer.from(it.buf()));
  }
  step(it, 'the master entry terminator');
  const zero = it.int('master entry terminator');
  if (zero !== 0) throw new BlobError(`stream master entry terminator at offset ${it.at} is ${zero}, not 0`, it.at);
  let live = 0;
  let dead = 0;
  let last = prev;
  const total = count + deleted;
  for (let e = 0; e < total; e++) {
    if (!it.next()) throw new BlobError(`stream listpack ends before entry ${e} of ${total}`, lp.length - 1);
    const entryAt = it.at;
    const flags = it.int('entry flags');
    if (flags < 0 || flags > 3) throw new BlobError(`stream entry at offset ${entryAt} has unknown flags ${flags}`, entryAt);
    step(it, 'an entry ID');
    const msDelta = it.exactInt('entry ms delta');
    step(it, 'an entry ID');
    const seqDelta = it.exactInt('entry seq delta');
    const id = { ms: plus(master.ms, msDelta), seq: plus(master.seq, seqDelta) };
    if (outside64(id.ms) || outside64(id.seq)) throw new BlobError(`stream entry at offset ${entryAt} has an ID outside 64 bits`, entryAt);
    if (idCompare(id, master) < 0)
      throw new BlobError(`stream entry ${idText(id)} at offset ${entryAt} is before its node's master ID ${idText(master)}`, entryAt);
    if (last && idCompare(id, last) <= 0) throw new BlobError(`stream entry ${idText(id)} at offset ${entryAt} does not come after ${idText(last)}`, entryAt);
    last = id;
    const fields: Array<[Buffer, Buffer]> | undefined = entries && !(flags & 1) ? [] : undefined;
    let n = fieldCount;
    let extra = 3;
    if (!(flags & 2)) {
      step(it, 'an entry field count');
      n = it.int('entry field count');
      if (n < 0) throw new BlobError(`stream entry at offset ${entryAt} has a negative field count`, entryAt);
      for (let j = 0; j < n; j++) {
        step(it, 'an entry field');
        const field = fields ? it.buf() : undefined;
        step(it, 'an entry value');
        if (fields) fields.push([field!, it.buf()]);
      }
      extra += n + 1;
    } else {
      for (let j = 0; j < n; j++) {
        step(it, 'an entry value');
        if (fields) fields.push([masterFields[j]!, it.buf()]);
      }
    }
    step(it, 'an entry lp-count');
    const lpCount = it.int('entry lp-count');
    if (lpCount !== n + extra) throw new BlobError(`stream entry at offset ${entryAt} has lp-count ${lpCount}, expected ${n + extra}`, it.at);
    if (flags & 1) dead++;
    else {
      live++;
      if (fields) entries!.push({ id: idText(id), fields });
    }
  }
  if (it.next()) throw new BlobError(`stream listpack has more elements after its last entry (offset ${it.at})`, it.at);
  if (live !== count || dead !== deleted) {
    throw new BlobError(`stream master entry counts ${count} live and ${deleted} deleted entries, the listpack holds ${live} and ${dead}`, LP_MASTER_AT);
  }
  return { live, dead, last };
}

function readId(r: ByteReader): Id {
  const ms = exact(r.lenBig());
  return { ms, seq: exact(r.lenBig()) };
}

/** what a stream's nodes add up to, carried from one node to the next */
export interface StreamProgress {
  /** nodes read so far */
  nodes?: number;
  live: number;
  last: Id | undefined;
  deleted: number;
}

/** 1: type 15, 2: type 19, 3: type 21 */
export type StreamVersion = 1 | 2 | 3;

export function readStream(r: ByteReader, version: StreamVersion, decode: boolean): DecodedStream | undefined {
  const nodes = r.len();
  const entries: DecodedStreamEntry[] | undefined = decode ? [] : undefined;
  const progress: StreamProgress = { live: 0, last: undefined, deleted: 0 };
  r.track(r.pos, nodes);
  for (let i = 0; i < nodes; i++) {
    r.progDone = i;
    readStreamNode(r, i, progress, entries);
  }
  r.untrack();
  return readStreamEnd(r, version, progress, entries);
}

/** node `i`: its key (the 16-byte master ID) and its listpack */
export function readStreamNode(r: ByteReader, i: number, progress: StreamProgress, entries: DecodedStreamEntry[] | undefined): void {
  const keyAt = r.pos;
  r.str();
  if (r.sEnc !== STR_RAW || r.sEnd - r.sStart !== 16) r.fail(`stream node ${i} key is not a 16-byte entry ID`, keyAt);
  const master = { ms: exact(r.buf.readBigUInt64BE(r.sStart)), seq: exact(r.buf.readBigUInt64BE(r.sStart + 8)) };
  const last = progress.last;
  if (last && idCompare(master, last) <= 0) r.fail(`stream node ${i} master ID ${idText(master)} does not come after entry ${idText(last)}`, keyAt);
  const lp = openBlob(r, entries !== undefined);
  let result: NodeResult;
  try {
    result = readNode(lp, master, last, entries);
  } catch (error) {
    throw blobFailure(r, `stream node ${i} listpack`, lp, error);
  }
  progress.nodes = (progress.nodes ?? 0) + 1;
  progress.live += result.live;
  progress.last = result.last;
  progress.deleted += result.dead;
}

/** what follows the nodes: the length, the IDs and the consumer groups (decoded when `entries` is given) */
export function readStreamEnd(
  r: ByteReader,
  version: StreamVersion,
  progress: StreamProgress,
  entries: DecodedStreamEntry[] | undefined,
): DecodedStream | undefined {
  const { live, last } = progress;
  const decode = entries !== undefined;
  const metaAt = r.pos;
  const length = r.len();
  const lastId = readId(r);
  let firstId: Id | undefined;
  let maxDeletedId: Id | undefined;
  let entriesAdded: bigint | undefined;
  if (version >= 2) {
    firstId = readId(r);
    maxDeletedId = readId(r);
    entriesAdded = r.lenBig();
  }
  // Redis refuses a non-zero length without listpacks (rdb.c at 7.2.0: "Stream length inconsistent
  // with rax entries") and loads any other length as declared
  if (length > 0 && !progress.nodes)
    r.fail(`stream declares length ${length} but has no listpacks (Redis refuses it: "Stream length inconsistent with rax entries")`, metaAt);
  if (length !== live) r.lenient('stream-length', `stream declares length ${length} but its listpacks hold ${live} live entries`, metaAt);
  if (last && idCompare(last, lastId) > 0) r.fail(`stream entry ${idText(last)} comes after the stream's last ID ${idText(lastId)}`, metaAt);
  if (entriesAdded !== undefined && entriesAdded < BigInt(live)) r.fail(`stream says ${entriesAdded} entries were ever added but holds ${live}`, metaAt);
  const groups = readGroups(r, version, decode);
  if (!decode) return undefined;
  return {
    entries,
    deletedInListpacks: progress.deleted,
    length,
    lastId: idText(lastId),
    ...(firstId ? { firstId: idText(firstId) } : {}),
    ...(maxDeletedId ? { maxDeletedId: idText(maxDeletedId) } : {}),
    ...(entriesAdded !== undefined ? { entriesAdded: Number(entriesAdded) } : {}),
    groups: groups!,
  };
}

interface Nack {
  raw: Buffer;
  deliveryTimeMs: number;
  deliveryCount: number;
  owner: Buffer | undefined;
}

function readGroups(r: ByteReader, version: StreamVersion, decode: boolean): DecodedStreamGroup[] | undefined {
  const count = r.len();
  const names = new Set<string>();
  const out: DecodedStreamGroup[] | undefined = decode ? [] : undefined;
  for (let g = 0; g < count; g++) {
    const nameAt = r.pos;
    r.str();
    const name = Buffer.from(r.lastBuf());
    const nameKey = name.toString('latin1');
    if (names.has(nameKey)) r.fail(`stream has the consumer group ${displayKey(name)} twice`, nameAt);
    names.add(nameKey);
    const groupLast = readId(r);
    let entriesRead: number | undefined;
    if (version >= 2) {
      const v = r.lenBig();
      entriesRead = v === U64_MAX ? -1 : Number(v);
    }
    const pelCount = r.len();
    const pel = new Map<string, Nack>();
    for (let i = 0; i < pelCount; i++) {
      const at = r.pos;
      const raw = r.bytes(16);
      const key = raw.toString('latin1');
      if (pel.has(key)) r.fail(`consumer group ${displayKey(name)} has pending entry ${rawIdText(raw)} twice`, at);
      const deliveryTimeMs = r.i64();
      const deliveryCount = Number(r.lenBig());
      pel.set(key, { raw, deliveryTimeMs, deliveryCount, owner: undefined });
    }
    const consumerCount = r.len();
    const consumerNames = new Set<string>();
    const consumers: DecodedStreamGroup['consumers'] = [];
    for (let c = 0; c < consumerCount; c++) {
      const cAt = r.pos;
      r.str();
      const cname = Buffer.from(r.lastBuf());
      const ckey = cname.toString('latin1');
      if (consumerNames.has(ckey)) r.fail(`consumer group ${displayKey(name)} has the consumer ${displayKey(cname)} twice`, cAt);
      consumerNames.add(ckey);
      const seenTimeMs = r.i64();
      const activeTimeMs = version === 3 ? r.i64() : undefined;
      const n = r.len();
      const pending: string[] = [];
      for (let i = 0; i < n; i++) {
        const at = r.pos;
        const raw = r.bytes(16);
        const nack = pel.get(raw.toString('latin1'));
        if (!nack)
          r.fail(`consumer ${displayKey(cname)} of group ${displayKey(name)} owns pending entry ${rawIdText(raw)}, which is not in the group's PEL`, at);
        if (nack.owner)
          r.fail(
            `pending entry ${rawIdText(raw)} of group ${displayKey(name)} is owned by two consumers (${displayKey(nack.owner)} and ${displayKey(cname)})`,
            at,
          );
        nack.owner = cname;
        if (decode) pending.push(rawIdText(raw));
      }
      if (decode) consumers.push({ name: cname, seenTimeMs, ...(activeTimeMs !== undefined ? { activeTimeMs } : {}), pending });
    }
    for (const nack of pel.values()) {
      if (!nack.owner) r.fail(`pending entry ${rawIdText(nack.raw)} of group ${displayKey(name)} has no consumer`, r.pos);
    }
    if (out) {
      out.push({
        name,
        lastId: idText(groupLast),
        ...(entriesRead !== undefined ? { entriesRead } : {}),
        pending: [...pel.values()].map((n) => ({ id: rawIdText(n.raw), deliveryTimeMs: n.deliveryTimeMs, deliveryCount: n.deliveryCount, consumer: n.owner! })),
        consumers,
      });
    }
  }
  return out;
}
