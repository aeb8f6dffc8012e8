/**
 * A backup's scheduling priority (`backup --nice`): on a host it shares with Redis, the server's
 * processes should win when both want a CPU.
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Lowers the scheduling priority of this process to `nice` (0-19), never raises it. On Linux a
 * priority belongs to a thread: every thread running now (libuv's pool, V8's helpers) is lowered, and
 * threads and helper programs started later inherit it.
 */
export function lowerPriority(nice: number): void {
  let threads: number[] = [];
  try {
    threads = readdirSync('/proc/self/task')
      .map(Number)
      .filter((tid) => tid > 0 && tid !== process.pid);
  } catch {
    // no /proc: the main thread only
  }
  for (const tid of [0, ...threads]) {
    try {
      if (nice > getPriority(tid)) setPriority(tid, nice);
    } catch {
      // not permitted here (some containers), or the thread has ended: leave it as it is
    }
  }
}
