/** Small facts about processes on this machine (Linux /proc). */
import { readFileSync, readlinkSync } from 'node:fs';

/** True when `pid` is a live (not zombie) process. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** True when `pid` runs redis-server or valkey-server (argv[0] names it, as the server sets its process title). */
export function isRedisServer(pid: number): boolean {
  if (!isAlive(pid)) return false;
  const argv = commandLine(pid);
  if (argv.some((a) => /(redis|valkey)-server/.test(a))) return true;
  try {
    return /(redis|valkey)-(server|check-rdb|check-aof)$/.test(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return false;
  }
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return condition();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
