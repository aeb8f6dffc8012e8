/**
 * The manifest's schema in zod: the `Manifest` type is inferred from it, and the tests check that the
 * reader (manifest.ts, which does not load zod: reading a manifest is on the path of every restore and
 * verify, and zod's import alone took 140-200 ms of a restore's start) accepts exactly what this does.
 */
import { z } from 'zod';
import { MANIFEST_FORMAT } from './manifest-write.js';

const count = z.int().nonnegative();
const engineName = z.enum(['redis', 'valkey']);

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  tool: z.string(),
  file: z.string(),
  createdAt: z.string(),
  durationSeconds: z.number().nonnegative(),
  source: z.object({
    kind: z.enum(['replication', 'file']),
    address: z.string().optional(),
    path: z.string().optional(),
    role: z.string().optional(),
    /** INFO server's redis_version as it was (Valkey answers 7.2.4 there: not its version) */
    redisVersion: z.string().optional(),
    /** the server's engine and its own version (INFO server: valkey_version / redis_version) */
    engine: engineName.optional(),
    version: z.string().optional(),
    runId: z.string().optional(),
    replId: z.string().optional(),
    replOffset: z.number().optional(),
    transfer: z.enum(['diskless', 'disk', 'file']),
    serverWroteDump: z.boolean(),
  }),
  rdb: z.object({
    version: count,
    bytes: count,
    crc64: z.string(),
    checksumVerified: z.boolean(),
    redisVersion: z.string().optional(),
    ctime: z.number().optional(),
    usedMemory: z.number().optional(),
  }),
  /**
   * Which server wrote the RDB and which format version it is: from INFO server at pull time for a
   * live server, else from the RDB's aux fields (valkey-ver, redis-ver). Absent in manifests written
   * before this field existed (Redis 7.0 era): read those with backupOrigin().
   */
  origin: z
    .object({
      engine: engineName.optional(),
      version: z.string().optional(),
      rdbVersion: count,
      identifiedBy: z.enum(['info', 'rdb-aux', 'unknown']),
    })
    .optional(),
  stored: z.object({
    bytes: count,
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    compression: z.enum(['gzip', 'zstd', 'none']),
    encryption: z.object({ algorithm: z.literal('aes-256-gcm-chunked'), keyId: z.string() }).nullable(),
  }),
  keyspace: z.object({
    keys: count,
    expires: count,
    databases: z.record(z.string(), z.object({ keys: count, expires: count })),
    kinds: z.record(z.string(), count),
    /** keys per RDB value type byte ("25": hashes with field TTLs); absent in older manifests */
    types: z.record(z.string(), count).optional(),
    functions: count,
    /** module type names of the RDB's MODULE_AUX records ([] when none); absent in older manifests */
    moduleAux: z.array(z.string()).optional(),
    earliestExpiryMs: z.number().optional(),
  }),
  verified: z.boolean(),
});

export type Manifest = z.infer<typeof manifestSchema>;
