/**
 * Taking a backup: RDB bytes from a live server (over the replication protocol) or from a file, parsed
 * and checksummed as they stream, compressed, optionally encrypted, hashed, written to a dot-prefixed
 * temporary file and published atomically with its manifest. Any anomaly fails the whole backup:
 * nothing appears under a final name, and the directory is left as it was.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, fdatasync, mkdirSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatRedisUrl, type Endpoint } from '../connect/url.js';
import { identifyFromRdbAux } from '../engine/identity.js';
import { NeuralLogRedisError, UsageError } from '../errors.js';
import { rdbVerifier, type RdbSummary } from '../rdb/index.js';
import { pullRdb, type PulledRdb } from '../replication/index.js';
import { GcPacer } from '../host/gc-pacer.js';
import { createCompressStream, requireCompressionTool } from './compression.js';
import { createEncryptStream, keyId } from './encryption.js';
import type { Manifest } from './manifest.js';
import { MANIFEST_FORMAT, writeManifest } from './manifest-write.js';
import { backupFileName, manifestPathFor, type Compression } from './naming.js';
import { lockDirectory, publishFile, temporaryPathFor } from './publish.js';
import { watchSaveProgress, type SaveProgressWatch } from './save-progress.js';

export type BackupSource = { kind: 'replication'; endpoint: Endpoint } | { kind: 'file'; path: string };

export interface BackupProgress {
  rdbBytes: number;
  /** total RDB bytes when known (disk-based transfers and files) */
  totalBytes?: number;
  storedBytes: number;
  keys: number;
  /** the keys the server is saving, when `watchServerSave` asked it (INFO persistence) */
  totalKeys?: number;
  elapsedMs: number;
}

export interface TakeBackupOptions {
  source: BackupSource;
  toDir: string;
  compression: Compression;
  /** 32-byte key: encrypt at rest */
  encryptionKey?: Buffer;
  now?: () => Date;
  onProgress?: (progress: BackupProgress) => void;
  /** called while the server prepares the snapshot (newline keepalives) */
  onWaiting?: () => void;
  /** called once the transfer starts, with what the server told us */
  onStart?: (info: { transfer: 'diskless' | 'disk' | 'file'; serverWroteDump: boolean }) => void;
  /** a live source: poll its INFO for the keys it is saving, for `BackupProgress.totalKeys` (costs a connection) */
  watchServerSave?: boolean;
  signal?: AbortSignal;
  /** the stored file's name (default: `redis-backup-<timestamp>.rdb...`); a backup set names its shards */
  fileName?: string;
  /** take the directory's lock (default); a backup set holds its own lock over several takes */
  lock?: boolean;
}

export interface BackupResult {
  path: string;
  manifestPath: string;
  manifest: Manifest;
}

const TOOL = 'neurallog-redis';

/** Counts bytes as they pass. */
function countingTap(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _e, done: TransformCallback) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}

/** Counts bytes and hashes them as they pass. */
function hashingTap(onBytes: (n: number) => void): Transform & { digest(): string } {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _e, done: TransformCallback) {
      hash.update(chunk);
      onBytes(chunk.length);
      done(null, chunk);
    },
  }) as Transform & { digest(): string };
  tap.digest = () => hash.digest('hex');
  return tap;
}

/**
 * Asks the kernel to write the temporary file's data to disk every FLUSH_EVERY bytes, in the
 * background (fdatasync on libuv's thread pool), so the fsync before publishing has little left to
 * do and the page cache never holds hundreds of MB of the backup unwritten.
 */
class BackgroundFlusher {
  private static readonly FLUSH_EVERY = 32 << 20;
  private fd: number | undefined;
  private closed = false;
  private sinceFlush = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private error: NodeJS.ErrnoException | undefined;

  constructor(file: WriteStream) {
    file.once('open', (fd: number) => (this.fd = fd));
    file.once('close', () => (this.closed = true));
  }

  /** counts bytes handed to the file; every FLUSH_EVERY of them, queues a flush */
  passed(n: number): void {
    this.sinceFlush += n;
    if (this.sinceFlush < BackgroundFlusher.FLUSH_EVERY || this.fd === undefined) return;
    this.sinceFlush = 0;
    const fd = this.fd;
    // one at a time, and none once the stream has closed its fd (the number may belong to another
    // file by then). A write-back error (EIO, ENOSPC) is reported once, to the first sync that
    // asks: it is kept and fails the backup, since the fsync before publishing would not see it.
    this.inFlight = this.inFlight.then(
      () =>
        new Promise<void>((resolve) => {
          if (this.closed) return resolve();
          fdatasync(fd, (error) => {
            if (error && error.code !== 'EBADF') this.error ??= error;
            resolve();
          });
        }),
    );
  }

  /** resolves once no background flush is running; rejects with the first write-back error */
  async settled(): Promise<void> {
    await this.inFlight;
    if (this.error) throw this.error;
  }
}

function chooseFinalPath(dir: string, date: Date, compression: Compression, encrypted: boolean): string {
  for (let sequence = 0; ; sequence++) {
    const candidate = join(dir, backupFileName(date, compression, encrypted, sequence));
    if (!existsSync(candidate) && !existsSync(manifestPathFor(candidate))) return candidate;
  }
}

/** Where the RDB bytes come from, and what the transfer was. */
interface OpenedSource {
  stream: Readable;
  totalBytes?: number;
  transfer: 'diskless' | 'disk' | 'file';
  pulled?: PulledRdb;
}

async function openSource(options: TakeBackupOptions): Promise<OpenedSource> {
  if (options.source.kind === 'file') {
    const path = options.source.path;
    if (!existsSync(path)) throw new UsageError(`the RDB file ${path} does not exist`);
    return { stream: createReadStream(path, { highWaterMark: 256 * 1024 }), totalBytes: statSync(path).size, transfer: 'file' };
  }
  const pulled = await pullRdb({ endpoint: options.source.endpoint, signal: options.signal, onWaiting: options.onWaiting });
  return { stream: pulled.stream, totalBytes: pulled.declaredBytes, transfer: pulled.mode, pulled };
}

function makeBackupDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new UsageError(`cannot create the backup directory ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

export async function takeBackup(options: TakeBackupOptions): Promise<BackupResult> {
  const dir = resolve(options.toDir);
  requireCompressionTool(options.compression);
  makeBackupDirectory(dir);
  const lock = options.lock === false ? undefined : lockDirectory(dir);
  const started = Date.now();
  let temp: string | undefined;
  let opened: OpenedSource | undefined;
  let watch: SaveProgressWatch | undefined;
  try {
    // from the start: a disk-based transfer waits while the server saves
    if (options.watchServerSave && options.source.kind === 'replication') watch = watchSaveProgress(options.source.endpoint);
    opened = await openSource(options);
    options.onStart?.({ transfer: opened.transfer, serverWroteDump: opened.transfer === 'disk' });
    const createdAt = (options.now ?? (() => new Date()))();
    const finalPath = options.fileName
      ? join(dir, options.fileName)
      : chooseFinalPath(dir, createdAt, options.compression, options.encryptionKey !== undefined);
    temp = temporaryPathFor(finalPath);
    const stored = await storeVerified(opened, temp, options, started, watch);
    publishFile(temp, finalPath);
    temp = undefined;
    const manifest = buildManifest({ finalPath, createdAt, started, stored, options, pulled: opened.pulled, transfer: opened.transfer });
    return { path: finalPath, manifestPath: publishManifest(finalPath, manifest), manifest };
  } catch (error) {
    opened?.pulled?.stream.destroy();
    if (temp) rmSync(temp, { force: true });
    throw explainBackupError(error);
  } finally {
    await watch?.stop();
    lock?.release();
  }
}

/** What streaming the RDB into the temporary file found and wrote. */
interface Stored {
  summary: RdbSummary;
  moduleAux: string[];
  bytes: number;
  sha256: string;
}

/**
 * The RDB through the verifier, the compressor and the cipher into `temp`, hashed as it is written
 * and flushed to disk along the way; rejects on any damage, leaving `temp` for the caller to remove.
 */
async function storeVerified(
  opened: OpenedSource,
  temp: string,
  options: TakeBackupOptions,
  started: number,
  watch: SaveProgressWatch | undefined,
): Promise<Stored> {
  const progress: BackupProgress = { rdbBytes: 0, totalBytes: opened.totalBytes, storedBytes: 0, keys: 0, elapsedMs: 0 };
  let lastReport = 0;
  const report = (force = false) => {
    const t = Date.now();
    if (!options.onProgress || (!force && t - lastReport < 200)) return;
    lastReport = t;
    progress.elapsedMs = t - started;
    progress.totalKeys = watch?.totalKeys();
    options.onProgress(progress);
  };
  const moduleAux = new Set<string>();
  const pulled = opened.pulled;
  const verifier = rdbVerifier({
    source: options.source.kind === 'file' ? options.source.path : formatRedisUrl(options.source.endpoint),
    // restore compares these with the target's MODULE LIST before it changes anything
    onModuleAux: (aux) => moduleAux.add(aux.moduleName),
    // a pull ends as soon as the whole RDB is verified, not when the server closes the link
    onComplete: pulled ? (rdbBytes) => pulled.rdbComplete(rdbBytes) : undefined,
  });
  const pacer = new GcPacer();
  const rawTap = countingTap((n) => {
    progress.rdbBytes += n;
    pacer.passed(n);
    progress.keys = verifier.parser.keysRead;
    report();
  });
  const out = createWriteStream(temp, { mode: 0o600 });
  const flusher = new BackgroundFlusher(out);
  const storedTap = hashingTap((n) => {
    progress.storedBytes += n;
    flusher.passed(n);
  });
  const stages: NodeJS.ReadWriteStream[] = [rawTap, verifier, createCompressStream(options.compression)];
  if (options.encryptionKey) stages.push(createEncryptStream(options.encryptionKey));
  stages.push(storedTap);
  await pipeline(opened.stream, ...(stages as [Transform]), out, { signal: options.signal });
  await flusher.settled();
  const summary = verifier.summary();
  report(true);
  return { summary, moduleAux: [...moduleAux].sort(), bytes: progress.storedBytes, sha256: storedTap.digest() };
}

/** Writes the manifest beside a published backup; without its manifest, the backup is removed again. */
function publishManifest(finalPath: string, manifest: Manifest): string {
  const manifestPath = manifestPathFor(finalPath);
  try {
    writeManifest(manifestPath, manifest);
  } catch (error) {
    rmSync(finalPath, { force: true });
    throw error;
  }
  return manifestPath;
}

function buildManifest(args: {
  finalPath: string;
  createdAt: Date;
  started: number;
  stored: Stored;
  options: TakeBackupOptions;
  pulled?: PulledRdb;
  transfer: 'diskless' | 'disk' | 'file';
}): Manifest {
  const { options, pulled } = args;
  const { summary } = args.stored;
  const databases = Object.fromEntries(Object.entries(summary.databases).map(([db, s]) => [db, { keys: s.keys, expires: s.expires }]));
  const total = Object.values(databases).reduce((a, s) => ({ keys: a.keys + s.keys, expires: a.expires + s.expires }), { keys: 0, expires: 0 });
  const num = (v: string | undefined) => (v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined);
  return {
    format: MANIFEST_FORMAT,
    tool: TOOL,
    file: basename(args.finalPath),
    createdAt: args.createdAt.toISOString(),
    durationSeconds: (Date.now() - args.started) / 1000,
    source:
      options.source.kind === 'file'
        ? { kind: 'file', path: resolve(options.source.path), transfer: 'file', serverWroteDump: false }
        : {
            kind: 'replication',
            address: formatRedisUrl(options.source.endpoint),
            role: pulled?.server.role,
            redisVersion: pulled?.server.redisVersion,
            engine: pulled?.server.engine,
            version: pulled?.server.version || undefined,
            runId: pulled?.server.runId,
            replId: pulled?.server.replId,
            replOffset: pulled?.server.replOffset,
            transfer: args.transfer,
            serverWroteDump: args.transfer === 'disk',
          },
    rdb: {
      version: summary.version,
      bytes: summary.bytes,
      crc64: summary.checksum.computed,
      checksumVerified: summary.checksum.verified,
      redisVersion: summary.aux['redis-ver'],
      ctime: num(summary.aux.ctime),
      usedMemory: num(summary.aux['used-mem']),
    },
    origin: originOf(summary, pulled),
    stored: {
      bytes: args.stored.bytes,
      sha256: args.stored.sha256,
      compression: options.compression,
      encryption: options.encryptionKey ? { algorithm: 'aes-256-gcm-chunked', keyId: keyId(options.encryptionKey) } : null,
    },
    keyspace: {
      keys: total.keys,
      expires: total.expires,
      databases,
      kinds: { ...summary.kinds },
      types: { ...summary.types },
      functions: summary.functions,
      moduleAux: args.stored.moduleAux,
    },
    verified: true,
  };
}

/** The writer and format: INFO server at pull time when there was one, else the RDB's aux fields. */
function originOf(summary: RdbSummary, pulled: PulledRdb | undefined): NonNullable<Manifest['origin']> {
  if (pulled?.server.version) return { engine: pulled.server.engine, version: pulled.server.version, rdbVersion: summary.version, identifiedBy: 'info' };
  const fromAux = identifyFromRdbAux(summary.aux);
  if (fromAux) return { engine: fromAux.engine, version: fromAux.version, rdbVersion: summary.version, identifiedBy: 'rdb-aux' };
  return { rdbVersion: summary.version, identifiedBy: 'unknown' };
}

function explainBackupError(error: unknown): unknown {
  if (error instanceof NeuralLogRedisError) return error;
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC')
    return new NeuralLogRedisError(
      'E_DISK_FULL',
      `the backup directory's disk is full; no backup was published and earlier backups are untouched (${e.message})`,
      { cause: error },
    );
  if (e?.code === 'EACCES' || e?.code === 'EROFS')
    return new NeuralLogRedisError('E_BACKUP_WRITE', `cannot write into the backup directory: ${e.message}`, { cause: error, exitCode: 2 });
  if (e?.name === 'AbortError') return new NeuralLogRedisError('E_ABORTED', 'the backup was interrupted; nothing was published', { cause: error });
  return error;
}
