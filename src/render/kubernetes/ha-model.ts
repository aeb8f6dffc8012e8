/**
 * What the Sentinel and Cluster renders share: the model with the topology's ACL users added, the
 * names of the extra objects, the pods' stable DNS names, and where each role finds the others
 * (`HaNet`: addresses as shell words, so the same start scripts run in a pod, in a Compose service
 * and, in the tests, on loopback).
 */
import { createHash } from 'node:crypto';
import type { Deployment } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';
import type { Secrets } from '../acl.js';
import { usersNeedingPasswords } from '../acl.js';
import { names } from './names.js';

/** The users the topology's processes log in as (on the data nodes and, for Sentinels, on Sentinel). */
export const HA_USERS = { replica: 'replica', sentinel: 'sentinel' } as const;

export { withTopologyUsers } from '../../config/topology-users.js';

/** Characters a password may hold to be written into a config line unquoted (generated ones are base64url). */
const CONFIG_SAFE = /^[A-Za-z0-9_.~+/=-]+$/;

/** The passwords the HA Secret carries, each under `<user>-password`; refuses one a config line cannot hold. */
export function haPasswords(d: Deployment, secrets: Secrets): Record<string, string> {
  const out: Record<string, string> = {};
  for (const user of usersNeedingPasswords(d)) {
    const pw = secrets[user];
    if (pw === undefined)
      throw new ConfigError(
        `the secrets hold no password for user "${user}"; give --secrets FILE (missing passwords are generated) or --dir of a deployment that has it`,
      );
    if ((user === HA_USERS.replica || user === HA_USERS.sentinel) && !CONFIG_SAFE.test(pw))
      throw new ConfigError(
        `the password of user "${user}" holds characters a redis.conf or sentinel.conf line cannot carry unquoted; use letters, digits and _.~+/=- (generated passwords do)`,
      );
    out[user] = pw;
  }
  return out;
}

/** Number of data pods: the master and its replicas, or every cluster node. */
export function dataNodeCount(d: Deployment): number {
  const t = d.topology;
  return t.kind === 'cluster' ? t.cluster.masters * (1 + t.cluster.replicasPerMaster) : t.kind === 'sentinel' ? 1 + t.sentinel.replicas : 1;
}

export function haNames(d: Deployment) {
  const n = d.name;
  return {
    ...names(d),
    sentinelStatefulSet: `${n}-sentinel`,
    /** headless, for the Sentinels' own DNS names */
    sentinelHeadless: `${n}-sentinel-headless`,
    /** what clients ask for the master (port 26379) */
    sentinelService: `${n}-sentinel`,
    sentinelPdb: `${n}-sentinel`,
    sentinelNetworkPolicy: `${n}-sentinel`,
    clusterJob: `${n}-cluster-create`,
  };
}

/** A pod's stable DNS name through its headless Service (resolvable before it is ready: publishNotReadyAddresses). */
export function podFqdn(d: Deployment, pod: string, service: string): string {
  return `${pod}.${service}.${d.deploy.namespace}.svc.cluster.local`;
}

/** A fixed Sentinel ID per Sentinel: a restarted Sentinel keeps its identity, so peers never count it twice. */
export function sentinelMyid(d: Deployment, index: number): string {
  return createHash('sha1').update(`neurallog-redis/${d.deploy.namespace}/${d.name}/sentinel-${index}`, 'utf8').digest('hex');
}

/**
 * Where the scripts find things. Every value is a shell word, expanded by the script's shell
 * (`"$POD_NAME.redis.ns.svc.cluster.local"`, `6379`, or a loopback address and port in the tests).
 */
export interface HaNet {
  /** this node's ordinal (0 starts as the master of a Sentinel set) */
  ordinal: string;
  /** the name this process announces */
  self: string;
  /** the port this process listens on */
  selfPort: string;
  /** the data nodes, by ordinal */
  nodes: { host: string; port: string }[];
  /** the Sentinels, by ordinal */
  sentinels: { host: string; port: string }[];
  /** directories: the secrets, the generated config, the data */
  secretDir: string;
  runDir: string;
  dataDir: string;
  /** the config templates (the ConfigMap) */
  configDir: string;
}
