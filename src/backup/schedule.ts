/**
 * `backup --every`: a job run at a fixed interval, measured from the start of one run to the start of
 * the next, until a signal aborts it. A run that fails does not stop the schedule; the next interval
 * tries again. The waits use node:timers/promises, which removes its abort listener when a wait ends,
 * so the signal never holds more than one (one per interval piled up: MaxListenersExceededWarning).
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Waits `ms`, or less when `signal` aborts (it resolves then, it does not reject). */
export async function waitOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

export interface ScheduleOptions {
  intervalMs: number;
  signal: AbortSignal;
  /** one run; it should give up when `signal` aborts */
  run: (signal: AbortSignal) => Promise<void>;
  /** a run failed (not by the abort); the schedule goes on */
  onFailure: (error: unknown) => void;
}

/** Runs `run` every `intervalMs` until `signal` aborts. Resolves to whether the last finished run succeeded. */
export async function runEvery({ intervalMs, signal, run, onFailure }: ScheduleOptions): Promise<boolean> {
  let lastOk = true;
  while (!signal.aborted) {
    const started = Date.now();
    try {
      await run(signal);
      lastOk = true;
    } catch (error) {
      if (signal.aborted) break;
      lastOk = false;
      onFailure(error);
    }
    await waitOrAbort(Math.max(0, intervalMs - (Date.now() - started)), signal);
  }
  return lastOk;
}
