import { deploymentPaths, endpointForDeployment, formatRedisUrl } from '../connect/index.js';
import { readTopology } from '../runtime/index.js';
import type { UrlFlags } from './deployment-flags.js';
import { printJson, printResult, say } from './output.js';
import { describeTopologyConnection, topologyConnection } from './topology-output.js';
import { describeTopologyUrl, flagTopology, topologyUrl } from './status-topology.js';

export async function urlCommand(flags: UrlFlags): Promise<number> {
  // --sentinel/--cluster: a topology that need not be in --dir; its addresses, asked live
  const named = flagTopology(flags);
  if (named) {
    const u = await topologyUrl(named, flags);
    if (flags.json) printJson(u);
    else printResult(describeTopologyUrl(u));
    return 0;
  }
  const paths = deploymentPaths(flags.dir);
  const record = readTopology(paths.root);
  if (record) {
    // a topology has no one URL: the client needs the Sentinels and the master name, or the seeds
    const connection = topologyConnection(record, flags.user);
    if (flags.json) printJson({ ...connection, secretsFile: paths.secrets });
    else printResult(describeTopologyConnection(connection, paths.secrets));
    if (flags.showPassword) say(`(--show-password does not apply to a ${record.kind} deployment: read the password from ${paths.secrets})`);
    return 0;
  }
  const endpoint = await endpointForDeployment(flags.dir, flags.user, { requireRunning: false });
  if (flags.json) {
    printJson({ kind: 'single', url: formatRedisUrl(endpoint, { showPassword: flags.showPassword }) });
    return 0;
  }
  printResult(formatRedisUrl(endpoint, { showPassword: flags.showPassword }));
  if (!flags.showPassword && process.stderr.isTTY) say('(password left out; add --show-password to include it)');
  return 0;
}
