/**
 * The model's users as a topology needs them: `topologyUsers(kind)` added where the model lacks them
 * (a user already there is kept as is), and on a cluster two users get what their cluster client asks
 * first: the backup user may read the slot map (CLUSTER SLOTS), which a cluster backup asks a seed node
 * for before it pulls every shard; Redis Commander's user (ioredis's Cluster client) reads the slot
 * map to find the masters and CLUSTER INFO for its ready check (cluster_state), nothing else; doctor's
 * user (ops) reads the node table to find every node, failed ones included, from one seed (`doctor --cluster`).
 */
import type { Deployment } from './schema.js';
import { topologyUsers } from './topology.js';

export const CLUSTER_BACKUP_RULES = ['+cluster|slots'];
export const CLUSTER_COMMANDER_RULES = ['+cluster|slots', '+cluster|info'];
export const CLUSTER_OPS_RULES = ['+cluster|nodes'];

const CLUSTER_RULES: Record<string, string[]> = { backup: CLUSTER_BACKUP_RULES, commander: CLUSTER_COMMANDER_RULES, ops: CLUSTER_OPS_RULES };

export function withTopologyUsers(d: Deployment): Deployment {
  const kind = d.topology.kind;
  const present = new Set(d.security.users.map((u) => u.name));
  const extra = topologyUsers(kind).filter((u) => !present.has(u.name));
  const users = d.security.users.map((u) => {
    const rules = kind === 'cluster' ? CLUSTER_RULES[u.name] : undefined;
    return rules ? { ...u, commands: [...u.commands, ...rules.filter((r) => !u.commands.includes(r))] } : u;
  });
  const changed = extra.length > 0 || users.some((u, i) => u !== d.security.users[i]);
  return changed ? { ...d, security: { ...d.security, users: [...users, ...extra] } } : d;
}
