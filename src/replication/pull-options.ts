/**
 * The options of a pull, in a module of their own: `pull.ts` (which starts the link) and
 * `sync-link.ts` (which reads the connection) both need them, and neither imports the other's types.
 */
import type { Endpoint } from '../connect/url.js';

export interface PullOptions {
  endpoint: Endpoint;
  /** default 5000 */
  connectTimeoutMs?: number;
  /**
   * fail when the server sends nothing at all (not even a keepalive) for this long while we are
   * reading; default 60000, Redis's own repl-timeout. Time the consumer spends behind does not count.
   */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** called for every keepalive newline while the server prepares the RDB */
  onWaiting?(keepalivesSeen: number): void;
}
