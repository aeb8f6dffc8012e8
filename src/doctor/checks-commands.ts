/** Commands: the slow log, the latency monitor, error replies. */
import type { ServerFacts } from './collect.js';
import { finding, num, type Finding } from './finding.js';
import { slowlogSetting, THRESHOLDS as T, traitsOf } from './thresholds.js';

export function slowlogCheck(facts: ServerFacts): Finding {
  const setting = slowlogSetting(traitsOf(facts.identity));
  const slower = facts.config?.['slowlog-log-slower-than'];
  if (slower !== undefined && Number(slower) < 0)
    return finding(
      'commands.slowlog',
      'warning',
      'the slow log is off: slow commands leave no trace',
      `${setting} ${slower}`,
      `${setting} >= 0 (default 10000 µs)`,
      `CONFIG SET slowlog-log-slower-than 10000, and put it in the model (extraDirectives)`,
    );
  if (!facts.slowlog)
    return finding(
      'commands.slowlog',
      'info',
      'the slow log cannot be read by this user',
      'SLOWLOG GET refused',
      '',
      'run doctor as the ops user (--dir does)',
    );
  const recent = facts.slowlog.filter((e) => e.at >= facts.now - T.recentSeconds);
  const threshold = `entries in the last ${T.recentSeconds / 60} min (an entry is a command slower than ${setting} = ${slower ?? '?'} µs)`;
  if (recent.length === 0)
    return finding('commands.slowlog', 'ok', 'no slow command in the last hour', `${facts.slowlog.length} entries in the slow log, none recent`, threshold);
  const worst = new Map<string, { count: number; max: number }>();
  for (const e of recent) {
    const w = worst.get(e.command) ?? { count: 0, max: 0 };
    worst.set(e.command, { count: w.count + 1, max: Math.max(w.max, e.microseconds) });
  }
  const list = [...worst.entries()]
    .sort((a, b) => b[1].max - a[1].max)
    .slice(0, 5)
    .map(([c, w]) => `${c} x${w.count} (max ${(w.max / 1000).toFixed(1)} ms)`)
    .join(', ');
  return finding(
    'commands.slowlog',
    'warning',
    `${recent.length} slow command(s) in the last hour`,
    list,
    threshold,
    'every slow command blocks all clients: replace O(N) commands on big keys (KEYS, SMEMBERS, HGETALL, LRANGE 0 -1, DEL of a huge key: UNLINK) with SCAN-family commands or smaller keys',
  );
}

export function latencyCheck(facts: ServerFacts): Finding {
  const threshold = facts.config?.['latency-monitor-threshold'];
  const events = facts.latency ?? [];
  const recent = events.filter((e) => e.at >= facts.now - T.recentSeconds);
  const evidence = events.length
    ? events.map((e) => `${e.event}: latest ${e.latestMs} ms, max ${e.maxMs} ms`).join('; ')
    : `latency-monitor-threshold ${threshold ?? '?'}, no events`;
  const rule = `events in the last ${T.recentSeconds / 60} min (each one is above latency-monitor-threshold)`;
  if (recent.length > 0)
    return finding(
      'latency.spikes',
      'warning',
      `latency events in the last hour: ${recent.map((e) => e.event).join(', ')}`,
      evidence,
      rule,
      'LATENCY DOCTOR (as admin) explains each event: fork (persistence.fork-cost), command (commands.slowlog), expire-cycle, aof-fsync (disk)',
    );
  if (threshold === '0')
    return finding(
      'latency.spikes',
      'info',
      'the latency monitor is off: spikes leave no trace',
      'latency-monitor-threshold 0',
      'latency-monitor-threshold > 0',
      'CONFIG SET latency-monitor-threshold 100 (ms), and put it in the model (extraDirectives)',
    );
  return finding('latency.spikes', 'ok', events.length ? 'no recent latency event' : 'no latency event', evidence, rule);
}

export function errorCheck(facts: ServerFacts): Finding {
  const { info } = facts;
  const errors = num(info, 'total_error_replies') || 0;
  const commands = num(info, 'total_commands_processed') || 0;
  const share = errors / Math.max(commands, 1);
  const stats = Object.entries(info)
    .filter(([k]) => k.startsWith('errorstat_'))
    .map(([k, v]) => [k.slice('errorstat_'.length), Number(/count=(\d+)/.exec(v)?.[1] ?? 0)] as const)
    .sort((a, b) => b[1] - a[1]);
  const evidence = `total_error_replies:${errors} of total_commands_processed:${commands} (${(share * 100).toFixed(1)} %)${
    stats.length
      ? `; ${stats
          .slice(0, 5)
          .map(([e, n]) => `${e}:${n}`)
          .join(', ')}`
      : ''
  }`;
  const threshold = `at least ${T.errorCount} error replies and ${T.errorShare * 100} % of commands`;
  if (errors >= T.errorCount && share >= T.errorShare)
    return finding(
      'commands.errors',
      'warning',
      `${(share * 100).toFixed(1)} % of commands were answered with an error`,
      evidence,
      threshold,
      'the error kinds say who is wrong: WRONGTYPE/ERR (an application bug), NOPERM/NOAUTH/WRONGPASS (a client with the wrong user or password), OOM (memory.headroom), MISCONF (persistence.rdb-failed)',
    );
  return finding('commands.errors', 'ok', 'few error replies', evidence, threshold);
}
