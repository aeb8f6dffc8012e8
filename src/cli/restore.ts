/** `restore`: flags -> a replace, a merge, an offline placement, a plan (--dry-run) or an --abort -> a summary. */
import { createInterface } from 'node:readline/promises';
import { readKeyFile } from '../backup/encryption.js';
import { resolveTarget } from '../discover/index.js';
import type { Endpoint } from '../connect/url.js';
import { UsageError } from '../errors.js';
import { openRestoreSource, type RestoreSource } from '../restore/source.js';
import type { RestorePlan } from '../restore/plan.js';
// each mode's modules load when it runs: a replace does not pay for the deployment schema (zod),
// merge's and offline's code (about 0.3 s of a restore's start, docs/benchmarks.md)
import { printJson, printResult, say } from './output.js';
import { progressLine, type ProgressLine } from './progress.js';
import { onInterrupt } from './interrupt.js';
import type { RestoreFlags } from './restore-flags.js';
import { isBackupSet } from '../backup/set-write.js';

/** --url/--dir as before; --sentinel/--cluster (and a --dir made by `up --topology`) through restore-set.ts. */
async function targetOf(flags: RestoreFlags): Promise<Endpoint> {
  if (flags.sentinel || flags.cluster || flags.dir) return (await import('./restore-set.js')).restoreEndpoint(flags);
  return resolveTarget({ url: flags.url, dir: flags.dir, passwordFile: flags.passwordFile }, 'admin');
}

export type { RestoreFlags };

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

function printPlan(plan: RestorePlan): void {
  const from = plan.backup.engine ? `${plan.backup.engine === 'valkey' ? 'Valkey' : 'Redis'} ${plan.backup.version}, ` : '';
  const lines = [
    `Restore plan (${plan.mode}) for ${plan.backup.file}:`,
    `  backup: ${from}RDB ${plan.backup.rdbVersion}, ${plan.backup.keys} keys in ${Object.keys(plan.backup.databases).length} database(s), ${plan.backup.functions} function librar${plan.backup.functions === 1 ? 'y' : 'ies'}`,
  ];
  if (plan.target)
    lines.push(
      `  target: ${plan.target.address}, ${plan.target.engine === 'valkey' ? 'Valkey' : 'Redis'} ${plan.target.version} (reads RDB up to ${plan.target.rdbVersion ?? '?'}; ${plan.target.role}), ${plan.target.keys} keys, AOF ${plan.target.aofEnabled ? 'on' : 'off'}`,
    );
  for (const c of plan.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}`);
  lines.push(`  => ${plan.summary}`);
  printResult(lines.join('\n'));
}

type Mode = 'replace' | 'merge' | 'offline';

/** `restore --abort`: a target left as a replica by an interrupted restore becomes a master again. */
async function abortCommand(flags: RestoreFlags): Promise<number> {
  if (!flags.url && !flags.dir) throw new UsageError('restore --abort needs the target: --url URL or --dir DIR');
  const endpoint = await resolveTarget({ url: flags.url, dir: flags.dir, passwordFile: flags.passwordFile }, 'admin');
  const { abortRestore } = await import('../restore/replace.js');
  const result = await abortRestore(endpoint, { force: flags.force });
  if (flags.json) printJson({ ...result });
  else
    say(
      result.changed
        ? `The target was a replica of ${result.wasReplicaOf} (an interrupted restore); it is a writable master again with the data it had.`
        : 'The target is a master; nothing to abort.',
    );
  return 0;
}

/** The checks between flags that commander cannot make (it has checked each value); the mode. */
function modeOf(file: string | undefined, flags: RestoreFlags): { file: string; mode: Mode } {
  if (!file) throw new UsageError('say which backup to restore: neurallog-redis restore <file> (--url URL | --dir DIR | --data-dir DIR)');
  const targets = [flags.url, flags.dir, flags.dataDir, flags.sentinel, flags.cluster].filter((v) => v !== undefined).length;
  if (targets !== 1)
    throw new UsageError(
      "say where to restore with exactly one of --url URL, --dir DIR (a deployment made by `up`) or --data-dir DIR (a stopped server's data directory)",
    );
  const mode: Mode = flags.mode ?? (flags.dataDir ? 'offline' : 'replace');
  if (flags.dataDir && mode !== 'offline') throw new UsageError('--data-dir restores files for a stopped server; --mode does not apply');
  if (flags.server && mode !== 'offline')
    throw new UsageError('--server names the binary that will load an offline restore (--data-dir); a live target says what it is itself');
  if (mode !== 'merge' && (flags.match || flags.dbMap || flags.resumeAfter !== undefined))
    throw new UsageError('--match, --db-map and --resume-after apply to --mode merge');
  return { file, mode };
}

/** `sha256`: the stored file's SHA-256, started by restore-start.ts before this module loaded */
export async function restoreCommand(fileArgument: string | undefined, flags: RestoreFlags, sha256?: Promise<string>): Promise<number> {
  if (flags.abort) return abortCommand(flags);
  if (fileArgument && (isBackupSet(fileArgument) || ((flags.cluster || flags.dir) && (await import('./restore-set.js')).targetsCluster(flags))))
    return (await import('./restore-set.js')).restoreSetCommand(fileArgument, flags);
  const { file, mode } = modeOf(fileArgument, flags);
  const key = flags.encryptKeyFile ? readKeyFile(flags.encryptKeyFile) : undefined;
  if (!flags.json) say(`Checking ${file} against its manifest ...`);
  // a replace or a merge checks the SHA-256 (openssl, another core) while it connects and checks the
  // target (replaceRestore awaits it before the first change; a merge prepares its first commands
  // and holds them until it has matched); its module loads meanwhile
  const deferring = (mode === 'replace' || mode === 'merge') && !flags.dryRun;
  if (deferring) import(mode === 'replace' ? '../restore/replace.js' : '../restore/merge.js').catch(() => undefined);
  const source = await openRestoreSource(file, { encryptionKey: key, deferDigestCheck: deferring, sha256 });
  const endpoint = mode === 'offline' ? undefined : await targetOf(flags);
  if (flags.dryRun) return dryRun({ source, mode, endpoint, flags });
  if (process.stdin.isTTY && !flags.yes && !flags.json && !(await confirm(`This will ${whatChanges(file, mode, endpoint, flags)}. Continue?`))) {
    say('Nothing was changed.');
    return 1;
  }
  const interrupt = onInterrupt(() => say('\nInterrupted: putting the target back ...'));
  const progress = progressLine(process.stderr.isTTY === true && !flags.json);
  const run: Run = { file, source, flags, signal: interrupt.signal, progress, started: Date.now() };
  try {
    if (mode === 'replace') return await replace(run, endpoint!);
    if (mode === 'merge') return await merge(run, endpoint!);
    return await offline(run);
  } finally {
    progress.done();
    interrupt.dispose();
  }
}

async function dryRun({
  source,
  mode,
  endpoint,
  flags,
}: {
  source: RestoreSource;
  mode: Mode;
  endpoint: Endpoint | undefined;
  flags: RestoreFlags;
}): Promise<number> {
  const { planRestore } = await import('../restore/plan.js');
  const plan = await planRestore({
    source,
    mode,
    endpoint,
    match: flags.match,
    dbMap: flags.dbMap,
    dataDir: flags.dataDir,
    configFile: flags.config,
    server: flags.server,
  });
  if (flags.json) printJson({ dryRun: true, ...plan });
  else printPlan(plan);
  return plan.exitCode;
}

function whatChanges(file: string, mode: Mode, endpoint: Endpoint | undefined, flags: RestoreFlags): string {
  if (mode === 'replace') return `replace ALL data on ${endpoint!.host}:${endpoint!.port} with ${file}`;
  if (mode === 'merge') return `write the keys of ${file} into ${endpoint!.host}:${endpoint!.port} (on conflict: ${flags.onConflict})`;
  return `place ${file} into ${flags.dataDir}`;
}

/** What every mode's run needs. */
interface Run {
  file: string;
  source: RestoreSource;
  flags: RestoreFlags;
  signal: AbortSignal;
  progress: ProgressLine;
  started: number;
}

async function replace({ file, source, flags, signal, progress, started }: Run, endpoint: Endpoint): Promise<number> {
  const { replaceRestore } = await import('../restore/replace.js');
  // when each phase began, in seconds since the process started (--json: where the time went)
  const phases: Partial<Record<string, number>> = {};
  const result = await replaceRestore({
    source,
    endpoint,
    listenHost: flags.listen,
    load: flags.load,
    signal,
    onPhase: (phase, detail) => {
      phases[phase] ??= Math.round(performance.now()) / 1000;
      progress.done();
      if (flags.json || phase === 'done') return;
      // the target and the backup have passed every check: only now does anything change
      if (phase === 'transferring')
        say('Serving the backup to the target as its replication master (clients get -READONLY during the transfer and -LOADING while it loads) ...');
      else say(`  ${phase}${detail ? ` (${detail})` : ''} ...`);
    },
    onTransferProgress: (bytes, total) => progress.update({ bytes, totalBytes: total, elapsedMs: Date.now() - started, label: 'transferring' }),
  });
  progress.done();
  if (flags.json) printJson({ ...result, phases });
  else {
    const keys = Object.values(result.keysAfter).reduce((a, b) => a + b, 0);
    printResult(
      `Restored ${file} into ${result.target}: ${keys} keys, ${result.functions} function librar${result.functions === 1 ? 'y' : 'ies'}${result.aofRewritten ? ', AOF rewritten (the data survives a restart)' : ''}; ${result.sampled} sampled keys compared equal, in ${result.seconds.toFixed(1)}s.`,
    );
  }
  return 0;
}

async function merge({ file, source, flags, signal, progress, started }: Run, endpoint: Endpoint): Promise<number> {
  const { mergeRestore } = await import('../restore/merge.js');
  const result = await mergeRestore({
    source,
    endpoint,
    onConflict: flags.onConflict,
    match: flags.match,
    dbMap: flags.dbMap,
    resumeAfter: flags.resumeAfter,
    signal,
    onProgress: (p) => progress.update({ bytes: p.bytes, totalBytes: source.rdbBytes, keys: p.written, elapsedMs: Date.now() - started, label: 'merging' }),
  });
  progress.done();
  if (flags.json) {
    printJson({ mode: 'merge', ...result });
    return 0;
  }
  const parts = [`${result.written} keys written`];
  if (result.skipped) parts.push(`${result.skipped} skipped (they existed)`);
  if (result.expired) parts.push(`${result.expired} expired since the backup (not written)`);
  if (result.filtered) parts.push(`${result.filtered} not matching --match`);
  if (result.resumedAfter) parts.push(`${result.resumedAfter} done by an earlier run`);
  parts.push(`${result.functions.loaded} function librar${result.functions.loaded === 1 ? 'y' : 'ies'} loaded`);
  printResult(`Merged ${file} into ${endpoint.host}:${endpoint.port}: ${parts.join(', ')} in ${(result.elapsedMs / 1000).toFixed(1)}s.`);
  for (const note of result.notes) say(`Note: ${note}`);
  return 0;
}

async function offline({ file, source, flags }: Run): Promise<number> {
  const { offlineRestore } = await import('../restore/offline.js');
  const result = await offlineRestore({ source, dataDir: flags.dataDir!, configFile: flags.config, server: flags.server });
  if (flags.json) printJson({ mode: 'offline', ...result });
  else
    printResult(
      `Placed ${file} in ${flags.dataDir}: ${result.placed.join(', ')}${result.previousKeptIn ? `; the previous files are kept in ${result.previousKeptIn}` : ''}. Start the server on it.`,
    );
  return 0;
}
