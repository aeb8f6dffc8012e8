/**
 * The `redis-cli --stat` view, from INFO: keys, memory, clients, blocked clients, requests (with the
 * difference since the previous line) and connections. Pure: fields in, text out.
 */
import { totalKeys } from './history.js';

export const STAT_HEADER = [
  '------- data ------ --------------------- load -------------------- - child -',
  'keys       mem      clients blocked requests            connections',
];

const num = (fields: ReadonlyMap<string, string>, key: string): number => Number(fields.get(key) ?? 0) || 0;

/** 1.02M-style sizes, as redis-cli prints them */
export function shortBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(2)}K`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(2)}M`;
  return `${(bytes / 1024 ** 3).toFixed(2)}G`;
}

export function statLine(fields: ReadonlyMap<string, string>, previous?: ReadonlyMap<string, string>): string {
  const keys = totalKeys(fields);
  const requests = num(fields, 'total_commands_processed');
  const delta = previous ? ` (+${Math.max(0, requests - num(previous, 'total_commands_processed'))})` : '';
  const child =
    fields.get('rdb_bgsave_in_progress') === '1'
      ? 'RDB'
      : fields.get('aof_rewrite_in_progress') === '1'
        ? 'AOF'
        : fields.get('loading') === '1'
          ? 'LOADING'
          : '';
  const cells = [
    String(keys).padEnd(10),
    shortBytes(num(fields, 'used_memory')).padEnd(8),
    String(num(fields, 'connected_clients')).padEnd(7),
    String(num(fields, 'blocked_clients')).padEnd(7),
    `${requests}${delta}`.padEnd(19),
    String(num(fields, 'total_connections_received')),
  ];
  return `${cells.join(' ')}${child ? ` ${child}` : ''}`;
}
