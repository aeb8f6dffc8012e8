/**
 * Waiting on a target through INFO: one poll loop for every wait of a restore (a replace's transfer
 * and load, its AOF rewrite), with the deadline, the silence a target may keep, and the abort signal
 * handled in one place and in one order.
 */
import { setTimeout as delay } from 'node:timers/promises';
// connect's own files, not its index (which brings the deployment schema: docs/architecture.md)
import { parseInfo } from '../connect/client.js';
import { RestoreFailedError, type TargetCommands } from './target.js';

export type Info = Record<string, string>;

/** the pause between two INFOs of a wait */
export const POLL_MS = 50;
/** how long one INFO may take while the target loads (it answers between chunks of its load) */
export const INFO_WITHIN_MS = 10_000;
/** how long the target may go unanswered during a restore before it is taken as gone */
export const SILENCE_MS = 30_000;

export async function info(client: TargetCommands, section = 'everything'): Promise<Info> {
  return parseInfo(String(await client.sendCommand(['INFO', section])));
}

/** A promise with a deadline: rejects when it has not settled within `ms`. */
export function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** INFO with a deadline: undefined when it fails or does not answer within `ms` */
export async function infoWithin(client: TargetCommands, section: string, ms = INFO_WITHIN_MS): Promise<Info | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      info(client, section).catch(() => undefined),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether the target loads data: at start or from a full sync (`loading`), or beside its old data (swapdb: `async_loading`). */
export function isLoading(i: Readonly<Info>): boolean {
  return i.loading === '1' || i.async_loading === '1';
}

/** Keeps track of how long the target has gone without answering; throws once that is too long. */
class TargetWatch {
  private lastAnswer = Date.now();
  constructor(
    private readonly client: TargetCommands,
    private readonly what: string,
  ) {}
  answered(): void {
    this.lastAnswer = Date.now();
  }
  check(): void {
    const gone = !this.client.isOpen;
    if (gone || Date.now() - this.lastAnswer > SILENCE_MS) {
      throw new RestoreFailedError(
        `the target ${gone ? 'closed the connection' : `did not answer for ${SILENCE_MS / 1000} s`} while ${this.what} (a server that meets data it cannot load exits; see its log)`,
        'E_RESTORE_TARGET_LOST',
      );
    }
  }
}

export interface Deadline {
  /** a time (Date.now() scale) after which the wait fails */
  at: number;
  error(): Error;
}

export interface PollOptions {
  /** the INFO section asked for */
  section: string;
  /** what the target is doing, for the error when it stops answering ("rewriting its AOF") */
  doing: string;
  /** checks of the caller's own, made before the deadline's on every round; throw to stop */
  check?(): void;
  /** ends the wait (checked first on every round, and during the pause between two INFOs) */
  signal?: AbortSignal;
  aborted?(): Error;
}

/**
 * Asks INFO every POLL_MS until `until` returns something other than undefined, and returns that.
 * Each round, in this order: the abort signal, the caller's `check`, the deadline, then one INFO of
 * at most INFO_WITHIN_MS. An INFO that fails or times out counts as silence: after SILENCE_MS of it,
 * or once the connection is closed, the wait fails with E_RESTORE_TARGET_LOST. An INFO in flight is
 * never cut short by the signal (its answer may end the wait).
 */
export async function pollInfo<T>(
  client: TargetCommands,
  until: (i: Info) => T | undefined | Promise<T | undefined>,
  deadline: Deadline,
  options: PollOptions,
): Promise<T> {
  const watch = new TargetWatch(client, options.doing);
  const aborted = (): Error => options.aborted?.() ?? new RestoreFailedError('the restore was interrupted', 'E_ABORTED');
  for (;;) {
    if (options.signal?.aborted) throw aborted();
    options.check?.();
    if (Date.now() > deadline.at) throw deadline.error();
    const i = await infoWithin(client, options.section);
    if (!i) watch.check();
    else {
      watch.answered();
      const result = await until(i);
      if (result !== undefined) return result;
    }
    try {
      await delay(POLL_MS, undefined, options.signal ? { signal: options.signal } : undefined);
    } catch (error) {
      if (options.signal?.aborted) throw aborted();
      throw error;
    }
  }
}
