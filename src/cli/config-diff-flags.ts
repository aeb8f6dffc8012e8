/** The flags of `config diff` (and the ones `config apply` shares with it). */
import type { Command, CommandUnknownOpts } from '@commander-js/extra-typings';
import { dirOption, type FlagsOf } from './flags.js';

/** --url/--dir, the model and the passwords: what diff and apply compare. */
export function driftOptions<C extends Command<[], Record<string, never>>>(command: C) {
  return command
    .option('--url <url>', 'redis://admin@host:port of the server (an administrator: CONFIG GET and ACL need @admin)')
    .option('--password-file <file>', 'password for --url, read from a file (else NEURALLOG_REDIS_PASSWORD)')
    .addOption(dirOption())
    .option('--config <file>', "the model: a YAML model or a redis.conf (default: the --dir deployment's model, else the neurallog profile)")
    .option('--secrets <file>', "the users' passwords (0600), to compare and set password hashes (default: the --dir deployment's)")
    .option('--json', 'print the result as one JSON object');
}

export function declareConfigDiff(config: CommandUnknownOpts) {
  return driftOptions(
    config
      .command('diff')
      .description(
        'Compare the model with the live server: every modelled directive against CONFIG GET, every user against ACL GETUSER (hashes shown as prefixes); exits 1 when they differ, 2 when it could not compare.',
      ),
  );
}
export type ConfigDiffFlags = FlagsOf<typeof declareConfigDiff>;
