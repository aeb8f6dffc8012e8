import { applyPrune, listBackups, planPrune } from '../backup/catalog.js';
import { readKeyFile } from '../backup/encryption.js';
import { verifyBackup } from '../backup/verify.js';
import { isBackupSet } from '../backup/set-manifest.js';
import { UsageError } from '../errors.js';
import { backupOrigin, describeOrigin, originFromRdb, shortOrigin } from '../backup/origin.js';
import type { BackupsListFlags, BackupsPruneFlags } from './backup-flags.js';
import { retentionFrom } from './retention.js';
import { printJson, printResult, say } from './output.js';
import { progressLine } from './progress.js';

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export async function backupsListCommand(flags: BackupsListFlags): Promise<number> {
  const entries = listBackups(flags.to);
  if (flags.json) {
    printJson({
      dir: flags.to,
      backups: entries.map((e) => ({
        file: e.file,
        path: e.path,
        takenAt: e.takenAt.toISOString(),
        storedBytes: e.storedBytes,
        keys: e.manifest?.keyspace.keys ?? e.set?.keys,
        ...(e.set
          ? { set: { shards: e.set.shards.map((s) => ({ file: s.file, nodeId: s.nodeId, slots: s.slots, keys: s.keys, rdbVersion: s.rdbVersion })) } }
          : {}),
        rdbVersion: e.manifest?.rdb.version,
        engine: e.manifest ? backupOrigin(e.manifest).identity : undefined,
        compression: e.manifest?.stored.compression,
        encrypted: e.manifest ? e.manifest.stored.encryption !== null : undefined,
        verified: (e.manifest?.verified === true || e.set?.verified === true) && !e.problem,
        problem: e.problem,
      })),
    });
    return 0;
  }
  if (entries.length === 0) {
    say(`No backups in ${flags.to}.`);
    return 0;
  }
  const rows = [['TAKEN (UTC)', 'ENGINE', 'KEYS', 'STORED', 'FORMAT', 'STATE', 'FILE']];
  for (const e of entries) {
    const m = e.manifest;
    if (e.set) {
      const first = e.set.shards[0]!;
      rows.push([
        e.takenAt.toISOString().replace('T', ' ').slice(0, 19),
        first.engine ? `${first.engine} ${first.version ?? ''}`.trim() : '?',
        String(e.set.keys),
        mb(e.storedBytes),
        `cluster set, ${e.set.shards.length} shards`,
        e.problem ? `! ${e.problem}` : 'verified',
        e.file,
      ]);
      continue;
    }
    rows.push([
      e.takenAt.toISOString().replace('T', ' ').slice(0, 19),
      m ? shortOrigin(backupOrigin(m)) : '?',
      m ? String(m.keyspace.keys) : '?',
      mb(e.storedBytes),
      m ? `rdb${m.rdb.version} ${m.stored.compression}${m.stored.encryption ? '+enc' : ''}` : '?',
      e.problem ? `! ${e.problem}` : 'verified',
      e.file,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  printResult(rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n'));
  return 0;
}

/**
 * `sha256`: the file's digest, when backups-verify.ts started it before this module loaded. `strict`: what
 * the servers load but never write (a stream whose length disagrees with its entries, bytes after
 * the checksum) is damage instead of a warning. Exit 0 (OK, with or without warnings), 1 (DAMAGED),
 * 2 (NOT SUPPORTED: an RDB version this tool does not read).
 */
export async function backupsVerifyCommand(
  file: string,
  flags: { encryptKeyFile?: string; json?: boolean; strict?: boolean },
  sha256?: Promise<string>,
): Promise<number> {
  const key = flags.encryptKeyFile ? readKeyFile(flags.encryptKeyFile) : undefined;
  if (isBackupSet(file)) return verifySetCommand(file, flags, key);
  const progress = progressLine();
  const started = Date.now();
  const result = await verifyBackup(file, {
    encryptionKey: key,
    sha256,
    strict: flags.strict === true,
    onProgress: (read, total) => progress.update({ bytes: read, totalBytes: total, elapsedMs: Date.now() - started, label: 'verifying' }),
  });
  progress.done();
  const exitCode = result.status === 'damaged' ? 1 : result.status === 'unsupported' ? 2 : 0;
  if (flags.json) {
    printJson({
      file: result.file,
      ok: result.ok,
      status: result.status,
      strict: flags.strict === true,
      sha256Matches: result.sha256Matches,
      problems: result.problems,
      warnings: result.warnings,
      unsupported: result.unsupported,
      summary: result.summary,
      hasManifest: result.manifest !== undefined,
      ...(result.manifest ? { origin: backupOrigin(result.manifest) } : {}),
    });
  } else if (result.status === 'unsupported') {
    printResult(`NOT SUPPORTED ${file}: ${result.unsupported!.message}${result.sha256Matches === true ? ' (its SHA-256 matches the manifest)' : ''}`);
  } else if (result.ok) {
    const s = result.summary!;
    const keys = Object.values(s.databases).reduce((a, d) => a + d.keys, 0);
    const warned = result.warnings.length > 0 ? `, ${s.warningCount} warning${s.warningCount === 1 ? '' : 's'} (damage with --strict)` : '';
    printResult(
      `OK ${file}: ${result.manifest ? describeOrigin(backupOrigin(result.manifest)) : describeOrigin(originFromRdb(s.version, s.aux))}, ${keys} keys, ${s.functions} function librar${s.functions === 1 ? 'y' : 'ies'}, CRC-64 ${s.checksum.computed}${s.checksum.disabled ? ' (checksum disabled in the file)' : ' verified'}${result.manifest ? ', SHA-256 and counts match the manifest' : ' (no manifest beside it)'}${warned}${result.warnings.map((w) => `\n  warning: ${w}`).join('')}`,
    );
  } else {
    printResult(`DAMAGED ${file}:\n${result.problems.map((p) => `  - ${p}`).join('\n')}${result.warnings.map((w) => `\n  warning: ${w}`).join('')}`);
  }
  return exitCode;
}

/** `backups verify SETDIR`: every shard as a single backup, and the set's own facts (slots, SHA-256s, counts). */
async function verifySetCommand(dir: string, flags: { json?: boolean; strict?: boolean }, key: Buffer | undefined): Promise<number> {
  const { verifyBackupSet } = await import('../backup/set-verify.js');
  const result = await verifyBackupSet(dir, { encryptionKey: key, strict: flags.strict === true });
  const exitCode = result.status === 'damaged' ? 1 : result.status === 'unsupported' ? 2 : 0;
  if (flags.json) {
    printJson({
      file: dir,
      set: true,
      ok: result.ok,
      status: result.status,
      problems: result.problems,
      shards: result.shards.map((s) => ({ file: s.file, status: s.status, sha256Matches: s.sha256Matches, problems: s.problems, warnings: s.warnings })),
    });
  } else if (result.status === 'damaged') printResult(`DAMAGED ${dir}:\n${result.problems.map((p) => `  - ${p}`).join('\n')}`);
  else
    printResult(
      `${result.status === 'unsupported' ? 'NOT SUPPORTED' : 'OK'} ${dir}: cluster set of ${result.manifest.shards.length} shards, ${result.manifest.keys} keys, all 16384 slots once; every shard's SHA-256, CRC-64 and counts match`,
    );
  return exitCode;
}

export async function backupsPruneCommand(flags: BackupsPruneFlags): Promise<number> {
  const policy = retentionFrom(flags);
  if (!policy) throw new UsageError('say what to keep: --keep-last N and/or --daily N, --weekly N, --monthly N');
  const plan = planPrune(listBackups(flags.to), policy);
  if (!flags.dryRun) applyPrune(flags.to, plan);
  if (flags.json) {
    printJson({
      dryRun: Boolean(flags.dryRun),
      kept: plan.keep.map((k) => ({ file: k.entry.file, reasons: k.reasons })),
      removed: plan.remove.map((e) => e.file),
      untouched: plan.untouched.map((e) => ({ file: e.file, problem: e.problem })),
    });
    return 0;
  }
  for (const k of plan.keep) printResult(`keep    ${k.entry.file}  (${k.reasons.join(', ')})`);
  for (const e of plan.remove) printResult(`${flags.dryRun ? 'would remove' : 'removed'} ${e.file}`);
  for (const e of plan.untouched) printResult(`left    ${e.file}  (${e.problem})`);
  return 0;
}
