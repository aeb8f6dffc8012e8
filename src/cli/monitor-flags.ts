/** The flags of `monitor`. */
import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { clusterOption, dirOption, masterNameOption, sentinelOption, sentinelPasswordFileOption, userOption, type FlagsOf } from './flags.js';

export function declareMonitor(parent: CommandUnknownOpts) {
  return (
    parent
      .command('monitor')
      .description(
        "Serve a live dashboard (/) and the server's metrics for Prometheus under redis_exporter 1.45's names (/metrics, on its port 9121), and /health, until stopped (Ctrl-C). For a Sentinel or Cluster topology (--dir of `up --topology`, --sentinel, --cluster): /metrics follows the master, /scrape?target=host:port scrapes any of its nodes and Sentinels, /targets lists them for Prometheus http_sd. Beyond 127.0.0.1 a login token is required.",
      )
      .option('--url <url>', 'the server to watch, e.g. redis://monitor@127.0.0.1:6379 (password from --password-file or NEURALLOG_REDIS_PASSWORD)')
      .addOption(dirOption())
      .option('--password-file <file>', 'read the --url password from this file (mode 0600)')
      .addOption(sentinelOption())
      .addOption(masterNameOption())
      .addOption(clusterOption())
      .addOption(userOption())
      .addOption(sentinelPasswordFileOption())
      .option('--listen <host:port>', 'where to serve; any address but loopback requires a login token', '127.0.0.1:9121')
      .option(
        '--token-file <file>',
        'the login token (Bearer, or the password of HTTP basic auth); with --dir, .neurallog-redis/monitor.token is made when needed',
      )
      .option('--scrape-timeout <duration>', 'deadline of one scrape, connecting included (1s to 300s)', '5s')
      .option('--poll <duration>', "how often the monitor scrapes by itself for the dashboard's last-hour charts", '5s')
      .option('--backups <dir>', 'a backup directory (`backup --to`) whose newest backup the dashboard and metrics report')
      .option('--json', 'print where it listens as JSON')
      // `up` runs the monitor with the server's pid (a topology's: every node's): it stops when they are all gone
      .addOption(new Option('--exit-with <pids>', 'stop when these processes (PID[,PID...]) have all exited').hideHelp())
  );
}
export type MonitorCliFlags = FlagsOf<typeof declareMonitor>;
