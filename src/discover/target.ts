/**
 * Where a command connects: `--url` as the URL says (the password may come from --password-file or
 * NEURALLOG_REDIS_PASSWORD, so that it never sits in argv), `--dir`, a deployment made by `up`, as
 * the least-privileged user for the job, or the master the Sentinels name (`--sentinel`, or a
 * `--dir` whose topology.json says so).
 */
import { endpointForDeployment, type Role, type TargetOptions } from '../connect/target.js';
import { PASSWORD_ENV, readPasswordFile } from '../connect/password-file.js';
import { endpointOf, topologyFromOptions } from '../connect/topology-target.js';
import { parseRedisUrl, type Endpoint } from '../connect/url.js';
import { UsageError } from '../errors.js';
import { askSentinels } from './sentinels.js';

/**
 * The endpoint to connect to. A deployment directory's model is read (and its schema library loaded)
 * only for --dir: a `backup --url` starts without them (docs/benchmarks.md).
 */
export async function resolveTarget(options: TargetOptions, role: Role): Promise<Endpoint> {
  if (options.url && options.dir && options.dir !== '.neurallog-redis') throw new UsageError('give either --url or --dir, not both');
  if (options.url && (options.sentinel || options.cluster)) throw new UsageError('give either --url or --sentinel/--cluster, not both');
  // a topology (--sentinel, --cluster, or a --dir with topology.json): this command talks to its master
  const topology = options.url ? undefined : topologyFromOptions(options, role);
  if (topology?.kind === 'sentinel') return endpointOf((await askSentinels(topology)).master, topology.credentials);
  if (topology?.kind === 'cluster')
    throw new UsageError('this command talks to one server, and a cluster has several: give one node with --url (backup and restore take --cluster)');
  if (options.url) {
    const endpoint = parseRedisUrl(options.url);
    if (endpoint.password === undefined) {
      if (options.passwordFile) endpoint.password = readPasswordFile(options.passwordFile);
      else if (process.env[PASSWORD_ENV]) endpoint.password = process.env[PASSWORD_ENV];
    }
    return endpoint;
  }
  if (options.dir) return endpointForDeployment(options.dir, role);
  throw new UsageError('say where Redis is: --url redis://user@host:port or --dir <deployment made by `up`>');
}
