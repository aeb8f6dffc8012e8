/**
 * Offline restore: a backup placed in a STOPPED server's data directory so that the server really
 * loads it at its next start, whether AOF is on or off.
 *
 * With `appendonly yes`, Redis 7.0 and later (and Valkey) load the multi-part AOF and ignore
 * dump.rdb (and with no AOF directory start EMPTY, and the next save overwrites the dump): so the
 * backup becomes both the dump file and the base of a fresh AOF (`<appendfilename>.<seq>.base.rdb`
 * and a manifest naming only it). With `appendonly no` (from the configuration) only the dump is
 * placed, and any AOF directory is moved aside, because a stale AOF left there would shadow the data
 * the day AOF is turned on.
 *
 * Before anything else, the server that will load the directory must read the backup's RDB version
 * (offline-target.ts: --server, else the directory's own RDB, else only RDB 10 or older).
 *
 * Order, so that a crash at any point leaves the old data or the new, never none:
 *   1. refuse while a server runs on the directory;
 *   2. stream the backup through the verifier into a dot-prefixed temporary file in the directory,
 *      fsync it; nothing else is touched unless the parse and the CRC pass;
 *   3. hard-link the previous dump and AOF files into `.neurallog-restore-<UTC time>/` (rollback);
 *   4. AOF: link the new base into the AOF directory, then atomically rename a new manifest over the
 *      old one (or rename a prepared directory into place when there was none), fsync, and unlink the
 *      old AOF files (still held by the rollback folder);
 *   5. rename the temporary file over the dump, fsync the directory.
 * Files get the directory's owner and group (the server may run as another user) and mode 0600.
 */
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  copyFileSync,
  createWriteStream,
  existsSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readConfig } from '../config/index.js';
import { ServerRunningError, UsageError } from '../errors.js';
export { ServerRunningError };
import { rdbVerifier, RdbFormatError, type RdbSummary } from '../rdb/index.js';
import { findRunningServer } from './offline-guard.js';
import { readerRefusal } from './compatibility.js';
import { offlineEvidence, offlineVerdict } from './offline-target.js';
import { BackupIntegrityError, sourceOrigin, type RestoreSource } from './source.js';
import { RestoreRefusedError } from './target.js';

export interface OfflineOptions {
  source: RestoreSource;
  /** the stopped server's working directory (its `dir`) */
  dataDir: string;
  /**
   * the server's redis.conf (or deployment YAML): appendonly, dbfilename, appenddirname,
   * appendfilename and pidfile come from it. Default: the deployment's redis.conf when dataDir is the
   * `data/` folder of a deployment made by `up`; otherwise Redis's defaults, with AOF placed too.
   */
  configFile?: string;
  /**
   * the server binary that will load the directory (redis-server, valkey-server or a wrapper): the
   * backup must be of an RDB version it loads. Without it, the directory's own RDB says which server
   * wrote it; with neither, only backups every supported server loads (RDB 10 or older) go ahead.
   */
  server?: string;
  /** verify the backup and check the directory; change nothing */
  dryRun?: boolean;
  now?: () => Date;
}

export interface OfflineResult {
  dryRun: boolean;
  dataDir: string;
  /** files placed (in a dry run: that would be placed), absolute paths */
  placed: string[];
  /** where the previous dump and AOF files are kept for rollback, when there were any */
  previousKeptIn?: string;
  /** whether (and on what evidence) the directory's server loads the backup's RDB version */
  compatibility: string;
  /** the backup was placed as the AOF's base too */
  aof: boolean;
  /** the configuration's appendonly, when a configuration was read */
  appendonly?: boolean;
  configFile?: string;
  rdb: { version: number; keys: number; bytes: number };
  owner: { uid: number; gid: number };
  notes: string[];
}

export interface Layout {
  appendonly?: boolean;
  dbfilename: string;
  appenddirname: string;
  appendfilename: string;
  pidFiles: string[];
  configFile?: string;
}

export function readLayout(dataDir: string, configFile: string | undefined): Layout {
  const parent = dirname(dataDir);
  const pidFiles = [join(dataDir, 'redis.pid'), join(parent, 'redis.pid')];
  let file = configFile;
  if (!file && basename(dataDir) === 'data' && existsSync(join(parent, 'deployment.json')) && existsSync(join(parent, 'redis.conf')))
    file = join(parent, 'redis.conf');
  if (!file) return { dbfilename: 'dump.rdb', appenddirname: 'appendonlydir', appendfilename: 'appendonly.aof', pidFiles };
  if (!existsSync(file)) throw new UsageError(`the configuration ${file} does not exist`);
  const loaded = readConfig(file);
  const p = loaded.deployment.persistence;
  // a relative pidfile is relative to the server's working directory, its `dir`
  for (const d of loaded.directives) if (d.name === 'pidfile' && d.args[0]) pidFiles.push(isAbsolute(d.args[0]) ? d.args[0] : join(dataDir, d.args[0]));
  return { appendonly: p.appendonly, dbfilename: p.dbfilename, appenddirname: p.appenddirname, appendfilename: p.appendfilename, pidFiles, configFile: file };
}

const stampOf = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

function fsyncPath(path: string, flags = 'r'): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function offlineRestore(options: OfflineOptions): Promise<OfflineResult> {
  const dryRun = options.dryRun ?? false;
  if (!existsSync(options.dataDir) || !statSync(options.dataDir).isDirectory())
    throw new UsageError(`the data directory ${options.dataDir} does not exist (or is not a directory)`);
  const dataDir = realpathSync(options.dataDir);
  const layout = readLayout(dataDir, options.configFile);
  const notes: string[] = [];
  refuseIfRunning(dataDir, layout, notes);

  // which server loads the directory, and whether it reads the backup's RDB version: before anything
  const origin = await sourceOrigin(options.source);
  const unreadable = readerRefusal(origin);
  if (unreadable) throw new RestoreRefusedError(`not restoring into ${dataDir}: ${unreadable}. Nothing was changed.`);
  const compatibility = offlineVerdict(origin, offlineEvidence(dataDir, layout, options.server));
  if (!compatibility.loads) throw new RestoreRefusedError(`not restoring into ${dataDir}: ${compatibility.message}. Nothing was changed.`);

  const at = placement(dataDir, layout, options);
  const summary = await verifyIntoTemp(options.source, at, dryRun);
  const keys = Object.values(summary.databases).reduce((n, d) => n + d.keys, 0);
  const result: OfflineResult = {
    dryRun,
    dataDir,
    placed: at.placeAof
      ? [at.dumpPath, join(at.aofDir, `${layout.appendfilename}.<seq>.base.rdb`), join(at.aofDir, `${layout.appendfilename}.manifest`)]
      : [at.dumpPath],
    compatibility: compatibility.message,
    aof: at.placeAof,
    ...(layout.appendonly !== undefined ? { appendonly: layout.appendonly } : {}),
    ...(layout.configFile ? { configFile: layout.configFile } : {}),
    rdb: { version: summary.version, keys, bytes: summary.bytes },
    owner: { uid: at.uid, gid: at.gid },
    notes,
  };
  if (layout.appendonly === undefined)
    notes.push('no configuration given: the backup was placed both as the dump and as the AOF base, so it loads whether appendonly is yes or no');
  if (layout.appendonly === false && at.hadAof)
    notes.push(`appendonly is no: the AOF directory was moved aside (a stale AOF would shadow this data the day AOF is turned on)`);
  if (dryRun) {
    if (at.hadDump || at.hadAof || at.hadLegacyAof) result.previousKeptIn = at.rollback;
    return result;
  }
  try {
    refuseIfRunning(dataDir, layout, notes); // a server may have started during the verification
    place(at, layout, result);
  } finally {
    rmSync(at.tmp, { force: true });
  }
  return result;
}

/** 1. Refuses while a server runs on the directory; notes the processes it could not look into. */
function refuseIfRunning(dataDir: string, layout: Layout, notes: string[]): void {
  const unreadable: number[] = [];
  const running = findRunningServer(dataDir, layout.pidFiles, unreadable);
  if (running) {
    throw new ServerRunningError(
      `a server is running on ${dataDir}: pid ${running.pid} (${running.command}); ${running.evidence}. Stop it first (SHUTDOWN, or \`neurallog-redis down\`); nothing was changed`,
    );
  }
  if (unreadable.length)
    notes.push(
      `could not read the working directory of redis-server pid ${unreadable.join(', ')} (another user's process): make sure none of them serves ${dataDir}`,
    );
}

/** Where everything goes, and what the directory holds now. */
interface Placement {
  dataDir: string;
  uid: number;
  gid: number;
  placeAof: boolean;
  dumpPath: string;
  aofDir: string;
  stamp: string;
  rollback: string;
  tmp: string;
  hadDump: boolean;
  hadAof: boolean;
  /** a pre-7.0 single-file AOF in the directory: 7.0 would upgrade it into a new AOF directory */
  legacyAof: string;
  hadLegacyAof: boolean;
}

/** The paths of a placement, refused when the directory is in the way or lacks the space. */
function placement(dataDir: string, layout: Layout, options: OfflineOptions): Placement {
  const { uid, gid } = statSync(dataDir);
  const stamp = stampOf(options.now?.() ?? new Date());
  const aofDir = join(dataDir, layout.appenddirname);
  const legacyAof = join(dataDir, layout.appendfilename);
  const dumpPath = join(dataDir, layout.dbfilename);
  const at: Placement = {
    dataDir,
    uid,
    gid,
    placeAof: layout.appendonly !== false,
    dumpPath,
    aofDir,
    stamp,
    rollback: join(dataDir, `.neurallog-restore-${stamp}`),
    tmp: join(dataDir, `.neurallog-restore-${stamp}-${randomBytes(4).toString('hex')}.rdb.tmp`),
    hadDump: existsSync(dumpPath),
    hadAof: existsSync(aofDir),
    legacyAof,
    hadLegacyAof: existsSync(legacyAof) && lstatSync(legacyAof).isFile(),
  };
  if (at.hadAof && !lstatSync(aofDir).isDirectory()) throw new UsageError(`${aofDir} is not a directory; move it away first`);
  if (existsSync(at.rollback)) throw new UsageError(`${at.rollback} exists already; try again in a second`);
  if (options.source.rdbBytes !== undefined) {
    const fs = statfsSync(dataDir);
    const free = fs.bavail * fs.bsize;
    if (free < options.source.rdbBytes)
      throw new UsageError(`${dataDir} has ${free} bytes free, the backup needs ${options.source.rdbBytes}; nothing was changed`);
  }
  return at;
}

/** 2. Verifies the backup while writing the temporary copy (a dry run only verifies). */
async function verifyIntoTemp(source: RestoreSource, at: Placement, dryRun: boolean): Promise<RdbSummary> {
  try {
    const verifier = rdbVerifier({ source: source.file });
    if (dryRun) {
      await pipeline(source.open(), verifier, new Writable({ write: (_c, _e, done) => done() }));
    } else {
      closeSync(openSync(at.tmp, 'wx', 0o600));
      chownIfNeeded(at.tmp, at.uid, at.gid);
      await pipeline(source.open(), verifier, createWriteStream(at.tmp, { flags: 'r+' }));
      fsyncPath(at.tmp, 'r+');
    }
    return verifier.summary();
  } catch (error) {
    rmSync(at.tmp, { force: true });
    if (error instanceof RdbFormatError) throw new BackupIntegrityError(`${error.message}. The backup is damaged; nothing in ${at.dataDir} was changed`);
    throw error;
  }
}

/** Steps 3 to 5: keep the previous files, place the AOF, then the dump. */
function place(at: Placement, layout: Layout, result: OfflineResult): void {
  const { uid, gid, rollback } = at;
  // 3. keep the previous files
  if (at.hadDump || at.hadAof || at.hadLegacyAof) {
    mkdirPrivate(rollback, uid, gid);
    if (at.hadDump) linkOrCopy(at.dumpPath, join(rollback, layout.dbfilename));
    if (at.hadLegacyAof) renameSync(at.legacyAof, join(rollback, layout.appendfilename));
    result.previousKeptIn = rollback;
  }
  // 4. the AOF
  if (at.placeAof)
    result.placed = [
      at.dumpPath,
      ...placeAofBase({ tmp: at.tmp, aofDir: at.aofDir, appendfilename: layout.appendfilename, rollback, hadAof: at.hadAof, uid, gid, stamp: at.stamp }),
    ];
  else if (at.hadAof) {
    renameSync(at.aofDir, join(rollback, layout.appenddirname));
    fsyncPath(rollback);
  }
  if (result.previousKeptIn) fsyncPath(rollback);
  // 5. the dump
  renameSync(at.tmp, at.dumpPath);
  fsyncPath(at.dataDir);
}

function chownIfNeeded(path: string, uid: number, gid: number): void {
  const st = lstatSync(path);
  if (st.uid !== uid || st.gid !== gid) {
    try {
      chownSync(path, uid, gid);
    } catch (error) {
      throw new UsageError(
        `cannot give ${path} the data directory's owner (uid ${uid}, gid ${gid}): ${(error as NodeJS.ErrnoException).code}; run as that user or as root; nothing was changed`,
      );
    }
  }
}

function mkdirPrivate(path: string, uid: number, gid: number): void {
  mkdirSync(path, { mode: 0o700 });
  chownIfNeeded(path, uid, gid);
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw error;
    copyFileSync(from, to);
    const fd = openSync(to, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * Makes the verified file the only base of the AOF; returns the base and manifest paths. The manifest
 * rename is the commit point: before it Redis loads the old AOF, after it the backup.
 */
function placeAofBase(a: {
  tmp: string;
  aofDir: string;
  appendfilename: string;
  rollback: string;
  hadAof: boolean;
  uid: number;
  gid: number;
  stamp: string;
}): string[] {
  const manifestName = `${a.appendfilename}.manifest`;
  const writeManifest = (path: string, baseName: string, seq: number) => {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `file ${baseName} seq ${seq} type b\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chownIfNeeded(path, a.uid, a.gid);
  };
  if (!a.hadAof) {
    const prepared = join(dirname(a.aofDir), `.neurallog-restore-${a.stamp}.aofdir.tmp`);
    rmSync(prepared, { recursive: true, force: true });
    mkdirPrivate(prepared, a.uid, a.gid);
    const baseName = `${a.appendfilename}.1.base.rdb`;
    linkOrCopy(a.tmp, join(prepared, baseName));
    writeManifest(join(prepared, manifestName), baseName, 1);
    fsyncPath(prepared);
    renameSync(prepared, a.aofDir);
    fsyncPath(dirname(a.aofDir));
    return [join(a.aofDir, baseName), join(a.aofDir, manifestName)];
  }
  // keep the old AOF files (all of them: manifest, base, incr, history) in the rollback folder
  const old = readdirSync(a.aofDir).filter((f) => lstatSync(join(a.aofDir, f)).isFile());
  const keep = join(a.rollback, basename(a.aofDir));
  mkdirPrivate(keep, a.uid, a.gid);
  for (const f of old) linkOrCopy(join(a.aofDir, f), join(keep, f));
  fsyncPath(keep);
  // a sequence number above every file of the old AOF, so no name is reused
  const manifestText = old.includes(manifestName) ? readFileSync(join(a.aofDir, manifestName), 'utf8') : '';
  let seq = 0;
  for (const m of [...old.join('\n').matchAll(/\.(\d+)\.(?:base|incr)\./g), ...manifestText.matchAll(/\bseq (\d+)/g)]) seq = Math.max(seq, Number(m[1]));
  seq++;
  const baseName = `${a.appendfilename}.${seq}.base.rdb`;
  linkOrCopy(a.tmp, join(a.aofDir, baseName));
  const tmpManifest = join(a.aofDir, `.neurallog-restore-${a.stamp}.manifest.tmp`);
  rmSync(tmpManifest, { force: true });
  writeManifest(tmpManifest, baseName, seq);
  renameSync(tmpManifest, join(a.aofDir, manifestName));
  fsyncPath(a.aofDir);
  // the old files are no longer referenced: they live on in the rollback folder only
  for (const f of old) if (f !== manifestName && f !== baseName) unlinkSync(join(a.aofDir, f));
  fsyncPath(a.aofDir);
  return [join(a.aofDir, baseName), join(a.aofDir, manifestName)];
}
