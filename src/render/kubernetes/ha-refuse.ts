/**
 * Refusals of the Sentinel and Cluster renders (the failure modes of the popular charts): too few
 * Sentinels to elect a leader after a loss, a quorum no set of live Sentinels can reach, a Sentinel
 * set or cluster with nothing to fail over to, a cluster redis-cli cannot create. Persistence off on
 * masters that restart automatically (an empty master wipes its replicas) is `config lint`'s
 * persistence-off rule, which every container render already refuses.
 */
import type { Deployment } from '../../config/schema.js';

export interface Refusal {
  /** the model field to change */
  path: string;
  message: string;
  fix: string;
}

/** The model the memory rules judge: a master's replicas each hold an output buffer on it. */
export function lintModelFor(d: Deployment): Deployment {
  const t = d.topology;
  const attaching = t.kind === 'sentinel' ? t.sentinel.replicas : t.kind === 'cluster' ? t.cluster.replicasPerMaster : 0;
  if (attaching <= d.container.replicas) return d;
  return { ...d, container: { ...d.container, replicas: attaching } };
}

function sentinelRefusals(d: Deployment): Refusal[] {
  const s = d.topology.sentinel;
  const out: Refusal[] = [];
  if (s.sentinels < 3)
    out.push({
      path: 'topology.sentinel.sentinels',
      message: `topology.sentinel.sentinels is ${s.sentinels}: a failover needs a majority of the Sentinels, so with fewer than 3 the loss of one pod (often the master's node) leaves no failover at all`,
      fix: 'Set topology.sentinel.sentinels to 3 (or 5), on different nodes.',
    });
  if (s.quorum > s.sentinels)
    out.push({
      path: 'topology.sentinel.quorum',
      message: `topology.sentinel.quorum is ${s.quorum}, above the ${s.sentinels} Sentinels: they can never agree that the master is down, so it is never replaced`,
      fix: `Set topology.sentinel.quorum to at most ${s.sentinels}; ${Math.floor(s.sentinels / 2) + 1} (a majority) is usual.`,
    });
  if (s.replicas < 1)
    out.push({
      path: 'topology.sentinel.replicas',
      message: 'topology.sentinel.replicas is 0: the Sentinels have no replica to promote when the master fails',
      fix: 'Set topology.sentinel.replicas to 2 (at least 1).',
    });
  return out;
}

function clusterRefusals(d: Deployment): Refusal[] {
  const c = d.topology.cluster;
  const out: Refusal[] = [];
  if (c.masters < 3)
    out.push({
      path: 'topology.cluster.masters',
      message: `topology.cluster.masters is ${c.masters}: a cluster needs 3 masters (redis-cli --cluster create refuses fewer, and a failover needs a majority of masters)`,
      fix: 'Set topology.cluster.masters to 3 or more.',
    });
  if (c.replicasPerMaster < 1)
    out.push({
      path: 'topology.cluster.replicasPerMaster',
      message:
        'topology.cluster.replicasPerMaster is 0: when a pod restarts, its slots have no replica to take over and, with cluster-require-full-coverage, the whole cluster refuses every key until it is back',
      fix: 'Set topology.cluster.replicasPerMaster to 1.',
    });
  return out;
}

export function topologyRefusals(d: Deployment): Refusal[] {
  if (d.topology.kind === 'sentinel') return sentinelRefusals(d);
  if (d.topology.kind === 'cluster') return clusterRefusals(d);
  return [];
}
