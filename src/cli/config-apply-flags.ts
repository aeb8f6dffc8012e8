/** The flags of `config apply`. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { driftOptions } from './config-diff-flags.js';
import type { FlagsOf } from './flags.js';

export function declareConfigApply(config: CommandUnknownOpts) {
  return driftOptions(
    config
      .command('apply')
      .description(
        'Change the live server to the model where it can change at runtime (CONFIG SET then CONFIG REWRITE; ACL SETUSER/DELUSER then ACL SAVE), name what needs a restart; exits 0 when nothing differs afterwards, 1 when something still does, 2 when it could not run.',
      ),
  ).option('--dry-run', 'say what would change, change nothing');
}
export type ConfigApplyFlags = FlagsOf<typeof declareConfigApply>;
