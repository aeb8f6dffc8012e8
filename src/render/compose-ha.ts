/**
 * `render compose` for `topology.kind` sentinel and cluster: the shapes of the Kubernetes render as
 * Compose services. Sentinel: `redis-0` (master at first start), `redis-1`.. (replicas), `sentinel-0`..
 * with a writable sentinel.conf on a tmpfs; Cluster: `redis-0`.. with nodes.conf on their own
 * volume, and a one-shot `cluster-create`. Each node runs the same start script as in a pod (ha-scripts.ts),
 * with its service name as its announced hostname; the data nodes share the network alias `redis`,
 * so the backup service reaches one of them as in Kubernetes.
 *
 * As in the single-server render, a one-shot `redis-secrets` service copies the 0600 secret files
 * into volumes owned by the users that read them, and Redis Commander (commander-compose.ts) runs on
 * 127.0.0.1:8081, asking the Sentinels for the master or reading the cluster's slot map.
 */
import { cliProgram, serverProgram } from '../config/engines.js';
import type { Deployment } from '../config/schema.js';
import { renderAcl, type Secrets } from './acl.js';
import { hasCommander } from './commander.js';
import { addComposeCommander, type ComposeCommanderPlace } from './commander-compose.js';
import { composeBackupCommand } from './compose-backup.js';
import {
  POD_CONF,
  SENTINEL_CONF_KEY,
  SENTINEL_USERS_KEY,
  TOPOLOGY_CONF_KEY,
  sentinelConfTemplate,
  sentinelUsersConf,
  topologyConf,
} from './kubernetes/ha-conf.js';
import { HA_USERS, dataNodeCount, haPasswords, withTopologyUsers, type HaNet } from './kubernetes/ha-model.js';
import { clusterCreateScript, clusterNodeScript, sentinelNodeScript, sentinelScript } from './kubernetes/ha-scripts.js';
import { header, PATHS, REDIS_GID, REDIS_UID, ROLE_USERS, secretKey, TOOLS_GID, TOOLS_UID } from './kubernetes/names.js';
import { budgets, readinessScript } from './kubernetes/probes.js';
import type { RenderedFile } from './kubernetes/index.js';
import { renderRedisConf } from './redis-conf.js';
import { toYaml } from './yaml.js';

/** the guide's Compose mount point of redis.conf (as compose.ts); the templates sit next to it */
const CONF_DIR = '/usr/local/etc/redis';
const RUN_DIR = '/run/redis';

const escapeDollars = (text: string) => text.replaceAll('$', () => '$$');
const secretName = (file: string) => `redis_${file.replace(/[^A-Za-z0-9]/g, '_')}`;
const nodeName = (i: number) => `redis-${i}`;
const sentinelName = (i: number) => `sentinel-${i}`;

function composeNet(d: Deployment, role: 'data' | 'sentinel', ordinal: number): HaNet {
  const s = d.topology.sentinel;
  const sentinels = d.topology.kind === 'sentinel' ? s.sentinels : 0;
  return {
    ordinal: String(ordinal),
    self: role === 'data' ? nodeName(ordinal) : sentinelName(ordinal),
    selfPort: String(role === 'data' ? d.server.port : s.port),
    nodes: Array.from({ length: dataNodeCount(d) }, (_, i) => ({ host: nodeName(i), port: String(d.server.port) })),
    sentinels: Array.from({ length: sentinels }, (_, i) => ({ host: sentinelName(i), port: String(s.port) })),
    secretDir: PATHS.secretDir,
    runDir: RUN_DIR,
    dataDir: PATHS.data,
    configDir: CONF_DIR,
  };
}

const HARDENING = { read_only: true, cap_drop: ['ALL'], security_opt: ['no-new-privileges:true'] };
const AFTER_SECRETS = { 'redis-secrets': { condition: 'service_completed_successfully' } };
const runTmpfs = `${RUN_DIR}:uid=${REDIS_UID},gid=${REDIS_GID},mode=0700,size=1m`;

function healthcheck(test: string, startSeconds: number): Record<string, unknown> {
  return { test: ['CMD-SHELL', escapeDollars(test)], interval: '10s', timeout: '5s', retries: 3, start_period: `${startSeconds}s` };
}

function dataService(d: Deployment, i: number): Record<string, unknown> {
  const net = composeNet(d, 'data', i);
  const script = d.topology.kind === 'cluster' ? clusterNodeScript(d, net) : sentinelNodeScript(d, net);
  const server = [serverProgram(d.engine), `${CONF_DIR}/redis.conf`, '--include', `${CONF_DIR}/${TOPOLOGY_CONF_KEY}`, '--include', `${RUN_DIR}/${POD_CONF}`];
  const command = [...server, '--dir', PATHS.data, '--aclfile', PATHS.aclFile].join(' ');
  const b = budgets(d);
  return {
    image: d.container.image,
    entrypoint: ['sh', '-c', escapeDollars(`${script}exec ${command}\n`)],
    user: `${REDIS_UID}:${REDIS_GID}`,
    volumes: [
      `redis-data-${i}:${PATHS.data}`,
      `./redis.conf:${CONF_DIR}/redis.conf:ro`,
      `./${TOPOLOGY_CONF_KEY}:${CONF_DIR}/${TOPOLOGY_CONF_KEY}:ro`,
      `redis-secrets:${PATHS.secretDir}:ro`,
    ],
    tmpfs: [runTmpfs],
    networks: { default: { aliases: ['redis'] } },
    depends_on: AFTER_SECRETS,
    healthcheck: healthcheck(`export REDISCLI_AUTH="$(cat ${PATHS.secretDir}/${secretKey(ROLE_USERS.probe)})"; ${readinessScript(d)}`, b.startupSeconds),
    stop_grace_period: `${b.graceSeconds}s`,
    restart: 'unless-stopped',
    ...HARDENING,
  };
}

function sentinelService(d: Deployment, i: number): Record<string, unknown> {
  const net = composeNet(d, 'sentinel', i);
  const port = d.topology.sentinel.port;
  const ping = `test "$(${cliProgram(d.engine)} --user ${HA_USERS.sentinel} -p ${port} PING 2>/dev/null)" = PONG`;
  return {
    image: d.container.image,
    entrypoint: ['sh', '-c', escapeDollars(`${sentinelScript(d, net)}exec ${serverProgram(d.engine)} ${RUN_DIR}/${SENTINEL_CONF_KEY} --sentinel\n`)],
    user: `${REDIS_UID}:${REDIS_GID}`,
    volumes: [`./${SENTINEL_CONF_KEY}:${CONF_DIR}/${SENTINEL_CONF_KEY}:ro`, `redis-secrets:${PATHS.secretDir}:ro`],
    tmpfs: [runTmpfs],
    depends_on: AFTER_SECRETS,
    healthcheck: healthcheck(`export REDISCLI_AUTH="$(cat ${PATHS.secretDir}/${secretKey(HA_USERS.sentinel)})"; ${ping}`, 30),
    stop_grace_period: '30s',
    restart: 'unless-stopped',
    ...HARDENING,
  };
}

function clusterCreateService(d: Deployment): Record<string, unknown> {
  const script = `export REDISCLI_AUTH="$(cat ${PATHS.secretDir}/${secretKey(ROLE_USERS.shutdown)})"\n${clusterCreateScript(d, composeNet(d, 'data', 0))}`;
  return {
    image: d.container.image,
    entrypoint: ['sh', '-c', escapeDollars(script)],
    user: `${REDIS_UID}:${REDIS_GID}`,
    volumes: [`redis-secrets:${PATHS.secretDir}:ro`],
    depends_on: Object.fromEntries(Array.from({ length: dataNodeCount(d) }, (_, i) => [nodeName(i), { condition: 'service_healthy' }])),
    restart: 'no',
    ...HARDENING,
  };
}

/** Redis Commander's connection: every Sentinel (started after them), or every node as a cluster seed (after the bootstrap). */
function commanderPlace(d: Deployment): ComposeCommanderPlace {
  if (d.topology.kind === 'sentinel') {
    const s = d.topology.sentinel;
    const names = Array.from({ length: s.sentinels }, (_, i) => sentinelName(i));
    return {
      target: { sentinels: names.map((host) => ({ host, port: s.port })) },
      dependsOn: Object.fromEntries(names.map((n) => [n, { condition: 'service_healthy' }])),
    };
  }
  return {
    target: { clusterSeeds: Array.from({ length: dataNodeCount(d) }, (_, i) => ({ host: nodeName(i), port: d.server.port })) },
    dependsOn: { 'cluster-create': { condition: 'service_completed_successfully' } },
  };
}

function backupService(d: Deployment): Record<string, unknown> {
  return {
    image: d.deploy.toolsImage,
    command: composeBackupCommand(d),
    volumes: ['backups:/backups', `backup-secrets:${PATHS.backupSecretDir}:ro`],
    tmpfs: ['/tmp'],
    depends_on: { [nodeName(0)]: { condition: 'service_healthy' } },
    restart: 'unless-stopped',
    ...HARDENING,
  };
}

function secretsService(d: Deployment, redisFiles: string[], backupFiles: string[]): Record<string, unknown> {
  const copy = (files: string[], dir: string, uid: number, gid: number, mode: string) =>
    files.length === 0
      ? []
      : [
          ...files.map((f) => `cp /run/secrets/${secretName(f)} ${dir}/${f}`),
          `chown -R ${uid}:${gid} ${dir}`,
          `chmod 0750 ${dir}`,
          `chmod ${mode} ${files.map((f) => `${dir}/${f}`).join(' ')}`,
        ];
  const script = ['set -e', ...copy(redisFiles, '/out/redis', REDIS_UID, REDIS_GID, '0440'), ...copy(backupFiles, '/out/backup', TOOLS_UID, TOOLS_GID, '0400')];
  return {
    image: d.container.image,
    user: '0:0',
    entrypoint: ['sh', '-c', escapeDollars(`${script.join('\n')}\n`)],
    network_mode: 'none',
    secrets: [...redisFiles, ...backupFiles].map(secretName),
    volumes: ['redis-secrets:/out/redis', ...(backupFiles.length > 0 ? ['backup-secrets:/out/backup'] : [])],
  };
}

/** The Compose directory of a Sentinel or Cluster deployment (the model already passed the refusals). */
export function renderComposeHa(model: Deployment, secrets: Secrets): RenderedFile[] {
  const d = withTopologyUsers(model);
  const sentinel = d.topology.kind === 'sentinel';
  const passwords = haPasswords(d, secrets);
  const secretFiles: RenderedFile[] = [
    { path: 'secrets/users.acl', content: renderAcl(d, secrets), secret: true },
    ...(sentinel ? [{ path: `secrets/${SENTINEL_USERS_KEY}`, content: sentinelUsersConf(secrets, hasCommander(d)), secret: true }] : []),
    ...Object.entries(passwords)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([user, pw]) => ({ path: `secrets/${secretKey(user)}`, content: pw, secret: true })),
  ];
  const redisFiles = ['users.acl', ...[ROLE_USERS.probe, HA_USERS.replica].map(secretKey)];
  if (sentinel) redisFiles.push(secretKey(HA_USERS.sentinel), SENTINEL_USERS_KEY);
  else redisFiles.push(secretKey(ROLE_USERS.shutdown));
  const backupFiles = sentinel ? [secretKey(ROLE_USERS.backup)] : [];
  const services: Record<string, Record<string, unknown>> = { 'redis-secrets': secretsService(d, redisFiles, backupFiles) };
  const volumes: Record<string, unknown> = {};
  for (let i = 0; i < dataNodeCount(d); i++) {
    services[nodeName(i)] = dataService(d, i);
    volumes[`redis-data-${i}`] = {};
  }
  if (sentinel) {
    for (let i = 0; i < d.topology.sentinel.sentinels; i++) services[sentinelName(i)] = sentinelService(d, i);
    services.backup = backupService(d);
    volumes.backups = {};
  } else services['cluster-create'] = clusterCreateService(d);
  volumes['redis-secrets'] = {};
  if (sentinel) volumes['backup-secrets'] = {};
  const compose = {
    version: '3.9',
    services,
    volumes,
    secrets: Object.fromEntries([...redisFiles, ...backupFiles].map((f) => [secretName(f), { file: `./secrets/${f}` }])) as Record<string, unknown>,
  };
  secretFiles.push(...addComposeCommander(compose, d, secrets, HARDENING, commanderPlace(d)));
  const files: RenderedFile[] = [
    {
      path: 'docker-compose.yml',
      content: toYaml(compose, {
        header: [
          ...header(d),
          'Start with `docker-compose up -d` (or `docker compose up -d`) in this directory. Clients join this',
          `project's network: the nodes announce their service names (${sentinel ? 'Sentinels on port ' + d.topology.sentinel.port : 'cluster seeds redis-0..'}).`,
        ],
      }),
      secret: false,
    },
    { path: 'redis.conf', content: renderRedisConf(d), secret: false },
    { path: TOPOLOGY_CONF_KEY, content: topologyConf(d), secret: false },
  ];
  if (sentinel) files.push({ path: SENTINEL_CONF_KEY, content: sentinelConfTemplate(d), secret: false });
  return [...files, ...secretFiles];
}
