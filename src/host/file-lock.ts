/**
 * A lock file that two processes cannot both hold, even when both find the same dead holder.
 *
 * Taking: write our identity (pid, the process's start time, a random nonce) to a file of our own
 * and hard-link it to the lock's name; link() fails if the name exists, so exactly one taker wins.
 * A lock whose holder is gone (the pid is dead, or reused by a process that started at another time)
 * is broken under a second, short-lived lock (`NAME.break`): the breaker reads the lock again and
 * removes it only if it is still the same dead holder's, so a lock another taker has just made is
 * never removed. Releasing removes the lock only while it is still ours.
 *
 * Backups, `up` and `rotate-password` use it; each gives its own busy message.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { isAlive } from './processes.js';

export interface LockHolder {
  pid: number;
  /** the holder's start time in clock ticks since boot (/proc/PID/stat field 22), '' when unknown */
  startTime: string;
  nonce: string;
  /** what the holder is doing, for messages ("backup", "up", "rotate-password") */
  purpose: string;
}

export interface FileLock {
  path: string;
  holder: LockHolder;
  /** removes the lock if it is still ours (idempotent) */
  release(): void;
}

export interface TakeLockOptions {
  purpose: string;
  /** the error to throw when a live process holds the lock */
  busy(holder: LockHolder): Error;
}

/** A break lock older than this was left by a breaker that died in the few milliseconds it holds it. */
const BREAK_LOCK_STALE_MS = 10_000;
const ATTEMPTS = 50;

export function processStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

export function formatHolder(holder: LockHolder): string {
  return `${holder.pid} ${holder.startTime || '-'} ${holder.nonce} ${holder.purpose}\n`;
}

export function parseHolder(text: string): LockHolder | undefined {
  const [pid, startTime, nonce, purpose] = text.trim().split(/\s+/);
  // a lock written by an older release holds only a pid
  if (pid !== undefined && /^\d+$/.test(pid))
    return { pid: Number(pid), startTime: startTime === '-' ? '' : (startTime ?? ''), nonce: nonce ?? '', purpose: purpose ?? 'unknown' };
  return undefined;
}

/** The holder still runs: its pid is alive and, when both are known, started at the recorded time. */
export function holderAlive(holder: LockHolder): boolean {
  if (!isAlive(holder.pid)) return false;
  if (!holder.startTime) return true;
  const now = processStartTime(holder.pid);
  return now === '' || now === holder.startTime;
}

function readLock(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function youngerThan(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < ms;
  } catch {
    return false;
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Creates `path` holding `content` only if nothing is there; false when something is. */
function createExclusive(path: string, content: string, unique: string): boolean {
  try {
    linkSync(unique, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // file systems without hard links: O_EXCL create is as exclusive, only not atomic with its content
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EMLINK') {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, content);
        closeSync(fd);
        return true;
      } catch (inner) {
        if ((inner as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw inner;
      }
    }
    throw error;
  }
}

/** Removes the lock at `path` if it still holds exactly `staleContent`. */
export function breakStaleLock(path: string, staleContent: string): void {
  const breakPath = `${path}.break`;
  let fd: number;
  try {
    fd = openSync(breakPath, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    try {
      if (Date.now() - statSync(breakPath).mtimeMs > BREAK_LOCK_STALE_MS) rmSync(breakPath, { force: true });
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
    if (readLock(path) === staleContent) unlinkSync(path);
  } finally {
    closeSync(fd);
    rmSync(breakPath, { force: true });
  }
}

/** Takes the lock at `path`, breaking a dead holder's; throws `busy(holder)` while a live one holds it. */
export function takeLock(path: string, options: TakeLockOptions): FileLock {
  const holder: LockHolder = { pid: process.pid, startTime: processStartTime(process.pid), nonce: randomBytes(8).toString('hex'), purpose: options.purpose };
  const content = formatHolder(holder);
  const unique = `${path}.${holder.pid}.${holder.nonce}`;
  const fd = openSync(unique, 'wx', 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (createExclusive(path, content, unique)) {
        let released = false;
        return {
          path,
          holder,
          release() {
            if (released) return;
            released = true;
            if (readLock(path) === content) rmSync(path, { force: true });
          },
        };
      }
      const current = readLock(path);
      if (current === undefined) continue;
      const other = parseHolder(current);
      if (other && holderAlive(other)) throw options.busy(other);
      // unparseable: perhaps a holder on a file system without hard links that has not written yet
      if (!other && youngerThan(path, 2000)) {
        pause(50);
        continue;
      }
      // a dead holder's lock (or an unreadable one): break it, unless someone else is doing so
      breakStaleLock(path, current);
      pause(5 + Math.floor(Math.random() * 20));
    }
  } finally {
    rmSync(unique, { force: true });
  }
  const last = parseHolder(readLock(path) ?? '');
  throw options.busy(last ?? { pid: 0, startTime: '', nonce: '', purpose: 'unknown' });
}
