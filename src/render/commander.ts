/**
 * Redis Commander, the guide's web UI on port 8081 (`REDIS_HOSTS=local:redis:6379`, no login), made
 * safe: pinned (the image tag is the npm version the tests run), a login required, connecting as the
 * read-only `commander` ACL user, and its secrets in a node-config file rather than on argv.
 *
 * The image's entrypoint script turns REDIS_PASSWORD into `--redis-password` on the command line, and
 * REDIS_HOSTS has no user name; so the program is started directly (`node bin/redis-commander.js`,
 * under the image's dumb-init) and reads everything from `local-production.json` (node-config:
 * `local-<NODE_ENV>.json`, loaded after `default.json`) in a second config directory that holds the
 * secret file: NODE_CONFIG_DIR lists the image's own config directory first, then the secret's.
 * Pure functions: the model and the passwords in, the config file's text and the container's
 * environment out; `commander-compose.ts` and `kubernetes/commander.ts` place them.
 */
import { createHmac } from 'node:crypto';
import type { Deployment } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { Secrets } from './acl.js';

/** The npm version the tests run (package.json's devDependency) and the image tag that ships it. */
export const COMMANDER_VERSION = '0.9.0';
export const COMMANDER_IMAGE = `ghcr.io/joeferner/redis-commander:${COMMANDER_VERSION}`;
/** the guide's port */
export const COMMANDER_PORT = 8081;
/** the ACL user it connects as (config/profiles.ts) */
export const COMMANDER_USER = 'commander';
/** the name the UI's login asks for */
export const COMMANDER_LOGIN = 'commander';
/** the image's user (its Dockerfile: `adduser -u 10000`) */
export const COMMANDER_UID = 10000;
/** node-config reads `local-<NODE_ENV>.json` last of the files a directory may hold */
export const COMMANDER_CONFIG_FILE = 'local-production.json';
/** the file holding it in the Kubernetes Secret and in a Compose project's secrets/ */
export const COMMANDER_SECRET_KEY = 'redis-commander.json';
export const COMMANDER_PATHS = {
  /** the image's program; it changes to its own directory and reads config/default.json there */
  program: '/redis-commander/bin/redis-commander.js',
  imageConfigDir: '/redis-commander/config',
  secretDir: '/run/secrets/commander',
} as const;

/** Whether the model has the user Redis Commander logs in as (the neurallog profile does). */
export function hasCommander(d: Deployment): boolean {
  return d.security.users.some((u) => u.name === COMMANDER_USER && u.enabled && !u.nopass);
}

/**
 * The UI's login password, derived from the commander user's password (HMAC-SHA256): secret,
 * deterministic for a renderer, and it changes when that password is rotated. Whoever holds the
 * commander password reads the same keys through Redis anyway.
 */
export function commanderLoginPassword(commanderPassword: string): string {
  return createHmac('sha256', commanderPassword).update('neurallog-redis commander login').digest('base64url');
}

/** The container's command (after the image's dumb-init entrypoint): no argument carries a secret. */
export function commanderCommand(): string[] {
  return ['node', COMMANDER_PATHS.program];
}

/** The container's whole environment: which config files node-config reads, and nothing secret. */
export function commanderEnvironment(): Record<string, string> {
  return { NODE_ENV: 'production', NODE_CONFIG_DIR: `${COMMANDER_PATHS.imageConfigDir}:${COMMANDER_PATHS.secretDir}` };
}

/** A host and port the commander's container reaches. */
export interface CommanderEndpoint {
  host: string;
  port: number;
}

/**
 * Where the commander connects: one server (a host name, at the model's port), the Sentinels (it asks
 * them for the master named `topology.sentinel.masterName`, logging in to them as `commander` too), or
 * cluster seeds (it reads the slot map from one and connects to every master it names).
 */
export type CommanderTarget = string | { sentinels: CommanderEndpoint[] } | { clusterSeeds: CommanderEndpoint[] };

/** The one entry of `connections` (redis-commander's lib/util.js createRedisClient keys). */
function commanderConnection(d: Deployment, password: string, target: CommanderTarget): Record<string, unknown> {
  const login = { username: COMMANDER_USER, password, connectionName: 'redis-commander' };
  if (typeof target === 'string') return { label: d.name, host: target, port: d.server.port, dbIndex: 0, ...login };
  if ('sentinels' in target)
    return {
      label: d.name,
      sentinels: target.sentinels,
      sentinelName: d.topology.sentinel.masterName,
      sentinelUsername: COMMANDER_USER,
      sentinelPassword: password,
      dbIndex: 0,
      ...login,
    };
  return { label: d.name, clusters: target.clusterSeeds, dbIndex: 0, ...login };
}

/**
 * The node-config file (merged over the image's default.json). `target`: how the container reaches
 * Redis (the Compose service or the Kubernetes Service name; the Sentinels or the cluster seeds).
 * Besides the connection and the login: read-only mode (the UI refuses writes before the ACL does),
 * SCAN not KEYS, nothing saved back into a config file (the file is a read-only secret), no values in
 * its log, no SSO.
 */
export function commanderConfig(d: Deployment, secrets: Secrets, target: CommanderTarget): Record<string, unknown> {
  const password = secrets[COMMANDER_USER];
  if (password === undefined)
    throw new ConfigError(
      `the secrets hold no password for user "${COMMANDER_USER}" (Redis Commander's); give --secrets FILE (missing passwords are generated) or --dir of a deployment that has it`,
    );
  return {
    noSave: true,
    noLogData: true,
    redis: { readOnly: true, flushOnImport: false, useScan: true, scanCount: 1000, rootPattern: '*', connectionName: 'redis-commander' },
    server: {
      address: '0.0.0.0',
      port: COMMANDER_PORT,
      trustProxy: false,
      httpAuth: { username: COMMANDER_LOGIN, password: commanderLoginPassword(password), passwordHash: '', jwtSecret: '' },
    },
    sso: { enabled: false },
    connections: [commanderConnection(d, password, target)],
  };
}

export function commanderConfigText(d: Deployment, secrets: Secrets, target: CommanderTarget): string {
  return `${JSON.stringify(commanderConfig(d, secrets, target), null, 2)}\n`;
}
