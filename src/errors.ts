/**
 * Every error the toolkit raises on purpose. Each carries a stable `code`, the place it applies to
 * (file and line, or byte offset) when there is one, and a message that names the fix.
 * The CLI prints `message` alone for these (no stack unless --debug) and maps them to exit codes:
 * usage / unreachable / not permitted -> 2, everything else -> 1.
 */

export interface ErrorPlace {
  file?: string;
  line?: number;
  /** a path inside a structured file, e.g. `memory.maxmemoryPolicy` */
  path?: string;
  offset?: number;
}

export class NeuralLogRedisError extends Error {
  readonly code: string;
  readonly place: ErrorPlace;
  /** process exit code the CLI should use */
  readonly exitCode: 1 | 2;

  constructor(code: string, message: string, options: { place?: ErrorPlace; exitCode?: 1 | 2; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.place = options.place ?? {};
    this.exitCode = options.exitCode ?? 1;
  }
}

/** A file the user gave us (config, model, secrets) is malformed. */
export class ConfigError extends NeuralLogRedisError {
  constructor(message: string, place: ErrorPlace = {}, code = 'E_CONFIG') {
    super(code, withPlace(message, place), { place, exitCode: 2 });
  }
}

/** Bad command-line usage. */
export class UsageError extends NeuralLogRedisError {
  constructor(message: string, code = 'E_USAGE') {
    super(code, message, { exitCode: 2 });
  }
}

/** A server could not be reached, refused us, or we lack permission. */
export class ConnectionError extends NeuralLogRedisError {
  constructor(message: string, code = 'E_CONNECT', cause?: unknown) {
    super(code, message, { exitCode: 2, cause });
  }
}

/** Starting, stopping or inspecting a local deployment failed. */
export class RuntimeError extends NeuralLogRedisError {
  constructor(message: string, code = 'E_RUNTIME', cause?: unknown) {
    super(code, message, { exitCode: 1, cause });
  }
}

/** Something is not installed (redis-server, zstd, ...). */
export class MissingToolError extends NeuralLogRedisError {
  constructor(tool: string, hint: string) {
    super('E_MISSING_TOOL', `${tool} was not found on PATH. ${hint}`, { exitCode: 2 });
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
