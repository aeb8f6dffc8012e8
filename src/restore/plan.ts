/**
 * `restore --dry-run`: verifies the backup, compares RDB and server versions, checks the target's
 * `databases` count, estimates memory against maxmemory, counts keys that already exist, and says what
 * a restore would do. It changes nothing.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { closeConnection, openConnection, type Endpoint, type RedisConnection } from '../connect/index.js';
import { rdbVerifier, type RdbSummary } from '../rdb/index.js';
import { originFromRdb, type BackupOrigin } from '../backup/origin.js';
import { chooseMergePath, rdbLoadVerdict, readerRefusal } from './compatibility.js';
import { globMatcher } from './glob.js';
import { readLayout } from './offline.js';
import { offlineEvidence, offlineVerdict } from './offline-target.js';
import { sourceOrigin, type RestoreSource } from './source.js';
import { readTargetFacts, replaceRefusals, type TargetFacts } from './target.js';
import { moduleVerdict, scanModuleNeeds, targetModules, type ModuleNeeds } from './modules.js';

export interface PlanCheck {
  ok: boolean;
  what: string;
}

export interface RestorePlan {
  mode: 'replace' | 'merge' | 'offline';
  backup: {
    file: string;
    /** the writer, when known (manifest origin, else the RDB's aux fields) */
    engine?: 'redis' | 'valkey';
    version?: string;
    rdbVersion: number;
    rdbBytes: number;
    keys: number;
    databases: Record<string, number>;
    functions: number;
    usedMemory?: number;
    checksum: string;
  };
  target?: {
    address: string;
    engine: 'redis' | 'valkey';
    version: string;
    rdbVersion?: number;
    role: string;
    databases: number;
    maxmemory: number;
    usedMemory: number;
    keys: number;
    aofEnabled: boolean;
  };
  /** merge: how values would go (RESTORE payloads, or plain commands when the target reads an older RDB) */
  valuePath?: 'restore' | 'commands';
  existingKeys?: number;
  checks: PlanCheck[];
  ok: boolean;
  /** the exit code of the dry run: 0 would go ahead, 1 refused, 2 refused because the target lacks modules the backup needs */
  exitCode: 0 | 1 | 2;
  summary: string;
}

export interface PlanOptions {
  source: RestoreSource;
  mode: 'replace' | 'merge' | 'offline';
  endpoint?: Endpoint;
  match?: string;
  dbMap?: Map<number, number>;
  /** offline: the data directory, its configuration and the server binary that will load it */
  dataDir?: string;
  configFile?: string;
  server?: string;
}

export async function planRestore(options: PlanOptions): Promise<RestorePlan> {
  const checks: PlanCheck[] = [];
  const client = options.endpoint ? await openConnection(options.endpoint) : undefined;
  try {
    const facts: TargetFacts | undefined = client ? await readTargetFacts(client) : undefined;
    let origin: BackupOrigin | undefined;
    let originError: string | undefined;
    try {
      origin = await sourceOrigin(options.source);
    } catch (error) {
      originError = (error as Error).message;
    }
    const match = options.match ? globMatcher(options.match) : undefined;
    const scan = await scanBackup(options, client, facts, match);
    const { summary } = scan;
    checks.push(
      scan.verifyError
        ? { ok: false, what: scan.verifyUnsupported ? scan.verifyError : `the backup is damaged: ${scan.verifyError}` }
        : {
            ok: true,
            what: `the backup is intact (structure and CRC-64 ${summary!.checksum.computed}${options.source.manifest ? ', SHA-256 matches its manifest' : ''})`,
          },
    );
    const backupDbs = summary ? Object.fromEntries(Object.entries(summary.databases).map(([db, s]) => [db, s.keys])) : {};
    const backupKeys = Object.values(backupDbs).reduce((a, b) => a + b, 0);
    const usedMemory = options.source.manifest?.rdb.usedMemory ?? (summary?.aux['used-mem'] ? Number(summary.aux['used-mem']) : undefined);
    if (summary) origin ??= originFromRdb(summary.version, summary.aux);
    if (!origin && originError) checks.push({ ok: false, what: originError });
    const unreadable = origin ? readerRefusal(origin) : undefined;
    if (unreadable) checks.push({ ok: false, what: unreadable });
    if (options.mode === 'offline' && options.dataDir && origin) {
      const layout = readLayout(options.dataDir, options.configFile);
      const verdict = offlineVerdict(origin, offlineEvidence(options.dataDir, layout, options.server));
      checks.push({ ok: verdict.loads, what: verdict.message });
    }
    const judged =
      facts && options.endpoint
        ? await judgeTarget({ options, client, facts, endpoint: options.endpoint, origin, scan, backupDbs, usedMemory, checks })
        : undefined;
    const ok = checks.every((c) => c.ok);
    const valuePath = judged?.valuePath;
    return {
      mode: options.mode,
      backup: {
        file: options.source.file,
        ...(origin?.identity ? { engine: origin.identity.engine, version: origin.identity.version } : {}),
        rdbVersion: summary?.version ?? origin?.rdbVersion ?? 0,
        rdbBytes: summary?.bytes ?? 0,
        keys: backupKeys,
        databases: backupDbs,
        functions: summary?.functions ?? 0,
        usedMemory,
        checksum: summary?.checksum.computed ?? '',
      },
      target: judged?.target,
      existingKeys: options.mode === 'merge' ? scan.existing : undefined,
      ...(valuePath ? { valuePath } : {}),
      checks,
      ok,
      exitCode: ok ? 0 : judged?.modulesMissing ? 2 : 1,
      summary: summaryLine(options, judged?.target, backupKeys, scan.existing, valuePath),
    };
  } finally {
    if (client) await closeConnection(client);
  }
}

function summaryLine(options: PlanOptions, target: RestorePlan['target'], backupKeys: number, existing: number, valuePath: RestorePlan['valuePath']): string {
  if (options.mode === 'replace') return `replace: the target's ${target?.keys ?? '?'} keys would be replaced by the backup's ${backupKeys} keys`;
  if (options.mode === 'merge') {
    return `merge: ${backupKeys} keys${options.match ? ` (those matching ${options.match})` : ''} would be written${valuePath ? ` by ${valuePath === 'restore' ? 'RESTORE payloads' : 'plain commands'}` : ''}; ${existing} already exist on the target`;
  }
  return `offline: the backup's ${backupKeys} keys would be placed in the data directory`;
}

/** What one streaming pass over the backup found: the verifier's verdict, and (merge) the keys the target already has. */
interface BackupScan {
  summary?: RdbSummary;
  verifyError?: string;
  /** a valid file of a version the reader does not know: not damage */
  verifyUnsupported: boolean;
  existing: number;
  /** module names of the backup's module AUX records */
  moduleAux: Set<string>;
}

/**
 * Counts the selected keys that exist on the target, pipelined in batches (a merge's dry run). A
 * database the target does not have holds no key (and SELECT would fail): the plan's check says so.
 */
class ExistingKeys {
  existing = 0;
  private pending: Array<{ db: number; key: Buffer }> = [];
  private currentDb = -1;
  constructor(
    private readonly client: RedisConnection | undefined,
    private readonly facts: TargetFacts | undefined,
  ) {}
  get waiting(): number {
    return this.pending.length;
  }
  add(db: number, key: Buffer): void {
    if (this.client) this.pending.push({ db, key });
  }
  async flush(): Promise<void> {
    if (!this.client || this.pending.length === 0) return;
    const facts = this.facts;
    const batch = this.pending.filter(({ db }) => facts === undefined || db < facts.databases);
    this.pending = [];
    if (batch.length === 0) return;
    const multi = this.client.multi();
    for (const { db, key } of batch) {
      if (db !== this.currentDb) {
        multi.select(db);
        this.currentDb = db;
      }
      multi.exists(key);
    }
    // EXISTS answers 1 or 0, SELECT answers OK
    const replies: unknown[] = await multi.execAsPipeline();
    for (const r of replies) if (r === 1) this.existing++;
  }
}

async function scanBackup(
  options: PlanOptions,
  client: RedisConnection | undefined,
  facts: TargetFacts | undefined,
  match: ((key: Uint8Array) => boolean) | undefined,
): Promise<BackupScan> {
  // only a merge looks keys up
  const existing = new ExistingKeys(options.mode === 'merge' ? client : undefined, facts);
  const moduleAux = new Set<string>();
  const verifier = rdbVerifier({
    source: options.source.file,
    rawValues: 'none',
    onModuleAux: (a) => moduleAux.add(a.moduleName),
    onRecord: (r) => {
      if (match && !match(r.key)) return;
      existing.add(options.dbMap?.get(r.db) ?? r.db, Buffer.from(r.key));
    },
  });
  const scan: BackupScan = { verifyUnsupported: false, existing: 0, moduleAux };
  try {
    await pipeline(
      options.source.open(),
      verifier,
      new Writable({
        write: (_chunk, _enc, done) => {
          if (existing.waiting >= 2000) existing.flush().then(() => done(), done);
          else done();
        },
        final: (done) => {
          existing.flush().then(() => done(), done);
        },
      }),
    );
    scan.summary = verifier.summary();
    if (client) await client.select(0);
  } catch (error) {
    scan.verifyError = (error as Error).message;
    scan.verifyUnsupported = (error as { code?: string }).code === 'E_RDB_UNSUPPORTED';
  }
  scan.existing = existing.existing;
  return scan;
}

interface TargetJudgement {
  options: PlanOptions;
  client: RedisConnection | undefined;
  facts: TargetFacts;
  endpoint: Endpoint;
  origin: BackupOrigin | undefined;
  scan: BackupScan;
  backupDbs: Record<string, number>;
  usedMemory: number | undefined;
  /** the plan's checks, added to */
  checks: PlanCheck[];
}

/** The target's side of the plan: its facts, and the checks of the backup against it. */
async function judgeTarget(
  j: TargetJudgement,
): Promise<{ target: NonNullable<RestorePlan['target']>; valuePath?: RestorePlan['valuePath']; modulesMissing: boolean }> {
  const { options, facts, checks, scan } = j;
  const { summary } = scan;
  const target = {
    address: `${j.endpoint.host}:${j.endpoint.port}`,
    engine: facts.engine.identity.engine,
    version: facts.engine.identity.version,
    ...(facts.engine.rdbVersion !== undefined ? { rdbVersion: facts.engine.rdbVersion } : {}),
    role: facts.role,
    databases: facts.databases,
    maxmemory: facts.maxmemory,
    usedMemory: facts.usedMemory,
    keys: Object.values(facts.keysPerDb).reduce((a, b) => a + b, 0),
    aofEnabled: facts.aofEnabled,
  };
  let valuePath: RestorePlan['valuePath'];
  if (j.origin && options.mode === 'merge') valuePath = checkMergePath(j.origin, facts, summary, checks);
  else if (j.origin) {
    const verdict = rdbLoadVerdict(j.origin, facts.engine, summary?.types ?? options.source.manifest?.keyspace.types);
    checks.push({ ok: verdict.loads, what: verdict.message });
  }
  if (summary) {
    const dbs = Object.keys(j.backupDbs).map((db) => options.dbMap?.get(Number(db)) ?? Number(db));
    const top = Math.max(-1, ...dbs);
    checks.push(
      top < facts.databases
        ? { ok: true, what: `databases used (${dbs.join(', ') || 'none'}) exist on the target (databases ${facts.databases})` }
        : { ok: false, what: `the backup writes database ${top} but the target has ${facts.databases}` },
    );
  }
  if (j.usedMemory !== undefined && facts.maxmemory > 0) {
    const need = options.mode === 'merge' ? facts.usedMemory + j.usedMemory : j.usedMemory;
    checks.push({
      ok: need <= facts.maxmemory,
      what: `memory: about ${(need / 1048576).toFixed(1)} MiB needed (${options.mode === 'merge' ? 'current + backup' : "the backup's used-mem"}) against maxmemory ${(facts.maxmemory / 1048576).toFixed(1)} MiB`,
    });
  }
  if (options.mode === 'replace') for (const r of replaceRefusals(facts)) checks.push({ ok: false, what: r });
  const modulesMissing = summary && j.client ? await checkModules(options, j.client, summary, scan.moduleAux, checks) : false;
  return { target, ...(valuePath ? { valuePath } : {}), modulesMissing };
}

/** merge: how values would go, and (after a full parse) whether every value has a command form. */
function checkMergePath(origin: BackupOrigin, facts: TargetFacts, summary: RdbSummary | undefined, checks: PlanCheck[]): RestorePlan['valuePath'] {
  const path = chooseMergePath(origin, facts.engine, summary?.types);
  if (path.encoding === 'restore') checks.push({ ok: true, what: `values: ${path.reason}` });
  else if (!summary) checks.push({ ok: false, what: `values: ${path.reason}; whether every value has a command form is unknown (the backup did not verify)` });
  else {
    checks.push(
      path.problems.length === 0
        ? { ok: true, what: `values: ${path.reason}; every value of the backup has a command form on the target` }
        : { ok: false, what: `values: ${path.reason}, and plain commands cannot express ${path.problems.join('; ')}` },
    );
  }
  return path.encoding;
}

/** The modules the backup needs against the target's; true when some are missing. */
async function checkModules(options: PlanOptions, client: RedisConnection, summary: RdbSummary, moduleAux: Set<string>, checks: PlanCheck[]): Promise<boolean> {
  // module values need a second pass for their type names (rare: only when the backup has any)
  const needs: ModuleNeeds =
    Number(summary.types['7'] ?? 0) > 0 ? await scanModuleNeeds(options.source) : { aux: [...moduleAux].sort(), values: {}, unnamedValues: 0 };
  const modules = moduleVerdict(needs, await targetModules(client), { valuesOnly: options.mode === 'merge' });
  if (!modules) return false;
  checks.push({ ok: modules.ok, what: modules.message });
  if (modules.note) checks.push({ ok: true, what: `note: ${modules.note}` });
  return !modules.ok;
}
