import { createInterface } from 'node:readline/promises';
import { readKeyFile } from '../backup/encryption.js';
import { resolveTarget } from '../connect/target.js';
import { UsageError } from '../errors.js';
import { openRestoreSource } from '../restore/source.js';
import type { RestorePlan } from '../restore/plan.js';
// each mode's modules load when it runs: a replace does not pay for the deployment schema (zod),
// merge's and offline's code (about 0.3 s of a restore's start, docs/benchmarks.md)
import { printJson, printResult, say } from './output.js';
import { progressLine } from './progress.js';

export interface RestoreFlags {
  url?: string;
  dir?: string;
  dataDir?: string;
  passwordFile?: string;
  config?: string;
  server?: string;
  mode?: string;
  onConflict: string;
  match?: string;
  dbMap?: string;
  resumeAfter?: string;
  listen?: string;
  load?: string;
  encryptKeyFile?: string;
  dryRun?: boolean;
  yes?: boolean;
  abort?: boolean;
  force?: boolean;
  json?: boolean;
}

export function parseDbMap(text: string | undefined): Map<number, number> | undefined {
  if (text === undefined) return undefined;
  const map = new Map<number, number>();
  for (const pair of text.split(',')) {
    const m = /^\s*(\d+):(\d+)\s*$/.exec(pair);
    if (!m) throw new UsageError(`--db-map takes FROM:TO pairs such as 0:1,2:3, not "${text}"`);
    map.set(Number(m[1]), Number(m[2]));
  }
  return map;
}

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
  const lines = [`Restore plan (${plan.mode}) for ${plan.backup.file}:`, `  backup: ${from}RDB ${plan.backup.rdbVersion}, ${plan.backup.keys} keys in ${Object.keys(plan.backup.databases).length} database(s), ${plan.backup.functions} function librar${plan.backup.functions === 1 ? 'y' : 'ies'}`];
  if (plan.target) lines.push(`  target: ${plan.target.address}, ${plan.target.engine === 'valkey' ? 'Valkey' : 'Redis'} ${plan.target.version} (reads RDB up to ${plan.target.rdbVersion ?? '?'}; ${plan.target.role}), ${plan.target.keys} keys, AOF ${plan.target.aofEnabled ? 'on' : 'off'}`);
  for (const c of plan.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.what}`);
  lines.push(`  => ${plan.summary}`);
  printResult(lines.join('\n'));
}

export async function restoreCommand(file: string | undefined, flags: RestoreFlags): Promise<number> {
  if (flags.abort) {
    if (!flags.url && !flags.dir) throw new UsageError('restore --abort needs the target: --url URL or --dir DIR');
    const endpoint = await resolveTarget({ url: flags.url, dir: flags.dir, passwordFile: flags.passwordFile }, 'admin');
    const { abortRestore } = await import('../restore/replace.js');
    const result = await abortRestore(endpoint, { force: flags.force });
    if (flags.json) printJson({ ...result });
    else say(result.changed ? `The target was a replica of ${result.wasReplicaOf} (an interrupted restore); it is a writable master again with the data it had.` : 'The target is a master; nothing to abort.');
    return 0;
  }
  if (!file) throw new UsageError('say which backup to restore: neurallog-redis restore <file> (--url URL | --dir DIR | --data-dir DIR)');
  const targets = [flags.url, flags.dir, flags.dataDir].filter((v) => v !== undefined).length;
  if (targets !== 1) throw new UsageError('say where to restore with exactly one of --url URL, --dir DIR (a deployment made by `up`) or --data-dir DIR (a stopped server\'s data directory)');
  const mode = (flags.mode ?? (flags.dataDir ? 'offline' : 'replace')) as 'replace' | 'merge' | 'offline';
  if (!['replace', 'merge', 'offline'].includes(mode)) throw new UsageError(`--mode takes replace or merge, not "${flags.mode}"`);
  if (flags.dataDir && mode !== 'offline') throw new UsageError('--data-dir restores files for a stopped server; --mode does not apply');
  if (!flags.dataDir && mode === 'offline') throw new UsageError('an offline restore needs --data-dir DIR');
  if (!['fail', 'replace', 'skip'].includes(flags.onConflict)) throw new UsageError(`--on-conflict takes fail, replace or skip, not "${flags.onConflict}"`);
  if (flags.server && mode !== 'offline') throw new UsageError('--server names the binary that will load an offline restore (--data-dir); a live target says what it is itself');
  if (mode !== 'merge' && (flags.match || flags.dbMap || flags.resumeAfter)) throw new UsageError('--match, --db-map and --resume-after apply to --mode merge');
  const dbMap = parseDbMap(flags.dbMap);
  const resumeAfter = flags.resumeAfter === undefined ? undefined : Number(flags.resumeAfter);
  if (resumeAfter !== undefined && !(Number.isInteger(resumeAfter) && resumeAfter >= 0)) throw new UsageError(`--resume-after takes a record count, not "${flags.resumeAfter}"`);

  const key = flags.encryptKeyFile ? readKeyFile(flags.encryptKeyFile) : undefined;
  if (!flags.json) say(`Checking ${file} against its manifest ...`);
  // a replace checks the SHA-256 (openssl, another core) while it connects and checks the target
  // (replaceRestore awaits it before the first change); the Redis client loads meanwhile
  const replacing = mode === 'replace' && !flags.dryRun;
  if (replacing) {
    import('@redis/client').catch(() => undefined);
    import('../restore/replace.js').catch(() => undefined);
  }
  const source = await openRestoreSource(file, { encryptionKey: key, deferDigestCheck: replacing });
  const endpoint = mode === 'offline' ? undefined : await resolveTarget({ url: flags.url, dir: flags.dir, passwordFile: flags.passwordFile }, 'admin');

  if (flags.dryRun) {
    const { planRestore } = await import('../restore/plan.js');
    const plan = await planRestore({ source, mode, endpoint, match: flags.match, dbMap, dataDir: flags.dataDir, configFile: flags.config, server: flags.server });
    if (flags.json) printJson({ dryRun: true, ...plan });
    else printPlan(plan);
    return plan.exitCode;
  }

  if (process.stdin.isTTY && !flags.yes && !flags.json) {
    const what = mode === 'replace' ? `replace ALL data on ${endpoint!.host}:${endpoint!.port} with ${file}` : mode === 'merge' ? `write the keys of ${file} into ${endpoint!.host}:${endpoint!.port} (on conflict: ${flags.onConflict})` : `place ${file} into ${flags.dataDir}`;
    if (!(await confirm(`This will ${what}. Continue?`))) {
      say('Nothing was changed.');
      return 1;
    }
  }

  const controller = new AbortController();
  const onSignal = () => {
    say('\nInterrupted: putting the target back ...');
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = progressLine(process.stderr.isTTY === true && !flags.json);
  const started = Date.now();
  try {
    if (mode === 'replace') {
      const { replaceRestore } = await import('../restore/replace.js');
      const result = await replaceRestore({
        source,
        endpoint: endpoint!,
        listenHost: flags.listen,
        load: (flags.load ?? 'auto') as 'auto' | 'disk' | 'swapdb',
        signal: controller.signal,
        onPhase: (phase, detail) => {
          progress.done();
          if (flags.json || phase === 'done') return;
          // the target and the backup have passed every check: only now does anything change
          if (phase === 'transferring') say('Serving the backup to the target as its replication master (clients get -READONLY during the transfer and -LOADING while it loads) ...');
          else say(`  ${phase}${detail ? ` (${detail})` : ''} ...`);
        },
        onTransferProgress: (bytes, total) => progress.update({ bytes, totalBytes: total, elapsedMs: Date.now() - started, label: 'transferring' }),
      });
      progress.done();
      if (flags.json) printJson({ ...result });
      else {
        const keys = Object.values(result.keysAfter).reduce((a, b) => a + b, 0);
        printResult(`Restored ${file} into ${result.target}: ${keys} keys, ${result.functions} function librar${result.functions === 1 ? 'y' : 'ies'}${result.aofRewritten ? ', AOF rewritten (the data survives a restart)' : ''}; ${result.sampled} sampled keys compared equal, in ${result.seconds.toFixed(1)}s.`);
      }
      return 0;
    }
    if (mode === 'merge') {
      const { mergeRestore } = await import('../restore/merge.js');
      const result = await mergeRestore({
        source,
        endpoint: endpoint!,
        onConflict: flags.onConflict as 'fail' | 'replace' | 'skip',
        match: flags.match,
        dbMap,
        resumeAfter,
        signal: controller.signal,
        onProgress: (p) => progress.update({ bytes: p.bytes, totalBytes: source.rdbBytes, keys: p.written, elapsedMs: Date.now() - started, label: 'merging' }),
      });
      progress.done();
      if (flags.json) printJson({ mode: 'merge', ...result });
      else {
        const parts = [`${result.written} keys written`];
        if (result.skipped) parts.push(`${result.skipped} skipped (they existed)`);
        if (result.expired) parts.push(`${result.expired} expired since the backup (not written)`);
        if (result.filtered) parts.push(`${result.filtered} not matching --match`);
        if (result.resumedAfter) parts.push(`${result.resumedAfter} done by an earlier run`);
        parts.push(`${result.functions.loaded} function librar${result.functions.loaded === 1 ? 'y' : 'ies'} loaded`);
        printResult(`Merged ${file} into ${endpoint!.host}:${endpoint!.port}: ${parts.join(', ')} in ${(result.elapsedMs / 1000).toFixed(1)}s.`);
        for (const note of result.notes) say(`Note: ${note}`);
      }
      return 0;
    }
    const { offlineRestore } = await import('../restore/offline.js');
    const result = await offlineRestore({ source, dataDir: flags.dataDir!, configFile: flags.config, server: flags.server });
    if (flags.json) printJson({ mode: 'offline', ...result });
    else printResult(`Placed ${file} in ${flags.dataDir}: ${result.placed.join(', ')}${result.previousKeptIn ? `; the previous files are kept in ${result.previousKeptIn}` : ''}. Start the server on it.`);
    return 0;
  } finally {
    progress.done();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
