/**
 * The manifest stored beside each backup (`<file>.manifest.json`): what was backed up, from where, and
 * the facts a later `verify` or `restore` checks the file against.
 *
 * Read without zod: every restore and `backups verify` reads one before anything else, and loading
 * zod and building the schema took 140-200 ms of that start. The checks below are those of the zod
 * schema in manifest-schema.ts (which gives the `Manifest` type); test/manifest-read.test.ts holds the
 * two to the same verdict on valid manifests and on thousands of damaged ones.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { Manifest } from './manifest-schema.js';
import { MANIFEST_FORMAT } from './manifest-write.js';

export type { Manifest };

/** the first thing wrong with a value: where (keys from the top) and what */
export interface ManifestIssue {
  path: (string | number)[];
  message: string;
}

class Invalid extends Error {
  constructor(
    readonly path: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** checks a value at `path`; returns what to keep (objects lose keys they do not declare, as zod's do) */
type Check = ((value: unknown, path: (string | number)[]) => unknown) & { optional?: boolean };

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const expected = (what: string, v: unknown, path: (string | number)[]): Invalid => new Invalid(path, `expected ${what}, received ${kindOf(v)}`);

const string: Check = (v, path) => {
  if (typeof v !== 'string') throw expected('string', v, path);
  return v;
};
const boolean: Check = (v, path) => {
  if (typeof v !== 'boolean') throw expected('boolean', v, path);
  return v;
};
const number: Check = (v, path) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw expected('number', v, path);
  return v;
};
const nonNegative: Check = (v, path) => {
  if ((number(v, path) as number) < 0) throw new Invalid(path, 'too small: expected a number >= 0');
  return v;
};
/** a safe integer >= 0 (zod's z.int().nonnegative()) */
const count: Check = (v, path) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw expected('int', v, path);
  if (v < 0) throw new Invalid(path, 'too small: expected an int >= 0');
  return v;
};
const oneOf =
  (...values: readonly (string | number)[]): Check =>
  (v, path) => {
    if (!values.includes(v as string | number)) throw new Invalid(path, `expected one of ${values.map((x) => JSON.stringify(x)).join('|')}`);
    return v;
  };
const matching =
  (re: RegExp): Check =>
  (v, path) => {
    if (!re.test(string(v, path) as string)) throw new Invalid(path, `invalid string: must match ${re}`);
    return v;
  };
const optional = (check: Check): Check => Object.assign((v: unknown, path: (string | number)[]) => check(v, path), { optional: true });
const nullable =
  (check: Check): Check =>
  (v, path) =>
    v === null ? null : check(v, path);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** an own property even for a key such as "__proto__" (which plain assignment would take as the prototype) */
const put = (o: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
};
const object =
  (shape: Record<string, Check>): Check =>
  (v, path) => {
    if (!isObject(v)) throw expected('object', v, path);
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(shape)) {
      const value = Object.hasOwn(v, key) ? v[key] : undefined;
      if (value === undefined) {
        if (check.optional) continue;
        throw expected(check === string ? 'string' : 'a value', undefined, [...path, key]);
      }
      put(out, key, check(value, [...path, key]));
    }
    return out;
  };
const record =
  (check: Check): Check =>
  (v, path) => {
    if (!isObject(v)) throw expected('record', v, path);
    const out: Record<string, unknown> = {};
    // a "__proto__" key is left out, as zod leaves it out
    for (const [key, value] of Object.entries(v)) if (key !== '__proto__') put(out, key, check(value, [...path, key]));
    return out;
  };
const array =
  (check: Check): Check =>
  (v, path) => {
    if (!Array.isArray(v)) throw expected('array', v, path);
    return v.map((item, i) => check(item, [...path, i]));
  };

const engineName = oneOf('redis', 'valkey');

const manifest = object({
  format: oneOf(MANIFEST_FORMAT),
  tool: string,
  file: string,
  createdAt: string,
  durationSeconds: nonNegative,
  source: object({
    kind: oneOf('replication', 'file'),
    address: optional(string),
    path: optional(string),
    role: optional(string),
    redisVersion: optional(string),
    engine: optional(engineName),
    version: optional(string),
    runId: optional(string),
    replId: optional(string),
    replOffset: optional(number),
    transfer: oneOf('diskless', 'disk', 'file'),
    serverWroteDump: boolean,
  }),
  rdb: object({
    version: count,
    bytes: count,
    crc64: string,
    checksumVerified: boolean,
    redisVersion: optional(string),
    ctime: optional(number),
    usedMemory: optional(number),
  }),
  origin: optional(
    object({
      engine: optional(engineName),
      version: optional(string),
      rdbVersion: count,
      identifiedBy: oneOf('info', 'rdb-aux', 'unknown'),
    }),
  ),
  stored: object({
    bytes: count,
    sha256: matching(/^[0-9a-f]{64}$/),
    compression: oneOf('gzip', 'zstd', 'none'),
    encryption: nullable(object({ algorithm: oneOf('aes-256-gcm-chunked'), keyId: string })),
  }),
  keyspace: object({
    keys: count,
    expires: count,
    databases: record(object({ keys: count, expires: count })),
    kinds: record(count),
    types: optional(record(count)),
    functions: count,
    moduleAux: optional(array(string)),
    earliestExpiryMs: optional(number),
  }),
  verified: boolean,
});

/** The manifest in `data`, or the first thing wrong with it. */
export function checkManifest(data: unknown): { manifest: Manifest } | { issue: ManifestIssue } {
  try {
    return { manifest: manifest(data, []) as Manifest };
  } catch (error) {
    if (error instanceof Invalid) return { issue: { path: error.path, message: error.message } };
    throw error;
  }
}

export function readManifest(path: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(code ? `cannot read the manifest: ${code}` : `the manifest is not valid JSON: ${(error as Error).message}`, { file: path });
  }
  const checked = checkManifest(data);
  if ('issue' in checked)
    throw new ConfigError(`the manifest is not one this version understands: ${checked.issue.message}`, { file: path, path: checked.issue.path.join('.') });
  return checked.manifest;
}
