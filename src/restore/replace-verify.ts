/**
 * The last phase of a replace restore: the target's keys per database against the backup's (less the
 * keys whose TTL passed since), and a sample of the backup's values against the target's DUMPs.
 */
import type { RespClient } from '../resp/client.js';
import { decodeValue, type RdbRecord, type RdbSummary } from '../rdb/index.js';
import { compareDecoded, dumpToDecoded } from './compare.js';
import { info, withinMs } from './poll-info.js';
import type { Sampler } from './replace-serve.js';
import { COMMAND_WITHIN_MS } from './replace-target.js';
import { keysPerDb, RestoreFailedError } from './target.js';

export interface Verified {
  keysAfter: Record<string, number>;
  expected: Record<string, { keys: number; expiredSince: number }>;
  sampled: number;
}

/** Checks the target against the backup; throws E_RESTORE_VERIFY naming the first five differences. */
export async function verifyTarget(client: RespClient, summary: RdbSummary, sampler: Sampler, expiredByDb: ReadonlyMap<number, number>): Promise<Verified> {
  const keysAfter = keysPerDb(await info(client, 'keyspace'));
  const { expected, mismatches } = compareCounts(keysAfter, summary, expiredByDb);
  const sampled = await compareSample(client, sampler.picked, mismatches);
  if (mismatches.length > 0) {
    throw new RestoreFailedError(
      `the target does not hold what the backup holds: ${mismatches.slice(0, 5).join('; ')}${mismatches.length > 5 ? ` (and ${mismatches.length - 5} more)` : ''}`,
      'E_RESTORE_VERIFY',
    );
  }
  return { keysAfter, expected, sampled };
}

function compareCounts(
  keysAfter: Record<string, number>,
  summary: RdbSummary,
  expiredByDb: ReadonlyMap<number, number>,
): { expected: Verified['expected']; mismatches: string[] } {
  const expected: Verified['expected'] = {};
  const mismatches: string[] = [];
  for (const [db, s] of Object.entries(summary.databases)) {
    const expiredSince = expiredByDb.get(Number(db)) ?? 0;
    expected[db] = { keys: s.keys, expiredSince };
    const got = keysAfter[db] ?? 0;
    if (got > s.keys || got < s.keys - expiredSince)
      mismatches.push(`database ${db} holds ${got} keys; the backup has ${s.keys} (${expiredSince} expired since)`);
  }
  for (const db of Object.keys(keysAfter)) {
    if (!(db in summary.databases) && (keysAfter[db] ?? 0) > 0) mismatches.push(`database ${db} holds ${keysAfter[db]} keys the backup does not have`);
  }
  return { expected, mismatches };
}

/** DUMPs the sampled keys and compares their values; adds what differs to `mismatches`; returns how many were compared. */
async function compareSample(client: RespClient, sample: readonly RdbRecord[], mismatches: string[]): Promise<number> {
  let sampled = 0;
  // one pipeline: the sample by database, a SELECT where the database changes (replies in order)
  const picked = [...sample].sort((a, b) => a.db - b.db);
  const dumps: Array<Promise<Buffer | null>> = [];
  let selected = -1;
  for (const record of picked) {
    if (record.db !== selected) {
      client.sendCommand(['SELECT', String(record.db)]).catch(() => undefined);
      selected = record.db;
    }
    // the payload as bytes; a key that is gone answers null
    dumps.push(client.sendBinary<Buffer | null>(['DUMP', record.key]));
  }
  const replies = await withinMs(Promise.all(dumps), 60_000);
  for (const [i, record] of picked.entries()) {
    const dump = replies[i]!;
    if (dump === null) {
      if (record.expireAtMs !== undefined && record.expireAtMs <= Date.now()) continue;
      mismatches.push(`key ${JSON.stringify(record.key.toString())} (db ${record.db}) is missing`);
      continue;
    }
    sampled++;
    const difference = compareDecoded(decodeValue(record.type, record.value), dumpToDecoded(dump));
    if (difference) mismatches.push(`key ${JSON.stringify(record.key.toString())} (db ${record.db}) differs: ${difference}`);
  }
  await withinMs(client.sendCommand(['SELECT', '0']), COMMAND_WITHIN_MS);
  return sampled;
}
