/**
 * `up` for a Sentinel or Cluster topology: real redis-server/valkey-server nodes and redis-sentinel/
 * valkey-sentinel processes on this machine, each under nodes/<name>/ of the deployment directory,
 * recorded in topology.json. Idempotent: a second `up` reports what runs and starts only the nodes
 * that are down, a data node of a Sentinel topology as a replica of the current master.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { isYamlPath, loadConfig } from '../config/index.js';
import type { Deployment } from '../config/schema.js';
import { type TopologyKind } from '../config/topology.js';
import { withTopologyUsers } from '../config/topology-users.js';
import { clientHost, ensureSecrets, isDeploymentDir, readDeploymentModel, writePrivateFile, writeSecrets, type DeploymentPaths } from '../connect/index.js';
import type { LocatedServer } from '../engine/binaries.js';
import type { EngineIdentity } from '../engine/identity.js';
import { UsageError } from '../errors.js';
import { isAlive } from '../host/index.js';
import { renderAcl, renderNodeConf, renderRedisConf, renderSentinelConf, usersNeedingPasswords } from '../render/index.js';
import { modelHasAdminLogin } from './admin-access.js';
import { portInUse } from './ports.js';
import { waitUntilServing, type StartedServer } from './redis-server.js';
import { assertServerAccepts, rememberServer } from './server-choice.js';
import { clusterUnformed, createCluster, waitClusterOk } from './topology-cluster.js';
import {
  ensureNodeDirs,
  nodePaths,
  plannedTopology,
  readTopology,
  SENTINEL_SECRET,
  topologyPath,
  writeTopology,
  type TopologyNode,
  type TopologyProcess,
  type TopologyRecord,
} from './topology-layout.js';
import { livePid, nodeEndpoint, sentinelEndpoint, siblingProgram, startNode } from './topology-nodes.js';
import { currentMaster, liveRoles, waitReplicasLinked, waitSentinelsReady } from './topology-sentinel.js';

export interface TopologyUpOptions {
  dir: string;
  port?: number;
  bind?: string[];
  config?: string;
  server?: string;
  /** overrides the model's topology.kind */
  topology?: TopologyKind;
  allowInsecure?: boolean;
  readyTimeoutMs?: number;
  onProgress?: (line: string) => void;
}

export interface TopologyUpResult {
  alreadyRunning: boolean;
  dir: string;
  kind: 'sentinel' | 'cluster';
  masterName?: string;
  /** names of the processes this call started */
  started: string[];
  clusterCreated: boolean;
  sentinels: TopologyProcess[];
  nodes: TopologyNode[];
  topologyFile: string;
  users: string[];
  secretsFile: string;
  createdPasswords: string[];
  engine: EngineIdentity['engine'];
  engineVersion: string;
  serverPath: string;
}

export type ModelResolver = (
  paths: DeploymentPaths,
  options: Pick<TopologyUpOptions, 'config' | 'port' | 'bind'>,
  server?: EngineIdentity,
) => { model: Deployment; confSecrets: Record<string, string> };

type Secrets = Record<string, string>;

/** Refuses a topology that cannot fail over safely, or that loses data when a node restarts, before anything starts. */
export function refuseUnsafeTopology(model: Deployment, options: Pick<TopologyUpOptions, 'allowInsecure'>): void {
  const t = model.topology;
  const problems: string[] = [];
  if (t.kind === 'sentinel') {
    if (t.sentinel.sentinels < 3)
      problems.push(
        `${t.sentinel.sentinels} Sentinel(s): with fewer than 3, losing one leaves no majority to authorize a failover (set topology.sentinel.sentinels: 3)`,
      );
    if (t.sentinel.quorum > t.sentinel.sentinels)
      problems.push(
        `quorum ${t.sentinel.quorum} is above the ${t.sentinel.sentinels} Sentinels: the master could never be judged down (set topology.sentinel.quorum: ${Math.floor(t.sentinel.sentinels / 2) + 1})`,
      );
    if (t.sentinel.replicas < 1) problems.push('no replica: there is nothing to fail over to (set topology.sentinel.replicas: 2)');
  }
  if (t.kind === 'cluster') {
    if (t.cluster.masters < 3) problems.push(`${t.cluster.masters} master(s): redis-cli --cluster create needs 3 or more (set topology.cluster.masters: 3)`);
    if (t.cluster.replicasPerMaster < 1) problems.push('no replica per master: a master lost loses its slots (set topology.cluster.replicasPerMaster: 1)');
  }
  if (!model.persistence.appendonly && model.persistence.save.length === 0)
    problems.push('persistence is off: a restarted master comes back empty and its replicas resync to nothing (enable persistence.appendonly)');
  const insecure = model.security.users.filter((u) => u.enabled && u.nopass).map((u) => u.name);
  if (insecure.length > 0 && !options.allowInsecure) problems.push(`users ${insecure.join(', ')} have nopass (give them passwords, or pass --allow-insecure)`);
  if (!modelHasAdminLogin(model)) problems.push('the model has no enabled "admin" user with +@all and a password (the neurallog profile has one)');
  if (problems.length > 0) throw new UsageError(`refusing to start this ${t.kind} topology (nothing was started):\n  ${problems.join('\n  ')}`);
}

/** Called with the deployment lock held (deployment.ts). */
export async function upTopologyLocked(
  paths: DeploymentPaths,
  options: TopologyUpOptions,
  resolve: ModelResolver,
  located: LocatedServer,
): Promise<TopologyUpResult> {
  const resolved = resolve(paths, options, located.identity);
  if (options.topology) resolved.model.topology.kind = options.topology;
  const model = withTopologyUsers(resolved.model);
  const kind = model.topology.kind;
  if (kind === 'single') throw new UsageError('this deployment runs one server; `up` without --topology starts it');
  const existing = readTopology(paths.root);
  if (existing && existing.kind !== kind)
    throw new UsageError(`${paths.root} holds a ${existing.kind} topology; stop it with \`down\` and use another --dir for a ${kind} one`);
  refuseUnsafeTopology(model, options);
  assertServerAccepts(renderRedisConf(model), model, located);
  const { secrets, created } = prepareSecrets(paths, model, resolved.confSecrets);
  writeFileSync(paths.model, `${JSON.stringify(model, null, 2)}\n`, { mode: 0o600 });
  rememberServer(paths.root, located);
  const record = existing ?? plannedTopology(model, clientHost(model.server.bind));
  const run = await runTopology(paths, model, secrets, record, located, options, existing !== undefined);
  return {
    alreadyRunning: run.started.length === 0,
    dir: paths.root,
    kind,
    ...(record.masterName !== undefined ? { masterName: record.masterName } : {}),
    started: run.started,
    clusterCreated: run.clusterCreated,
    sentinels: record.sentinels,
    nodes: record.nodes,
    topologyFile: topologyPath(paths.root),
    users: model.security.users.filter((u) => u.enabled).map((u) => u.name),
    secretsFile: paths.secrets,
    createdPasswords: created,
    engine: located.identity.engine,
    engineVersion: located.identity.version,
    serverPath: located.path,
  };
}

function prepareSecrets(paths: DeploymentPaths, model: Deployment, confSecrets: Secrets): { secrets: Secrets; created: string[] } {
  const names = [...usersNeedingPasswords(model), ...(model.topology.kind === 'sentinel' ? [SENTINEL_SECRET] : [])];
  const { secrets, created } = ensureSecrets(paths.secrets, names);
  if (Object.keys(confSecrets).length > 0) {
    Object.assign(secrets.users, confSecrets);
    writeSecrets(paths.secrets, secrets);
  }
  return { secrets: secrets.users, created };
}

async function requireFree(node: TopologyProcess, cluster: boolean): Promise<void> {
  for (const port of cluster ? [node.port, node.port + 10000] : [node.port]) {
    if (await portInUse(port, node.host))
      throw new UsageError(
        `port ${port} on ${node.host} (for ${node.name}) is already in use by another program; choose other ports with --port (and topology.sentinel.port)`,
        'E_PORT_IN_USE',
      );
  }
}

interface RunOutcome {
  started: string[];
  clusterCreated: boolean;
}

/** Starts what is down, forms the cluster or waits for the Sentinels, and records the result. */
async function runTopology(
  paths: DeploymentPaths,
  model: Deployment,
  secrets: Secrets,
  record: TopologyRecord,
  located: LocatedServer,
  options: TopologyUpOptions,
  existed: boolean,
): Promise<RunOutcome> {
  const say = options.onProgress ?? (() => undefined);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  const cluster = record.kind === 'cluster';
  const alive = new Set<string>();
  for (const n of record.nodes) if ((n.pid = livePid(paths.root, n))) alive.add(n.name);
  for (const s of record.sentinels) if ((s.pid = livePid(paths.root, s, true))) alive.add(s.name);
  const master = cluster ? undefined : existed ? await currentMaster(paths.root, record, secrets, alive) : record.nodes[0]!;
  const started: { name: string; server: StartedServer }[] = [];
  try {
    for (const node of record.nodes.filter((n) => !alive.has(n.name))) {
      await requireFree(node, cluster);
      writeNodeFiles(paths.root, model, secrets, node, master && master.name !== node.name ? master : undefined);
      say(`starting ${node.name} on ${node.host}:${node.port}${master ? (master.name === node.name ? ' (master)' : ` (replica of ${master.name})`) : ''} ...`);
      const server = startNode(paths.root, node, located.path);
      node.pid = server.pid;
      started.push({ name: node.name, server });
    }
    await Promise.all(
      started.map(({ name, server }) => {
        const node = record.nodes.find((n) => n.name === name)!;
        return waitUntilServing(nodeEndpoint(model, secrets, node), {
          server,
          logPath: nodePaths(paths.root, name).log,
          timeoutMs: Math.max(1000, deadline - Date.now()),
        });
      }),
    );
    let clusterCreated = false;
    if (cluster) clusterCreated = await formCluster(model, secrets, record, located, deadline, say);
    else await runSentinels(paths.root, model, secrets, record, master!, located, alive, started, deadline, say);
    const roles = await liveRoles(model, secrets, record.nodes);
    for (const n of record.nodes) n.role = roles.get(n.name) ?? n.role;
    writeTopology(paths.root, record);
    return { started: started.map((s) => s.name), clusterCreated };
  } catch (error) {
    for (const { server } of started) if (isAlive(server.pid)) process.kill(server.pid, 'SIGTERM');
    throw error;
  }
}

function writeNodeFiles(root: string, model: Deployment, secrets: Secrets, node: TopologyNode, replicaOf?: TopologyProcess): void {
  const paths = nodePaths(root, node.name);
  ensureNodeDirs(paths);
  const conf = renderNodeConf(model, {
    port: node.port,
    masterauth: secrets.replica!,
    cluster: model.topology.kind === 'cluster',
    ...(replicaOf ? { replicaOf: { host: replicaOf.host, port: replicaOf.port } } : {}),
  });
  writePrivateFile(paths.conf, conf);
  writePrivateFile(paths.acl, renderAcl(model, secrets));
}

async function formCluster(
  model: Deployment,
  secrets: Secrets,
  record: TopologyRecord,
  located: LocatedServer,
  deadline: number,
  say: (line: string) => void,
): Promise<boolean> {
  let created = false;
  if (await clusterUnformed(model, secrets, record.nodes)) {
    const cli = siblingProgram(located.path, 'cli');
    say(
      `creating the cluster: ${model.topology.cluster.masters} masters, ${model.topology.cluster.replicasPerMaster} replica(s) each (${cli} --cluster create) ...`,
    );
    await createCluster(model, secrets, cli, record.nodes);
    created = true;
  }
  say('waiting for cluster_state ok on every node ...');
  await waitClusterOk(model, secrets, record.nodes, deadline);
  // cluster_state turns ok before the replicas' first sync is done (redis-cli assigns them last, and a
  // master starts the sync on its next cron tick): `doctor` right after `up` saw links still down
  say('waiting for the replicas to link to their masters ...');
  await waitReplicasLinked(model, secrets, record.nodes, deadline);
  return created;
}

async function runSentinels(
  root: string,
  model: Deployment,
  secrets: Secrets,
  record: TopologyRecord,
  master: TopologyNode,
  located: LocatedServer,
  alive: ReadonlySet<string>,
  started: { name: string; server: StartedServer }[],
  deadline: number,
  say: (line: string) => void,
): Promise<void> {
  say('waiting for the replicas to link to the master ...');
  await waitReplicasLinked(
    model,
    secrets,
    record.nodes.filter((n) => n.name !== master.name),
    deadline,
  );
  const binary = siblingProgram(located.path, 'sentinel');
  const fresh: { s: TopologyProcess; server: StartedServer }[] = [];
  for (const s of record.sentinels.filter((x) => !alive.has(x.name))) {
    await requireFree(s, false);
    const paths = nodePaths(root, s.name, true);
    ensureNodeDirs(paths);
    // Sentinel keeps what it learns (failovers, epochs, its id) in its file: a restart keeps it
    if (!existsSync(paths.conf))
      writePrivateFile(
        paths.conf,
        renderSentinelConf(model, { port: s.port, bind: [s.host], master, authPass: secrets.sentinel!, sentinelPass: secrets[SENTINEL_SECRET]! }),
      );
    say(`starting ${s.name} on ${s.host}:${s.port} ...`);
    const server = startNode(root, s, binary, true);
    s.pid = server.pid;
    started.push({ name: s.name, server });
    fresh.push({ s, server });
  }
  await Promise.all(
    fresh.map(({ s, server }) =>
      waitUntilServing(sentinelEndpoint(secrets, s), { server, logPath: nodePaths(root, s.name, true).log, timeoutMs: Math.max(1000, deadline - Date.now()) }),
    ),
  );
  say('waiting for the Sentinels to see the replicas and each other ...');
  await waitSentinelsReady(model, secrets, record, deadline);
}

/**
 * The topology an `up` asks for: --topology; else what the directory runs (topology.json, then its
 * stored model); else a YAML --config's; else one server.
 */
export function requestedTopology(paths: DeploymentPaths, options: Pick<TopologyUpOptions, 'topology' | 'config'>): TopologyKind {
  const record = readTopology(paths.root);
  if (options.topology && record && record.kind !== options.topology)
    throw new UsageError(`${paths.root} holds a ${record.kind} topology; stop it with \`down\` and use another --dir for a ${options.topology} one`);
  if (options.topology) return options.topology;
  if (record) return record.kind;
  if (options.config && isYamlPath(options.config)) return loadConfig(options.config).deployment.topology.kind;
  if (isDeploymentDir(paths.root)) return readDeploymentModel(paths).topology.kind;
  return 'single';
}
