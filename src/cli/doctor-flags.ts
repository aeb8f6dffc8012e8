/** The flags of `doctor`. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { dirOption, type FlagsOf } from './flags.js';

export function declareDoctor(parent: CommandUnknownOpts) {
  return parent
    .command('doctor')
    .description(
      'Examine a server and explain what is wrong: connection, memory, persistence, replication, latency, security and (on this machine) the kernel; each finding with what was read, the threshold and the fix. Exit 0 healthy, 1 problems found, 2 could not examine the server.',
    )
    .option('--url <url>', 'the server, e.g. redis://ops@127.0.0.1:6379 (password from --password-file or NEURALLOG_REDIS_PASSWORD)')
    .addOption(dirOption())
    .option('--password-file <file>', 'read the --url password from this file (mode 0600)')
    .option('--timeout <duration>', 'deadline to connect and get a first reply (100ms to 60s)', '5s')
    .option('--no-host', 'skip the kernel checks (overcommit, THP, somaxconn, clocksource, swap) even when the server runs here')
    .option('--json', 'print the report as one JSON object (stable check ids)');
}
export type DoctorFlags = FlagsOf<typeof declareDoctor>;
