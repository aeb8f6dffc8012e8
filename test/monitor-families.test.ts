/**
 * NeuralLog key-family metrics come from a background sampler, never from the scrape: a scrape
 * sends the same commands whether the server holds ten keys or a million, and a sampler pass scans a
 * bounded stretch. A finished walk, as the least-privileged monitor user, counts every family
 * exactly, and its memory estimate is near what MEMORY USAGE of every key adds up to.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closeConnection, type RedisConnection } from '../src/connect/client.js';
import { parseInfo } from '../src/connect/index.js';
import { FamilySampler, familyOf, FAMILIES, type FamilyName } from '../src/monitor/family-sampler.js';
import { RedisScraper } from '../src/monitor/scrape.js';
import { loadgen } from '../src/workload/index.js';
import { startTestServer, testEngines } from './helpers/redis.js';

async function exactFamilies(admin: RedisConnection): Promise<{ keys: Record<FamilyName, number>; bytes: Record<FamilyName, number> }> {
  const keys = { logs: 0, indexes: 0, rules: 0, patterns: 0, other: 0 };
  const bytes = { ...keys };
  let cursor = '0';
  do {
    const [next, batch] = (await admin.sendCommand(['SCAN', cursor, 'COUNT', '1000'])) as [string, string[]];
    cursor = String(next);
    const sizes = await Promise.all(batch.map((k) => admin.sendCommand(['MEMORY', 'USAGE', String(k), 'SAMPLES', '0'])));
    batch.forEach((k, i) => {
      const family = familyOf(String(k));
      keys[family]++;
      bytes[family] += Number(sizes[i]);
    });
  } while (cursor !== '0');
  return { keys, bytes };
}

async function commandCalls(admin: RedisConnection): Promise<Map<string, number>> {
  const info = parseInfo(String(await admin.sendCommand(['INFO', 'commandstats'])));
  return new Map(
    Object.entries(info)
      .filter(([k]) => k.startsWith('cmdstat_'))
      .map(([k, v]) => [k, Number(/calls=(\d+)/.exec(String(v))?.[1] ?? 0)]),
  );
}

/** the commands one scrape sends, from the server's own statistics (admin's INFO itself excluded) */
async function scrapeCommands(scraper: RedisScraper, admin: RedisConnection): Promise<Record<string, number>> {
  const before = await commandCalls(admin);
  await scraper.scrape();
  const after = await commandCalls(admin);
  const delta: Record<string, number> = {};
  for (const [k, n] of after) if (n - (before.get(k) ?? 0) > 0) delta[k] = n - (before.get(k) ?? 0);
  delta.cmdstat_info = (delta.cmdstat_info ?? 0) - 1;
  return delta;
}

for (const engine of testEngines()) {
  describe(`key-family metrics on ${engine.label}`, () => {
    // (SAMPLES 0 on both sides: with Redis's default of 5 elements, MEMORY USAGE of a large set is
    // itself an estimate that differs from call to call)
    test('a finished walk as the monitor user counts every family exactly; memory within 25 % of MEMORY USAGE of every key', async () => {
      const server = await startTestServer({ engine });
      const admin = await server.connect('admin');
      const monitor = await server.connect('monitor');
      try {
        const app = await server.connect('app');
        await loadgen(app, { logs: 2000, seed: 'families' });
        await closeConnection(app);
        for (let i = 0; i < 40; i++) await admin.sendCommand(['SET', `session:${i}`, 'x']);
        const exact = await exactFamilies(admin);
        const sampler = new FamilySampler({ scanCount: 100, memorySamplesPerPass: 50, elementSamples: 0 });
        let passes = 0;
        while (!sampler.figures().complete) {
          const scannedBefore = sampler.figures().scannedTotal;
          await sampler.pass(monitor);
          // SCAN COUNT is a hint: a pass may see a little more than 4 x 100 keys, never the keyspace
          assert.ok(sampler.figures().scannedTotal - scannedBefore <= 4 * 100 * 2, 'a pass stays bounded');
          assert.ok(++passes < 500, 'the walk ends');
        }
        const figures = sampler.figures();
        assert.deepEqual(figures.keys, exact.keys);
        for (const family of FAMILIES.filter((f) => f !== 'other')) {
          const ratio = figures.memoryBytes[family] / exact.bytes[family];
          assert.ok(ratio > 0.75 && ratio < 1.25, `${family}: estimated ${figures.memoryBytes[family]} B, MEMORY USAGE adds up to ${exact.bytes[family]} B`);
        }
      } finally {
        await closeConnection(admin);
        await closeConnection(monitor);
        await server.stop();
      }
    });

    test('a scrape sends the same commands with ten keys and with a million (no SCAN, no per-key command)', async () => {
      const server = await startTestServer({ engine, args: ['--enable-debug-command', 'local'] });
      const admin = await server.connect('admin');
      const scraper = new RedisScraper(server.endpoint('monitor'), { databases: 16 });
      try {
        await admin.sendCommand(['DEBUG', 'POPULATE', '10', 'small']);
        await scraper.scrape(); // connects
        const small = await scrapeCommands(scraper, admin);
        await admin.sendCommand(['DEBUG', 'POPULATE', '1000000', 'big']);
        const big = await scrapeCommands(scraper, admin);
        assert.deepEqual(big, small);
        assert.equal(small.cmdstat_scan, undefined);
        assert.equal(small.cmdstat_memory, undefined);
      } finally {
        await scraper.close();
        await closeConnection(admin);
        await server.stop();
      }
    });
  });
}
