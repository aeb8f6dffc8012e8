/**
 * Topology: one server (the guide's main setup), a master with replicas watched by Sentinels, or a
 * Redis Cluster (the guide's "Advanced Configuration"). The settings default to the guide's values:
 * `sentinel monitor mymaster ... 2`, `down-after-milliseconds 5000`, `failover-timeout 60000`,
 * `parallel-syncs 1`; `cluster-node-timeout 5000` and `cluster-config-file nodes.conf`.
 */
import { z } from 'zod';

export const TOPOLOGY_KINDS = ['single', 'sentinel', 'cluster'] as const;
export type TopologyKind = (typeof TOPOLOGY_KINDS)[number];

export const sentinelSchema = z.strictObject({
  masterName: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a master name is 1-64 letters, digits, "_", "." or "-"')
    .describe('the name Sentinels and clients know the master by (`sentinel monitor <name> ...`)'),
  sentinels: z.int().min(1).describe('Sentinel processes; fewer than 3 is refused where a failover must be safe'),
  replicas: z.int().nonnegative().describe('replicas of the master'),
  quorum: z.int().min(1).describe('Sentinels that must agree the master is down; at most `sentinels`'),
  downAfterMilliseconds: z.int().min(100).describe('`sentinel down-after-milliseconds`'),
  failoverTimeout: z.int().min(1000).describe('`sentinel failover-timeout`'),
  parallelSyncs: z.int().min(1).describe('`sentinel parallel-syncs`: replicas resynchronised at once after a failover'),
  port: z.int().min(1).max(65535).describe('port of the first Sentinel (the guide: 26379); the others follow'),
});

export const clusterSchema = z.strictObject({
  masters: z.int().min(1).max(1000).describe('masters sharing the 16384 hash slots (redis-cli --cluster create needs 3 or more)'),
  replicasPerMaster: z.int().nonnegative().describe('replicas of each master'),
  nodeTimeout: z.int().min(100).describe('`cluster-node-timeout` in milliseconds'),
  configFile: z
    .string()
    .regex(/^[^/\s]+$/, 'a file name without "/" or spaces')
    .describe('`cluster-config-file`: the node table each node keeps in its data directory'),
  requireFullCoverage: z.boolean().describe('`cluster-require-full-coverage`: refuse every key while any slot is unserved'),
});

export const topologySchema = z.strictObject({
  kind: z.enum(TOPOLOGY_KINDS).describe('`single` server, `sentinel` (master, replicas, Sentinels) or `cluster`'),
  sentinel: sentinelSchema,
  cluster: clusterSchema,
});
export type Topology = z.output<typeof topologySchema>;
export type SentinelSettings = z.output<typeof sentinelSchema>;
export type ClusterSettings = z.output<typeof clusterSchema>;

/** An ACL user as the model writes one (the shape of schema.ts's TopologyUser; not imported, schema.ts imports this file). */
export interface TopologyUser {
  name: string;
  enabled: boolean;
  nopass: boolean;
  keys: string[];
  channels: string[];
  commands: string[];
}

export const TOPOLOGY_DEFAULTS: Topology = {
  kind: 'single',
  sentinel: {
    masterName: 'mymaster',
    sentinels: 3,
    replicas: 2,
    quorum: 2,
    downAfterMilliseconds: 5000,
    failoverTimeout: 60000,
    parallelSyncs: 1,
    port: 26379,
  },
  cluster: { masters: 3, replicasPerMaster: 1, nodeTimeout: 5000, configFile: 'nodes.conf', requireFullCoverage: true },
};

/**
 * ACL users a topology needs beyond the profile's, with exactly the rights their job takes:
 * - `replica`: how replicas authenticate to their master (`masteruser`); PSYNC/REPLCONF/PING only.
 * - `sentinel`: how Sentinels watch and reconfigure the servers (`sentinel auth-user`); the command
 *   list Redis's Sentinel documentation gives, on Sentinel's hello channel only.
 */
export function topologyUsers(kind: TopologyKind): TopologyUser[] {
  if (kind === 'single') return [];
  const replica: TopologyUser = {
    name: 'replica',
    enabled: true,
    nopass: false,
    keys: [],
    channels: [],
    commands: ['-@all', '+psync', '+replconf', '+ping'],
  };
  if (kind === 'cluster') return [replica];
  const sentinel: TopologyUser = {
    name: 'sentinel',
    enabled: true,
    nopass: false,
    keys: [],
    channels: ['&__sentinel__:hello'],
    commands: [
      '-@all',
      '+multi',
      '+exec',
      '+slaveof',
      '+replicaof',
      '+ping',
      '+info',
      '+role',
      '+publish',
      '+subscribe',
      '+config|rewrite',
      '+client|setname',
      '+client|kill',
      '+script|kill',
    ],
  };
  return [replica, sentinel];
}
