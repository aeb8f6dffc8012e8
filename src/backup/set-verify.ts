/**
 * Verifying a backup set: set.json readable, its shards covering all 16384 slots once, every shard
 * file present with the SHA-256 set.json recorded, and each shard file verified as a single backup is
 * (its own manifest, decryption, decompression, structure, CRC-64, key counts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSetManifest, slotProblems, type BackupSetManifest } from './set-manifest.js';
import { verifyBackup, type VerifyOptions, type VerifyResult, type VerifyStatus } from './verify.js';

export interface SetVerifyResult {
  dir: string;
  ok: boolean;
  status: VerifyStatus;
  manifest: BackupSetManifest;
  problems: string[];
  shards: VerifyResult[];
}

export async function verifyBackupSet(dir: string, options: Omit<VerifyOptions, 'sha256' | 'onProgress'> = {}): Promise<SetVerifyResult> {
  const manifest = readSetManifest(dir);
  const problems = slotProblems(manifest.shards);
  const shards: VerifyResult[] = [];
  for (const shard of manifest.shards) {
    const file = join(dir, shard.file);
    if (!existsSync(file)) {
      problems.push(`${shard.file} is missing`);
      continue;
    }
    const result = await verifyBackup(file, options);
    shards.push(result);
    for (const p of result.problems) problems.push(`${shard.file}: ${p}`);
    if (result.manifest && result.manifest.stored.sha256 !== shard.sha256) problems.push(`${shard.file}: its manifest's SHA-256 differs from set.json's`);
    if (result.manifest && result.manifest.keyspace.keys !== shard.keys)
      problems.push(`${shard.file}: ${result.manifest.keyspace.keys} keys; set.json says ${shard.keys}`);
  }
  const total = manifest.shards.reduce((n, s) => n + s.keys, 0);
  if (total !== manifest.keys) problems.push(`the shards hold ${total} keys; set.json says ${manifest.keys}`);
  const status: VerifyStatus =
    problems.length > 0
      ? 'damaged'
      : shards.some((s) => s.status === 'unsupported')
        ? 'unsupported'
        : shards.some((s) => s.status === 'warnings')
          ? 'warnings'
          : 'ok';
  return { dir, ok: problems.length === 0 && shards.every((s) => s.ok), status, manifest, problems, shards };
}
