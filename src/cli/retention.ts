/** The retention flags shared by `backup` and `backups prune`. */
import type { RetentionPolicy } from '../backup/catalog.js';
import { UsageError } from '../errors.js';

export function parseCount(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} takes a whole number, not "${text}"`);
  return Number(text);
}

export interface RetentionFlags {
  keepLast?: string;
  daily?: string;
  weekly?: string;
  monthly?: string;
}

export function retentionFrom(flags: RetentionFlags): RetentionPolicy | undefined {
  const policy: RetentionPolicy = {
    keepLast: parseCount('--keep-last', flags.keepLast),
    daily: parseCount('--daily', flags.daily),
    weekly: parseCount('--weekly', flags.weekly),
    monthly: parseCount('--monthly', flags.monthly),
  };
  return Object.values(policy).some((v) => v !== undefined) ? policy : undefined;
}
