/**
 * A backup set: one verified backup per cluster shard, in a directory `redis-cluster-<UTC
 * timestamp>.set/` published whole (built under a dot-prefixed name, renamed when every shard is
 * stored), with `set.json` recording each shard's slot ranges, node id, source and stored file. Each
 * shard file keeps its own manifest beside it, so it verifies and restores like any single backup.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { SET_FORMAT, SET_MANIFEST, SET_SUFFIX } from './set-write.js';
export { isBackupSet } from './set-write.js';

const count = z.int().nonnegative();
const slotRange = z.tuple([z.int().min(0).max(16383), z.int().min(0).max(16383)]);

export const setShardSchema = z.object({
  file: z.string().regex(/^[^/]+$/),
  nodeId: z.string(),
  address: z.string(),
  /** the node the RDB came from: the shard's master or one of its replicas */
  role: z.enum(['master', 'replica']),
  slots: z.array(slotRange),
  engine: z.enum(['redis', 'valkey']).optional(),
  version: z.string().optional(),
  rdbVersion: count,
  keys: count,
  storedBytes: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const setManifestSchema = z.object({
  format: z.literal(SET_FORMAT),
  kind: z.literal('cluster'),
  tool: z.string(),
  createdAt: z.string(),
  durationSeconds: z.number().nonnegative(),
  /** the seed nodes asked for the slot map */
  seeds: z.array(z.string()),
  shards: z.array(setShardSchema).min(1),
  keys: count,
  verified: z.boolean(),
});

export type BackupSetManifest = z.infer<typeof setManifestSchema>;
export type BackupSetShard = z.infer<typeof setShardSchema>;

export function isBackupSetName(name: string): boolean {
  return name.endsWith(SET_SUFFIX) && !name.startsWith('.');
}

export function readSetManifest(dir: string): BackupSetManifest {
  const path = join(dir, SET_MANIFEST);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(code ? `cannot read the set manifest: ${code}` : `the set manifest is not valid JSON: ${(error as Error).message}`, { file: path });
  }
  const result = setManifestSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`the set manifest is not one this version understands: ${issue.message}`, { file: path, path: issue.path.join('.') });
  }
  return result.data;
}

/** Slot coverage problems of a set: overlaps and unserved slots (a set must hold all 16384, once). */
export function slotProblems(shards: readonly Pick<BackupSetShard, 'slots' | 'file'>[]): string[] {
  const owner = new Array<string | undefined>(16384);
  const problems: string[] = [];
  for (const shard of shards) {
    for (const [from, to] of shard.slots) {
      if (from > to) problems.push(`${shard.file}: slot range ${from}-${to} is reversed`);
      for (let slot = from; slot <= to; slot++) {
        if (owner[slot] !== undefined && problems.length < 5) problems.push(`slot ${slot} is in both ${owner[slot]} and ${shard.file}`);
        owner[slot] = shard.file;
      }
    }
  }
  const missing = owner.reduce((n, o) => n + (o === undefined ? 1 : 0), 0);
  if (missing > 0) problems.push(`${missing} of 16384 slots belong to no shard`);
  return problems;
}
