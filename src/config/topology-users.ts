/**
 * The model's users as a topology needs them: `topologyUsers(kind)` added where the model lacks them
 * (a user already there is kept as is), and on a cluster the backup user may also read the slot map
 * (CLUSTER SLOTS), which a cluster backup asks a seed node for before it pulls every shard.
 */
import type { Deployment } from './schema.js';
import { topologyUsers } from './topology.js';

export const CLUSTER_BACKUP_RULES = ['+cluster|slots'];

export function withTopologyUsers(d: Deployment): Deployment {
  const kind = d.topology.kind;
  const present = new Set(d.security.users.map((u) => u.name));
  const extra = topologyUsers(kind).filter((u) => !present.has(u.name));
  const users = d.security.users.map((u) =>
    kind === 'cluster' && u.name === 'backup' ? { ...u, commands: [...u.commands, ...CLUSTER_BACKUP_RULES.filter((r) => !u.commands.includes(r))] } : u,
  );
  const changed = extra.length > 0 || users.some((u, i) => u !== d.security.users[i]);
  return changed ? { ...d, security: { ...d.security, users: [...users, ...extra] } } : d;
}
