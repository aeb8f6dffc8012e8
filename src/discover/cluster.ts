/**
 * Asking a cluster's seed nodes for the slot map (CLUSTER SLOTS): its shards, each master with its
 * replicas and slot ranges.
 */
import { parseInfo } from '../connect/client.js';
import type { SlotRange } from '../connect/hash-slot.js';
import type { Credentials, NodeAddress } from '../connect/topology-target.js';
import { ConnectionError, UsageError } from '../errors.js';
import { askNode, isRefusal } from './ask.js';

export interface ClusterShard {
  /** the master's node id */
  id: string;
  master: NodeAddress;
  replicas: Array<{ id: string; address: NodeAddress }>;
  slots: SlotRange[];
}

/**
 * The cluster's shards from the first seed that answers CLUSTER SLOTS, ordered by first slot. A seed
 * that is not a cluster node, or a cluster whose slots are not all served, is refused.
 */
export async function askCluster(
  seeds: readonly NodeAddress[],
  credentials: Credentials,
  options: { requireFullCoverage?: boolean } = {},
): Promise<ClusterShard[]> {
  const failures: string[] = [];
  for (const seed of seeds) {
    let reply: unknown[];
    try {
      reply = await askNode(seed, credentials, async (client) => {
        const notCluster = () =>
          new UsageError(`${seed.host}:${seed.port} is not a cluster node (cluster-enabled no); use --url or --sentinel for it`, 'E_USAGE');
        // the app user may not run INFO (@dangerous) but may ask the slot map, as cluster clients do
        const info = await client.info('cluster').catch((error: Error) => (/^NOPERM/.test(error.message) ? undefined : Promise.reject(error)));
        if (info !== undefined && parseInfo(info).cluster_enabled !== '1') throw notCluster();
        return client
          .sendCommand<unknown[]>(['CLUSTER', 'SLOTS'])
          .catch((error: Error) => Promise.reject(/cluster support disabled/i.test(error.message) ? notCluster() : error));
      });
    } catch (error) {
      if (error instanceof UsageError || isRefusal(error)) throw error;
      failures.push(`${seed.host}:${seed.port}: ${(error as Error).message}`);
      continue;
    }
    const shards = shardsFromSlots(reply, seed);
    const covered = shards.reduce((n, s) => n + s.slots.reduce((m, [a, b]) => m + b - a + 1, 0), 0);
    if (shards.length === 0 || (options.requireFullCoverage !== false && covered < 16384))
      throw new ConnectionError(
        `the cluster at ${seed.host}:${seed.port} serves ${covered} of 16384 slots; wait until \`CLUSTER INFO\` says cluster_state:ok (or finish creating it)`,
        'E_CLUSTER_NOT_READY',
      );
    return shards;
  }
  throw new ConnectionError(`no cluster seed answered (${failures.join('; ')}); check --cluster host:port and that the nodes run`, 'E_CLUSTER_UNREACHABLE');
}

function shardsFromSlots(reply: unknown[], seed: NodeAddress): ClusterShard[] {
  const byId = new Map<string, ClusterShard>();
  const node = (n: unknown[]) => ({ host: String(n[0]) || seed.host, port: Number(n[1]), id: String(n[2]) });
  for (const range of reply as unknown[][]) {
    const master = node(range[2] as unknown[]);
    let shard = byId.get(master.id);
    if (!shard) {
      shard = {
        id: master.id,
        master: { host: master.host, port: master.port },
        replicas: (range.slice(3) as unknown[][]).map((r) => {
          const n = node(r);
          return { id: n.id, address: { host: n.host, port: n.port } };
        }),
        slots: [],
      };
      byId.set(master.id, shard);
    }
    shard.slots.push([Number(range[0]), Number(range[1])]);
  }
  const shards = [...byId.values()];
  for (const s of shards) s.slots.sort((a, b) => a[0] - b[0]);
  return shards.sort((a, b) => a.slots[0]![0] - b.slots[0]![0]);
}
