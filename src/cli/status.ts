import type { TopologyTarget } from '../connect/topology-target.js';
import { describeEngine } from '../engine/identity.js';
import { deploymentStatus, describeLoading } from '../runtime/index.js';
import type { StatusFlags } from './deployment-flags.js';
import { printJson, printResult, say } from './output.js';
import { describeTopologyStatus } from './topology-output.js';

/** --sentinel/--cluster: roles, links and slots as the topology reports them now; 0 when healthy. */
async function topologyStatusCommand(target: TopologyTarget, json: boolean): Promise<number> {
  const { describeTopologyReport, topologyReport } = await import('./status-topology.js');
  const report = await topologyReport(target);
  if (json) printJson({ topology: report });
  else printResult(describeTopologyReport(report));
  return report.healthy ? 0 : 1;
}

const mib = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '?' : `${(n / 1024 / 1024).toFixed(1)} MiB`);

/**
 * Exit codes: 0 running and serving; 1 stopped, loading its data (it answers no command yet), or
 * running with a problem; 2 when --dir holds no deployment.
 */
export async function statusCommand(flags: StatusFlags): Promise<number> {
  if (flags.watch) return (await import('./status-watch.js')).watchStatus(flags);
  const named = (await import('./status-topology.js')).flagTopology(flags);
  if (named) return topologyStatusCommand(named, flags.json === true);
  const s = await deploymentStatus(flags.dir);
  const code = s.running && !s.error && !s.loading ? 0 : 1;
  if (flags.json) {
    printJson({ ...s });
    return code;
  }
  if (s.staleState) say(`Note: ${s.staleState}.`);
  if (s.topology) {
    printResult(describeTopologyStatus(s.dir, s.topology));
    if (!s.running) say(`Start it with: neurallog-redis up --dir ${flags.dir}`);
    return s.topology.healthy ? 0 : 1;
  }
  if (!s.running) {
    printResult(`stopped   ${s.dir} (profile ${s.profile}, port ${s.port}); start it with: neurallog-redis up --dir ${flags.dir}`);
    return 1;
  }
  const lines = [`running   ${s.dir}`, `  pid ${s.pid}, ${s.host}:${s.port}, profile ${s.profile}`, `  url       ${s.url}`];
  lines.push(s.monitor ? `  monitor   ${s.monitor.url}/ (dashboard), ${s.monitor.url}/metrics (pid ${s.monitor.pid})` : '  monitor   not running');
  if (s.error) lines.push(`  problem:  ${s.error}`);
  else {
    const engine = s.engine && s.engineVersion ? describeEngine({ engine: s.engine, version: s.engineVersion }) : `Redis ${s.redisVersion}`;
    if (s.loading) lines.push(`  loading   ${describeLoading(s.loading)}`);
    lines.push(
      `  server    ${engine}, role ${s.role}, up ${s.uptimeSeconds}s (model targets ${describeEngine(s.target)})`,
      `  memory    ${mib(s.usedMemoryBytes)} used of ${s.maxmemoryBytes ? mib(s.maxmemoryBytes) : 'unlimited'}`,
      `  keys      ${
        Object.entries(s.keys ?? {})
          .map(([db, n]) => `${db}=${n}`)
          .join(' ') || 'none'
      }`,
      `  persist   aof ${s.aofEnabled ? 'on' : 'off'} (last write ${s.aofLastWriteStatus}), last rdb save ${s.lastSaveStatus}`,
    );
  }
  printResult(lines.join('\n'));
  return code;
}
