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

/**
 * The flags that name a topology instead of one server (connect/topology-target.ts): Sentinels and
 * the master's name, or cluster seeds; the data nodes' user (their password as for --url: a file or
 * NEURALLOG_REDIS_PASSWORD), and the Sentinels' own password, if they have one.
 */
export function sentinelOption() {
  return new Option('--sentinel <addresses>', 'Sentinels (host:port,host:port...) to ask where the master (and its replicas) are; with --master-name');
}
export function masterNameOption() {
  return new Option('--master-name <name>', 'the name the Sentinels monitor the master by (`sentinel monitor <name> ...`)');
}
export function clusterOption() {
  return new Option('--cluster <seeds>', 'seed nodes (host:port,...) of a Redis Cluster (any of its nodes; the slot map is asked from the first that answers)');
}
export function userOption() {
  return new Option('--user <name>', 'with --sentinel/--cluster: the ACL user on the data nodes (password: --password-file or NEURALLOG_REDIS_PASSWORD)');
}
export function sentinelPasswordFileOption() {
  return new Option('--sentinel-password-file <file>', "the Sentinels' own password, from a file (or NEURALLOG_REDIS_SENTINEL_PASSWORD); none by default");
}
