/**
 * `restore --dry-run`: verifies the backup, compares RDB and server versions, checks the target's
 * `databases` count, estimates memory against maxmemory, counts keys that already exist, and says what
 * a restore would do. It changes nothing.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { closeConnection, openConnection, type Endpoint } from '../connect/index.js';
import { rdbVerifier, type RdbSummary } from '../rdb/index.js';
import { globMatcher } from './glob.js';
import type { RestoreSource } from './source.js';
import { readTargetFacts, replaceRefusals, type TargetFacts } from './target.js';

export interface PlanCheck {
  ok: boolean;
  what: string;
}

export interface RestorePlan {
  mode: 'replace' | 'merge' | 'offline';
  backup: { file: string; rdbVersion: number; rdbBytes: number; keys: number; databases: Record<string, number>; functions: number; usedMemory?: number; checksum: string };
  target?: { address: string; redisVersion: string; rdbVersion: number; role: string; databases: number; maxmemory: number; usedMemory: number; keys: number; aofEnabled: boolean };
  existingKeys?: number;
  checks: PlanCheck[];
  ok: boolean;
  summary: string;
}

export interface PlanOptions {
  source: RestoreSource;
  mode: 'replace' | 'merge' | 'offline';
  endpoint?: Endpoint;
  match?: string;
  dbMap?: Map<number, number>;
}

export async function planRestore(options: PlanOptions): Promise<RestorePlan> {
  const checks: PlanCheck[] = [];
  const client = options.endpoint ? await openConnection(options.endpoint) : undefined;
  try {
    const facts: TargetFacts | undefined = client ? await readTargetFacts(client) : undefined;
    const match = options.match ? globMatcher(options.match) : undefined;
    let existing = 0;
    let pending: Array<{ db: number; key: Buffer }> = [];
    let currentDb = -1;
    const flush = async () => {
      if (!client || options.mode !== 'merge' || pending.length === 0) return;
      const batch = pending;
      pending = [];
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
    const verifier = rdbVerifier({
      source: options.source.file,
      rawValues: 'none',
      onRecord: (r) => {
        if (match && !match(r.key)) return;
        pending.push({ db: options.dbMap?.get(r.db) ?? r.db, key: Buffer.from(r.key) });
      },
    });
    let summary: RdbSummary | undefined;
    let verifyError: string | undefined;
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
    }
    checks.push(verifyError ? { ok: false, what: `the backup is damaged: ${verifyError}` } : { ok: true, what: `the backup is intact (structure and CRC-64 ${summary!.checksum.computed}${options.source.manifest ? ', SHA-256 matches its manifest' : ''})` });
    const backupDbs = summary ? Object.fromEntries(Object.entries(summary.databases).map(([db, s]) => [db, s.keys])) : {};
    const backupKeys = Object.values(backupDbs).reduce((a, b) => a + b, 0);
    const usedMemory = options.source.manifest?.rdb.usedMemory ?? (summary?.aux['used-mem'] ? Number(summary.aux['used-mem']) : undefined);
    let target: RestorePlan['target'];
    if (facts && options.endpoint) {
      const targetKeys = Object.values(facts.keysPerDb).reduce((a, b) => a + b, 0);
      target = {
        address: `${options.endpoint.host}:${options.endpoint.port}`,
        redisVersion: facts.redisVersion,
        rdbVersion: facts.rdbVersion,
        role: facts.role,
        databases: facts.databases,
        maxmemory: facts.maxmemory,
        usedMemory: facts.usedMemory,
        keys: targetKeys,
        aofEnabled: facts.aofEnabled,
      };
      if (summary) {
        checks.push(
          summary.version <= facts.rdbVersion
            ? { ok: true, what: `RDB version ${summary.version} loads into Redis ${facts.redisVersion} (reads up to ${facts.rdbVersion})` }
            : { ok: options.mode === 'merge', what: `the backup is RDB version ${summary.version}; Redis ${facts.redisVersion} reads up to ${facts.rdbVersion}${options.mode === 'merge' ? ' (merge falls back to plain commands)' : ''}` },
        );
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
    }
    const ok = checks.every((c) => c.ok);
    const summaryText =
      options.mode === 'replace'
        ? `replace: the target's ${target?.keys ?? '?'} keys would be replaced by the backup's ${backupKeys} keys`
        : options.mode === 'merge'
          ? `merge: ${backupKeys} keys${match ? ` (those matching ${options.match})` : ''} would be written; ${existing} already exist on the target`
          : `offline: the backup's ${backupKeys} keys would be placed in the data directory`;
    return {
      mode: options.mode,
      backup: {
        file: options.source.file,
        rdbVersion: summary?.version ?? 0,
        rdbBytes: summary?.bytes ?? 0,
        keys: backupKeys,
        databases: backupDbs,
        functions: summary?.functions ?? 0,
        usedMemory,
        checksum: summary?.checksum.computed ?? '',
      },
      target,
      existingKeys: options.mode === 'merge' ? existing : undefined,
      checks,
      ok,
      summary: summaryText,
    };
  } finally {
    if (client) await closeConnection(client);
  }
}
