/**
 * The kernel checks read /proc and /sys; this machine's values are what they are (and shared with
 * other tests), so the settings a bad host has are written into a directory laid out like / and read
 * from there: THP always on with disable-thp off, somaxconn below tcp-backlog, the xen clocksource,
 * swapped-out server memory, overcommit 0. No server engine is involved: the facts come from files.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { kernelChecks } from '../src/doctor/checks-host.js';
import type { ServerFacts } from '../src/doctor/collect.js';
import { kernelFacts } from '../src/doctor/host-facts.js';
import { tempDir } from './helpers/redis.js';

function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), `${text}\n`);
}

const facts = (config: Record<string, string>): ServerFacts => ({
  info: {},
  identity: { engine: 'redis', version: '7.0.15' },
  config,
  anonymous: 'closed',
  now: 0,
});

test('a host with every kernel problem Redis warns about gets one warning each', () => {
  const root = tempDir('nlr-doctor-host-');
  try {
    write(root.path, 'proc/sys/vm/overcommit_memory', '0');
    write(root.path, 'sys/kernel/mm/transparent_hugepage/enabled', '[always] madvise never');
    write(root.path, 'proc/sys/net/core/somaxconn', '128');
    write(root.path, 'sys/devices/system/clocksource/clocksource0/current_clocksource', 'xen');
    write(root.path, 'proc/4242/status', 'Name:\tredis-server\nVmSwap:\t   20480 kB');
    const findings = kernelChecks(kernelFacts(4242, root.path), facts({ 'disable-thp': 'no', 'tcp-backlog': '511' }));
    assert.deepEqual(
      findings.map((f) => [f.id, f.severity]),
      [
        ['host.overcommit', 'warning'],
        ['host.thp', 'warning'],
        ['host.somaxconn', 'warning'],
        ['host.clocksource', 'warning'],
        ['host.swap', 'warning'],
      ],
    );
    // disable-thp yes (the default since 6.2): the server turns THP off for itself
    const thp = kernelChecks(kernelFacts(4242, root.path), facts({ 'disable-thp': 'yes', 'tcp-backlog': '100' }));
    assert.equal(thp.find((f) => f.id === 'host.thp')?.severity, 'ok');
    assert.equal(thp.find((f) => f.id === 'host.somaxconn')?.severity, 'ok');
  } finally {
    root.remove();
  }
});

test('a well-set host is ok on every kernel check', () => {
  const root = tempDir('nlr-doctor-host-');
  try {
    write(root.path, 'proc/sys/vm/overcommit_memory', '1');
    write(root.path, 'sys/kernel/mm/transparent_hugepage/enabled', 'always [madvise] never');
    write(root.path, 'proc/sys/net/core/somaxconn', '4096');
    write(root.path, 'sys/devices/system/clocksource/clocksource0/current_clocksource', 'tsc');
    write(root.path, 'proc/4242/status', 'Name:\tredis-server\nVmSwap:\t       0 kB');
    const findings = kernelChecks(kernelFacts(4242, root.path), facts({ 'disable-thp': 'no', 'tcp-backlog': '511' }));
    assert.ok(findings.length === 5 && findings.every((f) => f.severity === 'ok'), JSON.stringify(findings));
  } finally {
    root.remove();
  }
});
