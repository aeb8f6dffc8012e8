/** The retention flags shared by `backup` and `backups prune`. */
import type { Command, OptionValues } from '@commander-js/extra-typings';
import type { RetentionPolicy } from '../backup/catalog.js';
import { countOf } from './flags.js';

/** Adds --keep-last, --daily, --weekly and --monthly (counts, parsed by commander). */
export function withRetention<Args extends unknown[], Opts extends OptionValues, Globals extends OptionValues>(command: Command<Args, Opts, Globals>) {
  return command
    .option('--keep-last <n>', 'keep the newest N backups', countOf('--keep-last'))
    .option('--daily <n>', 'keep the newest backup of each of the last N days', countOf('--daily'))
    .option('--weekly <n>', 'keep the newest backup of each of the last N weeks', countOf('--weekly'))
    .option('--monthly <n>', 'keep the newest backup of each of the last N months', countOf('--monthly'));
}

/** The policy the flags give, or undefined when none of them was given. */
export function retentionFrom(flags: RetentionPolicy): RetentionPolicy | undefined {
  const policy: RetentionPolicy = { keepLast: flags.keepLast, daily: flags.daily, weekly: flags.weekly, monthly: flags.monthly };
  return Object.values(policy).some((v) => v !== undefined) ? policy : undefined;
}
