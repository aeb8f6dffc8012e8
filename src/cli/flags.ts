/**
 * What the command files share about flags: the parsed options' type, read from the command that
 * declares them (commander's extra typings infer it from each option), and parsers for option values
 * that commander runs while it parses, so a bad value is refused before any command loads.
 */
import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { UsageError } from '../errors.js';

/** The parsed options of the command that `declare` adds. */
export type FlagsOf<Declare extends (parent: CommandUnknownOpts) => CommandUnknownOpts> = ReturnType<ReturnType<Declare>['opts']>;

export const DEFAULT_DIR = '.neurallog-redis';

export function dirOption() {
  return new Option('--dir <dir>', 'deployment directory made by `up`').default(DEFAULT_DIR);
}

/** A count such as --keep-last N: a whole number. */
export function parseCount(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} takes a whole number, not "${text}"`);
  return Number(text);
}

/** An option-value parser for commander: our message, our exit code (a UsageError is not commander's). */
export function countOf(name: string): (text: string) => number {
  return (text) => parseCount(name, text);
}
