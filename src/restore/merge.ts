/**
 * Merge restore: a backup's keys and function libraries written into a live server that keeps its own
 * data, with pipelined RESTORE built from the RDB's raw value bytes (absolute TTLs, LRU/LFU hints).
 *
 *   1. the target is inspected (version, role, databases, libraries), while the stored file's
 *      SHA-256 may still be being checked (openRestoreSource's `deferDigestCheck`): nothing is sent
 *      that changes the target until it has matched;
 *   2. first pass: the whole backup is parsed and its CRC checked, and in `fail` mode (and dry runs)
 *      every selected key's existence is checked: nothing is written unless the backup is intact and,
 *      in `fail` mode, nothing selected exists;
 *   3. second pass: the backup streams again and each item is sent as soon as it is parsed.
 *
 * Stops mid-way (an error reply, a lost connection, the abort signal) raise MergeInterruptedError
 * with the exact count written and the `resumeAfter` that finishes the job.
 */
import { RdbFormatError } from '../rdb/index.js';
import { UsageError } from '../errors.js';
import { checkPass, manifestPlan, type CheckResult } from './merge-check.js';
import { Selector } from './merge-scan.js';
import { inspectTarget, probePayloads, type TargetInfo } from './merge-target.js';
import {
  MergeConflictError,
  MergeInterruptedError,
  type ConflictPolicy,
  type ConflictReport,
  type MergeOptions,
  type MergeResult,
  type ValueEncoding,
} from './merge-types.js';
import { writePass } from './merge-write.js';
import type { BackupOrigin } from '../backup/origin.js';
import { describeEngine, engineHas } from '../engine/index.js';
import {
  chooseMergePath,
  commandsFallbackProblems,
  FIELD_TTL_COMMANDS,
  loadsOnlyAsForeign,
  mergePath,
  readerRefusal,
  type MergePath,
} from './compatibility.js';
import { BackupIntegrityError, sourceOrigin } from './source.js';
import { RestoreRefusedError } from './target.js';
import { hasModuleNeeds, moduleVerdict, scanModuleNeeds, targetModules } from './modules.js';
import { closeConnection, openConnection } from '../connect/index.js';

export * from './merge-types.js';

const POLICIES: readonly ConflictPolicy[] = ['fail', 'replace', 'skip'];
const EXAMPLES = 5;

/**
 * Commands a merge keeps unanswered before it reads on. One 1 MiB chunk of a NeuralLog backup makes
 * about 1,900 commands, so 2,000 let the client refill only as the target drained: the two took turns.
 * 10,000 keep the target fed while the next chunks are parsed (A/B at 254,438 keys, same server,
 * alternating: 6.15-6.79 s at 2,000, 4.74-6.20 s at 8,000, 4.64-5.77 s at 20,000; the bytes bound,
 * 32 MiB, still caps memory).
 */
export const DEFAULT_MAX_IN_FLIGHT = 10_000;

export async function mergeRestore(options: MergeOptions): Promise<MergeResult> {
  const started = Date.now();
  const { onConflict, requested, dryRun } = readPolicy(options);
  const selector = new Selector(options);
  const notes: string[] = [];

  const target = await inspectTarget(options.endpoint, { clusterNode: options.clusterNode });
  // Before anything is written: which path the values take (commands only after the scan below)
  const origin = await sourceOrigin(options.source);
  const unreadable = readerRefusal(origin);
  if (unreadable) throw new RestoreRefusedError(`not merging: ${unreadable}; nothing was written`);
  const path = await chooseValuePath(options.endpoint, options.source, target, origin, requested);
  const encoding = path.encoding;
  const moduleNote = await checkModuleValues(options);
  if (moduleNote) notes.push(moduleNote);
  const { check, checkExisting } = await firstPass(options, target, selector, encoding, dryRun, onConflict);
  const libraries = checkFits(check, target, selector, path, origin);
  notes.push(`values go by ${path.reason}`);
  if (check.checksumDisabled) notes.push('the backup carries no checksum (saved with rdbchecksum no): it was checked structurally only');
  if (onConflict === 'fail' && !checkExisting) notes.push('the target databases held no keys, so no key was looked up before writing');
  const libraryConflicts = libraries.filter((l) => target.libraries?.has(l.name));
  if (encoding === 'commands') notes.push("with plain commands, stream consumers' seen and active times and LRU/LFU hints are not kept");

  const conflicts = conflictReport(check, libraryConflicts);
  const base = {
    dryRun,
    onConflict,
    valueEncoding: encoding,
    rdbVersion: check.rdbVersion,
    verifiedBy: check.verifiedBy,
    path: path.reason,
    backup: { ...(origin.identity ? { engine: origin.identity.engine, version: origin.identity.version } : {}), rdbVersion: origin.rdbVersion },
    target: {
      engine: target.engine.identity.engine,
      version: target.engine.identity.version,
      ...(target.engine.rdbVersion !== undefined ? { rdbVersion: target.engine.rdbVersion } : {}),
      ...(target.databases !== undefined ? { databases: target.databases } : {}),
    },
    records: check.records,
    keys: check.keys,
    libraries: check.libraries.length,
    resumedAfter: selector.resumeAfter,
    ...(conflicts ? { conflicts } : {}),
  };
  const conflicting = onConflict === 'fail' && conflicts !== undefined && conflicts.keys + conflicts.libraries > 0;
  if (conflicting && !dryRun) throw new MergeConflictError(conflicts);

  if (dryRun) {
    await options.source.digestChecked;
    if (conflicting) notes.push('with --on-conflict fail this merge would be refused: see conflicts');
    const existingKeys = conflicts?.keys ?? 0;
    const skip = onConflict === 'skip';
    return {
      ...base,
      filtered: check.filtered,
      expired: check.expired,
      written: skip ? check.selected - existingKeys : check.selected,
      skipped: skip ? existingKeys : 0,
      functions: { loaded: skip ? libraries.length - libraryConflicts.length : libraries.length, skipped: skip ? libraryConflicts.length : 0 },
      databases: check.databases,
      bytes: check.bytes,
      elapsedMs: Date.now() - started,
      notes,
    };
  }

  const outcome = await writePass(writeArgs(options, target, selector, onConflict, encoding, check.rdbVersion));
  if (outcome.stop) throw new MergeInterruptedError(outcome.stop, outcome.cause);
  return {
    ...base,
    filtered: outcome.filtered,
    expired: outcome.expired,
    written: outcome.written,
    skipped: outcome.skipped,
    functions: outcome.functions,
    databases: outcome.databases,
    ...(outcome.lastKey ? { lastKey: outcome.lastKey } : {}),
    bytes: outcome.bytes,
    elapsedMs: Date.now() - started,
    notes,
  };
}

/** The second pass's arguments: the target's features and limits, the in-flight bounds. */
function writeArgs(
  options: MergeOptions,
  target: TargetInfo,
  selector: Selector,
  onConflict: ConflictPolicy,
  encoding: 'restore' | 'commands',
  rdbVersion: number,
): Parameters<typeof writePass>[0] {
  return {
    source: options.source,
    endpoint: options.endpoint,
    selector,
    onConflict,
    encoding,
    rdbVersion,
    features: {
      rdbVersion: target.engine.rdbVersion ?? rdbVersion,
      createConsumer: engineHas(target.engine.identity, XGROUP_CREATECONSUMER),
      fieldExpiry: engineHas(target.engine.identity, FIELD_TTL_COMMANDS),
    },
    maxPayload: target.protoMaxBulkLen ?? 512 * 1024 * 1024,
    existingLibraries: target.libraries ?? new Set(),
    maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    maxInFlightBytes: options.maxInFlightBytes ?? 32 * 1024 * 1024,
    onProgress: options.onProgress,
    signal: options.signal,
  };
}

function readPolicy(options: MergeOptions): { onConflict: ConflictPolicy; requested: ValueEncoding; dryRun: boolean } {
  const onConflict = options.onConflict ?? 'fail';
  if (!POLICIES.includes(onConflict)) throw new UsageError(`--on-conflict takes fail, replace or skip, not "${String(onConflict)}"`);
  const requested = options.valueEncoding ?? 'auto';
  if (!['auto', 'restore', 'commands'].includes(requested)) throw new UsageError(`valueEncoding takes auto, restore or commands, not "${String(requested)}"`);
  return { onConflict, requested, dryRun: options.dryRun ?? false };
}

/**
 * The first pass parses the whole backup unless its stored bytes were proven (SHA-256, by
 * openRestoreSource; when deferred, the write pass sends nothing before it has matched) to be those
 * of a backup verified when taken, no key has to be looked up
 * (`replace`/`skip`, or `fail` onto target databases that hold no key at all: a key created there
 * meanwhile makes RESTORE answer BUSYKEY, which stops the merge: it never overwrites), and the
 * values go by RESTORE (the commands path needs every value's type, which only a parse tells).
 */
async function firstPass(
  options: MergeOptions,
  target: TargetInfo,
  selector: Selector,
  encoding: ValueEncoding,
  dryRun: boolean,
  onConflict: ConflictPolicy,
): Promise<{ check: CheckResult; checkExisting: boolean }> {
  const manifest = options.source.manifest;
  const trusted = manifest?.verified === true && (options.verify ?? 'auto') === 'auto';
  const targetDbs = manifest ? Object.keys(manifest.keyspace.databases).map((db) => selector.targetDb(Number(db))) : undefined;
  const emptyTarget = targetDbs !== undefined && targetDbs.every((db) => !(target.keyspace.get(db)! > 0));
  const checkExisting = dryRun || (onConflict === 'fail' && !emptyTarget);
  try {
    const check =
      trusted && !checkExisting && encoding === 'restore'
        ? await manifestPlan(options.source, selector)
        : await checkPass({
            source: options.source,
            endpoint: options.endpoint,
            selector,
            checkExisting,
            clusterNode: options.clusterNode,
            onProgress: options.onProgress,
            signal: options.signal,
          });
    return { check, checkExisting };
  } catch (error) {
    if (error instanceof RdbFormatError) throw new BackupIntegrityError(`${error.message}. The backup is damaged; nothing was written to the target`);
    throw error;
  }
}

/**
 * Refusals the first pass makes possible, in this order: values plain commands cannot express, a
 * database the target lacks, functions for a target without them. Returns the libraries to load.
 */
function checkFits(check: CheckResult, target: TargetInfo, selector: Selector, path: MergePath, origin: BackupOrigin): CheckResult['libraries'] {
  if (path.encoding === 'commands') {
    const problems = commandsFallbackProblems(check.types ?? {}, target.engine.identity);
    if (problems.length > 0) {
      throw new RestoreRefusedError(
        `not merging: ${path.why}, and plain commands cannot express ${problems.join('; ')}. Restore onto a server that reads RDB ${origin.rdbVersion}; nothing was written`,
      );
    }
  }
  const outOfRange = check.databases.find((d) => target.databases !== undefined && d.to >= target.databases);
  if (outOfRange) {
    throw new UsageError(
      `the backup's database ${outOfRange.from} goes to database ${outOfRange.to}, but the target has ${target.databases} (0 to ${target.databases! - 1}); map it with --db-map ${outOfRange.from}:<n>; nothing was written`,
    );
  }
  const libraries = check.libraries.filter((l) => !selector.resumed(l.index));
  if (libraries.length > 0 && !target.libraries) {
    throw new UsageError(
      `the backup holds ${libraries.length} function librar${libraries.length === 1 ? 'y' : 'ies'}, but the target (${describeEngine(target.engine.identity)}) has no functions (Redis 7.0 or later); nothing was written`,
    );
  }
  return libraries;
}

function conflictReport(check: CheckResult, libraryConflicts: CheckResult['libraries']): ConflictReport | undefined {
  if (!check.existing && libraryConflicts.length === 0) return undefined;
  return {
    keys: check.existing?.keys ?? 0,
    libraries: libraryConflicts.length,
    examples: [...libraryConflicts.map((l) => `library "${l.name}"`), ...(check.existing?.examples ?? [])].slice(0, EXAMPLES),
  };
}

/**
 * RESTORE payloads when the target loads the backup's RDB version (a release src/engine does not know
 * is asked with a probe payload), plain commands otherwise or when asked; a request for payloads the
 * target cannot load is refused. Whether every value has a command form is checked after the scan.
 */
async function chooseValuePath(
  endpoint: MergeOptions['endpoint'],
  source: MergeOptions['source'],
  target: TargetInfo,
  origin: BackupOrigin,
  requested: ValueEncoding,
): Promise<MergePath> {
  let path: MergePath = chooseMergePath(origin, target.engine, undefined);
  // Valkey 9 taking a Redis RDB 12 only as a foreign format: payloads only when the manifest says no value has a type it refuses
  const recorded = source.manifest?.keyspace.types;
  if (path.encoding === 'commands' && recorded && loadsOnlyAsForeign(origin, target.engine)) path = chooseMergePath(origin, target.engine, recorded);
  if (target.engine.rdbVersion === undefined && requested !== 'commands') {
    // the probe is a RESTORE (of a key that expired long ago): only once the backup is known intact
    await source.digestChecked;
    const reads = await probePayloads(endpoint, origin.rdbVersion);
    if (reads !== undefined)
      path = mergePath(
        reads ? 'restore' : 'commands',
        `${describeEngine(target.engine.identity)} ${reads ? 'accepted' : 'refused'} a RESTORE payload of RDB ${origin.rdbVersion}`,
      );
  }
  if (requested === 'commands') return mergePath('commands', path.why, 'plain commands, as asked');
  if (requested === 'restore' && path.encoding === 'commands') {
    throw new RestoreRefusedError(`${path.why}; merge with value encoding auto or commands to rebuild values with plain commands; nothing was written`);
  }
  return path;
}

/**
 * Module-type values go by RESTORE only where the target has their module: checked before the first
 * write (a merge that met one mid-way would leave a partial result). Needs a parse of the backup
 * unless its manifest counts no module values. Returns a note for the result, if any.
 */
async function checkModuleValues(options: MergeOptions): Promise<string | undefined> {
  const types = options.source.manifest?.keyspace.types;
  if (types && !(Number(types['7'] ?? 0) > 0)) return undefined;
  let needs;
  try {
    needs = await scanModuleNeeds(options.source);
  } catch (error) {
    if (error instanceof RdbFormatError) throw new BackupIntegrityError(`${error.message}. The backup is damaged; nothing was written to the target`);
    throw error;
  }
  if (!hasModuleNeeds(needs)) return undefined;
  const client = await openConnection(options.endpoint, { name: 'neurallog-redis-merge-check' });
  let loaded: string[];
  try {
    loaded = await targetModules(client);
  } finally {
    await closeConnection(client);
  }
  const verdict = moduleVerdict(needs, loaded, { valuesOnly: true });
  if (verdict && !verdict.ok) throw new RestoreRefusedError(`not merging: ${verdict.message}; nothing was written`, 'E_RESTORE_MODULES', 2);
  const notes = [
    verdict?.note,
    needs.aux.length > 0 ? `module AUX data (${needs.aux.join(', ')}: a module's own global state) is not merged; only keys are` : undefined,
  ].filter((n) => n !== undefined);
  return notes.length > 0 ? notes.join('; ') : undefined;
}

/** XGROUP CREATECONSUMER: Redis 6.2, every Valkey */
const XGROUP_CREATECONSUMER = { redis: '6.2.0', valkey: '7.2.0' };
