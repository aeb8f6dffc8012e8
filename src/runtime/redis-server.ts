/**
 * Starting and stopping one real redis-server process. It runs in its own process group (so a
 * terminal's Ctrl-C reaches us, and we stop it in order), with umask 077 (so `ACL SAVE` and
 * `CONFIG REWRITE` keep files private), its output appended to a log file, and no secret in argv.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { closeConnection, openConnection, type Endpoint } from '../connect/index.js';
import { RuntimeError } from '../errors.js';
import { requireExecutable } from '../host/executables.js';
import { isAlive, sleep, waitFor } from '../host/index.js';

export interface StartOptions {
  /** the rendered redis.conf */
  confPath: string;
  /** redis-server's working directory (dump.rdb, appendonlydir) */
  dataDir: string;
  aclPath?: string;
  pidPath?: string;
  logPath: string;
  /** further `--name value` arguments (never secrets) */
  args?: string[];
  /** the server binary (redis-server, valkey-server or a wrapper running one); default redis-server on PATH */
  server?: string;
}

export interface StartedServer {
  pid: number;
  child: ChildProcess;
  /**
   * resolves with the exit code (or signal name) when the process ends; the child is unref'd, so a
   * caller that awaits this alone must `child.ref()` first to keep the event loop alive
   */
  exited: Promise<number | string>;
}

export function startRedisServer(options: StartOptions): StartedServer {
  const binary = options.server ?? requireExecutable('redis-server');
  const args = [options.confPath, '--dir', options.dataDir, '--daemonize', 'no', '--logfile', ''];
  if (options.aclPath) args.push('--aclfile', options.aclPath);
  if (options.pidPath) args.push('--pidfile', options.pidPath);
  args.push(...(options.args ?? []));
  const log = openSync(options.logPath, 'a', 0o600);
  const previousUmask = process.umask(0o077);
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { cwd: options.dataDir, detached: true, stdio: ['ignore', log, log] });
  } finally {
    process.umask(previousUmask);
    closeSync(log);
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', () => resolve('spawn-error'));
  });
  child.unref();
  if (child.pid === undefined) throw new RuntimeError(`could not start ${binary}`);
  return { pid: child.pid, child, exited };
}

/** The last lines of a log file, for error messages. */
export function tailLog(path: string, lines = 15): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export interface ReadyOptions {
  timeoutMs?: number;
  /** called once when the server answers LOADING */
  onLoading?: () => void;
  server?: StartedServer;
  logPath?: string;
}

/**
 * Waits until the server really serves: an authenticated PING answered PONG (not LOADING, not an
 * error). Fails early, with the server's last log lines, if the process exits.
 */
export async function waitUntilServing(endpoint: Endpoint, options: ReadyOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let exitCode: number | string | undefined;
  void options.server?.exited.then((code) => (exitCode = code));
  let loadingSeen = false;
  let lastError = '';
  while (Date.now() < deadline) {
    if (exitCode !== undefined || (options.server && !isAlive(options.server.pid))) {
      await sleep(50);
      const log = options.logPath ? tailLog(options.logPath) : '';
      throw new RuntimeError(`redis-server exited during start (exit ${exitCode ?? 'unknown'}).${log ? ` Its last log lines:\n${log}` : ''}`, 'E_START_FAILED');
    }
    try {
      const client = await openConnection(endpoint, { connectTimeoutMs: 1000 });
      try {
        const reply = await client.ping();
        if (reply === 'PONG') return;
        lastError = `unexpected reply to PING: ${reply}`;
      } finally {
        await closeConnection(client);
      }
    } catch (error) {
      lastError = (error as Error).message;
      if (/LOADING/.test(lastError) && !loadingSeen) {
        loadingSeen = true;
        options.onLoading?.();
      }
      if (/authentication failed|WRONGPASS|NOPERM/.test(lastError)) {
        throw new RuntimeError(`redis-server runs but refuses our credentials: ${lastError}`, 'E_START_FAILED', error);
      }
    }
    await sleep(loadingSeen ? 200 : 10);
  }
  throw new RuntimeError(`redis-server did not become ready in time (last answer: ${lastError || 'none'})`, 'E_START_TIMEOUT');
}

export interface StopOptions {
  /** SHUTDOWN SAVE (force an RDB) instead of plain SHUTDOWN */
  forceSave: boolean;
  timeoutMs?: number;
  logPath?: string;
}

/**
 * Stops a server in order: SHUTDOWN (it fsyncs the AOF and saves as configured) through an
 * authenticated connection; SIGTERM when no connection can be had. Resolves once the process is gone.
 */
export async function stopRedisServer(pid: number, endpoint: Endpoint | undefined, options: StopOptions): Promise<void> {
  if (!isAlive(pid)) return;
  let asked = false;
  if (endpoint) {
    try {
      const client = await openConnection(endpoint, { connectTimeoutMs: 2000 });
      try {
        await client.sendCommand(options.forceSave ? ['SHUTDOWN', 'SAVE'] : ['SHUTDOWN']);
      } catch (error) {
        const message = (error as Error).message ?? '';
        if (/ERR|Errors trying to SHUTDOWN/i.test(message)) {
          const log = options.logPath ? tailLog(options.logPath, 8) : '';
          throw new RuntimeError(`redis-server refused to shut down: ${message}${log ? `\n${log}` : ''}`, 'E_STOP_FAILED');
        }
        // the socket closing is the normal answer to SHUTDOWN
      } finally {
        try {
          client.destroy();
        } catch {
          // the server closed the connection first, as SHUTDOWN does
        }
      }
      asked = true;
    } catch (error) {
      if (error instanceof RuntimeError) throw error;
    }
  }
  if (!asked) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
  const gone = await waitFor(() => !isAlive(pid), options.timeoutMs ?? 120_000, 50);
  if (!gone) throw new RuntimeError(`redis-server (pid ${pid}) is still running after the shutdown request; see its log`, 'E_STOP_TIMEOUT');
}
