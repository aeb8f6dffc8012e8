/**
 * `backups verify` on RDB files the servers load with something a strict reader calls damage (a
 * stream length that disagrees with its entries, bytes after the checksum, both measured on real
 * servers in rdb-server-acceptance), on a valid file of a version this tool does not read, and on
 * real damage: warnings with offsets (human and --json) and exit 0; DAMAGED with --strict and exit
 * 1; NOT SUPPORTED and exit 2. Runs the command's function in this process, stdout captured.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, test } from 'node:test';
import { backupsVerifyCommand } from '../src/cli/backups.js';
import { rdbEncode as E } from './fixtures/rdb/encode.js';
import { fileWithHeader, streamValue } from './fixtures/rdb/formats.js';
import { cliArgv } from './helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'nlr-rdb-verify-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function verify(name: string, bytes: Buffer, flags: { json?: boolean; strict?: boolean } = {}): Promise<{ code: number; out: string }> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  // the command prints strings; the test runner's own reports (binary) pass through
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== 'string') return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    chunks.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await backupsVerifyCommand(path, flags);
    return { code, out: chunks.join('') };
  } finally {
    process.stdout.write = write;
  }
}

const value = streamValue({ entries: [10, 11], length: 5, version: 2, group: true });
const lenient = E.file(12, [Buffer.from([0xfe, 0]), E.record(19, 'events', value), E.record(0, 'k', E.str('v'))]);
const lengthAt = lenient.indexOf(value) + value.indexOf(E.len(5), 1 + 17);
const tail = Buffer.from('*1\r\n$4\r\nPING\r\n');
const aofLike = Buffer.concat([lenient, tail]);

describe('backups verify: warnings, --strict, not supported', () => {
  test('a file the servers load: OK with both warnings and their offsets, exit 0', async () => {
    const { code, out } = await verify('aof-base.rdb', aofLike);
    assert.equal(code, 0, out);
    assert.match(out, /^OK .*aof-base\.rdb: .*2 warnings \(damage with --strict\)/);
    assert.match(
      out,
      new RegExp(`warning: .*aof-base\\.rdb at byte ${lengthAt}: key "events": stream declares length 5 but its listpacks hold 2 live entries`),
    );
    assert.match(out, new RegExp(`warning: .*at byte ${lenient.length}: ${tail.length} bytes follow the end of the RDB`));
  });

  test('--json carries status, warnings and strict', async () => {
    const { code, out } = await verify('aof-base.rdb', aofLike, { json: true });
    assert.equal(code, 0);
    const json = JSON.parse(out) as {
      ok: boolean;
      status: string;
      strict: boolean;
      warnings: string[];
      problems: string[];
      summary: { trailingBytes: number; warningCount: number };
    };
    assert.equal(json.status, 'warnings');
    assert.equal(json.ok, true);
    assert.equal(json.strict, false);
    assert.equal(json.warnings.length, 2);
    assert.equal(json.summary.trailingBytes, tail.length);
    assert.deepEqual(json.problems, []);
  });

  test('--strict: the same file is DAMAGED at the first of them, exit 1', async () => {
    const { code, out } = await verify('aof-base.rdb', aofLike, { strict: true });
    assert.equal(code, 1, out);
    assert.match(out, new RegExp(`^DAMAGED .*\\n  - .*at byte ${lengthAt}: key "events": stream declares length 5`));
    const onlyTail = await verify('tail.rdb', Buffer.concat([E.file(12, [E.record(0, 'k', E.str('v'))]), tail]), { strict: true, json: true });
    assert.equal(onlyTail.code, 1);
    assert.equal((JSON.parse(onlyTail.out) as { status: string }).status, 'damaged');
  });

  test('gzip: offsets are in the decompressed RDB and say so', async () => {
    const { code, out } = await verify('aof-base.rdb.gz', gzipSync(aofLike));
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`at byte ${lengthAt}: .*\\(offset in the decompressed RDB\\)`));
  });

  test('a valid file of a later version: NOT SUPPORTED naming the writer, exit 2, never DAMAGED', async () => {
    for (const [header, writer] of [
      ['REDIS0013', 'Redis 8.6'],
      ['VALKEY081', 'a Valkey release newer than 9.0'],
    ]) {
      const { code, out } = await verify(`${header}.rdb`, fileWithHeader(header!, [E.record(0, 'k', E.str('v'))]));
      assert.equal(code, 2, out);
      assert.doesNotMatch(out, /DAMAGED/);
      assert.match(out, new RegExp(`^NOT SUPPORTED .*${header}\\.rdb: not supported \\(RDB \\d+, written by ${writer}\\): its header is "${header}"`));
      const json = JSON.parse((await verify(`${header}.rdb`, fileWithHeader(header!, []), { json: true })).out) as {
        status: string;
        unsupported: { rdbVersion: number; writtenBy: string };
      };
      assert.equal(json.status, 'unsupported');
      assert.equal(json.unsupported.writtenBy, writer);
    }
  });

  test('a Valkey 9.0 file verifies OK; real damage stays DAMAGED', async () => {
    const ok = await verify('valkey9.rdb', fileWithHeader('VALKEY080', [E.record(0, 'k', E.str('v'))]));
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /^OK /);
    const bad = Buffer.from(lenient);
    bad[bad.length - 1]! ^= 0xff;
    const damaged = await verify('bad.rdb', bad);
    assert.equal(damaged.code, 1);
    assert.match(damaged.out, /^DAMAGED .*checksum mismatch/s);
  });
});

test('the CLI: `backups verify --strict` is a flag of the command (exit 1), without it exit 0', async () => {
  const { spawnSync } = await import('node:child_process');
  const path = join(dir, 'cli-aof-base.rdb');
  writeFileSync(path, aofLike);
  const root = new URL('..', import.meta.url).pathname;
  const run = (...extra: string[]) => spawnSync(...cliArgv('backups', 'verify', path, ...extra), { cwd: root, encoding: 'utf8' });
  const lenientRun = run();
  assert.equal(lenientRun.status, 0, lenientRun.stderr);
  assert.match(lenientRun.stdout, /2 warnings/);
  const strictRun = run('--strict');
  assert.equal(strictRun.status, 1, strictRun.stderr);
  assert.match(strictRun.stdout, /^DAMAGED /);
});
