/**
 * The server's own progress while it writes the snapshot a backup pulls: INFO persistence's
 * `current_save_keys_total` (Redis 7.0 and later), polled on a connection of its own, so that a
 * progress display can estimate the keys left. Best effort: no connection, or an error, means no total.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { closeConnection, openConnection, parseInfo } from '../connect/client.js';
import type { Endpoint } from '../connect/url.js';

export interface SaveProgressWatch {
  /** the keys the server is saving, once it has said */
  totalKeys(): number | undefined;
  /** ends the polling and closes its connection */
  stop(): Promise<void>;
}

export function watchSaveProgress(endpoint: Endpoint, everyMs = 500): SaveProgressWatch {
  const stopping = new AbortController();
  let total: number | undefined;
  const poll = async () => {
    const client = await openConnection(endpoint).catch(() => undefined);
    if (!client) return;
    try {
      while (!stopping.signal.aborted) {
        const info = parseInfo(await client.info('persistence'));
        const keys = Number(info.current_save_keys_total);
        if (keys > 0) total = keys;
        await sleep(everyMs, undefined, { signal: stopping.signal });
      }
    } catch {
      // progress is best effort (and the abort ends the wait by throwing)
    } finally {
      await closeConnection(client);
    }
  };
  const loop = poll();
  return {
    totalKeys: () => total,
    stop: async () => {
      stopping.abort();
      await loop;
    },
  };
}
