/**
 * redis.conf from the model: deterministic, grouped by the guide's sections, free of machine paths
 * (the data directory and the ACL file are passed to redis-server as arguments by whoever runs it).
 */
import { DIRECTIVES, SECTIONS, type Section } from '../config/directives.js';
import type { Deployment } from '../config/schema.js';
import { formatLine } from '../config/redis-conf-syntax.js';

const SECTION_NOTES: Partial<Record<Section, string[]>> = {
  Security: ['Users and password hashes live in users.acl, which is passed as `--aclfile <path>`.', 'No password is ever written to this file.'],
};

export function renderRedisConf(d: Deployment): string {
  const out: string[] = [
    '# Redis configuration for NeuralLog',
    `# Rendered by neurallog-redis from the "${d.profile}" profile for ${d.engine === 'valkey' ? 'Valkey' : 'Redis'} ${d.version}. Edit the model, not this file.`,
    '# Machine paths (dir, aclfile, pidfile) are passed as redis-server arguments.',
  ];
  for (const section of SECTIONS) {
    const lines = DIRECTIVES.filter((s) => s.section === section).flatMap((spec) => spec.render(d).map((args) => formatLine(spec.name, args)));
    const notes = SECTION_NOTES[section] ?? [];
    if (lines.length === 0 && notes.length === 0) continue;
    out.push('', `# ${section}`, ...notes.map((n) => `# ${n}`), ...lines);
  }
  if (d.extraDirectives.length > 0) {
    out.push('', '# Additional directives');
    for (const { name, args } of d.extraDirectives) out.push(formatLine(name, args));
  }
  return `${out.join('\n')}\n`;
}

/** What one node of a Sentinel or Cluster topology adds to the model's redis.conf. */
export interface TopologyNodeConf {
  port: number;
  /** a replica's master (Sentinel topology), as `replicaof host port` */
  replicaOf?: { host: string; port: number };
  /** the `replica` user's password: how this node authenticates to a master (`masteruser` + `masterauth`) */
  masterauth: string;
  /** `cluster-enabled yes` with the model's cluster settings */
  cluster?: boolean;
}

/**
 * redis.conf for one node of a topology: the model's file on the node's port, then the replication
 * login (every node, since any may become a replica after a failover) and, for a cluster node, the
 * cluster directives. The file holds `masterauth`, so whoever writes it makes it private (0600).
 */
export function renderNodeConf(d: Deployment, node: TopologyNodeConf): string {
  const model: Deployment = { ...d, server: { ...d.server, port: node.port } };
  const out = [renderRedisConf(model).trimEnd(), '', `# Topology: ${d.topology.kind} (the replication password is private to this file)`];
  out.push(formatLine('masteruser', ['replica']), formatLine('masterauth', [node.masterauth]));
  if (node.replicaOf) out.push(formatLine('replicaof', [node.replicaOf.host, String(node.replicaOf.port)]));
  if (node.cluster) {
    const c = d.topology.cluster;
    out.push(
      formatLine('cluster-enabled', ['yes']),
      formatLine('cluster-config-file', [c.configFile]),
      formatLine('cluster-node-timeout', [String(c.nodeTimeout)]),
      formatLine('cluster-require-full-coverage', [c.requireFullCoverage ? 'yes' : 'no']),
    );
  }
  return `${out.join('\n')}\n`;
}
