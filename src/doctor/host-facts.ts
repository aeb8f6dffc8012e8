/**
 * Facts from the machine the server runs on, read only when doctor runs there (a loopback target or
 * --dir): the kernel settings Redis warns about, the server process's swap, the data directory's files
 * and free space (statfs), and the server's log (its `logfile`, or the file its stdout goes to).
 */
import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface KernelFacts {
  /** /proc/sys/vm/overcommit_memory */
  overcommit?: string;
  /** /sys/kernel/mm/transparent_hugepage/enabled, e.g. "always [madvise] never" */
  thp?: string;
  somaxconn?: number;
  clocksource?: string;
  /** VmSwap of the server process, kB */
  serverSwapKb?: number;
}

export type DataDirFacts = { path: string; files: { name: string; size: number }[]; freeBytes: number; totalBytes: number } | { path: string; error: string };

export interface LogFacts {
  path: string;
  /** the last lines (up to 2000) */
  lines: string[];
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function kernelFacts(pid: number | undefined, root = '/'): KernelFacts {
  const at = (p: string) => join(root, p);
  const somaxconn = readText(at('proc/sys/net/core/somaxconn'));
  const status = pid ? readText(at(`proc/${pid}/status`)) : undefined;
  const swap = status ? /^VmSwap:\s+(\d+)/m.exec(status)?.[1] : undefined;
  return {
    overcommit: readText(at('proc/sys/vm/overcommit_memory')),
    thp: readText(at('sys/kernel/mm/transparent_hugepage/enabled')),
    somaxconn: somaxconn === undefined ? undefined : Number(somaxconn),
    clocksource: readText(at('sys/devices/system/clocksource/clocksource0/current_clocksource')),
    serverSwapKb: swap === undefined ? undefined : Number(swap),
  };
}

/** The data files (RDB, AOF directory, temp files) and the file system's free space. */
export function dataDirFacts(path: string): DataDirFacts {
  try {
    const files = readdirSync(path, { withFileTypes: true })
      .filter((e) => /\.rdb$|\.aof$|^appendonlydir$|^temp-|\.conf$/.test(e.name))
      .map((e) => ({ name: e.isDirectory() ? `${e.name}/` : e.name, size: e.isDirectory() ? dirSize(join(path, e.name)) : statSync(join(path, e.name)).size }));
    const fs = statfsSync(path);
    return { path, files, freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
  } catch (error) {
    return { path, error: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  }
}

function dirSize(path: string): number {
  try {
    return readdirSync(path).reduce((sum, name) => sum + statSync(join(path, name)).size, 0);
  } catch {
    return 0;
  }
}

/** The server's log: `logfile` when set, else the regular file its stdout goes to (how `up` runs it). */
export function findLog(pid: number | undefined, logfile: string | undefined, dir: string | undefined): string | undefined {
  if (logfile) return logfile.startsWith('/') || !dir ? logfile : join(dir, logfile);
  if (!pid) return undefined;
  try {
    const target = readlinkSync(`/proc/${pid}/fd/1`);
    return target.startsWith('/') && statSync(target).isFile() ? target : undefined;
  } catch {
    return undefined;
  }
}

/** The log's last lines, reading at most its last 1 MiB. */
export function readLog(path: string): LogFacts | undefined {
  try {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const tail = Buffer.alloc(Math.min(size, 1024 * 1024));
      readSync(fd, tail, 0, tail.length, size - tail.length);
      return { path, lines: tail.toString('utf8').split('\n').slice(-2000) };
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}
