/**
 * Asking Sentinels where a master and its replicas are: the first Sentinel that knows the name answers.
 */
import type { NodeAddress, TopologyTarget } from '../connect/topology-target.js';
import { ConnectionError, UsageError } from '../errors.js';
import { askNode, isRefusal } from './ask.js';

export interface SentinelReplica {
  address: NodeAddress;
  /** Sentinel's flags for it (slave, s_down, disconnected, ...) */
  flags: string[];
  /** Sentinel's master-link-status is "ok" */
  linkOk: boolean;
  offset: number;
}

export interface SentinelView {
  master: NodeAddress;
  replicas: SentinelReplica[];
  /** the Sentinel that answered */
  answeredBy: NodeAddress;
}

/**
 * Asks the Sentinels in order for the master and replicas of `masterName`; the first that knows the
 * master answers. None answering, or none knowing the name, is an error that says which.
 */
export async function askSentinels(target: Extract<TopologyTarget, { kind: 'sentinel' }>): Promise<SentinelView> {
  const failures: string[] = [];
  let unknown = 0;
  for (const sentinel of target.sentinels) {
    try {
      const view = await askNode(sentinel, target.sentinelCredentials, async (client) => {
        const addr = await client.sendCommand<string[] | null>(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', target.masterName]);
        if (!addr) return undefined;
        const replicas = await client.sendCommand<string[][]>(['SENTINEL', 'REPLICAS', target.masterName]);
        return { master: { host: addr[0]!, port: Number(addr[1]) }, replicas: replicas.map(sentinelReplica), answeredBy: sentinel };
      });
      if (view) return view;
      unknown++;
    } catch (error) {
      if (isRefusal(error)) throw error;
      failures.push(`${sentinel.host}:${sentinel.port}: ${(error as Error).message}`);
    }
  }
  if (unknown > 0)
    throw new UsageError(
      `no Sentinel knows a master named "${target.masterName}" (${unknown} answered${failures.length ? `; ${failures.join('; ')}` : ''}); check --master-name against \`sentinel monitor <name>\` in the Sentinels' config`,
      'E_SENTINEL_NO_MASTER',
    );
  throw new ConnectionError(`no Sentinel answered (${failures.join('; ')}); check --sentinel host:port and that the Sentinels run`, 'E_SENTINEL_UNREACHABLE');
}

function sentinelReplica(flat: string[]): SentinelReplica {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), String(flat[i + 1]));
  return {
    address: { host: fields.get('ip') ?? '', port: Number(fields.get('port') ?? 0) },
    flags: (fields.get('flags') ?? '').split(','),
    linkOk: fields.get('master-link-status') === 'ok',
    offset: Number(fields.get('slave-repl-offset') ?? 0),
  };
}
