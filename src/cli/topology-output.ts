/** What `up`, `status`, `down` and `url` print for a Sentinel or Cluster deployment. */
import { describeEngine } from '../engine/identity.js';
import { SENTINEL_SECRET, type TopologyDownResult, type TopologyRecord, type TopologyStatus, type TopologyUpResult } from '../runtime/index.js';

const addr = (p: { host: string; port: number }) => `${p.host}:${p.port}`;

export function describeTopologyUp(r: TopologyUpResult): string {
  const what = describeEngine({ engine: r.engine, version: r.engineVersion });
  const head = r.alreadyRunning
    ? `The ${r.kind} topology (${what}) is already running for ${r.dir}.`
    : `The ${r.kind} topology (${what}) is ready for ${r.dir}${r.started.length < r.nodes.length + r.sentinels.length ? ` (started ${r.started.join(', ')})` : ''}.`;
  const lines = [head, ...r.nodes.map((n) => `  ${n.name.padEnd(11)} ${n.role.padEnd(8)} ${addr(n)} pid ${n.pid}`)];
  lines.push(...r.sentinels.map((s) => `  ${s.name.padEnd(11)} sentinel ${addr(s)} pid ${s.pid}`));
  lines.push(
    `  users:     ${r.users.join(', ')} (NeuralLog's server connects as "app")`,
    `  passwords: in ${r.secretsFile} (mode 0600)${r.kind === 'sentinel' ? `; the Sentinels' own password under "${SENTINEL_SECRET}"` : ''}`,
    `  record:    ${r.topologyFile}`,
    `  connect:   neurallog-redis url --dir ${r.dir} --user app`,
    `  stop:      neurallog-redis down --dir ${r.dir}`,
  );
  return lines.join('\n');
}

export function describeTopologyStatus(dir: string, t: TopologyStatus): string {
  const lines = [`${t.healthy ? 'healthy' : 'UNHEALTHY'} ${t.kind} topology ${dir}${t.masterName ? ` (master name ${t.masterName})` : ''}`];
  for (const n of t.nodes) {
    if (!n.running) {
      lines.push(`  ${n.name.padEnd(11)} stopped  ${addr(n)}`);
      continue;
    }
    const parts = [`${n.name.padEnd(11)} ${(n.role ?? '?').padEnd(8)} ${addr(n)} pid ${n.pid}`];
    if (n.error) parts.push(`problem: ${n.error}`);
    if (n.role === 'master') parts.push(`offset ${n.offset}, ${n.connectedReplicas} replica(s)`);
    if (n.role === 'replica') parts.push(`of ${n.master}, link ${n.linkStatus}, offset ${n.offset}${n.lagBytes !== undefined ? `, lag ${n.lagBytes} B` : ''}`);
    if (n.clusterState) parts.push(`cluster_state ${n.clusterState}${n.slots && n.slots.length > 0 ? `, slots ${n.slots.join(' ')}` : ''}`);
    lines.push(`  ${parts.join('  ')}`);
  }
  for (const s of t.sentinels) {
    if (!s.running) lines.push(`  ${s.name.padEnd(11)} stopped  ${addr(s)}`);
    else if (s.error || !s.master) lines.push(`  ${s.name.padEnd(11)} sentinel ${addr(s)} pid ${s.pid}  problem: ${s.error ?? 'no answer'}`);
    else
      lines.push(
        `  ${s.name.padEnd(11)} sentinel ${addr(s)} pid ${s.pid}  sees master ${addr(s.master)} [${s.master.flags}], ${s.master.replicas} replicas, ${s.master.otherSentinels} other Sentinels, quorum ${s.master.quorum} ${s.quorumOk ? 'ok' : `NOT ok (${s.ckquorum})`}`,
      );
  }
  lines.push(
    t.monitor ? `  monitor     ${t.monitor.url}/ (dashboard), ${t.monitor.url}/targets (every node; pid ${t.monitor.pid})` : '  monitor     not running',
  );
  return lines.join('\n');
}

export function describeTopologyDown(dir: string, r: TopologyDownResult): string {
  if (r.stopped.length === 0) return `Nothing of the ${r.kind} topology runs for ${dir}; nothing to stop.`;
  return [`Stopped the ${r.kind} topology for ${dir} (in this order: ${r.stopped.join(', ')}).`, `  its data stays in ${dir}/nodes/<name>/data/`].join('\n');
}

/** What NeuralLog's server needs to reach a topology: Sentinel addresses and the master name, or cluster seeds. */
export function topologyConnection(record: TopologyRecord, user: string): Record<string, unknown> {
  if (record.kind === 'sentinel')
    return {
      kind: 'sentinel',
      masterName: record.masterName,
      sentinels: record.sentinels.map(addr),
      user,
      passwordSecret: user,
      sentinelPasswordSecret: SENTINEL_SECRET,
    };
  return { kind: 'cluster', seeds: record.nodes.map(addr), user, passwordSecret: user };
}

export function describeTopologyConnection(c: Record<string, unknown>, secretsFile: string): string {
  const lines =
    c.kind === 'sentinel'
      ? [`sentinels   ${(c.sentinels as string[]).join(',')}`, `master-name ${String(c.masterName)}`]
      : [`cluster     ${(c.seeds as string[]).join(',')}`];
  lines.push(`user        ${String(c.user)}`, `password    in ${secretsFile}, key "${String(c.passwordSecret)}"`);
  if (c.kind === 'sentinel') lines.push(`sentinel-password in ${secretsFile}, key "${String(c.sentinelPasswordSecret)}" (the Sentinels require it)`);
  return lines.join('\n');
}
