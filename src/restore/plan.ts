/**
 * `restore --dry-run`: verifies the backup, compares RDB and server versions, checks the target's
 * `databases` count, estimates memory against maxmemory, counts keys that already exist, and says what
 * a restore would do. It changes nothing.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { closeConnection, openConnection, type Endpoint } from '../connect/index.js';
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
  target?: { address: string; engine: 'redis' | 'valkey'; version: string; rdbVersion?: number; role: string; databases: number; maxmemory: number; usedMemory: number; keys: number; aofEnabled: boolean };
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
    let valuePath: RestorePlan['valuePath'];
    let modulesMissing = false;
    const match = options.match ? globMatcher(options.match) : undefined;
    let existing = 0;
    let pending: Array<{ db: number; key: Buffer }> = [];
    let currentDb = -1;
    const flush = async () => {
      if (!client || options.mode !== 'merge' || pending.length === 0) return;
      // a database the target does not have holds no key (and SELECT would fail): the check below says so
      const batch = pending.filter(({ db }) => facts === undefined || db < facts.databases);
      pending = [];
      if (batch.length === 0) return;
      const multi = client.multi();
      for (const { db, key } of batch) {
        if (db !== currentDb) {
          multi.addCommand(['SELECT', String(db)]);
          currentDb = db;
        }
        multi.addCommand(['EXISTS', key]);
      }
      const replies = (await multi.execAsPipeline()) as unknown[];
      for (const r of replies) if (r === 1) existing++;
    };
    const moduleAux = new Set<string>();
    const verifier = rdbVerifier({
      source: options.source.file,
      rawValues: 'none',
      onModuleAux: (a) => moduleAux.add(a.moduleName),
      onRecord: (r) => {
        if (match && !match(r.key)) return;
        pending.push({ db: options.dbMap?.get(r.db) ?? r.db, key: Buffer.from(r.key) });
      },
    });
    let summary: RdbSummary | undefined;
    let verifyError: string | undefined;
    /** a valid file of a version the reader does not know: not damage */
    let verifyUnsupported = false;
    try {
      await pipeline(
        options.source.open(),
        verifier,
        new Writable({
          write: (_chunk, _enc, done) => {
            if (pending.length >= 2000) flush().then(() => done(), done);
            else done();
          },
          final: (done) => {
            flush().then(() => done(), done);
          },
        }),
      );
      summary = verifier.summary();
      if (client) await client.sendCommand(['SELECT', '0']);
    } catch (error) {
      verifyError = (error as Error).message;
      verifyUnsupported = (error as { code?: string }).code === 'E_RDB_UNSUPPORTED';
    }
    checks.push(verifyError ? { ok: false, what: verifyUnsupported ? verifyError : `the backup is damaged: ${verifyError}` } : { ok: true, what: `the backup is intact (structure and CRC-64 ${summary!.checksum.computed}${options.source.manifest ? ', SHA-256 matches its manifest' : ''})` });
    const backupDbs = summary ? Object.fromEntries(Object.entries(summary.databases).map(([db, s]) => [db, s.keys])) : {};
    const backupKeys = Object.values(backupDbs).reduce((a, b) => a + b, 0);
    const usedMemory = options.source.manifest?.rdb.usedMemory ?? (summary?.aux['used-mem'] ? Number(summary.aux['used-mem']) : undefined);
    if (summary) origin ??= originFromRdb(summary.version, summary.aux);
    if (!origin && originError) checks.push({ ok: false, what: originError });
    const unreadable = origin ? readerRefusal(origin) : undefined;
    if (unreadable) checks.push({ ok: false, what: unreadable });
    let target: RestorePlan['target'];
    if (options.mode === 'offline' && options.dataDir && origin) {
      const layout = readLayout(options.dataDir, options.configFile);
      const verdict = offlineVerdict(origin, offlineEvidence(options.dataDir, layout, options.server));
      checks.push({ ok: verdict.loads, what: verdict.message });
    }
    if (facts && options.endpoint) {
      const targetKeys = Object.values(facts.keysPerDb).reduce((a, b) => a + b, 0);
      target = {
        address: `${options.endpoint.host}:${options.endpoint.port}`,
        engine: facts.engine.identity.engine,
        version: facts.engine.identity.version,
        ...(facts.engine.rdbVersion !== undefined ? { rdbVersion: facts.engine.rdbVersion } : {}),
        role: facts.role,
        databases: facts.databases,
        maxmemory: facts.maxmemory,
        usedMemory: facts.usedMemory,
        keys: targetKeys,
        aofEnabled: facts.aofEnabled,
      };
      if (origin && options.mode === 'merge') {
        const path = chooseMergePath(origin, facts.engine, summary?.types);
        valuePath = path.encoding;
        if (path.encoding === 'restore') checks.push({ ok: true, what: `values: ${path.reason}` });
        else if (!summary) checks.push({ ok: false, what: `values: ${path.reason}; whether every value has a command form is unknown (the backup did not verify)` });
        else {
          checks.push(
            path.problems.length === 0
              ? { ok: true, what: `values: ${path.reason}; every value of the backup has a command form on the target` }
              : { ok: false, what: `values: ${path.reason}, and plain commands cannot express ${path.problems.join('; ')}` },
          );
        }
      } else if (origin) {
        const verdict = rdbLoadVerdict(origin, facts.engine, summary?.types ?? options.source.manifest?.keyspace.types);
        checks.push({ ok: verdict.loads, what: verdict.message });
      }
      if (summary) {
        const dbs = Object.keys(backupDbs).map((db) => options.dbMap?.get(Number(db)) ?? Number(db));
        const top = Math.max(-1, ...dbs);
        checks.push(top < facts.databases ? { ok: true, what: `databases used (${dbs.join(', ') || 'none'}) exist on the target (databases ${facts.databases})` } : { ok: false, what: `the backup writes database ${top} but the target has ${facts.databases}` });
      }
      if (usedMemory !== undefined && facts.maxmemory > 0) {
        const need = options.mode === 'merge' ? facts.usedMemory + usedMemory : usedMemory;
        checks.push({
          ok: need <= facts.maxmemory,
          what: `memory: about ${(need / 1048576).toFixed(1)} MiB needed (${options.mode === 'merge' ? 'current + backup' : 'the backup\'s used-mem'}) against maxmemory ${(facts.maxmemory / 1048576).toFixed(1)} MiB`,
        });
      }
      if (options.mode === 'replace') for (const r of replaceRefusals(facts)) checks.push({ ok: false, what: r });
      if (summary && client) {
        // module values need a second pass for their type names (rare: only when the backup has any)
        const needs: ModuleNeeds = Number(summary.types['7'] ?? 0) > 0 ? await scanModuleNeeds(options.source) : { aux: [...moduleAux].sort(), values: {}, unnamedValues: 0 };
        const modules = moduleVerdict(needs, await targetModules(client), { valuesOnly: options.mode === 'merge' });
        if (modules) {
          checks.push({ ok: modules.ok, what: modules.message });
          if (!modules.ok) modulesMissing = true;
          if (modules.note) checks.push({ ok: true, what: `note: ${modules.note}` });
        }
      }
    }
    const ok = checks.every((c) => c.ok);
    const summaryText =
      options.mode === 'replace'
        ? `replace: the target's ${target?.keys ?? '?'} keys would be replaced by the backup's ${backupKeys} keys`
        : options.mode === 'merge'
          ? `merge: ${backupKeys} keys${match ? ` (those matching ${options.match})` : ''} would be written${valuePath ? ` by ${valuePath === 'restore' ? 'RESTORE payloads' : 'plain commands'}` : ''}; ${existing} already exist on the target`
          : `offline: the backup's ${backupKeys} keys would be placed in the data directory`;
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
      target,
      existingKeys: options.mode === 'merge' ? existing : undefined,
      ...(valuePath ? { valuePath } : {}),
      checks,
      ok,
      exitCode: ok ? 0 : modulesMissing ? 2 : 1,
      summary: summaryText,
    };
  } finally {
    if (client) await closeConnection(client);
  }
}
