/** Replication (link, lag, resync storms), Sentinel and Cluster state, loading. */
import type { ServerFacts } from './collect.js';
import { finding, mib, num, type Finding } from './finding.js';

/** `ip=127.0.0.1,port=6380,state=online,offset=42,lag=0` -> a record */
function record(text: string): Record<string, string> {
  return Object.fromEntries(text.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

export function loadingCheck(facts: ServerFacts): Finding {
  const { info } = facts;
  const evidence = `loading:${info.loading ?? '?'}, async_loading:${info.async_loading ?? '0'}${info.loading === '1' ? `, loading_loaded_perc:${info.loading_loaded_perc}, loading_eta_seconds:${info.loading_eta_seconds}` : ''}`;
  if (info.loading === '1' || info.async_loading === '1')
    return finding(
      'server.loading',
      'critical',
      `loading its data (${info.loading_loaded_perc ?? '?'} %): clients get -LOADING until it ends`,
      evidence,
      'loading:0',
      'wait for it (INFO persistence shows the progress); a large AOF loads slower than an RDB: keep aof-use-rdb-preamble yes',
    );
  return finding('server.loading', 'ok', 'serving (not loading)', evidence, 'loading:0');
}

export function replicationChecks(facts: ServerFacts): Finding[] {
  const { info, config } = facts;
  const out: Finding[] = [];
  if (info.role === 'slave') {
    const evidence = `master ${info.master_host}:${info.master_port}, master_link_status:${info.master_link_status}, master_last_io_seconds_ago:${info.master_last_io_seconds_ago}, master_link_down_since_seconds:${info.master_link_down_since_seconds ?? '-'}`;
    out.push(
      info.master_link_status !== 'up'
        ? finding(
            'replication.link',
            'critical',
            `the link to the master ${info.master_host}:${info.master_port} is down: this replica serves stale data`,
            evidence,
            'master_link_status:up',
            'check that the master runs and is reachable from here, and the replication user (masteruser/masterauth); the log says why the sync fails',
          )
        : finding('replication.link', 'ok', 'linked to its master', evidence, 'master_link_status:up'),
    );
  }
  const backlog = num(info, 'repl_backlog_size') || num(config ?? {}, 'repl-backlog-size') || 1024 * 1024;
  const maxLag = num(config ?? {}, 'min-replicas-max-lag') || 10;
  const offset = num(info, 'master_repl_offset') || 0;
  const replicas = Object.entries(info)
    .filter(([k]) => /^slave\d+$/.test(k))
    .map(([k, v]): Record<string, string> => ({ ...record(v), name: k }));
  if (replicas.length > 0) {
    const lags = replicas.map((r) => ({ r, bytes: offset - Number(r.offset), seconds: Number(r.lag) }));
    const evidence = lags.map(({ r, bytes, seconds }) => `${r.ip}:${r.port} state=${r.state} ${mib(Math.max(bytes, 0))} behind, lag=${seconds}s`).join('; ');
    const threshold = `byte lag under repl-backlog-size (${mib(backlog)}), lag under min-replicas-max-lag (${maxLag} s), state online`;
    const beyond = lags.filter((l) => l.bytes > backlog);
    const late = lags.filter((l) => l.seconds > maxLag || l.r.state !== 'online');
    if (beyond.length > 0)
      out.push(
        finding(
          'replication.lag',
          'critical',
          `${beyond.length} replica(s) are further behind than the backlog holds: a reconnect means a full resync`,
          evidence,
          threshold,
          'check the replica (CPU, disk, network); raise repl-backlog-size to cover the longest expected disconnection',
        ),
      );
    else if (late.length > 0)
      out.push(
        finding(
          'replication.lag',
          'warning',
          `${late.length} replica(s) lag or are not online`,
          evidence,
          threshold,
          "check the replica's network and load; a replica in wait_bgsave/send_bulk is still syncing",
        ),
      );
    else out.push(finding('replication.lag', 'ok', `${replicas.length} replica(s) in sync`, evidence, threshold));
  }
  const partialErr = num(info, 'sync_partial_err') || 0;
  const syncEvidence = `sync_full:${info.sync_full ?? 0}, sync_partial_ok:${info.sync_partial_ok ?? 0}, sync_partial_err:${partialErr}, repl_backlog_histlen:${info.repl_backlog_histlen ?? 0} (backups made by \`backup\` are full syncs too)`;
  // a backlog that never filled has dropped nothing: its refusals were replicas with another history
  // (a new replica, a former master after a failover, every replica of a cluster just created), not
  // replicas that fell out of the backlog
  const neverFilled = (num(info, 'repl_backlog_histlen') || 0) < backlog;
  out.push(
    partialErr === 0
      ? finding('replication.resync', 'ok', 'no refused partial resync', syncEvidence, 'sync_partial_err 0')
      : neverFilled
        ? finding(
            'replication.resync',
            'info',
            `${partialErr} partial resync(s) were refused while the backlog had never filled: replicas with another history (new, or a former master), which need one full sync`,
            syncEvidence,
            'sync_partial_err 0, or the backlog never filled (repl_backlog_histlen < repl-backlog-size)',
          )
        : finding(
            'replication.resync',
            'warning',
            `${partialErr} partial resync(s) were refused and became full resyncs (each forks and sends the whole data set)`,
            syncEvidence,
            'sync_partial_err 0',
            `raise repl-backlog-size (now ${mib(backlog)}) to cover the replicas' disconnections, and find why they disconnect (timeouts, output buffer limits)`,
          ),
  );
  return out;
}

export function sentinelChecks(facts: ServerFacts): Finding[] {
  const { info, sentinel } = facts;
  const out: Finding[] = [];
  const tilt = info.sentinel_tilt === '1';
  out.push(
    tilt
      ? finding(
          'sentinel.tilt',
          'critical',
          'this Sentinel is in TILT mode: it acts on nothing until its clock and event loop are steady',
          `sentinel_tilt:1`,
          'sentinel_tilt:0',
          "the Sentinel process was stalled or the clock jumped: check the machine's load and time sync",
        )
      : finding('sentinel.tilt', 'ok', 'not in TILT mode', `sentinel_tilt:${info.sentinel_tilt ?? 0}`, 'sentinel_tilt:0'),
  );
  const masters = Object.entries(info)
    .filter(([k]) => /^master\d+$/.test(k))
    .map(([, v]) => record(v));
  for (const m of masters) {
    const quorum = sentinel?.ckquorum[m.name ?? ''] ?? '?';
    const evidence = `${m.name}: status=${m.status}, address=${m.address}, slaves=${m.slaves}, sentinels=${m.sentinels}; CKQUORUM: ${quorum}`;
    const threshold = 'status ok and CKQUORUM OK';
    if (m.status !== 'ok')
      out.push(
        finding(
          'sentinel.master',
          'critical',
          `Sentinel sees master "${m.name}" as ${m.status} (down)`,
          evidence,
          threshold,
          'start or reach the master; with enough Sentinels agreeing (quorum) they fail over to a replica',
        ),
      );
    else if (!/^OK\b/.test(quorum))
      out.push(
        finding(
          'sentinel.master',
          'critical',
          `Sentinels for "${m.name}" cannot reach a quorum or a majority: no failover would happen`,
          evidence,
          threshold,
          'run at least 3 Sentinels on separate machines (topology.sentinel.sentinels) and make sure they see one another',
        ),
      );
    else out.push(finding('sentinel.master', 'ok', `master "${m.name}" ok, quorum reachable`, evidence, threshold));
  }
  return out;
}

export function clusterChecks(facts: ServerFacts): Finding[] {
  const c = facts.cluster;
  if (!c) return [];
  const fail = num(c, 'cluster_slots_fail') || 0;
  const pfail = num(c, 'cluster_slots_pfail') || 0;
  const evidence = `cluster_state:${c.cluster_state}, cluster_slots_assigned:${c.cluster_slots_assigned}, cluster_slots_ok:${c.cluster_slots_ok}, cluster_slots_pfail:${pfail}, cluster_slots_fail:${fail}, cluster_known_nodes:${c.cluster_known_nodes}`;
  const threshold = 'cluster_state ok, all 16384 slots assigned, none failing';
  if (c.cluster_state !== 'ok')
    return [
      finding(
        'cluster.state',
        'critical',
        'the cluster is down (cluster_state:fail): clients get -CLUSTERDOWN',
        evidence,
        threshold,
        'assign every slot (redis-cli --cluster fix) and bring failed masters back or fail over to their replicas',
      ),
    ];
  if (fail > 0 || pfail > 0)
    return [
      finding(
        'cluster.state',
        fail > 0 ? 'critical' : 'warning',
        `${fail + pfail} slots are served by nodes seen failing`,
        evidence,
        threshold,
        'check the failing nodes (CLUSTER NODES), restart them or let their replicas take over',
      ),
    ];
  return [finding('cluster.state', 'ok', 'cluster ok', evidence, threshold)];
}
