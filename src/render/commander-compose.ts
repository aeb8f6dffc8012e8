/**
 * Redis Commander in the rendered Compose project: the guide's `redis-commander` service, pinned, on
 * 127.0.0.1:8081 (the guide publishes it on every interface, without a login; it has no HTTPS, so a
 * login typed over the network needs a TLS proxy in front), logged in as `commander`.
 *
 * Its node-config file is a Compose secret (secrets/redis-commander.json, 0600). Compose bind-mounts
 * file secrets with the host file's owner and mode, which the image's user (uid 10000) cannot read, so
 * the project's one-shot `redis-secrets` service copies it into a volume owned by that user, as it does
 * for Redis's and the backup's files.
 *
 * In a Sentinel or Cluster project (compose-ha.ts) it connects to the Sentinels (`sentinel-0`..) or to
 * the cluster seeds (`redis-0`..) by their service names, the names the nodes announce.
 */
import type { Deployment } from '../config/schema.js';
import type { Secrets } from './acl.js';
import {
  COMMANDER_CONFIG_FILE,
  COMMANDER_IMAGE,
  COMMANDER_PATHS,
  COMMANDER_PORT,
  COMMANDER_SECRET_KEY,
  COMMANDER_UID,
  commanderCommand,
  commanderConfigText,
  commanderEnvironment,
  hasCommander,
  type CommanderTarget,
} from './commander.js';
import type { RenderedFile } from './kubernetes/index.js';

/** The parts of a rendered Compose project this file extends. */
export interface ComposeProject {
  services: Record<string, Record<string, unknown>>;
  volumes: Record<string, unknown>;
  secrets: Record<string, unknown>;
}

/** the Compose service name the guide uses for Redis; the commander's connection names it */
export const COMPOSE_REDIS_HOST = 'redis';
const SECRET_NAME = 'redis_commander_json';
const VOLUME = 'commander-secrets';
const COPY_DIR = '/out/commander';

/** The lines the `redis-secrets` service runs to hand the config file to the image's user. */
export function commanderCopyScript(): string[] {
  return [
    `cp /run/secrets/${SECRET_NAME} ${COPY_DIR}/${COMMANDER_CONFIG_FILE}`,
    `chown -R ${COMMANDER_UID}:${COMMANDER_UID} ${COPY_DIR}`,
    `chmod 0700 ${COPY_DIR}`,
    `chmod 0400 ${COPY_DIR}/${COMMANDER_CONFIG_FILE}`,
  ];
}

/** Where the commander connects, and the services it starts after (besides `redis-secrets`). */
export interface ComposeCommanderPlace {
  target: CommanderTarget;
  dependsOn: Record<string, { condition: string }>;
}

/** The single-server project's: the guide's `redis` service, once healthy. */
export const SINGLE_SERVER_PLACE: ComposeCommanderPlace = { target: COMPOSE_REDIS_HOST, dependsOn: { redis: { condition: 'service_healthy' } } };

/** The `redis-commander` service. */
export function commanderService(
  hardening: Record<string, unknown>,
  dependsOn: ComposeCommanderPlace['dependsOn'] = SINGLE_SERVER_PLACE.dependsOn,
): Record<string, unknown> {
  return {
    image: COMMANDER_IMAGE,
    command: commanderCommand(),
    environment: commanderEnvironment(),
    ports: [`127.0.0.1:${COMMANDER_PORT}:${COMMANDER_PORT}`],
    volumes: [`${VOLUME}:${COMMANDER_PATHS.secretDir}:ro`],
    tmpfs: ['/tmp'],
    // the image's own check asks /healthcheck, which 0.9.0 does not serve; the page's icon needs no login
    healthcheck: {
      test: ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${COMMANDER_PORT}/favicon.png`],
      interval: '30s',
      timeout: '5s',
      retries: 3,
    },
    depends_on: { 'redis-secrets': { condition: 'service_completed_successfully' }, ...dependsOn },
    restart: 'unless-stopped',
    ...hardening,
  };
}

/**
 * Adds Redis Commander to `project` (when the model has its user) and returns the secret file to
 * write with the project. `project.services['redis-secrets']` must be the copying service.
 */
export function addComposeCommander(
  project: ComposeProject,
  d: Deployment,
  secrets: Secrets,
  hardening: Record<string, unknown>,
  place: ComposeCommanderPlace = SINGLE_SERVER_PLACE,
): RenderedFile[] {
  if (!hasCommander(d)) return [];
  const init = project.services['redis-secrets'];
  const entrypoint = init?.entrypoint;
  if (!init || !Array.isArray(entrypoint) || typeof entrypoint[2] !== 'string')
    throw new Error('the Compose project has no redis-secrets service running `sh -c SCRIPT`: the commander has nobody to copy its file');
  entrypoint[2] = `${entrypoint[2]}${commanderCopyScript().join('\n')}\n`;
  init.secrets = [...((init.secrets as string[] | undefined) ?? []), SECRET_NAME];
  init.volumes = [...((init.volumes as string[] | undefined) ?? []), `${VOLUME}:${COPY_DIR}`];
  project.services['redis-commander'] = commanderService(hardening, place.dependsOn);
  project.volumes[VOLUME] = {};
  project.secrets[SECRET_NAME] = { file: `./secrets/${COMMANDER_SECRET_KEY}` };
  return [{ path: `secrets/${COMMANDER_SECRET_KEY}`, content: commanderConfigText(d, secrets, place.target), secret: true }];
}
