/**
 * sentinel.conf for one Sentinel of the model's topology, with the guide's settings (`sentinel
 * monitor <name> <host> <port> <quorum>`, down-after-milliseconds, failover-timeout, parallel-syncs).
 * Sentinels log in to the servers as the `sentinel` ACL user (`sentinel auth-user`/`auth-pass`), and
 * require a password themselves (`requirepass`, with `sentinel sentinel-pass` so that they reach each
 * other). The file holds those passwords: whoever writes it makes it private (0600). Sentinel
 * rewrites this file as it learns the topology, so it is rendered once, when a Sentinel is first made.
 */
import type { Deployment } from '../config/schema.js';
import { formatLine } from '../config/redis-conf-syntax.js';

export interface SentinelConfInput {
  port: number;
  bind: readonly string[];
  master: { host: string; port: number };
  /** password of the `sentinel` ACL user on the servers */
  authPass: string;
  /** password of the Sentinels themselves */
  sentinelPass: string;
}

export function renderSentinelConf(d: Deployment, input: SentinelConfInput): string {
  const s = d.topology.sentinel;
  const name = s.masterName;
  const lines = [
    '# Sentinel configuration for NeuralLog, rendered by neurallog-redis from the model.',
    '# Sentinel rewrites this file as it learns replicas, Sentinels and failovers: keep it writable.',
    formatLine('port', [String(input.port)]),
    formatLine('bind', [...input.bind]),
    formatLine('protected-mode', ['yes']),
    formatLine('requirepass', [input.sentinelPass]),
    formatLine('sentinel', ['sentinel-pass', input.sentinelPass]),
    formatLine('sentinel', ['resolve-hostnames', 'no']),
    formatLine('sentinel', ['announce-hostnames', 'no']),
    formatLine('sentinel', ['monitor', name, input.master.host, String(input.master.port), String(s.quorum)]),
    formatLine('sentinel', ['auth-user', name, 'sentinel']),
    formatLine('sentinel', ['auth-pass', name, input.authPass]),
    formatLine('sentinel', ['down-after-milliseconds', name, String(s.downAfterMilliseconds)]),
    formatLine('sentinel', ['failover-timeout', name, String(s.failoverTimeout)]),
    formatLine('sentinel', ['parallel-syncs', name, String(s.parallelSyncs)]),
  ];
  return `${lines.join('\n')}\n`;
}
