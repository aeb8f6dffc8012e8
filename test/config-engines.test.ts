/**
 * Lint per engine and release, held against the real servers: for each engine of the matrix (Redis
 * 7.0.15 on the host, Redis 8.0.2 and Valkey 8.1.1 from the Debian 13 root), a redis.conf holding a
 * directive is started on that server, and whether it starts must be what lint says for its release.
 * Aliases lint reports as old names must be the same setting on the server. Plus the pure checks:
 * one directive accepted on one release and flagged on another, renames, the nearest-table note.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { judgeDirective, tableFor } from '../src/config/engine-directives.js';
import type { Finding } from '../src/config/findings.js';
import { lintDeployment } from '../src/config/lint.js';
import { readConfig, type TargetChoice } from '../src/config/load.js';
import { closeConnection } from '../src/connect/index.js';
import { freePort } from '../src/runtime/index.js';
import { startTestServer, testEngines, type TestEngine } from './helpers/redis.js';
import { runCliSync } from './helpers/run-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'nlr-config-engines-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
function write(text: string, ext = 'conf'): string {
  const path = join(tmp, `case-${++counter}.${ext}`);
  writeFileSync(path, text);
  return path;
}
const lint = (text: string, target: TargetChoice, ext = 'conf'): Finding[] => lintDeployment(readConfig(write(text, ext), target));
const rules = (findings: Finding[], rule: string) => findings.filter((f) => f.rule === rule);

/** Directives whose acceptance differs across the releases here (values each server takes). */
const PROBES: Array<[string, string]> = [
  ['set-max-listpack-entries', '128'], // new in Redis 7.2
  ['hide-user-data-from-log', 'no'], // new in Redis 7.4 / Valkey 8.0
  ['aof-rewrite-cpulist', '0'], // 7.4's new name of aof_rewrite_cpulist
  ['io-threads-do-reads', 'yes'], // dropped by Redis 8.0 and Valkey 8.1
  ['replica-full-sync-buffer-limit', '0'], // Redis 8.0 only
  ['primaryauth', 'secret'], // Valkey 8.0's name of masterauth
  ['commandlog-slow-execution-max-len', '128'], // Valkey 8.1's name of slowlog-max-len
  ['masterauth', 'secret'], // everywhere (an alias on Valkey 8.x)
  ['no-such-directive', '1'], // nowhere
];

/**
 * Starts `engine`'s server on a config holding `name args`: true once it is ready to accept
 * connections, false when it exits saying the directive is bad. The server is killed either way.
 */
async function serverAccepts(engine: TestEngine, name: string, args: string): Promise<boolean> {
  const dir = mkdtempSync(join(engine.tempParent, 'nlr-accepts-'));
  try {
    const conf = join(dir, 'redis.conf');
    writeFileSync(conf, `port ${await freePort()}\nbind 127.0.0.1\nsave ""\nappendonly no\n${name} ${args}\n`);
    const logPath = join(dir, 'out.log');
    const log = openSync(logPath, 'w');
    const child = spawn(engine.server, [conf, '--dir', dir], { stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 20_000;
    try {
      for (;;) {
        const out = readFileSync(logPath, 'utf8');
        if (/Ready to accept connections/.test(out)) return true;
        if (child.exitCode !== null || child.signalCode !== null) {
          // 7.0 and Valkey: "Bad directive or wrong number of arguments"; Redis 8.0 takes an unknown name
          // for a module's setting: "Module Configuration detected without loadmodule directive ... aborting"
          assert.match(
            out,
            /Bad directive or wrong number of arguments|Unresolved Configuration\(s\) Detected[\s\S]*aborting/,
            `${engine.label} exited for another reason:\n${out}`,
          );
          assert.match(out, new RegExp(name), `${engine.label} names the line`);
          return false;
        }
        if (Date.now() > deadline) throw new Error(`${engine.label} neither started nor refused ${name}:\n${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(-child.pid!, 'SIGKILL');
        await exited;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const engine of testEngines()) {
  describe(`lint for ${engine.label} agrees with the real server`, () => {
    for (const [name, args] of PROBES) {
      test(`${engine.label}: ${name}`, async () => {
        const verdict = judgeDirective(engine.identity, name);
        const starts = await serverAccepts(engine, name, args);
        assert.equal(starts, verdict.status !== 'unknown', `lint says ${JSON.stringify(verdict)}; the server ${starts ? 'started' : 'refused it'}`);
        const findings = lint(`${name} ${args}\n`, engine.identity);
        assert.equal(rules(findings, 'unknown-directive').length, starts ? 0 : 1, JSON.stringify(findings));
        if (!starts)
          assert.match(
            rules(findings, 'unknown-directive')[0]!.message,
            new RegExp(`${engine.identity.engine === 'valkey' ? 'Valkey' : 'Redis'} ${engine.identity.version.replaceAll('.', '\\.')} accepts`),
          );
      });
    }

    test(`${engine.label}: every old name lint reports is the same setting on the server`, async () => {
      const oldNames = [
        'hash-max-ziplist-entries',
        'zset-max-ziplist-value',
        'lua-time-limit',
        'slowlog-max-len',
        'repl-ping-slave-period',
        'slowlog-log-slower-than',
      ];
      const aliases = oldNames.flatMap((name) => {
        const v = judgeDirective(engine.identity, name);
        return v.status === 'alias' ? [[name, v.name] as const] : [];
      });
      assert.ok(aliases.length >= 4, `aliases found: ${JSON.stringify(aliases)}`);
      const server = await startTestServer({ engine });
      const admin = await server.connect('admin');
      try {
        for (const [old, modern] of aliases) {
          const value = String(700 + aliases.findIndex(([o]) => o === old));
          assert.equal(await admin.sendCommand(['CONFIG', 'SET', old, value]), 'OK');
          assert.deepEqual(await admin.sendCommand(['CONFIG', 'GET', modern]), [modern, value], `${old} -> ${modern}`);
        }
        // and the names lint takes as plain settings are not aliases of each other on the server
        const plain = oldNames.filter((n) => judgeDirective(engine.identity, n).status === 'accepted');
        for (const name of plain) assert.ok(!aliases.some(([o]) => o === name));
      } finally {
        await closeConnection(admin);
        await server.stop();
      }
    });
  });
}

describe('lint per engine and release (tables)', () => {
  test('set-max-listpack-entries: an error naming Redis 7.0, accepted on 7.2, 8.0 and Valkey 8.1', () => {
    const text = 'set-max-listpack-entries 128\n';
    const on70 = rules(lint(text, { engine: 'redis', version: '7.0' }), 'unknown-directive');
    assert.equal(on70.length, 1);
    assert.match(on70[0]!.message, /Redis 7\.0 accepts/);
    assert.match(on70[0]!.explanation, /arrived in Redis 7\.2/);
    for (const target of [
      { engine: 'redis', version: '7.2' },
      { engine: 'redis', version: '8.0' },
      { engine: 'valkey', version: '8.1' },
    ] as const) {
      assert.deepEqual(rules(lint(text, target), 'unknown-directive'), [], `${target.engine} ${target.version}`);
    }
  });

  test('io-threads-do-reads: a setting on Redis 7.4, accepted and ignored by Redis 8.0 and Valkey 8.1', () => {
    const text = 'io-threads-do-reads yes\n';
    assert.deepEqual(rules(lint(text, { version: '7.4' }), 'ignored-directive'), []);
    for (const target of [
      { engine: 'redis', version: '8.0.2' },
      { engine: 'valkey', version: '8.1' },
    ] as const) {
      const findings = lint(text, target);
      assert.deepEqual(rules(findings, 'unknown-directive'), []);
      const ignored = rules(findings, 'ignored-directive');
      assert.equal(ignored.length, 1);
      assert.equal(ignored[0]!.severity, 'warning');
      assert.match(ignored[0]!.explanation, /ignores it \((Redis 7\.4|Valkey 8\.0) still used it\)/);
    }
  });

  test("Redis 7.2's additions are refused by 7.0; the cluster-slave names stay aliases on 8.0", () => {
    const added = ['cluster-announce-human-nodename', 'locale-collate'];
    for (const name of added) {
      assert.equal(judgeDirective({ engine: 'redis', version: '7.0' }, name).status, 'unknown');
      assert.equal(judgeDirective({ engine: 'redis', version: '7.2' }, name).status, 'accepted');
    }
    assert.deepEqual(judgeDirective({ engine: 'redis', version: '8.0' }, 'cluster-slave-validity-factor'), {
      status: 'alias',
      name: 'cluster-replica-validity-factor',
    });
  });

  test('renames: Redis 7.0 is told to write aof_rewrite_cpulist, Valkey masterauth/slowlog-max-len are old names', () => {
    const on70 = rules(lint('aof-rewrite-cpulist 0\n', { version: '7.0' }), 'unknown-directive')[0]!;
    assert.match(on70.explanation, /arrived in Redis 7\.4/);
    assert.match(on70.fix, /aof_rewrite_cpulist/);
    const valkey = rules(lint('masterauth x\nslowlog-max-len 10\nhash-max-ziplist-entries 64\n', { engine: 'valkey', version: '8.1' }), 'deprecated-alias');
    assert.deepEqual(
      valkey.map((f) => [f.place?.line, /old name of "([^"]+)"/.exec(f.message)?.[1]]),
      [
        [1, 'primaryauth'],
        [2, 'commandlog-slow-execution-max-len'],
        [3, 'hash-max-listpack-entries'],
      ],
    );
    // on Redis, masterauth is the name itself and primaryauth is Valkey's, with the Redis name to write
    assert.deepEqual(rules(lint('masterauth x\n', { version: '8.0' }), 'deprecated-alias'), []);
    const primary = rules(lint('primaryauth x\n', { version: '8.0' }), 'unknown-directive')[0]!;
    assert.match(primary.explanation, /Only Valkey 8\.0, 8\.1 have it/);
    assert.match(primary.fix, /"masterauth"/);
  });

  test('a release without a table of its own is judged by the nearest older line, and lint says so', () => {
    assert.equal(tableFor({ engine: 'redis', version: '8.2.1' }).table.line, '8.0');
    assert.equal(tableFor({ engine: 'valkey', version: '9.0' }).table.line, '8.1');
    assert.equal(tableFor({ engine: 'redis', version: '7.4.2' }).note, undefined);
    const notes = rules(lint('port 6379\n', { engine: 'valkey', version: '9.0.1' }), 'version-without-table');
    assert.equal(notes.length, 1);
    assert.equal(notes[0]!.severity, 'info');
    assert.match(notes[0]!.message, /Valkey 8\.1's/);
    assert.throws(() => tableFor({ engine: 'redis', version: '6.2' }), /older than Redis 7\.0/);
  });

  test('a YAML model is judged for its own engine and version; the image follows them', () => {
    const valkey = readConfig(write('engine: valkey\nextraDirectives:\n  - {name: replica-full-sync-buffer-limit, args: ["0"]}\n', 'yaml'));
    assert.deepEqual([valkey.deployment.engine, valkey.deployment.container.image], ['valkey', `valkey/valkey:${valkey.deployment.version}-alpine`]);
    assert.match(rules(lintDeployment(valkey), 'unknown-directive')[0]!.message, /Valkey 8\.1\.\d+ accepts/);
    const redis80 = lint('version: "8.0"\nextraDirectives:\n  - {name: replica-full-sync-buffer-limit, args: ["0"]}\n', {}, 'yaml');
    assert.deepEqual(rules(redis80, 'unknown-directive'), []);
    const mismatch = rules(lint('engine: valkey\ncontainer: {image: "redis:8.0.4-alpine"}\n', {}, 'yaml'), 'image-engine-mismatch');
    assert.match(mismatch[0]!.message, /runs Redis/);
    const unquoted = () => readConfig(write('version: 8.0\n', 'yaml'));
    assert.throws(unquoted, /string, e\.g\. "8\.0"/);
  });
});

describe('config lint --engine/--version on the command line', () => {
  const cli = (...args: string[]) => runCliSync(args, { timeoutMs: 60_000 });

  test('the same file: exit 0 for Redis 7.4, exit 1 naming Redis 7.0 with --version 7.0, exit 1 on Valkey 8.1', () => {
    const file = write(
      'protected-mode no\nbind 127.0.0.1\nmaxmemory 100mb\nappendonly yes\nuser default on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~* +@all\nset-max-listpack-entries 64\nio-threads-do-reads yes\nreplica-full-sync-buffer-limit 0\n',
    );
    const on80 = cli('config', 'lint', file, '--version', '8.0', '--json');
    assert.equal(on80.code, 0, on80.stdout + on80.stderr);
    const report = JSON.parse(on80.stdout) as { version: number; target: { engine: string; version: string }; findings: Finding[] };
    assert.equal(typeof report.version, 'number');
    assert.deepEqual(report.target, { engine: 'redis', version: '8.0' });
    assert.deepEqual(
      report.findings.filter((f) => f.severity === 'error'),
      [],
    );
    assert.ok(report.findings.some((f) => f.rule === 'ignored-directive'));
    const on70 = cli('config', 'lint', file, '--version', '7.0');
    assert.equal(on70.code, 1);
    assert.match(on70.stdout, /"set-max-listpack-entries" is not a directive Redis 7\.0 accepts/);
    assert.match(on70.stdout, /\(for Redis 7\.0\)/);
    const onValkey = cli('config', 'lint', file, '--engine', 'valkey', '--version', '8.1');
    assert.equal(onValkey.code, 1);
    assert.match(onValkey.stdout, /"replica-full-sync-buffer-limit" is not a directive Valkey 8\.1 accepts/);
  });

  test('a release lint cannot judge, or an unknown engine, is exit 2 with one message', () => {
    const file = write('port 6379\n');
    for (const args of [
      ['--version', '6.2'],
      ['--version', 'latest'],
      ['--engine', 'keydb'],
    ]) {
      const r = cli('config', 'lint', file, ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});
