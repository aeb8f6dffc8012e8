/** Persistence: RDB and AOF status, persistence off, the last save's age, fork cost, the data directory. */
import type { ServerFacts } from './collect.js';
import { finding, mib, num, type Finding } from './finding.js';
import type { DataDirFacts } from './host-facts.js';
import { THRESHOLDS as T, traitsOf } from './thresholds.js';

export function persistenceChecks(facts: ServerFacts, dataDir: DataDirFacts | undefined): Finding[] {
  const { info } = facts;
  const out: Finding[] = [];
  const rdbStatus = info.rdb_last_bgsave_status ?? '?';
  const rdbEvidence = `rdb_last_bgsave_status:${rdbStatus}, rdb_saves:${info.rdb_saves ?? '?'}`;
  out.push(
    rdbStatus === 'err'
      ? finding(
          'persistence.rdb-failed',
          'critical',
          'the last RDB save failed: with stop-writes-on-bgsave-error (default) writes are refused with -MISCONF',
          rdbEvidence,
          'rdb_last_bgsave_status ok',
          'read the server log for the cause (disk full, permissions, a directory where dump.rdb should be); fix it, then BGSAVE (as admin) must succeed',
        )
      : finding('persistence.rdb-failed', 'ok', 'the last RDB save succeeded (or none ran)', rdbEvidence, 'rdb_last_bgsave_status ok'),
  );
  const failures = traitsOf(facts.identity).aofRewriteFailures ? num(info, 'aof_rewrites_consecutive_failures') || 0 : 0;
  const aofEvidence = `aof_enabled:${info.aof_enabled}, aof_last_write_status:${info.aof_last_write_status}, aof_last_bgrewrite_status:${info.aof_last_bgrewrite_status}${traitsOf(facts.identity).aofRewriteFailures ? `, aof_rewrites_consecutive_failures:${failures}` : ''}`;
  const aofThreshold = 'write and rewrite status ok; no consecutive rewrite failures';
  if (info.aof_last_write_status === 'err')
    out.push(
      finding(
        'persistence.aof-failed',
        'critical',
        'writing the AOF failed: writes are refused until it works again',
        aofEvidence,
        aofThreshold,
        'free disk space or fix the disk under the data directory (the log names the error); the server retries by itself',
      ),
    );
  else if (info.aof_last_bgrewrite_status === 'err' || failures > 0)
    out.push(
      finding(
        'persistence.aof-failed',
        'warning',
        'the AOF rewrite failed: the AOF grows until one succeeds',
        aofEvidence,
        aofThreshold,
        'read the log for the cause (disk space, fork failure: overcommit), fix it, then BGREWRITEAOF (as admin)',
      ),
    );
  else out.push(finding('persistence.aof-failed', 'ok', info.aof_enabled === '1' ? 'AOF writes and rewrites succeed' : 'AOF off', aofEvidence, aofThreshold));
  out.push(...saveChecks(facts));
  out.push(forkCheck(info));
  if (dataDir) out.push(...dataDirChecks(dataDir, num(info, 'used_memory') || 0));
  return out;
}

function saveChecks(facts: ServerFacts): Finding[] {
  const { info, config } = facts;
  const aof = info.aof_enabled === '1';
  const save = config?.save;
  const out: Finding[] = [];
  if (save === undefined)
    out.push(
      finding(
        'persistence.off',
        'info',
        'save points unknown: CONFIG GET is not allowed to this user',
        `aof_enabled:${info.aof_enabled}`,
        'save points or appendonly yes',
        'run doctor as the ops user (--dir does) to judge this',
      ),
    );
  else if (save.trim() === '' && !aof)
    out.push(
      finding(
        'persistence.off',
        'critical',
        'persistence is off: a restart loses every key',
        'save:"", appendonly:no',
        'save points or appendonly yes on a data store',
        'set persistence.appendonly: true and save points in the model (the neurallog profile has both), then `up`',
      ),
    );
  else
    out.push(
      finding(
        'persistence.off',
        'ok',
        `persistence on (${[aof ? 'AOF' : '', save.trim() ? `RDB ${save}` : ''].filter(Boolean).join(', ')})`,
        `save:"${save}", appendonly:${aof ? 'yes' : 'no'}`,
        'save points or appendonly yes',
      ),
    );
  const changes = num(info, 'rdb_changes_since_last_save') || 0;
  const age = Math.max(0, Math.round(facts.now - num(info, 'rdb_last_save_time')));
  const evidence = `last save ${formatAge(age)} ago (rdb_last_save_time), rdb_changes_since_last_save:${changes}`;
  const threshold = `changes unsaved for more than ${T.saveAgeSeconds / 3600} h while RDB snapshots are configured`;
  const rdbOn = save !== undefined && save.trim() !== '';
  out.push(
    rdbOn && changes > 0 && age > T.saveAgeSeconds
      ? finding(
          'persistence.save-age',
          'warning',
          `${changes} changes not snapshotted for ${formatAge(age)}`,
          evidence,
          threshold,
          'check that saves succeed (persistence.rdb-failed) and that the save points can trigger; take a backup (`neurallog-redis backup`)',
        )
      : finding('persistence.save-age', 'ok', 'recent snapshot (or no unsaved changes)', evidence, threshold),
  );
  return out;
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function forkCheck(info: Record<string, string>): Finding {
  const usec = num(info, 'latest_fork_usec') || 0;
  const used = num(info, 'used_memory') || 0;
  const rate = usec > 0 ? used / (usec / 1e6) / 1024 ** 3 : Infinity;
  const evidence = `latest_fork_usec:${usec} for used_memory:${mib(used)}${usec > 0 ? ` (${rate.toFixed(1)} GB/s)` : ''}`;
  const threshold = `a fork stalls the server over ${T.forkStallUsec / 1000} ms, or forks slower than ${T.forkRateTerrible} GB/s ("terrible") / ${T.forkRatePoor} GB/s ("poor") above ${mib(T.forkJudgedAbove)} (LATENCY DOCTOR)`;
  const fix =
    'forks copy the page table: use a machine without a slow hypervisor fork (not Xen PV), keep THP off, keep the data set (and so maxmemory) smaller per instance';
  if (usec > T.forkStallUsec)
    return finding('persistence.fork-cost', 'warning', `the last fork stopped the server for ${Math.round(usec / 1000)} ms`, evidence, threshold, fix);
  if (used > T.forkJudgedAbove && rate < T.forkRateTerrible)
    return finding('persistence.fork-cost', 'warning', `forking is terribly slow (${rate.toFixed(1)} GB/s)`, evidence, threshold, fix);
  if (used > T.forkJudgedAbove && rate < T.forkRatePoor)
    return finding('persistence.fork-cost', 'info', `forking is poor (${rate.toFixed(1)} GB/s)`, evidence, threshold, fix);
  return finding('persistence.fork-cost', 'ok', usec > 0 ? 'forks are quick' : 'no fork yet', evidence, threshold);
}

function dataDirChecks(dir: DataDirFacts, used: number): Finding[] {
  if ('error' in dir)
    return [
      finding(
        'persistence.data-dir',
        'warning',
        `the data directory ${dir.path} cannot be read`,
        dir.error,
        'the data directory is readable from this machine',
        'check the path (CONFIG GET dir) and its permissions',
      ),
    ];
  const files = dir.files.map((f) => `${f.name} ${mib(f.size)}`).join(', ') || 'no data files';
  const evidence = `${dir.path}: ${files}; ${mib(dir.freeBytes)} free of ${mib(dir.totalBytes)}`;
  const threshold = `free space >= ${T.freeSpaceWarningFactor}x used_memory (a save writes a full copy before it replaces the old one), critical below ${T.freeSpaceCriticalFactor}x`;
  const need = Math.max(used, 1);
  if (dir.freeBytes < need * T.freeSpaceCriticalFactor)
    return [
      finding(
        'persistence.data-dir',
        'critical',
        `only ${mib(dir.freeBytes)} free beside the data: the next save or AOF rewrite fails`,
        evidence,
        threshold,
        'free space or grow the volume (container.storage in the model)',
      ),
    ];
  if (dir.freeBytes < need * T.freeSpaceWarningFactor)
    return [
      finding(
        'persistence.data-dir',
        'warning',
        `${mib(dir.freeBytes)} free: less than two copies of the data`,
        evidence,
        threshold,
        'free space or grow the volume (container.storage in the model)',
      ),
    ];
  return [finding('persistence.data-dir', 'ok', 'room for the next save', evidence, threshold)];
}
