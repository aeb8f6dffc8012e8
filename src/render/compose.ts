/**
 * `render compose`: the guide's Compose service from the same model as `up` and `render kubernetes`,
 * in a directory: docker-compose.yml, redis.conf (exactly `render conf`), and secrets/ (0600 files).
 *
 * Compose (file format 3.9, accepted by Debian's docker-compose 1.29.2 and by Compose v2) bind-mounts
 * file secrets with the host file's owner and mode, so a 0600 file is unreadable to Redis's uid 999.
 * A one-shot `redis-secrets` service (the Redis image, as root, no network) therefore copies them into
 * two volumes owned by the users that read them; Redis and the backup service start after it.
 */
import type { Deployment } from '../config/schema.js';
import { redisCommand } from './kubernetes/statefulset.js';
import { renderAcl, type Secrets } from './acl.js';
import { addComposeCommander } from './commander-compose.js';
import { composeBackupCommand } from './compose-backup.js';
import { renderComposeHa } from './compose-ha.js';
import { header, PATHS, REDIS_GID, REDIS_UID, ROLE_USERS, secretKey, TOOLS_GID, TOOLS_UID } from './kubernetes/names.js';
import { budgets, readinessScript } from './kubernetes/probes.js';
import { assertRenderable } from './kubernetes/refuse.js';
import { secretPasswords, type RenderedFile } from './kubernetes/index.js';
import { renderRedisConf } from './redis-conf.js';
import { toYaml } from './yaml.js';

/** Where the guide's Compose service mounts redis.conf; kept. */
export const COMPOSE_CONF_PATH = '/usr/local/etc/redis/redis.conf';
export const COMPOSE_FILE = 'docker-compose.yml';

/** `$` must be written `$$` in a Compose file, or Compose substitutes it from the environment. */
const escapeDollars = (text: string) => text.replaceAll('$', () => '$$');

const secretName = (file: string) => `redis_${file.replace(/[^A-Za-z0-9]/g, '_')}`;

export function composeHealthcheck(d: Deployment): string {
  // exported first: a prefix assignment would not reach the CLI inside $(...)
  return `export REDISCLI_AUTH="$(cat ${PATHS.secretDir}/${secretKey(ROLE_USERS.probe)})"; ${readinessScript(d)}`;
}

export function renderCompose(d: Deployment, secrets: Secrets): RenderedFile[] {
  assertRenderable(d, 'compose');
  if (d.topology.kind !== 'single') return renderComposeHa(d, secrets);
  const conf = renderRedisConf(d);
  const passwords = secretPasswords(d, secrets);
  const secretFiles: RenderedFile[] = [
    { path: 'secrets/users.acl', content: renderAcl(d, secrets), secret: true },
    ...Object.entries(passwords)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([user, pw]) => ({ path: `secrets/${secretKey(user)}`, content: pw, secret: true })),
  ];
  const redisSecrets = ['users.acl', secretKey(ROLE_USERS.probe)];
  const backupSecrets = [secretKey(ROLE_USERS.backup)];
  const copy = (files: string[], dir: string, uid: number, gid: number, mode: string) => [
    ...files.map((f) => `cp /run/secrets/${secretName(f)} ${dir}/${f}`),
    `chown -R ${uid}:${gid} ${dir}`,
    `chmod 0750 ${dir}`,
    `chmod ${mode} ${files.map((f) => `${dir}/${f}`).join(' ')}`,
  ];
  const initScript = [
    'set -e',
    ...copy(redisSecrets, '/out/redis', REDIS_UID, REDIS_GID, '0440'),
    ...copy(backupSecrets, '/out/backup', TOOLS_UID, TOOLS_GID, '0400'),
  ].join('\n');
  const b = budgets(d);
  const hardening = { read_only: true, cap_drop: ['ALL'], security_opt: ['no-new-privileges:true'] };
  const compose = {
    version: '3.9',
    services: {
      'redis-secrets': {
        image: d.container.image,
        user: '0:0',
        entrypoint: ['sh', '-c', escapeDollars(`${initScript}\n`)],
        network_mode: 'none',
        secrets: [...redisSecrets, ...backupSecrets].map(secretName),
        volumes: ['redis-secrets:/out/redis', 'backup-secrets:/out/backup'],
      },
      redis: {
        image: d.container.image,
        command: [redisCommand(d)[0]!, COMPOSE_CONF_PATH, '--dir', PATHS.data, '--aclfile', PATHS.aclFile],
        user: `${REDIS_UID}:${REDIS_GID}`,
        ports: [`127.0.0.1:${d.server.port}:${d.server.port}`],
        volumes: ['redis-data:/data', `./redis.conf:${COMPOSE_CONF_PATH}:ro`, `redis-secrets:${PATHS.secretDir}:ro`],
        depends_on: { 'redis-secrets': { condition: 'service_completed_successfully' } },
        healthcheck: {
          test: ['CMD-SHELL', escapeDollars(composeHealthcheck(d))],
          interval: '10s',
          timeout: '5s',
          retries: 3,
          start_period: `${b.startupSeconds}s`,
        },
        stop_grace_period: `${b.graceSeconds}s`,
        restart: 'unless-stopped',
        ...hardening,
      },
      backup: {
        image: d.deploy.toolsImage,
        command: composeBackupCommand(d),
        volumes: ['backups:/backups', `backup-secrets:${PATHS.backupSecretDir}:ro`],
        tmpfs: ['/tmp'],
        depends_on: { redis: { condition: 'service_healthy' } },
        restart: 'unless-stopped',
        ...hardening,
      },
    },
    volumes: { 'redis-data': {}, backups: {}, 'redis-secrets': {}, 'backup-secrets': {} },
    secrets: Object.fromEntries([...redisSecrets, ...backupSecrets].map((f) => [secretName(f), { file: `./secrets/${f}` }])),
  };
  const commanderFiles = addComposeCommander(compose, d, secrets, hardening);
  return [
    {
      path: COMPOSE_FILE,
      content: toYaml(compose, { header: [...header(d), 'Start with `docker-compose up -d` (or `docker compose up -d`) in this directory.'] }),
      secret: false,
    },
    { path: 'redis.conf', content: conf, secret: false },
    ...secretFiles,
    ...commanderFiles,
  ];
}
