/**
 * The manifest reader (src/backup/manifest.ts, without zod) against the zod schema it replaced
 * (src/backup/manifest-schema.ts): the same verdict and the same result on valid manifests, on every
 * single-field damage of them, and on seeded random damage several levels deep.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkManifest, readManifest } from '../src/backup/manifest.js';
import { manifestSchema } from '../src/backup/manifest-schema.js';
import { ConfigError } from '../src/errors.js';

const full = {
  format: 1,
  tool: 'neurallog-redis 0.1.0',
  file: 'redis-backup-20261206T120000Z.rdb.gz',
  createdAt: '2026-12-06T12:00:00.000Z',
  durationSeconds: 1.25,
  source: {
    kind: 'replication',
    address: '127.0.0.1:6379',
    role: 'master',
    redisVersion: '7.2.4',
    engine: 'valkey',
    version: '8.1.1',
    runId: 'a'.repeat(40),
    replId: 'b'.repeat(40),
    replOffset: 12345,
    transfer: 'diskless',
    serverWroteDump: false,
  },
  rdb: { version: 11, bytes: 1000, crc64: '0123456789abcdef', checksumVerified: true, redisVersion: '7.2.4', ctime: 1765000000, usedMemory: 2000000 },
  origin: { engine: 'valkey', version: '8.1.1', rdbVersion: 11, identifiedBy: 'info' },
  stored: { bytes: 600, sha256: 'c'.repeat(64), compression: 'gzip', encryption: { algorithm: 'aes-256-gcm-chunked', keyId: 'k1' } },
  keyspace: {
    keys: 10,
    expires: 2,
    databases: { '0': { keys: 8, expires: 2 }, '3': { keys: 2, expires: 0 } },
    kinds: { string: 6, hash: 4 },
    types: { '0': 6, '16': 4 },
    functions: 1,
    moduleAux: ['ReJSON-RL'],
    earliestExpiryMs: 1765000001000,
  },
  verified: true,
};

/** the oldest shape: no origin, types, moduleAux; no encryption; a file source */
const minimal = {
  format: 1,
  tool: 't',
  file: 'f.rdb',
  createdAt: 'x',
  durationSeconds: 0,
  source: { kind: 'file', path: '/data/dump.rdb', transfer: 'file', serverWroteDump: true },
  rdb: { version: 10, bytes: 0, crc64: '', checksumVerified: false },
  stored: { bytes: 0, sha256: 'd'.repeat(64), compression: 'none', encryption: null },
  keyspace: { keys: 0, expires: 0, databases: {}, kinds: {}, functions: 0 },
  verified: false,
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** both readers' verdicts on `doc`, and the same data when both accept it */
function agree(doc: unknown, what: string): boolean {
  const ours = checkManifest(doc);
  const theirs = manifestSchema.safeParse(doc);
  assert.equal(
    'manifest' in ours,
    theirs.success,
    `${what}: ours ${JSON.stringify(ours).slice(0, 200)}, zod ${theirs.success ? 'accepts' : JSON.stringify(theirs.error.issues[0])}`,
  );
  if ('manifest' in ours && theirs.success) assert.deepEqual(ours.manifest, theirs.data, what);
  if ('issue' in ours && !theirs.success) assert.deepEqual(ours.issue.path, theirs.error.issues[0]!.path, `${what}: the same place`);
  return theirs.success;
}

const REPLACEMENTS: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 60,
  '',
  'x',
  'redis',
  'gzip',
  'c'.repeat(64),
  'C'.repeat(64),
  [],
  ['a'],
  [1],
  {},
  { keys: 1, expires: 0 },
];

/** every path of `doc` (objects and arrays), the root excluded */
function paths(doc: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (doc === null || typeof doc !== 'object') return [];
  const keys = Array.isArray(doc) ? doc.map((_, i) => i) : Object.keys(doc);
  return keys.flatMap((k) => [[...prefix, k], ...paths((doc as Record<string | number, Json>)[k]!, [...prefix, k])]);
}

function mutate(doc: Json, path: (string | number)[], to: Json | undefined): Json {
  const copy = structuredClone(doc) as Record<string | number, Json>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (to === undefined) {
    if (Array.isArray(at)) at.splice(Number(last), 1);
    else delete at[last];
  } else at[last] = to;
  return copy as Json;
}

/** a small seeded generator (mulberry32) */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('manifest reader without zod', () => {
  test('valid manifests, full and minimal, read the same as zod reads them (unknown keys dropped)', () => {
    assert.equal(agree(full, 'full'), true);
    assert.equal(agree(minimal, 'minimal'), true);
    assert.equal(agree({ ...full, extra: 1, source: { ...full.source, extra: 'x' } }, 'unknown keys'), true);
  });

  test('every field deleted or replaced by each of 18 values: the same verdict, place and data as zod', () => {
    let checked = 0;
    for (const base of [full, minimal] as Json[]) {
      for (const path of paths(base)) {
        agree(mutate(base, path, undefined), `delete ${path.join('.')}`);
        for (const to of REPLACEMENTS) agree(mutate(base, path, to), `${path.join('.')} = ${JSON.stringify(to)}`);
        checked += REPLACEMENTS.length + 1;
      }
    }
    for (const to of REPLACEMENTS) agree(to, `the whole manifest = ${JSON.stringify(to)}`);
    assert.ok(checked > 1000, `${checked} damaged manifests`);
  });

  test('3,000 seeded random damages of one to three fields, and hostile keys: the same verdicts', () => {
    const next = random(15);
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      let doc = structuredClone(next() < 0.5 ? full : minimal) as Json;
      const n = 1 + Math.floor(next() * 3);
      for (let j = 0; j < n; j++) {
        const all = paths(doc);
        if (all.length === 0) break;
        const path = all[Math.floor(next() * all.length)]!;
        const r = next();
        doc = mutate(doc, path, r < 0.2 ? undefined : REPLACEMENTS[Math.floor(next() * REPLACEMENTS.length)]);
      }
      if (agree(doc, `random damage ${i}`)) accepted++;
    }
    assert.ok(accepted > 0 && accepted < 3000, `some accepted (${accepted}), most refused`);
    const hostile = JSON.parse(
      '{"__proto__": {"verified": true}, "keyspace": {"keys": 1, "expires": 0, "databases": {"__proto__": {"keys": 1, "expires": 0}}, "kinds": {"__proto__": 3}, "functions": 0}}',
    ) as Record<string, unknown>;
    agree({ ...structuredClone(minimal), keyspace: hostile.keyspace }, 'a "__proto__" database and kind');
    const ours = checkManifest({ ...structuredClone(minimal), keyspace: hostile.keyspace });
    assert.ok('manifest' in ours);
    assert.equal(Object.getPrototypeOf(ours.manifest.keyspace.databases), Object.prototype, 'no prototype taken from the file');
    assert.deepEqual(Object.keys(ours.manifest.keyspace.databases), [], 'left out, as zod leaves it out');
    assert.deepEqual(Object.keys(ours.manifest.keyspace.kinds), []);
  });

  test('readManifest names the file and the field of a damaged manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nlr-manifest-'));
    try {
      const path = join(dir, 'x.rdb.manifest.json');
      writeFileSync(path, JSON.stringify({ ...full, stored: { ...full.stored, sha256: 'nothex' } }));
      assert.throws(
        () => readManifest(path),
        (e: unknown) => e instanceof ConfigError && e.message.includes(path) && e.message.includes('stored.sha256') && e.message.includes('must match'),
      );
      writeFileSync(path, '{"format": 1,');
      assert.throws(() => readManifest(path), /not valid JSON/);
      writeFileSync(path, JSON.stringify(full));
      assert.deepEqual(readManifest(path), manifestSchema.parse(full));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
