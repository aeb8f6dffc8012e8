/**
 * The command line: flags -> a library call -> printing. This is the only module that sets the exit
 * code: a command's own, or the one its error carries (usage errors 2, as commander's are mapped).
 */
import { CommanderError } from '@commander-js/extra-typings';
import { isNeuralLogRedisError } from '../errors.js';
import { jsonWasPrinted, printJson, say } from './output.js';
import { buildProgram } from './program.js';
import { describeSystemError } from './system-errors.js';

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  /** with --json, a failure is still one object on stdout (the message also goes to stderr) */
  const failed = (exitCode: number, code: string, message: string): number => {
    if (json && !jsonWasPrinted()) printJson({ ok: false, error: { code, message, exitCode } });
    return exitCode;
  };
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      return failed(2, 'E_USAGE', error.message.replace(/^error: /, ''));
    }
    const debug = argv.includes('--debug');
    if (isNeuralLogRedisError(error)) {
      say(`neurallog-redis: ${error.message}`);
      if (debug && error.stack) say(error.stack);
      return failed(error.exitCode, error.code, error.message);
    }
    const system = describeSystemError(error);
    if (system) {
      say(`neurallog-redis: ${system}`);
      if (debug) say(String((error as Error)?.stack));
      return failed(2, `E_${(error as NodeJS.ErrnoException).code ?? 'SYSTEM'}`, system);
    }
    const message = (error as Error)?.message ?? String(error);
    say(`neurallog-redis: unexpected error: ${message}`);
    say(debug ? String((error as Error)?.stack) : 'Run again with --debug for the stack trace, and please report it.');
    return failed(1, 'E_UNEXPECTED', message);
  }
}

process.exitCode = await main(process.argv);
if (process.env.NEURALLOG_REDIS_REPORT_RSS === '1') (await import('./rss-report.js')).reportRssAtExit();
