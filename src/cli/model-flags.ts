/** The flags of the commands about the model and data: `config lint`, `render`, `loadgen`. */
import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { clusterOption, masterNameOption, sentinelOption, sentinelPasswordFileOption, userOption, type FlagsOf } from './flags.js';

/** `config lint`, under the `config` command. */
export function declareConfigLint(config: CommandUnknownOpts) {
  return config
    .command('lint')
    .argument('<file>', 'a redis.conf or a YAML model')
    .description(
      "Report what is wrong with a redis.conf or model for its engine and release (a YAML model's own `engine`/`version`; a redis.conf is judged for the neurallog profile's release unless told); exits 1 when an error is found.",
    )
    .addOption(
      new Option('--engine <engine>', "judge for this engine (a redis.conf: default redis; overrides a model's)").choices(['redis', 'valkey'] as const),
    )
    .option('--version <release>', 'judge for this release, e.g. 7.0, 8.0 or 8.0.2 (an engine alone: its default release)')
    .option('--json', 'print the findings as JSON');
}
export type ConfigLintFlags = FlagsOf<typeof declareConfigLint>;

export function declareRender(parent: CommandUnknownOpts) {
  return parent
    .command('render')
    .argument(
      '<artifact>',
      'conf (redis.conf), acl (users.acl), kubernetes (a kustomize directory), compose (a Compose directory) or monitoring (Prometheus scrape config, alert rules, Grafana dashboard)',
    )
    .description('Render an artifact from the model (to stdout, or into --out DIR; kubernetes, compose and monitoring need --out).')
    .option('--config <file>', 'a YAML model or a redis.conf (default: the neurallog profile)')
    .option('--secrets <file>', "secrets file with the users' passwords (acl, kubernetes, compose; created 0600 when absent)")
    .option('--dir <dir>', 'take the model and secrets of a deployment made by `up`')
    .option('--out <dir>', 'write files into this directory instead of stdout')
    .option('--target <host:port>', 'monitoring: where Prometheus finds `monitor` (default 127.0.0.1:9121)')
    .option('--token-file <file>', "monitoring: the file Prometheus reads the monitor's login token from (a monitor beyond loopback)");
}
export type RenderFlags = FlagsOf<typeof declareRender>;

export function declareLoadgen(parent: CommandUnknownOpts) {
  return parent
    .command('loadgen')
    .description('Write NeuralLog-shaped data (logs, indexes, rules, a pattern stream), pipelined and reproducible.')
    .option('--url <url>', 'redis://[user[:password]@]host:port[/db]')
    .option('--dir <dir>', 'a deployment made by `up` (connects as the app user)')
    .option('--password-file <file>', 'password for --url, read from a file')
    .addOption(sentinelOption())
    .addOption(masterNameOption())
    .addOption(clusterOption())
    .addOption(userOption())
    .addOption(sentinelPasswordFileOption())
    .requiredOption('--logs <n>', 'number of log entries')
    .option('--seed <s>', 'seed for reproducible data', '1')
    .option('--json', 'print the result as JSON');
}
export type LoadgenFlags = FlagsOf<typeof declareLoadgen>;
