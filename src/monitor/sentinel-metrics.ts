/**
 * What redis_exporter 1.45 asks a Sentinel beyond INFO, for each master it watches (the `masterN`
 * lines of INFO sentinel): SENTINEL CKQUORUM (`redis_sentinel_master_ckquorum_status`), SENTINEL
 * SENTINELS and SENTINEL REPLICAS (`..._ok_sentinels`, counting this Sentinel, and `..._ok_slaves`: the
 * peers not flagged s_down or o_down). All sent at once: one round trip.
 */
import type { RedisConnection } from '../connect/client.js';
import { NAMESPACE } from './exporter-fields.js';
import type { MetricSet } from './metric-set.js';

interface WatchedMaster {
  name: string;
  address: string;
}

/** the masters of INFO sentinel's `master0:name=mymaster,status=ok,address=...` lines */
export function watchedMasters(fields: ReadonlyMap<string, string>): WatchedMaster[] {
  const out: WatchedMaster[] = [];
  for (const [key, value] of fields) {
    if (!/^master\d+$/.test(key)) continue;
    const parts = new Map(value.split(',').map((p) => p.split('=') as [string, string]));
    const name = parts.get('name');
    const address = parts.get('address');
    if (name && address) out.push({ name, address });
  }
  return out;
}

export async function addSentinelDetails(set: MetricSet, client: RedisConnection, fields: ReadonlyMap<string, string>): Promise<void> {
  const masters = watchedMasters(fields);
  const replies = await Promise.all(
    masters.map((m) =>
      Promise.all([
        answerOrError(client.sendCommand(['SENTINEL', 'CKQUORUM', m.name])),
        answerOrError(client.sendCommand(['SENTINEL', 'SENTINELS', m.name])),
        answerOrError(client.sendCommand(['SENTINEL', 'REPLICAS', m.name])),
      ]),
    ),
  );
  masters.forEach((m, i) => {
    const [quorum, sentinels, replicas] = replies[i]!;
    const message = quorum instanceof Error ? quorum.message : String(quorum);
    set.gauge(`${NAMESPACE}_sentinel_master_ckquorum_status`, quorum instanceof Error ? 0 : 1, { master_name: m.name, message });
    const labels = { master_name: m.name, master_address: m.address };
    if (!(sentinels instanceof Error)) set.gauge(`${NAMESPACE}_sentinel_master_ok_sentinels`, 1 + okPeers(sentinels), labels);
    if (!(replicas instanceof Error)) set.gauge(`${NAMESPACE}_sentinel_master_ok_slaves`, okPeers(replicas), labels);
  });
}

async function answerOrError(reply: Promise<unknown>): Promise<unknown> {
  try {
    return await reply;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** peers (flat [field, value, ...] arrays, or RESP3 maps) whose flags say neither s_down nor o_down */
function okPeers(reply: unknown): number {
  if (!Array.isArray(reply)) return 0;
  let ok = 0;
  for (const peer of reply as unknown[]) {
    let flags = '';
    if (Array.isArray(peer)) {
      const at = peer.findIndex((v, i) => i % 2 === 0 && String(v) === 'flags');
      flags = at >= 0 ? String(peer[at + 1]) : '';
    } else if (peer && typeof peer === 'object') {
      const value = (peer as Record<string, unknown>).flags;
      flags = typeof value === 'string' ? value : '';
    }
    if (!/s_down|o_down/.test(flags)) ok++;
  }
  return ok;
}
