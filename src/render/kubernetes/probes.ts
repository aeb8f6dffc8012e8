/**
 * What the probes, the preStop hook and the Compose healthcheck run, and the time budgets derived
 * from the model. Measured on Redis 7.0.15, 8.0.2 and Valkey 8.1.1 (docs/deploy.md): `redis-cli PING`
 * (valkey-cli for Valkey, the CLI its image ships) exits 0 whatever the server answers (PONG, NOAUTH,
 * LOADING), and exits 1 only when it cannot connect; so every check reads the reply. Passwords reach
 * the CLI through REDISCLI_AUTH (valkey-cli 8.1 reads the same variable) or a mounted file, never argv.
 */
import { cliProgram } from '../../config/engines.js';
import type { Deployment } from '../../config/schema.js';
import { PATHS, ROLE_USERS } from './names.js';

const MiB = 1024 * 1024;
/** RDB write rate assumed for the final save: a slow disk (measured here: ~80 MB/s). */
export const SAVE_BYTES_PER_SECOND = 32 * MiB;
/** Dataset load rate assumed at start: a slow disk and small keys (measured here: ~26 MB/s, 700k keys/s). */
export const LOAD_BYTES_PER_SECOND = 10 * MiB;
/** Redis 7.0's default shutdown-timeout: how long a shutdown waits for lagging replicas. */
const DEFAULT_SHUTDOWN_TIMEOUT = 10;

function cli(d: Deployment, user: string): string {
  return `${cliProgram(d.engine)} --user ${user} -p ${d.server.port}`;
}

/** Readiness: ready only when Redis answers PONG to the probe user (not NOAUTH, not LOADING). */
export function readinessScript(d: Deployment): string {
  return `test "$(${cli(d, ROLE_USERS.probe)} PING 2>/dev/null)" = PONG`;
}

/** Liveness: alive while Redis answers PONG, or is LOADING its dataset, or a replica waits for its master. */
export function livenessScript(d: Deployment): string {
  return `case "$(${cli(d, ROLE_USERS.probe)} PING 2>/dev/null)" in PONG|LOADING*|MASTERDOWN*) exit 0 ;; *) exit 1 ;; esac`;
}

/** preStop: SHUTDOWN SAVE as admin (password from the mounted Secret file): fsync the AOF, write the RDB, exit. */
export function preStopScript(d: Deployment, passwordFile: string = PATHS.adminPasswordFile): string {
  return `REDISCLI_AUTH="$(cat ${passwordFile})" exec ${cli(d, ROLE_USERS.shutdown)} SHUTDOWN SAVE`;
}

/** The data a pod may hold: maxmemory, or (unlimited) the memory limit. */
function datasetBytes(d: Deployment): number {
  return d.memory.maxmemory > 0 ? d.memory.maxmemory : d.container.memoryLimit;
}

function shutdownTimeout(d: Deployment): number {
  const set = d.extraDirectives.find((x) => x.name === 'shutdown-timeout');
  const n = set ? Number(set.args[0]) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : DEFAULT_SHUTDOWN_TIMEOUT;
}

export interface Budgets {
  /** seconds a shutdown may take: waiting for replicas plus writing the whole dataset */
  shutdownSeconds: number;
  /** terminationGracePeriodSeconds / stop_grace_period: the budget plus 30 s for the kubelet and clients */
  graceSeconds: number;
  /** seconds the startup probe allows for loading the whole data volume */
  startupSeconds: number;
  startupFailureThreshold: number;
}

export const STARTUP_PERIOD_SECONDS = 10;

export function budgets(d: Deployment): Budgets {
  const shutdownSeconds = shutdownTimeout(d) + Math.ceil(datasetBytes(d) / SAVE_BYTES_PER_SECOND);
  const startupSeconds = Math.max(300, Math.ceil(d.container.storage / LOAD_BYTES_PER_SECOND));
  return {
    shutdownSeconds,
    graceSeconds: shutdownSeconds + 30,
    startupSeconds,
    startupFailureThreshold: Math.ceil(startupSeconds / STARTUP_PERIOD_SECONDS),
  };
}
