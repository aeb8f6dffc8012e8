/** The flags of `doctor`. */
import type { CommandUnknownOpts } from '@commander-js/extra-typings';
import { clusterOption, dirOption, masterNameOption, sentinelOption, sentinelPasswordFileOption, userOption, type FlagsOf } from './flags.js';

export function declareDoctor(parent: CommandUnknownOpts) {
  return parent
    .command('doctor')
    .description(
      'Examine a server and explain what is wrong: connection, memory, persistence, replication, latency, security and (on this machine) the kernel; each finding with what was read, the threshold and the fix. Exit 0 healthy, 1 problems found, 2 could not examine the server.',
    )
    .option('--url <url>', 'the server, e.g. redis://ops@127.0.0.1:6379 (password from --password-file or NEURALLOG_REDIS_PASSWORD)')
    .addOption(dirOption())
    .option('--password-file <file>', 'read the --url (or --user) password from this file (mode 0600)')
    .addOption(sentinelOption())
    .addOption(masterNameOption())
    .addOption(clusterOption())
    .addOption(userOption())
    .addOption(sentinelPasswordFileOption())
    .option('--timeout <duration>', 'deadline to connect and get a first reply (100ms to 60s)', '5s')
    .option('--no-host', 'skip the kernel checks (overcommit, THP, somaxconn, clocksource, swap) even when the server runs here')
    .option('--json', 'print the report as one JSON object (stable check ids)')
    .addHelpText(
      'after',
      '\nA Sentinel or Cluster topology (--dir of `up --topology`, --sentinel or --cluster) is examined node by node, all at once,\nand then as a whole: one master, replicas linked, Sentinels agreeing; every node in an ok cluster, every master with a replica.\n\nExamples:\n  neurallog-redis doctor --dir .neurallog-redis\n  neurallog-redis doctor --url redis://ops@10.0.0.5:6379 --password-file ops.pw --json\n  neurallog-redis doctor --dir ha                     # every node of `up --topology sentinel --dir ha`\n  neurallog-redis doctor --sentinel 10.0.0.7:26379,10.0.0.8:26379 --master-name mymaster --user ops --password-file ops.pw --sentinel-password-file s.pw\n  neurallog-redis doctor --cluster 10.0.0.5:7000 --user ops --password-file ops.pw',
    );
}
export type DoctorFlags = FlagsOf<typeof declareDoctor>;
