import { rotatePassword } from '../runtime/index.js';
import type { RotatePasswordFlags } from './deployment-flags.js';
import { printJson, say } from './output.js';

export async function rotatePasswordCommand(flags: RotatePasswordFlags): Promise<number> {
  const result = await rotatePassword(flags.dir, flags.user);
  if (flags.json) printJson({ ...result });
  else {
    say(
      `New password for "${result.user}" stored in ${result.secretsFile}${
        result.live
          ? ' and active now: the server accepted it (existing connections stay up; new ones need it)'
          : ' (the server is not running; it takes effect at the next `up`)'
      }.`,
    );
  }
  return 0;
}
