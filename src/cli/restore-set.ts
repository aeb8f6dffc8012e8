/**
 * `restore SETDIR`: a cluster backup set onto a cluster (any number of masters: each key to the master
 * of its slot), onto a single server (--url, --dir), or onto the master that Sentinels name; resumable
 * (the progress file beside the set). And the Sentinel target of a single backup's restore.
 */
import { readKeyFile } from '../backup/encryption.js';
import { resolveTarget } from '../discover/index.js';
import { endpointOf, topologyFromOptions } from '../connect/topology-target.js';
import { askSentinels } from '../discover/index.js';
import type { Endpoint } from '../connect/url.js';
import { UsageError } from '../errors.js';
import { requireSetMode, restoreSet, singleFileSet, type SetTarget } from '../restore/set-restore.js';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { readManifest } from '../backup/manifest.js';
import { manifestPathFor } from '../backup/naming.js';
import { isBackupSet } from '../backup/set-write.js';
import { onInterrupt } from './interrupt.js';
import { printJson, printResult, say } from './output.js';
import type { RestoreFlags } from './restore-flags.js';

/** The live target of a restore: --url, --dir, or the master the Sentinels name (as the given user). */
export async function restoreEndpoint(flags: RestoreFlags): Promise<Endpoint> {
  const topology = topologyFromOptions(flags, 'admin');
  if (topology?.kind === 'cluster') throw new UsageError('onto a cluster a backup restores key by key: give --mode merge (or leave --mode out)');
  if (topology?.kind === 'sentinel') return endpointOf((await askSentinels(topology)).master, topology.credentials);
  return resolveTarget({ url: flags.url, dir: flags.dir, passwordFile: flags.passwordFile }, 'admin');
}

async function setTarget(flags: RestoreFlags): Promise<SetTarget> {
  const given = [flags.url, flags.dir, flags.sentinel, flags.cluster].filter((v) => v !== undefined).length;
  if (given !== 1 || flags.dataDir)
    throw new UsageError(
      'say where to restore the set with exactly one of --cluster HOST:PORT,..., --url URL, --dir DIR or --sentinel HOST:PORT,... --master-name NAME',
    );
  const topology = topologyFromOptions(flags, 'admin');
  if (topology?.kind === 'cluster') return topology;
  return { kind: 'single', endpoint: await restoreEndpoint(flags) };
}

/** Whether a single backup's restore goes onto a cluster (--cluster, or a --dir made by `up --topology cluster`). */
export function targetsCluster(flags: RestoreFlags): boolean {
  return topologyFromOptions(flags, 'admin')?.kind === 'cluster';
}

/** `restore FILE --cluster ...` / a set: `file` is a set directory, or a single backup restored as a one-shard set. */
export async function restoreSetCommand(path: string, flags: RestoreFlags): Promise<number> {
  requireSetMode(flags.mode);
  const single = !isBackupSet(path);
  const dir = single ? dirname(path) : path;
  const set = single ? singleFileSet(path, existsSync(manifestPathFor(path)) ? readManifest(manifestPathFor(path)) : undefined) : undefined;
  if (flags.match || flags.dbMap || flags.resumeAfter !== undefined || flags.dryRun)
    throw new UsageError(
      'a set restores whole: --match, --db-map, --resume-after and --dry-run apply to single backups (a set resumes by itself from its progress file)',
    );
  const key = flags.encryptKeyFile ? readKeyFile(flags.encryptKeyFile) : undefined;
  const target = await setTarget(flags);
  const interrupt = onInterrupt(() => say('\nInterrupted: the progress so far is kept; run the same restore again to resume.'));
  try {
    const result = await restoreSet({
      setDir: dir,
      set,
      target,
      encryptionKey: key,
      onConflict: flags.onConflict,
      progressFile: flags.progressFile,
      signal: interrupt.signal,
      onPair: (e) => {
        if (!flags.json && e.state !== 'start')
          say(`  ${e.file} -> ${e.node}: ${e.state === 'skipped' ? 'done by an earlier run' : `${e.written} keys written`}`);
      },
    });
    if (flags.json) printJson({ mode: 'set', ...result });
    else {
      printResult(
        `Restored ${single ? path : `the set ${dir}`} onto ${target.kind === 'single' ? `${target.endpoint.host}:${target.endpoint.port}` : `a cluster of ${result.masters} masters`}: ${result.written} keys written${result.expired ? `, ${result.expired} expired since the backup` : ''}${result.replans ? `, slot map asked again ${result.replans} time(s) after MOVED/ASK` : ''}.`,
      );
      for (const note of result.notes) say(`Note: ${note}`);
    }
    return 0;
  } finally {
    interrupt.dispose();
  }
}
