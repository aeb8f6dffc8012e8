/**
 * The configuration the Sentinel and Cluster renders add to `render conf`'s redis.conf (which stays
 * byte for byte the same): `topology.conf`, the settings every data node shares, and the Sentinels'
 * `sentinel.conf` template. What differs per pod (its announced name, its master, the passwords) is
 * written at start by the scripts of ha-scripts.ts into a file of the pod's own.
 *
 * Every release this tool renders for (Redis 7.0+, Valkey 7.2+) has `cluster-announce-hostname`,
 * `cluster-preferred-endpoint-type` (Redis 7.0) and Sentinel's `resolve-hostnames`/`announce-hostnames`
 * (Redis 6.2), so pods are known by their stable DNS names, never by the IP of one incarnation.
 */
import type { Deployment } from '../../config/schema.js';
import { formatLine } from '../../config/redis-conf-syntax.js';
import { aclRules, type Secrets } from '../acl.js';
import { COMMANDER_USER } from '../commander.js';
import type { AclUser } from '../../config/schema.js';
import { HA_USERS } from './ha-model.js';
import { ROLE_USERS } from './names.js';

export const TOPOLOGY_CONF_KEY = 'topology.conf';
export const SENTINEL_CONF_KEY = 'sentinel.conf';
/** the Secret key of the `user` lines Sentinel loads (hashes only) */
export const SENTINEL_USERS_KEY = 'sentinel-users.conf';
/** the file each pod's start script writes (its name, master, masterauth) */
export const POD_CONF = 'pod.conf';

/** Placeholders the Sentinel start script replaces with sed. */
export const SENTINEL_PLACEHOLDERS = { self: '@SELF@', myid: '@MYID@', master: '@MASTER@', masterPort: '@MASTER_PORT@' } as const;

function lines(header: string[], body: [string, ...string[]][]): string {
  return `${[...header.map((h) => `# ${h}`), ...body.map(([name, ...args]) => formatLine(name, args))].join('\n')}\n`;
}

/** What every data node of the topology shares, loaded after redis.conf (`--include`). */
export function topologyConf(d: Deployment): string {
  const header = [
    `${d.topology.kind === 'cluster' ? 'Redis Cluster' : 'Sentinel'} settings of every data node, loaded after redis.conf.`,
    `The start script writes ${POD_CONF} (announced name, master, masterauth) next to it; no password is in this file.`,
  ];
  if (d.topology.kind === 'cluster') {
    const c = d.topology.cluster;
    return lines(
      [...header, `cluster-config-file is relative to --dir, the persistent volume: the node table survives restarts.`],
      [
        ['cluster-enabled', 'yes'],
        ['cluster-config-file', c.configFile],
        ['cluster-node-timeout', String(c.nodeTimeout)],
        ['cluster-require-full-coverage', c.requireFullCoverage ? 'yes' : 'no'],
        ['cluster-preferred-endpoint-type', 'hostname'],
        ['masteruser', HA_USERS.replica],
      ],
    );
  }
  return lines(header, [
    ['masteruser', HA_USERS.replica],
    ['replica-read-only', 'yes'],
  ]);
}

/** sentinel.conf before the start script fills in the placeholders and appends users and passwords. */
export function sentinelConfTemplate(d: Deployment): string {
  const s = d.topology.sentinel;
  const p = SENTINEL_PLACEHOLDERS;
  return lines(
    [
      'Sentinel configuration template. Sentinel rewrites its file, so the start script copies this one into a',
      `writable directory, filling in ${Object.values(p).join(', ')}, and appends the users and passwords.`,
    ],
    [
      ['port', String(s.port)],
      ['sentinel', 'resolve-hostnames', 'yes'],
      ['sentinel', 'announce-hostnames', 'yes'],
      ['sentinel', 'announce-ip', p.self],
      ['sentinel', 'myid', p.myid],
      ['sentinel', 'monitor', s.masterName, p.master, p.masterPort, String(s.quorum)],
      ['sentinel', 'auth-user', s.masterName, HA_USERS.sentinel],
      ['sentinel', 'down-after-milliseconds', s.masterName, String(s.downAfterMilliseconds)],
      ['sentinel', 'failover-timeout', s.masterName, String(s.failoverTimeout)],
      ['sentinel', 'parallel-syncs', s.masterName, String(s.parallelSyncs)],
      ['sentinel', 'sentinel-user', HA_USERS.sentinel],
    ],
  );
}

/** What NeuralLog's server may ask a Sentinel: where the master is, and its events. */
const SENTINEL_CLIENT_COMMANDS = [
  '-@all',
  '+ping',
  '+auth',
  '+hello',
  '+client|setname',
  '+role',
  '+subscribe',
  '+psubscribe',
  '+unsubscribe',
  '+punsubscribe',
  '+sentinel|get-master-addr-by-name',
  '+sentinel|master',
  '+sentinel|replicas',
  '+sentinel|sentinels',
];

/**
 * What Redis Commander's client (ioredis's Sentinel connector) asks a Sentinel: the master's address,
 * and the other Sentinels (its `updateSentinels`); no ready check, no client name.
 */
export const SENTINEL_COMMANDER_COMMANDS = ['-@all', '+sentinel|get-master-addr-by-name', '+sentinel|sentinels'];

/**
 * The users of the Sentinels themselves: no default user; `sentinel` (the peers' login, everything);
 * the app user, read-only on the master's address; with `commander`, Redis Commander's user (its
 * password as on the data nodes), which may only ask where the master and the Sentinels are.
 */
export function sentinelUsersConf(secrets: Secrets, commander = false): string {
  const users: AclUser[] = [
    { name: 'default', enabled: false, nopass: false, keys: [], channels: [], commands: ['-@all'] },
    { name: HA_USERS.sentinel, enabled: true, nopass: false, keys: ['~*'], channels: ['&*'], commands: ['+@all'] },
    { name: ROLE_USERS.app, enabled: true, nopass: false, keys: [], channels: ['&*'], commands: SENTINEL_CLIENT_COMMANDS },
  ];
  if (commander) users.push({ name: COMMANDER_USER, enabled: true, nopass: false, keys: [], channels: [], commands: SENTINEL_COMMANDER_COMMANDS });
  return `${users.map((u) => ['user', u.name, ...aclRules(u, secrets)].join(' ')).join('\n')}\n`;
}
