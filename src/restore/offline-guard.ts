/**
 * Is a server running on a data directory? An offline restore must never swap files under a live
 * redis-server (it would overwrite them at its next save or AOF rewrite). Two kinds of evidence:
 * a pid file naming a live redis-server, and any process whose working directory is the data
 * directory (redis-server chdirs into its `dir`), ourselves and the shells that started us excepted.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { commandLine, isAlive, isRedisServer } from '../host/index.js';

export interface RunningServer {
  pid: number;
  /** how we know, for the message */
  evidence: string;
  command: string;
}

/** Our own pid and our ancestors' (a shell sitting in the directory is not a server). */
function ownLineage(): Set<number> {
  const pids = new Set<number>([process.pid]);
  let pid = process.ppid;
  for (let i = 0; i < 64 && pid > 1 && !pids.has(pid); i++) {
    pids.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return pids;
}

function describe(pid: number): string {
  const argv = commandLine(pid);
  return argv.length ? argv.join(' ') : `pid ${pid}`;
}

/**
 * The first server found using `dataDir`, or undefined. `unreadable` collects redis-server pids whose
 * working directory we may not read (another user's process while we are not root).
 */
export function findRunningServer(dataDir: string, pidFiles: string[], unreadable: number[] = []): RunningServer | undefined {
  const dir = realpathSync(dataDir);
  for (const file of pidFiles) {
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && isRedisServer(pid)) return { pid, evidence: `the pid file ${file} names it`, command: describe(pid) };
  }
  const lineage = ownLineage();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined; // no /proc: only the pid files could tell
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (lineage.has(pid)) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES' && isRedisServer(pid)) unreadable.push(pid);
      continue;
    }
    if (cwd === dir && isAlive(pid)) return { pid, evidence: `its working directory is ${dir}`, command: describe(pid) };
  }
  return undefined;
}
