/** The flags of the commands that run a deployment here: `up`, `status`, `down`, `url`, `rotate-password`. */
import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { clusterOption, dirOption, masterNameOption, sentinelOption, sentinelPasswordFileOption, userOption, type FlagsOf } from './flags.js';

export function declareUp(parent: CommandUnknownOpts) {
  return parent
    .command('up')
    .description(
      'Run Redis or Valkey here (the real server) with the rendered config and ACL users; refuses a model the server would reject; stays in the foreground until Ctrl-C unless --detach.',
    )
    .addOption(dirOption())
    .option('--port <port>', "port to listen on (default: the model's, 6379)")
    .option('--bind <addr...>', 'addresses to listen on (default: 127.0.0.1)')
    .option('--config <file>', 'a YAML model (profile + overrides) or a redis.conf')
    .option('--detach', 'return once the server is ready, leaving it running')
    .addOption(
      new Option(
        '--topology <kind>',
        "what to run: one server (single; standalone is the same), a master with replicas and Sentinels (sentinel), or a Redis Cluster (cluster); default: the model's topology.kind",
      ).choices(['single', 'standalone', 'sentinel', 'cluster'] as const),
    )
    .option('--no-monitor', 'do not start the monitor (dashboard and /metrics) next to the server')
    .option('--monitor-listen <host:port>', "where the monitor serves (default 127.0.0.1:9121, redis_exporter's port, or a free port when that one is taken)")
    .option('--allow-insecure', 'run a model that lets clients in without a password')
    .option(
      '--server <path>',
      'the server binary: redis-server, valkey-server or a wrapper (default: the one this deployment last ran, else redis-server, else valkey-server on PATH)',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  neurallog-redis up                      # foreground on 127.0.0.1:6379, Ctrl-C stops it\n  neurallog-redis up --detach --port 6380\n  neurallog-redis up --config neurallog.yaml --bind 0.0.0.0\n  neurallog-redis up --server /usr/bin/valkey-server --config valkey.yaml\n  neurallog-redis up --topology sentinel --dir ha   # master, 2 replicas, 3 Sentinels (detached)\n  neurallog-redis up --topology cluster --dir shards --port 7000',
    );
}
export type UpFlags = FlagsOf<typeof declareUp>;

export function declareStatus(parent: CommandUnknownOpts) {
  return parent
    .command('status')
    .description(
      'Report whether the deployment in --dir runs, where, and how it is doing; --watch prints a line a second as `redis-cli --stat` does, as the monitor user (no password to type).',
    )
    .addOption(dirOption())
    .option('--watch', 'a line every --interval: keys, memory, clients, blocked, requests (+since the last line), connections; Ctrl-C stops')
    .option('--interval <duration>', 'with --watch: time between lines (1s to 1h)', '1s')
    .option('--count <n>', 'with --watch: stop after this many lines')
    .option('--json', 'print the result as JSON (with --watch: one object a line)')
    .addOption(userOption())
    .addOption(sentinelOption())
    .addOption(masterNameOption())
    .addOption(clusterOption())
    .option('--password-file <file>', "with --sentinel/--cluster: the data nodes' password, from a file (or NEURALLOG_REDIS_PASSWORD)")
    .addOption(sentinelPasswordFileOption());
}
export type StatusFlags = FlagsOf<typeof declareStatus>;

export function declareDown(parent: CommandUnknownOpts) {
  return parent
    .command('down')
    .description('Stop the deployment in --dir, persisting its data first (a topology: Sentinels, then replicas, then masters).')
    .addOption(dirOption())
    .option('--json', 'print the result as JSON');
}
export type DownFlags = FlagsOf<typeof declareDown>;

export function declareUrl(parent: CommandUnknownOpts) {
  return parent
    .command('url')
    .description(
      'Print one connection URL for a user of the deployment (no password unless --show-password); for a Sentinel or Cluster deployment, the Sentinel addresses and master name, or the cluster seeds, and which secrets key holds the password.',
    )
    .addOption(dirOption())
    .requiredOption('--user <name>', 'ACL user (app, backup, monitor, ops, admin)')
    .option('--show-password', 'include the password (for scripts; it will be visible on screen)')
    .option('--json', 'print the result as JSON (for a Sentinel or Cluster deployment: addresses, master name and which secrets key holds each password)')
    .addOption(sentinelOption())
    .addOption(masterNameOption())
    .addOption(clusterOption())
    .option('--password-file <file>', "with --sentinel/--cluster: the data nodes' password, from a file (or NEURALLOG_REDIS_PASSWORD)")
    .addOption(sentinelPasswordFileOption());
}
export type UrlFlags = FlagsOf<typeof declareUrl>;

export function declareRotatePassword(parent: CommandUnknownOpts) {
  return parent
    .command('rotate-password')
    .description('Give a user a new password without downtime (live ACL SETUSER, then the secrets and ACL files).')
    .addOption(dirOption())
    .requiredOption('--user <name>', 'ACL user')
    .option('--json', 'print the result as JSON');
}
export type RotatePasswordFlags = FlagsOf<typeof declareRotatePassword>;
