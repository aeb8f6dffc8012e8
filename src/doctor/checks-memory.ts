/** Memory: the limit and headroom, eviction on a primary store, fragmentation, peak, swap, client buffers, connections. */
import type { ServerFacts } from './collect.js';
import { finding, mib, num, type Finding } from './finding.js';
import { THRESHOLDS as T, traitsOf } from './thresholds.js';

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

export function memoryChecks(facts: ServerFacts): Finding[] {
  const { info } = facts;
  const used = num(info, 'used_memory');
  const maxmemory = num(info, 'maxmemory');
  const out: Finding[] = [];
  const oom = /(?:^|,)count=(\d+)/.exec(info.errorstat_OOM ?? '')?.[1];
  if (!(maxmemory > 0)) {
    out.push(
      finding(
        'memory.headroom',
        'warning',
        'no memory limit: the data set may grow until the kernel kills the server',
        `maxmemory:0, used_memory:${mib(used)}`,
        'maxmemory set on a data store',
        'set memory.maxmemory in the model (the container limit / 1.5, room for a fork), then `up`',
      ),
    );
  } else {
    const counted = used - (num(info, 'mem_not_counted_for_evict') || 0);
    const share = counted / maxmemory;
    const evidence = `used_memory:${mib(used)} of maxmemory:${mib(maxmemory)} (${pct(share)})${oom ? `, errorstat_OOM:${oom}` : ''}`;
    const threshold = `warning above ${pct(T.headroomWarning)}, critical above ${pct(T.headroomCritical)} or any -OOM reply`;
    const severity = share > T.headroomCritical || oom ? 'critical' : share > T.headroomWarning ? 'warning' : 'ok';
    const title =
      severity === 'ok'
        ? `memory use ${pct(share)} of the limit`
        : `memory use ${pct(share)} of the limit: writes fail with -OOM once it is reached (noeviction)`;
    out.push(
      finding(
        'memory.headroom',
        severity,
        title,
        evidence,
        threshold,
        severity === 'ok' ? '' : 'raise memory.maxmemory (and the container limit), expire old logs (retention.logsTtlSeconds), or add memory',
      ),
    );
  }
  out.push(evictionCheck(info));
  out.push(...fragmentationChecks(info, used));
  return out;
}

function evictionCheck(info: Record<string, string>): Finding {
  const policy = info.maxmemory_policy ?? '?';
  const evicted = num(info, 'evicted_keys') || 0;
  const evidence = `maxmemory_policy:${policy}, evicted_keys:${evicted}`;
  const threshold = 'noeviction on a primary data store; evicted_keys 0';
  if (evicted > 0)
    return finding(
      'memory.eviction-policy',
      'critical',
      `${evicted} keys were evicted: data was deleted to make room`,
      evidence,
      threshold,
      'set memory.maxmemoryPolicy: noeviction (NeuralLog is the primary store of its logs and rules), and give it memory for its data set',
    );
  if (policy !== 'noeviction')
    return finding(
      'memory.eviction-policy',
      'warning',
      `eviction policy ${policy} deletes keys silently when memory is full`,
      evidence,
      threshold,
      'set memory.maxmemoryPolicy: noeviction: writes then fail loudly (-OOM) instead of logs and rules disappearing',
    );
  return finding('memory.eviction-policy', 'ok', 'no eviction: a full server refuses writes instead of deleting data', evidence, threshold);
}

function fragmentationChecks(info: Record<string, string>, used: number): Finding[] {
  const ratio = num(info, 'mem_fragmentation_ratio');
  const bytes = num(info, 'mem_fragmentation_bytes');
  // from allocator_active / allocator_allocated, Redis 7.0's definition of allocator_frag_ratio: Valkey
  // 8.1 reports allocator_frag_ratio 1.00 beside an active size twice the allocated one
  const active = num(info, 'allocator_active');
  const allocated = num(info, 'allocator_allocated');
  const measured = active > 0 && allocated > 0;
  const allocRatio = measured ? Math.round((active / allocated) * 100) / 100 : num(info, 'allocator_frag_ratio');
  const allocBytes = measured ? active - allocated : num(info, 'allocator_frag_bytes');
  const peak = num(info, 'used_memory_peak');
  const rss = num(info, 'used_memory_rss');
  const out: Finding[] = [];
  const fragEvidence = `mem_fragmentation_ratio:${ratio} (${mib(bytes)}), allocator active/allocated:${allocRatio} (${mib(allocBytes)}), used_memory:${mib(used)}`;
  const fragThreshold = `ratio > ${T.fragRatio} and > ${mib(T.fragBytes)} wasted, or allocator ratio > ${T.allocatorFragRatio} and > ${mib(T.fragBytes)}; not judged below ${mib(T.smallDataset)} used`;
  if (used < T.smallDataset) out.push(finding('memory.fragmentation', 'ok', 'too little data to judge fragmentation', fragEvidence, fragThreshold));
  else if ((ratio > T.fragRatio && bytes > T.fragBytes) || (allocRatio > T.allocatorFragRatio && allocBytes > T.fragBytes))
    out.push(
      finding(
        'memory.fragmentation',
        'warning',
        `memory is fragmented: ${mib(Math.max(bytes, allocBytes))} held but unused`,
        fragEvidence,
        fragThreshold,
        'turn on activedefrag (CONFIG SET activedefrag yes, then put it in the model), or restart a replica and fail over to it',
      ),
    );
  else out.push(finding('memory.fragmentation', 'ok', 'fragmentation within bounds', fragEvidence, fragThreshold));
  const swapping = used >= T.smallDataset && ratio > 0 && ratio < 1;
  out.push(
    swapping
      ? finding(
          'memory.swap',
          'critical',
          'the server holds less memory than its data: part of it is swapped out',
          `used_memory_rss:${mib(rss)} < used_memory:${mib(used)} (ratio ${ratio})`,
          'mem_fragmentation_ratio >= 1 above 5 MB used',
          'give the machine memory or lower maxmemory; turn swap off for Redis hosts (every access to a swapped page stalls the server)',
        )
      : finding('memory.swap', 'ok', 'no sign of swapping', `mem_fragmentation_ratio:${ratio}`, 'mem_fragmentation_ratio >= 1 above 5 MB used'),
  );
  const peakRatio = peak / Math.max(used, 1);
  const peakEvidence = `used_memory_peak:${mib(peak)}, used_memory:${mib(used)} (${peakRatio.toFixed(2)}x)`;
  out.push(
    peak >= T.smallDataset && peakRatio > T.peakRatio
      ? finding(
          'memory.peak',
          'info',
          `memory peaked at ${peakRatio.toFixed(1)}x today's use: the process may still hold that much (RSS)`,
          peakEvidence,
          `peak / used > ${T.peakRatio} (MEMORY DOCTOR)`,
          'size the memory limit for the peak; MEMORY PURGE returns freed pages to the system (jemalloc)',
        )
      : finding('memory.peak', 'ok', 'peak close to current use', peakEvidence, `peak / used > ${T.peakRatio} (MEMORY DOCTOR)`),
  );
  return out;
}

export function clientChecks(facts: ServerFacts): Finding[] {
  const { info, config } = facts;
  const clients = num(info, 'connected_clients') || 0;
  const normal = num(info, 'mem_clients_normal') || 0;
  const replicas = num(info, 'mem_clients_slaves') || 0;
  const average = normal / Math.max(clients, 1);
  const evidence = `mem_clients_normal:${mib(normal)} over connected_clients:${clients} (${Math.round(average / 1024)} KB each), mem_clients_slaves:${mib(replicas)}`;
  const threshold = `average > ${T.clientAverageBytes / 1024} KB per client, or replica buffers > ${mib(T.replicaBuffersBytes)} (MEMORY DOCTOR)`;
  const eviction =
    traitsOf(facts.identity).clientEviction && config?.['maxmemory-clients'] === '0'
      ? '; set maxmemory-clients (e.g. 5%) so one client cannot take the server down'
      : '';
  const out: Finding[] = [];
  if (average > T.clientAverageBytes)
    out.push(
      finding(
        'clients.buffers',
        'warning',
        'clients hold large buffers: a slow reader, a huge pipeline or a big reply',
        evidence,
        threshold,
        `find it with CLIENT LIST (qbuf, omem, tot-mem) and fix or kill the client${eviction}`,
      ),
    );
  else if (replicas > T.replicaBuffersBytes)
    out.push(
      finding(
        'clients.buffers',
        'warning',
        'replica output buffers are large: replicas fall behind',
        evidence,
        threshold,
        "check the replicas' network and disk; client-output-buffer-limit replica bounds it",
      ),
    );
  else out.push(finding('clients.buffers', 'ok', 'client buffers are small', evidence, threshold));
  const max = num(info, 'maxclients') || num(config ?? {}, 'maxclients');
  const rejected = num(info, 'rejected_connections') || 0;
  const share = clients / (max || Infinity);
  const cEvidence = `connected_clients:${clients} of maxclients:${max || '?'} (${pct(share)}), rejected_connections:${rejected}`;
  const cThreshold = `warning above ${pct(T.connectionsWarning)} or any rejected connection, critical above ${pct(T.connectionsCritical)}`;
  const severity = share > T.connectionsCritical ? 'critical' : share > T.connectionsWarning || rejected > 0 ? 'warning' : 'ok';
  out.push(
    finding(
      'clients.limit',
      severity,
      severity === 'ok'
        ? 'connections well below maxclients'
        : rejected > 0 && share <= T.connectionsWarning
          ? `${rejected} connections were refused (max number of clients reached)`
          : `connections near the limit: new clients get -ERR max number of clients reached`,
      cEvidence,
      cThreshold,
      severity === 'ok'
        ? ''
        : 'look for a connection leak (CLIENT LIST: many idle clients from one address), use a pool, or raise maxclients (and the file-descriptor limit)',
    ),
  );
  return out;
}
