/**
 * `doctor`: reach the server (classifying any failure), read it once, run every check, and return
 * the findings. With --dir it logs in as the deployment's `ops` user and reads the deployment's log
 * and data directory; with a loopback --url it finds them through the server's process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeConnection } from '../connect/client.js';
import { endpointForDeployment } from '../connect/target.js';
import { resolveTarget } from '../discover/index.js';
import { formatRedisUrl, type Endpoint } from '../connect/url.js';
import { describeEngine } from '../engine/identity.js';
import { NeuralLogRedisError } from '../errors.js';
import { collectFacts, isSentinel, type ServerFacts } from './collect.js';
import { classifyConnectError, probe } from './connection.js';
import { clusterChecks, loadingCheck, replicationChecks, sentinelChecks } from './checks-replication.js';
import { errorCheck, latencyCheck, slowlogCheck } from './checks-commands.js';
import { kernelChecks, logChecks, notRunningFinding } from './checks-host.js';
import { clientChecks, memoryChecks } from './checks-memory.js';
import { persistenceChecks } from './checks-persistence.js';
import { securityChecks } from './checks-security.js';
import { exitCodeOf, finding, type DoctorReport, type Finding } from './finding.js';
import { dataDirFacts, findLog, kernelFacts, readLog, type LogFacts } from './host-facts.js';

export interface DoctorOptions {
  url?: string;
  dir?: string;
  passwordFile?: string;
  /** deadline to connect and get the first reply (default 5 s); reading the server gets as long again */
  timeoutMs?: number;
  /** false: skip the kernel checks even when the server is on this machine */
  host?: boolean;
}

/** The deployment directory's files, when doctor runs with --dir (or one node's, in a topology). */
export interface DirContext {
  root: string;
  log: string;
  data: string;
  conf: string;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const useDir = !options.url && options.dir !== undefined;
  let dir: DirContext | undefined;
  let endpoint: Endpoint;
  const notes: Finding[] = [];
  if (useDir) {
    const { deploymentPaths } = await import('../connect/deployment-dir.js');
    const paths = deploymentPaths(options.dir!);
    dir = { root: paths.root, log: paths.log, data: paths.data, conf: paths.conf };
    try {
      endpoint = await deploymentEndpoint(options.dir!, notes);
    } catch (error) {
      if (error instanceof NeuralLogRedisError && error.code === 'E_NOT_RUNNING') {
        const findings = [notRunningFinding(readLog(paths.log), options.dir!)];
        return { target: paths.root, reach: 'not-running', local: true, findings, exitCode: exitCodeOf(findings, 'not-running') };
      }
      throw error;
    }
  } else endpoint = await resolveTarget({ url: options.url, dir: options.dir, passwordFile: options.passwordFile }, 'monitor');
  const target = dir?.root ?? formatRedisUrl(endpoint);
  const local = dir !== undefined || isLoopbackHost(endpoint.host);
  const { report } = await examine(endpoint, { target, dir, local, notes, timeoutMs, host: options.host });
  return report;
}

/** How to examine one server: what to call it, its files when they are known, the notes so far. */
export interface ExamineOptions {
  target: string;
  dir?: DirContext;
  /** the server is on this machine (the kernel checks may run) */
  local: boolean;
  notes?: Finding[];
  timeoutMs: number;
  host?: boolean;
}

/** Reaches one server, reads it and runs every check; the facts come back for topology checks. */
export async function examine(endpoint: Endpoint, o: ExamineOptions): Promise<{ report: DoctorReport; facts?: ServerFacts }> {
  const { target, dir, local, timeoutMs } = o;
  const probed = await probe(endpoint, timeoutMs);
  if ('failure' in probed) {
    const findings = [probed.failure];
    return { report: { target, reach: probed.reach, local, findings, exitCode: exitCodeOf(findings, probed.reach) } };
  }
  let facts: ServerFacts;
  try {
    facts = await withDeadline(Math.max(timeoutMs, 5000), () => collectFacts(probed.connection, endpoint, timeoutMs));
    await closeConnection(probed.connection);
  } catch (error) {
    // not a graceful close: it would wait for the replies of a server that has stopped answering
    probed.connection.destroy();
    const failure = classifyConnectError(error, endpoint, timeoutMs);
    const reach = failure.id === 'connection.busy' || failure.id === 'connection.loading' ? 'connected' : 'unreachable';
    return { report: { target, reach, local, findings: [failure], exitCode: exitCodeOf([failure], reach) } };
  }
  if (endpoint.password === undefined) facts.anonymous = 'open';
  const findings = [...(o.notes ?? []), ...serverFindings(facts, dir, local && o.host !== false)];
  const report: DoctorReport = {
    target,
    engine: describeEngine(facts.identity),
    role: isSentinel(facts.info) ? 'sentinel' : facts.info.role,
    reach: 'connected',
    local,
    findings,
    exitCode: exitCodeOf(findings, 'connected'),
  };
  return { report, facts };
}

/** What doctor says of a deployment made before the ops user existed (`up`: the command that adds it). */
export function noOpsUser(up: 'up' | 'up --topology'): Finding {
  return finding(
    'doctor.user',
    'info',
    'this deployment has no ops user: doctor reads as monitor, without CONFIG GET',
    'no "ops" in secrets.json',
    'the ops user',
    `add the ops user: re-run \`${up}\` with the current neurallog profile`,
  );
}

/** The ops user of the deployment; a deployment made before ops existed falls back to monitor, and says so. */
async function deploymentEndpoint(dir: string, notes: Finding[]): Promise<Endpoint> {
  try {
    return await endpointForDeployment(dir, 'ops');
  } catch (error) {
    if (!(error instanceof NeuralLogRedisError) || error.code !== 'E_USAGE') throw error;
    notes.push(noOpsUser('up'));
    return endpointForDeployment(dir, 'monitor');
  }
}

function serverFindings(facts: ServerFacts, dir: DirContext | undefined, host: boolean): Finding[] {
  const out: Finding[] = [];
  const sentinel = isSentinel(facts.info);
  if (facts.configError)
    out.push(
      finding(
        'doctor.config',
        'info',
        'CONFIG GET is refused to this user: the checks that need settings are partial',
        facts.configError,
        "the ops user (monitor's rights + CONFIG GET)",
        'run doctor with --dir (it uses ops), or --url redis://ops@host:port',
      ),
    );
  if (sentinel) out.push(...sentinelChecks(facts));
  else {
    out.push(loadingCheck(facts), ...memoryChecks(facts), ...clientChecks(facts));
    const dataPath = dir?.data ?? (host ? serverPath(facts, facts.config?.dir) : undefined);
    out.push(...persistenceChecks(facts, dataPath && existsSync(dataPath) ? dataDirFacts(dataPath) : undefined));
    out.push(...replicationChecks(facts), ...clusterChecks(facts), slowlogCheck(facts), latencyCheck(facts), errorCheck(facts));
  }
  out.push(...securityChecks(facts, dir ? renamedCommands(dir.conf) : []));
  const pid = Number(facts.info.process_id) || undefined;
  if (host) {
    // the kernel settings are about forking for saves and holding a dataset: a Sentinel does neither
    if (!sentinel) out.push(...kernelChecks(kernelFacts(pid), facts));
    const log = serverLog(dir, pid, facts);
    if (log) out.push(...logChecks(log));
  }
  return out;
}

/**
 * A path as the server sees it, read from here: through /proc/<pid>/root, the server's own root (the
 * same as ours unless it runs in a chroot or a container on this machine).
 */
function serverPath(facts: ServerFacts, path: string | undefined): string | undefined {
  if (!path) return undefined;
  const pid = Number(facts.info.process_id);
  const viaProc = pid > 0 ? join(`/proc/${pid}/root`, path) : path;
  return existsSync(viaProc) ? viaProc : path;
}

function serverLog(dir: DirContext | undefined, pid: number | undefined, facts: ServerFacts): LogFacts | undefined {
  const path = dir?.log ?? findLog(pid, serverPath(facts, facts.config?.logfile), serverPath(facts, facts.config?.dir));
  return path ? readLog(path) : undefined;
}

function renamedCommands(conf: string): string[] {
  try {
    return [...readFileSync(conf, 'utf8').matchAll(/^\s*rename-command\s+(\S+)/gim)].map((m) => m[1]!);
  } catch {
    return [];
  }
}

class CollectTimeout extends Error {}

async function withDeadline<T>(ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CollectTimeout(`timeout: reading the server took more than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
