/**
 * The restore's pipelined connections are resp/'s one writer (`openPipeline`); this adapter keeps the
 * shape the existence check reads replies in: a small object per reply (the check sends one command
 * per 256 keys, so the object costs nothing there; the writing pass takes replies shallow).
 */
import type { Endpoint } from '../connect/index.js';
import { openPipeline, type CommandArg, type RespPipeline } from '../resp/index.js';

export type Arg = CommandArg;

export interface Reply {
  /** '+' status, '-' error, ':' integer, '$' bulk, '*' array; nil is '$' or '*' with `nil` */
  type: '+' | '-' | ':' | '$' | '*';
  /** an error's text or an integer's digits ('' for the others: their content is not read) */
  text: string;
  nil: boolean;
}

const TYPES: Record<number, Reply['type']> = { 0x2b: '+', 0x2d: '-', 0x3a: ':', 0x24: '$', 0x2a: '*' };

export type RestorePipe<T> = RespPipeline<T>;

export const RestorePipe = {
  /** Connects and authenticates (and selects `endpoint.db`); the handshake is not passed to `onReply`. */
  open<T>(endpoint: Endpoint, onReply: (tag: T, reply: Reply) => void, options: { connectTimeoutMs?: number; name?: string } = {}): Promise<RestorePipe<T>> {
    return openPipeline<T>(endpoint, {
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      name: options.name,
      onReply: (tag, type, n, error) => {
        onReply(tag, { type: TYPES[type] ?? '+', text: error ?? (type === 0x3a ? String(n) : ''), nil: n === -1 && (type === 0x24 || type === 0x2a) });
      },
    });
  },
};
