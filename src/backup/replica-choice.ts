/**
 * Which node a backup of a replicated shard pulls from: a healthy replica (its master link up, the
 * least behind its master), so the master does not fork for the backup; the master only when asked or
 * when the shard has no replica, and the caller says so.
 */
import { type NodeAddress } from '../connect/topology-target.js';
import { askNode } from '../discover/index.js';
import { parseInfo } from '../connect/client.js';
import { formatRedisUrl } from '../connect/url.js';

interface Credentials {
  username?: string;
  password?: string;
}

export interface ReplicaHealth {
  address: NodeAddress;
  /** INFO replication says master_link_status:up */
  linkUp: boolean;
  /** bytes behind the master's offset (when the master answered), else undefined */
  lagBytes?: number;
  offset: number;
  /** why it cannot serve, when it cannot */
  problem?: string;
}

export interface SourceChoice {
  address: NodeAddress;
  role: 'master' | 'replica';
  lagBytes?: number;
  /** why the master was chosen, or which replicas were passed over and why */
  note?: string;
}

/** INFO replication of each replica (and of the master, for the lag), each within its deadline. */
export async function replicaHealth(master: NodeAddress, replicas: readonly NodeAddress[], credentials: Credentials): Promise<ReplicaHealth[]> {
  const masterOffset = await askNode(master, credentials, async (c) => Number(parseInfo(await c.info('replication')).master_repl_offset))
    .then((n) => (Number.isFinite(n) ? n : undefined))
    .catch(() => undefined);
  return Promise.all(
    replicas.map(async (address): Promise<ReplicaHealth> => {
      try {
        const info = await askNode(address, credentials, async (c) => parseInfo(await c.info('replication')));
        const offset = Number(info.slave_repl_offset ?? 0);
        const linkUp = info.role === 'slave' && info.master_link_status === 'up';
        return {
          address,
          linkUp,
          offset,
          lagBytes: masterOffset !== undefined ? Math.max(0, masterOffset - offset) : undefined,
          problem: linkUp ? undefined : info.role !== 'slave' ? `it is a ${info.role ?? 'node of unknown role'}` : 'its master link is down',
        };
      } catch (error) {
        return { address, linkUp: false, offset: 0, problem: (error as Error).message };
      }
    }),
  );
}

/** The healthy replica least behind, else the master (when allowed) with a note that says why. */
export function chooseSource(master: NodeAddress, health: readonly ReplicaHealth[], allowMaster: boolean): SourceChoice | { refused: string } {
  const where = (a: NodeAddress) => formatRedisUrl({ host: a.host, port: a.port, tls: false, db: 0 });
  const healthy = health.filter((h) => h.linkUp).sort((a, b) => (a.lagBytes ?? -a.offset) - (b.lagBytes ?? -b.offset));
  const passed = health.filter((h) => !h.linkUp).map((h) => `${where(h.address)}: ${h.problem}`);
  const best = healthy[0];
  if (best) return { address: best.address, role: 'replica', lagBytes: best.lagBytes, note: passed.length ? `passed over ${passed.join('; ')}` : undefined };
  if (health.length === 0) return { address: master, role: 'master', note: 'the master has no replica, so the backup comes from the master' };
  if (allowMaster)
    return { address: master, role: 'master', note: `no healthy replica (${passed.join('; ')}), so the backup comes from the master, as allowed` };
  return {
    refused: `no healthy replica of ${where(master)} to back up from (${passed.join('; ')}); wait until a replica's link is up, or allow the master with --from-master`,
  };
}
