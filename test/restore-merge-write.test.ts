/**
 * The commands a merge's writing pass sends, as the target's MONITOR sees them, on every engine of the
 * test matrix: in file order, one item after another, SELECT only when the database changes, RESTORE
 * (with REPLACE in replace mode) or the plain-command rebuild under a temporary name followed by
 * RENAMENX + DEL (RENAME in replace mode), FUNCTION LOAD first; expired and resumed items send nothing
 * but keep their place in the item numbering. Holds the phases of `writePass` to the same command stream.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { takeBackup } from '../src/backup/index.js';
import { closeConnection, type RedisConnection } from '../src/connect/index.js';
import { RdbStreamParser } from '../src/rdb/index.js';
import { mergeRestore, type ConflictPolicy } from '../src/restore/merge.js';
import { openRestoreSource, type RestoreSource } from '../src/restore/source.js';
import { startTestServer, tempDir, testEngines, type TestServer } from './helpers/redis.js';

const LIBRARY = "#!lua name=wlib\nredis.register_function('wfunc', function(keys, args) return args[1] end)";
/** the clock of the merge: two hours ahead, so the keys with a one-hour TTL count as expired */
const LATER = () => Date.now() + 2 * 3600_000;
const TMP = /^neurallog-restore:tmp:[0-9a-f]{12}:(\d+)$/;

type KeyItem = { kind: 'key'; db: number; key: string; expired: boolean };
type Item = { kind: 'function' } | KeyItem;
const isKey = (i: Item): i is KeyItem => i.kind === 'key';

/** the quoted words of a MONITOR line, unescaped enough for ASCII keys */
function words(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}

/** what the writing pass must send for these items, one line per command: name and first argument */
function expected(items: Item[], mode: ConflictPolicy, encoding: 'restore' | 'commands', resumeAfter = 0): string[] {
  const lines: string[] = [];
  let db = 0;
  items.forEach((item, index) => {
    if (index < resumeAfter) return;
    if (item.kind === 'function') {
      lines.push(`FUNCTION LOAD${mode === 'replace' ? ' REPLACE' : ''}`);
      return;
    }
    if (item.expired) return;
    if (item.db !== db) lines.push(`SELECT ${(db = item.db)}`);
    if (encoding === 'restore') lines.push(`RESTORE ${item.key}${mode === 'replace' ? ' REPLACE' : ''}`);
    else {
      lines.push(`<build> tmp:${index}`);
      lines.push(mode === 'replace' ? `RENAME tmp:${index} ${item.key}` : `RENAMENX tmp:${index} ${item.key}`);
      if (mode !== 'replace') lines.push(`DEL tmp:${index}`);
    }
  });
  return lines;
}

/** the writing connection's commands, from its first FUNCTION LOAD or RESTORE (or rebuild) on */
function observed(monitor: string[]): string[] {
  const start = monitor.findIndex((l) => /"FUNCTION" "LOAD"|"RESTORE"|"neurallog-restore:tmp:/.test(l));
  assert.ok(start >= 0, 'the merge wrote something');
  const client = /\[\d+ ([^\]]+)\]/.exec(monitor[start]!)![1];
  const lines: string[] = [];
  let building: string | undefined;
  for (const line of monitor.slice(start).filter((l) => l.includes(` ${client}]`))) {
    const [name = '', ...args] = words(line);
    const tmpIndex = (w: string | undefined) => (w && TMP.test(w) ? `tmp:${TMP.exec(w)![1]}` : w);
    if (name === 'FUNCTION') lines.push(`FUNCTION LOAD${args[1] === 'REPLACE' ? ' REPLACE' : ''}`);
    else if (name === 'SELECT') lines.push(`SELECT ${args[0]}`);
    else if (name === 'RESTORE') lines.push(`RESTORE ${args[0]}${args.includes('REPLACE') ? ' REPLACE' : ''}`);
    else if (name === 'RENAME' || name === 'RENAMENX') lines.push(`${name} ${tmpIndex(args[0])} ${args[1]}`);
    else if (name === 'DEL') lines.push(`DEL ${tmpIndex(args[0])}`);
    else if (args[0] && TMP.test(args[0])) {
      // the commands that build one value collapse into one line
      if (building !== args[0]) lines.push(`<build> ${tmpIndex(args[0])}`);
      building = args[0];
      continue;
    } else lines.push(`? ${name}`);
    building = undefined;
  }
  return lines;
}

/** a library, strings (some with a one-hour TTL), a hash and a list in db 0, two keys in db 2, one in db 5 */
async function seed(c: RedisConnection): Promise<void> {
  await c.sendCommand(['FUNCTION', 'LOAD', LIBRARY]);
  for (let i = 0; i < 20; i++) await c.sendCommand(['SET', `s:${i}`, `v${i}`, ...(i % 7 === 3 ? ['PX', '3600000'] : [])]);
  await c.sendCommand(['HSET', 'h:0', 'a', '1', 'b', '2']);
  await c.sendCommand(['RPUSH', 'l:0', 'x', 'y', 'z']);
  await c.sendCommand(['SELECT', '2']);
  await c.sendCommand(['SET', 'two:a', '1']);
  await c.sendCommand(['SADD', 'two:set', 'p', 'q']);
  await c.sendCommand(['SELECT', '5']);
  await c.sendCommand(['ZADD', 'five:z', '1', 'm']);
  await c.sendCommand(['SELECT', '0']);
}

for (const engine of testEngines()) {
  describe(`merge write pass: the commands it sends (${engine.label})`, { concurrency: false }, () => {
    let source: TestServer;
    let target: TestServer;
    let src: RedisConnection;
    let dst: RedisConnection;
    let dir: { path: string; remove(): void };
    let backup: RestoreSource;
    let items: Item[];

    before(async () => {
      dir = tempDir('nlr-merge-write-');
      [source, target] = await Promise.all([startTestServer({ engine }), startTestServer({ engine })]);
      src = await source.connect('admin');
      dst = await target.connect('admin');
      await seed(src);
      const taken = await takeBackup({
        source: { kind: 'replication', endpoint: source.endpoint('backup') },
        toDir: join(dir.path, 'backups'),
        compression: 'none',
      });
      backup = await openRestoreSource(taken.path);
      items = [];
      const parser = new RdbStreamParser({
        onFunction: () => items.push({ kind: 'function' }),
        onRecord: (r) => items.push({ kind: 'key', db: r.db, key: r.key.toString(), expired: r.expireAtMs !== undefined && r.expireAtMs <= LATER() - 60_000 }),
      });
      parser.write(readFileSync(taken.path));
      parser.end();
    });
    after(async () => {
      await closeConnection(src);
      await closeConnection(dst);
      await Promise.all([source.stop(), target.stop()]);
      dir.remove();
    });

    async function merge(onConflict: ConflictPolicy, valueEncoding: 'restore' | 'commands', resumeAfter?: number) {
      await dst.sendCommand(['FLUSHALL', 'SYNC']);
      await dst.sendCommand(['FUNCTION', 'FLUSH', 'SYNC']);
      if (onConflict === 'replace') await dst.sendCommand(['SET', 's:1', 'other']);
      const monitor: string[] = [];
      const mon = await target.connect('admin');
      await mon.monitor((line: string) => monitor.push(line));
      const result = await mergeRestore({
        source: backup,
        endpoint: target.endpoint('admin'),
        onConflict,
        valueEncoding,
        now: LATER,
        ...(resumeAfter ? { resumeAfter } : {}),
      });
      await dst.sendCommand(['PING']); // the MONITOR of the last commands arrives before this reply
      await new Promise((resolve) => setTimeout(resolve, 50));
      mon.destroy();
      return { result, lines: observed(monitor) };
    }

    for (const [mode, encoding] of [
      ['fail', 'restore'],
      ['fail', 'commands'],
      ['replace', 'restore'],
      ['replace', 'commands'],
    ] as const) {
      test(`${engine.label}: ${mode} mode, ${encoding}: the items in file order, nothing more`, async () => {
        const { result, lines } = await merge(mode, encoding);
        assert.deepEqual(lines, expected(items, mode, encoding));
        const keys = items.filter(isKey);
        assert.equal(result.written, keys.filter((k) => !k.expired).length);
        assert.equal(result.expired, keys.filter((k) => k.expired).length);
        assert.equal(result.functions.loaded, 1);
        assert.deepEqual(
          result.databases.map((d) => [d.from, d.keys]),
          [0, 2, 5].map((db) => [db, keys.filter((k) => k.db === db && !k.expired).length]),
        );
      });
    }

    test(`${engine.label}: resuming after item 5 sends only the items from 5 on`, async () => {
      const { result, lines } = await merge('fail', 'restore', 5);
      assert.deepEqual(lines, expected(items, 'fail', 'restore', 5));
      assert.equal(result.functions.loaded, 0);
      assert.equal(
        result.written,
        items
          .slice(5)
          .filter(isKey)
          .filter((i) => !i.expired).length,
      );
    });
  });
}
