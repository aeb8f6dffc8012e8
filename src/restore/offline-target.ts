/**
 * Which server will load an offline restore's files, as far as can be known with the server stopped:
 *
 *   1. `--server PATH`: the binary that will run on the directory (`PATH --version` names it);
 *   2. the directory's own RDB (the dump, else the AOF's base): the server that wrote it last, with
 *      its RDB version and, in its aux fields, its engine and release;
 *   3. nothing: then only a backup that every supported server loads (RDB 10 or older: Redis 7.0 and
 *      later, every Valkey) goes ahead; a newer one is refused, asking for --server.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeOrigin, type BackupOrigin } from '../backup/origin.js';
import { describeEngine, identifyFromRdbAux, rdbVersionWritten, serverBinaryIdentity } from '../engine/index.js';
import { rdbLoadVerdict, type LoadVerdict, type TargetEngine } from './compatibility.js';
import { readRdbHeadOfFile } from './rdb-head.js';

/** Every server this tool supports (Redis 7.0+, Valkey 7.2+) loads RDB 10 and older. */
export const RDB_EVERY_SERVER_LOADS = 10;

export type OfflineEvidence =
  | { kind: 'binary'; target: TargetEngine; basis: string }
  | { kind: 'data-dir'; file: string; rdbVersion: number; target?: TargetEngine; basis: string }
  | { kind: 'none'; basis: string };

/** The evidence for the server of `dataDir` (file names from its configuration). */
export function offlineEvidence(dataDir: string, files: { dbfilename: string; appenddirname: string }, serverBinary?: string): OfflineEvidence {
  if (serverBinary) {
    const identity = serverBinaryIdentity(serverBinary);
    return {
      kind: 'binary',
      target: { identity, rdbVersion: rdbVersionWritten(identity), relaxed: false },
      basis: `--server ${serverBinary} is ${describeEngine(identity)}`,
    };
  }
  for (const file of dataDirRdbs(dataDir, files)) {
    let head;
    try {
      head = readRdbHeadOfFile(file);
    } catch {
      continue; // unreadable: look at the next one
    }
    if (!head) continue;
    const identity = identifyFromRdbAux(head.aux);
    const target: TargetEngine | undefined = identity
      ? { identity, rdbVersion: Math.max(rdbVersionWritten(identity) ?? 0, head.rdbVersion), relaxed: false }
      : undefined;
    return {
      kind: 'data-dir',
      file,
      rdbVersion: head.rdbVersion,
      ...(target ? { target } : {}),
      basis: `${file} was written by ${identity ? describeEngine(identity) : 'a server'} (RDB ${head.rdbVersion})`,
    };
  }
  return { kind: 'none', basis: 'the data directory holds no RDB to tell which server runs on it, and no --server was given' };
}

/** The dump first, then the AOF bases (newest sequence first). */
function dataDirRdbs(dataDir: string, files: { dbfilename: string; appenddirname: string }): string[] {
  const out: string[] = [];
  const dump = join(dataDir, files.dbfilename);
  if (existsSync(dump) && statSync(dump).isFile()) out.push(dump);
  const aofDir = join(dataDir, files.appenddirname);
  if (existsSync(aofDir) && statSync(aofDir).isDirectory()) {
    const bases = readdirSync(aofDir)
      .map((f) => ({ f, seq: Number(/\.(\d+)\.base\.rdb$/.exec(f)?.[1] ?? NaN) }))
      .filter((b) => Number.isFinite(b.seq))
      .sort((a, b) => b.seq - a.seq);
    for (const b of bases) out.push(join(aofDir, b.f));
  }
  return out;
}

/** Whether the server of the evidence loads the backup, naming both sides and the evidence. */
export function offlineVerdict(origin: BackupOrigin, evidence: OfflineEvidence): LoadVerdict {
  const backup = `the backup (${describeOrigin(origin)})`;
  const ask = 'give --server PATH (the redis-server or valkey-server that will run on the directory) if a newer server will load it';
  if (evidence.kind === 'binary') {
    const v = rdbLoadVerdict(origin, evidence.target);
    return { loads: v.loads, message: `${v.message} (${evidence.basis})` };
  }
  if (evidence.kind === 'data-dir') {
    if (evidence.target) {
      const v = rdbLoadVerdict(origin, evidence.target);
      return v.loads ? { loads: true, message: `${v.message} (${evidence.basis})` } : { loads: false, message: `${v.message} (${evidence.basis}); ${ask}` };
    }
    return origin.rdbVersion <= evidence.rdbVersion
      ? { loads: true, message: `${backup} is no newer than the directory's own RDB (${evidence.basis})` }
      : { loads: false, message: `${backup} is newer than the directory's own RDB (${evidence.basis}), which its server may not load; ${ask}` };
  }
  return origin.rdbVersion <= RDB_EVERY_SERVER_LOADS
    ? { loads: true, message: `${backup} loads into every supported server (Redis 7.0+, Valkey 7.2+ read RDB ${RDB_EVERY_SERVER_LOADS}); ${evidence.basis}` }
    : {
        loads: false,
        message: `cannot tell whether the server of the directory loads ${backup}: ${evidence.basis}; give --server PATH (the redis-server or valkey-server that will run on the directory)`,
      };
}
