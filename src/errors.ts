/**
 * Every error the toolkit raises on purpose. Each carries a stable `code`, the place it applies to
 * (file and line, or byte offset) when there is one, and a message that names the fix.
 * The CLI prints `message` alone for these (no stack unless --debug) and maps them to exit codes:
 * usage / unreachable / not permitted -> 2, everything else -> 1.
 *
 * Every error class is here, except three whose payload is a type of the folder that raises them
 * (`DeploymentBusyError`: the lock's holder; `MergeConflictError`, `MergeInterruptedError`: what a
 * merge wrote): importing those types here would make a cycle, so those classes stay beside their
 * types, with a `code` from the same closed `ErrorCode` list.
 */

/**
 * Every `code` an error of this toolkit carries: one closed list, so a new code is added here on
 * purpose and a caller that switches on codes sees them all. Grouped by the folder that raises them.
 */
export type ErrorCode =
  // any command: usage, files, tools, connections
  | 'E_USAGE'
  | 'E_CONFIG'
  | 'E_PASSWORD_FILE_MODE'
  | 'E_MISSING_TOOL'
  | 'E_CONNECT'
  | 'E_URL'
  | 'E_AUTH'
  | 'E_NOPERM'
  | 'E_DENIED'
  | 'E_TLS'
  | 'E_UNREACHABLE'
  | 'E_TIMEOUT'
  | 'E_CLOSED'
  | 'E_CONNECTION_LOST'
  | 'E_LOADING'
  | 'E_NOT_REDIS'
  | 'E_PROTOCOL'
  | 'E_ABORTED'
  // runtime/: up, down, status, rotate-password
  | 'E_RUNTIME'
  | 'E_DEPLOYMENT_BUSY'
  | 'E_NOT_RUNNING'
  | 'E_NO_ADMIN'
  | 'E_PORT_IN_USE'
  | 'E_SERVER_BINARY'
  | 'E_SERVER_REFUSES_MODEL'
  | 'E_START_FAILED'
  | 'E_START_TIMEOUT'
  | 'E_STOP_FAILED'
  | 'E_STOP_TIMEOUT'
  | 'E_ROTATE_UNVERIFIED'
  // render/
  | 'E_RENDER_REFUSED'
  // rdb/
  | 'E_RDB_FORMAT'
  | 'E_RDB_UNSUPPORTED'
  // replication/
  | 'E_LISTEN'
  | 'E_PULL_REFUSED'
  | 'E_PULL_TIMEOUT'
  | 'E_PULL_TRUNCATED'
  | 'E_REPLICA_GONE'
  | 'E_SYNC_REFUSED'
  // backup/
  | 'E_BACKUP_DECRYPT'
  | 'E_BACKUP_INTEGRITY'
  | 'E_BACKUP_LOCKED'
  | 'E_BACKUP_WRITE'
  | 'E_DISK_FULL'
  | 'E_NOT_A_FILE'
  | 'E_WRONG_KEY'
  | 'E_GZIP'
  | 'E_ZSTD'
  // restore/
  | 'E_RESTORE_ABORTED'
  | 'E_RESTORE_CHECK'
  | 'E_RESTORE_CONFLICT'
  | 'E_RESTORE_FAILED'
  | 'E_RESTORE_INTERRUPTED'
  | 'E_RESTORE_MODULES'
  | 'E_RESTORE_NOPERM'
  | 'E_RESTORE_REFUSED'
  | 'E_RESTORE_SOURCE'
  | 'E_RESTORE_STALLED'
  | 'E_RESTORE_TARGET_LOST'
  | 'E_RESTORE_TIMEOUT'
  | 'E_RESTORE_TRANSFER'
  | 'E_RESTORE_UNSUPPORTED'
  | 'E_RESTORE_VERIFY'
  | 'E_SERVER_RUNNING'
  | 'E_OOM'
  // workload/
  | 'E_WRITE'
  // connect/ and backup/, restore/: Sentinel and cluster clients, cluster backup sets
  | 'E_SENTINEL_UNREACHABLE'
  | 'E_SENTINEL_NO_MASTER'
  | 'E_CLUSTER_UNREACHABLE'
  | 'E_CLUSTER_NOT_READY'
  | 'E_NO_HEALTHY_REPLICA'
  | 'E_BACKUP_SET';

export interface ErrorPlace {
  file?: string;
  line?: number;
  /** a path inside a structured file, e.g. `memory.maxmemoryPolicy` */
  path?: string;
  offset?: number;
}

export class NeuralLogRedisError extends Error {
  readonly code: ErrorCode;
  readonly place: ErrorPlace;
  /** process exit code the CLI should use */
  readonly exitCode: 1 | 2;

  constructor(code: ErrorCode, message: string, options: { place?: ErrorPlace; exitCode?: 1 | 2; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.place = options.place ?? {};
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A file the user gave us (config, model, secrets) is malformed. */
export class ConfigError extends NeuralLogRedisError {
  constructor(message: string, place: ErrorPlace = {}, code: ErrorCode = 'E_CONFIG') {
    super(code, withPlace(message, place), { place, exitCode: 2 });
  }
}

/** Bad command-line usage. */
export class UsageError extends NeuralLogRedisError {
  constructor(message: string, code: ErrorCode = 'E_USAGE') {
    super(code, message, { exitCode: 2 });
  }
}

/** A server could not be reached, refused us, or we lack permission. */
export class ConnectionError extends NeuralLogRedisError {
  constructor(message: string, code: ErrorCode = 'E_CONNECT', cause?: unknown) {
    super(code, message, { exitCode: 2, cause });
  }
}

/** Starting, stopping or inspecting a local deployment failed. */
export class RuntimeError extends NeuralLogRedisError {
  constructor(message: string, code: ErrorCode = 'E_RUNTIME', cause?: unknown) {
    super(code, message, { exitCode: 1, cause });
  }
}

/** Something is not installed (redis-server, zstd, ...). */
export class MissingToolError extends NeuralLogRedisError {
  constructor(tool: string, hint: string) {
    super('E_MISSING_TOOL', `${tool} was not found on PATH. ${hint}`, { exitCode: 2 });
  }
}

/** A byte stream that is not RESP. Carries the offset (from the first byte ever written). */
export class RespProtocolError extends NeuralLogRedisError {
  constructor(message: string, offset: number) {
    super('E_PROTOCOL', `RESP protocol error at byte ${offset}: ${message}`, { place: { offset } });
  }
}

export interface RdbErrorPlace {
  /** file name (or another label) used in the message */
  source?: string;
  /** absolute byte offset in the RDB where the problem was found */
  offset: number;
  /** the key being read, when known */
  key?: Buffer;
}

/** An RDB (or a single RESTORE-style value) is malformed, truncated or fails its checksum. */
export class RdbFormatError extends NeuralLogRedisError {
  readonly offset: number;
  readonly key: Buffer | undefined;
  /** the message without its place prefix */
  readonly detail: string;

  constructor(detail: string, place: RdbErrorPlace, cause?: unknown) {
    const source = place.source ?? 'RDB';
    const keyPart = place.key === undefined ? '' : `key ${displayKey(place.key)}: `;
    super('E_RDB_FORMAT', `${source} at byte ${place.offset}: ${keyPart}${detail}`, {
      place: { file: place.source, offset: place.offset },
      exitCode: 1,
      cause,
    });
    this.offset = place.offset;
    this.key = place.key;
    this.detail = detail;
  }
}

/**
 * A well-formed header of an RDB version this reader does not know (newer than it, or a Valkey
 * format after 9.0's): not damage. `rdbVersion`, `header` ("REDIS0013") and `writtenBy` say what the
 * file is.
 */
export class RdbUnsupportedError extends NeuralLogRedisError {
  readonly rdbVersion: number;
  readonly header: string;
  readonly writtenBy: string;
  readonly offset: number;
  /** the message without the file name */
  readonly detail: string;

  constructor(rdbVersion: number, header: string, writtenBy: string, reads: string, place: { source?: string; offset: number }) {
    const detail = `not supported (RDB ${rdbVersion}, written by ${writtenBy}): its header is "${header}"; this version of neurallog-redis reads ${reads}`;
    super('E_RDB_UNSUPPORTED', `${place.source ?? 'RDB'}: ${detail}`, { place: { file: place.source, offset: place.offset }, exitCode: 2 });
    this.detail = detail;
    this.rdbVersion = rdbVersion;
    this.header = header;
    this.writtenBy = writtenBy;
    this.offset = place.offset;
  }
}

/** Quotes a key for a message: printable ASCII as is, other bytes as \xNN, long keys shortened. */
export function displayKey(key: Buffer, max = 80): string {
  let out = '"';
  const n = Math.min(key.length, max);
  for (let i = 0; i < n; i++) {
    const c = key[i]!;
    if (c === 0x22 || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += '\\x' + c.toString(16).padStart(2, '0');
  }
  out += '"';
  if (key.length > max) out += `... (${key.length} bytes)`;
  return out;
}

/** Decrypting a stored backup failed at an encrypted byte offset (wrong key, or damage). */
export class BackupDecryptError extends NeuralLogRedisError {
  constructor(message: string, offset: number) {
    super('E_BACKUP_DECRYPT', `at encrypted byte ${offset}: ${message}`, { place: { offset } });
  }
}

/** A stored backup's SHA-256 or manifest does not match the file. */
export class BackupIntegrityError extends NeuralLogRedisError {
  constructor(message: string) {
    super('E_BACKUP_INTEGRITY', message);
  }
}

/** A restore refuses the target (or the backup for it); nothing was changed. */
export class RestoreRefusedError extends NeuralLogRedisError {
  constructor(message: string, code: ErrorCode = 'E_RESTORE_REFUSED', exitCode: 1 | 2 = 1) {
    super(code, message, { exitCode });
  }
}

/** The user given for the target may not run what a restore must read (e.g. the `app` user). */
export class RestorePermissionError extends NeuralLogRedisError {
  constructor(message: string, cause?: unknown) {
    super('E_RESTORE_NOPERM', message, { exitCode: 2, cause });
  }
}

/** A replace restore failed part-way (its message says what was rolled back). */
export class RestoreFailedError extends NeuralLogRedisError {
  constructor(message: string, code: ErrorCode = 'E_RESTORE_FAILED', cause?: unknown) {
    super(code, message, { cause });
  }
}

/** A server runs on the data directory: nothing was changed. */
export class ServerRunningError extends NeuralLogRedisError {
  constructor(message: string) {
    super('E_SERVER_RUNNING', message, { exitCode: 2 });
  }
}

export function withPlace(message: string, place: ErrorPlace): string {
  const where: string[] = [];
  if (place.file) where.push(place.line ? `${place.file}:${place.line}` : place.file);
  if (place.path) where.push(`at ${place.path}`);
  if (place.offset !== undefined) where.push(`at byte ${place.offset}`);
  return where.length ? `${where.join(' ')}: ${message}` : message;
}

export function isNeuralLogRedisError(error: unknown): error is NeuralLogRedisError {
  return error instanceof NeuralLogRedisError;
}
