/**
 * The command line: flags -> a library call -> printing. This is the only module that exits.
 * Command implementations load lazily so that `--help` and quick commands start fast.
 */
import { Command, CommanderError, Option } from 'commander';
import { describeSystemError } from './system-errors.js';
import { existsSync, readFileSync } from 'node:fs';
import { isNeuralLogRedisError } from '../errors.js';
import { jsonWasPrinted, printJson, say } from './output.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const DEFAULT_DIR = '.neurallog-redis';

type Action = (...args: any[]) => Promise<number | void>;
/** Wraps a lazily imported command so its exit code reaches main(). */
function lazy(load: () => Promise<Action>): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const run = await load();
    const code = await run(...args.slice(0, -1));
    if (typeof code === 'number') process.exitCode = code;
  };
}

function dirOption(): Option {
  return new Option('--dir <dir>', 'deployment directory made by `up`').default(DEFAULT_DIR);
}

export function buildProgram(): Command {
  const program = new Command('neurallog-redis')
    .description('The Redis layer of NeuralLog: one typed deployment model, rendered to redis.conf, ACLs and manifests, and run for real.')
    .version(pkg.version)
    .option('--debug', 'show stack traces for errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    // set before any command is added, so that every command at every level inherits it: commander
    // otherwise exits 1 by itself for a nested command's usage error (`config lint`, `backups list`),
    // and usage errors are ours to map to exit 2
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('up')
    .description('Run Redis or Valkey here (the real server) with the rendered config and ACL users; refuses a model the server would reject; stays in the foreground until Ctrl-C unless --detach.')
    .addOption(dirOption())
    .option('--port <port>', 'port to listen on (default: the model\'s, 6379)')
    .option('--bind <addr...>', 'addresses to listen on (default: 127.0.0.1)')
    .option('--config <file>', 'a YAML model (profile + overrides) or a redis.conf')
    .option('--detach', 'return once the server is ready, leaving it running')
    .addOption(new Option('--topology <kind>', 'what to run').choices(['standalone']).default('standalone'))
    .option('--allow-insecure', 'run a model that lets clients in without a password')
    .option('--server <path>', 'the server binary: redis-server, valkey-server or a wrapper (default: the one this deployment last ran, else redis-server, else valkey-server on PATH)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  neurallog-redis up                      # foreground on 127.0.0.1:6379, Ctrl-C stops it\n  neurallog-redis up --detach --port 6380\n  neurallog-redis up --config neurallog.yaml --bind 0.0.0.0\n  neurallog-redis up --server /usr/bin/valkey-server --config valkey.yaml')
    .action(lazy(async () => (await import('./up.js')).upCommand));

  program
    .command('status')
    .description('Report whether the deployment in --dir runs, where, and how it is doing.')
    .addOption(dirOption())
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await import('./status.js')).statusCommand));

  program
    .command('monitor')
    .description('Serve a live dashboard (/) and the server\'s metrics for Prometheus under redis_exporter 1.45\'s names (/metrics, on its port 9121), and /health, until stopped (Ctrl-C). Beyond 127.0.0.1 a login token is required.')
    .option('--url <url>', 'the server to watch, e.g. redis://monitor@127.0.0.1:6379 (password from --password-file or NEURALLOG_REDIS_PASSWORD)')
    .addOption(dirOption())
    .option('--password-file <file>', 'read the --url password from this file (mode 0600)')
    .option('--listen <host:port>', 'where to serve; any address but loopback requires a login token', '127.0.0.1:9121')
    .option('--token-file <file>', 'the login token (Bearer, or the password of HTTP basic auth); with --dir, .neurallog-redis/monitor.token is made when needed')
    .option('--scrape-timeout <duration>', 'deadline of one scrape, connecting included (1s to 300s)', '5s')
    .option('--poll <duration>', 'how often the monitor scrapes by itself for the dashboard\'s last-hour charts', '5s')
    .option('--backups <dir>', 'a backup directory (`backup --to`) whose newest backup the dashboard and metrics report')
    .option('--json', 'print where it listens as JSON')
    .action(lazy(async () => {
      const { monitorCommand } = await import('./monitor.js');
      return (flags: Omit<Parameters<typeof monitorCommand>[0], 'version'>) => monitorCommand({ ...flags, version: pkg.version });
    }));

  program
    .command('down')
    .description('Stop the deployment in --dir, persisting its data first.')
    .addOption(dirOption())
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await import('./down.js')).downCommand));

  program
    .command('url')
    .description('Print one connection URL for a user of the deployment (no password unless --show-password).')
    .addOption(dirOption())
    .requiredOption('--user <name>', 'ACL user (app, backup, monitor, admin)')
    .option('--show-password', 'include the password (for scripts; it will be visible on screen)')
    .action(lazy(async () => (await import('./url.js')).urlCommand));

  program
    .command('rotate-password')
    .description('Give a user a new password without downtime (live ACL SETUSER, then the secrets and ACL files).')
    .addOption(dirOption())
    .requiredOption('--user <name>', 'ACL user')
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await import('./rotate-password.js')).rotatePasswordCommand));

  const config = program.command('config').description('Check configuration files.');
  config
    .command('lint')
    .argument('<file>', 'a redis.conf or a YAML model')
    .description('Report what is wrong with a redis.conf or model for its engine and release (a YAML model\'s own `engine`/`version`; a redis.conf is judged for the neurallog profile\'s release unless told); exits 1 when an error is found.')
    .addOption(new Option('--engine <engine>', 'judge for this engine (a redis.conf: default redis; overrides a model\'s)').choices(['redis', 'valkey']))
    .option('--version <release>', 'judge for this release, e.g. 7.0, 8.0 or 8.0.2 (an engine alone: its default release)')
    .option('--json', 'print the findings as JSON')
    .action(lazy(async () => (await import('./config-lint.js')).configLintCommand));

  program
    .command('render')
    .argument('<artifact>', 'conf (redis.conf), acl (users.acl), kubernetes (a kustomize directory), compose (a Compose directory) or monitoring (Prometheus scrape config, alert rules, Grafana dashboard)')
    .description('Render an artifact from the model (to stdout, or into --out DIR; kubernetes, compose and monitoring need --out).')
    .option('--config <file>', 'a YAML model or a redis.conf (default: the neurallog profile)')
    .option('--secrets <file>', 'secrets file with the users\' passwords (acl, kubernetes, compose; created 0600 when absent)')
    .option('--dir <dir>', 'take the model and secrets of a deployment made by `up`')
    .option('--out <dir>', 'write files into this directory instead of stdout')
    .option('--target <host:port>', 'monitoring: where Prometheus finds `monitor`', '127.0.0.1:9121')
    .option('--token-file <file>', 'monitoring: the file Prometheus reads the monitor\'s login token from (a monitor beyond loopback)')
    .action(lazy(async () => (await import('./render.js')).renderCommand));

  program
    .command('loadgen')
    .description('Write NeuralLog-shaped data (logs, indexes, rules, a pattern stream), pipelined and reproducible.')
    .option('--url <url>', 'redis://[user[:password]@]host:port[/db]')
    .option('--dir <dir>', 'a deployment made by `up` (connects as the app user)')
    .option('--password-file <file>', 'password for --url, read from a file')
    .requiredOption('--logs <n>', 'number of log entries')
    .option('--seed <s>', 'seed for reproducible data', '1')
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await import('./loadgen.js')).loadgenCommand));

  const retention = (c: Command) =>
    c
      .option('--keep-last <n>', 'keep the newest N backups')
      .option('--daily <n>', 'keep the newest backup of each of the last N days')
      .option('--weekly <n>', 'keep the newest backup of each of the last N weeks')
      .option('--monthly <n>', 'keep the newest backup of each of the last N months');

  retention(
    program
      .command('backup')
      .description(
        'Take a verified backup: pull an RDB over the replication protocol (no SAVE, no access to the server\'s files), check its CRC-64 and structure while it streams, compress, and publish it atomically with a manifest. Prints the stored file\'s path.',
      )
      .option('--url <url>', 'redis://[user[:password]@]host:port (the user needs +sync +psync +replconf +ping +info)')
      .option('--dir <dir>', 'a deployment made by `up` (connects as its backup user)')
      .option('--password-file <file>', 'password for --url, read from a file (or set NEURALLOG_REDIS_PASSWORD)')
      .option('--from-file <rdb>', 'verify and catalogue an existing RDB file instead of pulling one')
      .requiredOption('--to <dir>', 'backup directory')
      .addOption(new Option('--compress <kind>', 'compression of the stored file').choices(['gzip', 'zstd', 'none']).default('gzip'))
      .option('--encrypt-key-file <file>', 'encrypt at rest with this 32-byte key (AES-256-GCM in chunks)')
      .option('--every <duration>', 'keep taking backups every 30s / 15m / 1h / 1d until stopped')
      .option('--nice <n>', 'scheduling niceness of the backup and its helper programs, 0-19: on a host it shares with Redis, the server\'s processes win when both want a CPU', '10'),
  )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  neurallog-redis backup --dir .neurallog-redis --to backups/\n  neurallog-redis backup --url redis://backup@10.0.0.5:6379 --password-file pw --to /backups --compress zstd\n  neurallog-redis backup --dir .neurallog-redis --to backups/ --every 1h --keep-last 24 --daily 7')
    .action(lazy(async () => (await import('./backup.js')).backupCommand));

  const backups = program.command('backups').description('List, verify and prune stored backups.');
  backups
    .command('list')
    .description('List the backups in a directory with their state.')
    .requiredOption('--to <dir>', 'backup directory')
    .option('--json', 'print the list as JSON')
    .action(lazy(async () => (await import('./backups.js')).backupsListCommand));
  backups
    .command('verify')
    .argument('<file>', 'a stored backup (or any .rdb file)')
    .description('Re-check a backup: SHA-256 against its manifest, decryption, decompression, RDB structure and CRC-64. Exits 1 and names the offset of any damage.')
    .option('--encrypt-key-file <file>', 'key for an encrypted backup')
    .option('--strict', 'report as damage what Redis and Valkey load but never write (a stream whose length disagrees with its entries, bytes after the checksum); by default they are warnings with their offset')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, flags: { encryptKeyFile?: string; json?: boolean; strict?: boolean }) => {
      // The file's SHA-256 needs only its name: where openssl hashes it (on the other core), it
      // starts before the verifier's modules load, and is done by the time the parse is under way.
      // A verify that ends before it needs the digest (a missing key, a bad manifest) stops it.
      const digest = await import('../backup/file-digest.js');
      const early = new AbortController();
      const sha256 = digest.hashesElsewhere() && existsSync(file) ? digest.sha256OfFile(file, undefined, early.signal) : undefined;
      sha256?.catch(() => undefined);
      try {
        process.exitCode = await (await import('./backups.js')).backupsVerifyCommand(file, flags, sha256);
      } finally {
        early.abort();
      }
    });
  retention(
    backups
      .command('prune')
      .description('Delete old backups, keeping what the policy says; never deletes the newest verified backup.')
      .requiredOption('--to <dir>', 'backup directory'),
  )
    .option('--dry-run', 'show what would be removed')
    .option('--json', 'print the plan as JSON')
    .action(lazy(async () => (await import('./backups.js')).backupsPruneCommand));

  program
    .command('restore')
    .argument('[file]', 'the stored backup that `backup` printed')
    .description(
      'Restore a backup so that the data really comes back: replace a live server (it loads the RDB with its own loader, as a replica of the CLI, then becomes a master and rewrites its AOF), merge keys into it, or place the files of a stopped server (--data-dir). Nothing changes before the backup is known good.',
    )
    .option('--url <url>', 'target: redis://[user[:password]@]host:port (an admin user: REPLICAOF, INFO, CONFIG GET)')
    .option('--dir <dir>', 'target: a deployment made by `up` (as its admin user)')
    .option('--data-dir <dir>', 'target: the data directory of a STOPPED server (offline restore)')
    .option('--password-file <file>', 'password for --url, read from a file (or set NEURALLOG_REDIS_PASSWORD)')
    .option('--config <file>', 'offline: the server\'s redis.conf (file names, appendonly)')
    .option('--server <path>', 'offline: the redis-server or valkey-server that will load the directory (the backup must be of an RDB version it reads)')
    .addOption(new Option('--mode <mode>', 'replace (default for a live server) or merge').choices(['replace', 'merge']))
    .addOption(new Option('--on-conflict <what>', 'merge: when a key exists').choices(['fail', 'replace', 'skip']).default('fail'))
    .option('--match <pattern>', 'merge: only keys matching this glob')
    .option('--db-map <pairs>', 'merge: move databases, e.g. 0:1,2:3')
    .option('--resume-after <n>', 'merge: skip the first N records (from a failed merge\'s report)')
    .option('--listen <host>', 'replace: the address the target reaches the CLI at (default: the CLI\'s address towards it)')
    .addOption(new Option('--load <how>', 'replace: disk (receive the whole RDB, then load), swapdb (load while receiving, old data kept in memory until it succeeds: faster, needs memory for both), or auto: swapdb when both datasets fit under maxmemory').choices(['auto', 'disk', 'swapdb']).default('auto'))
    .option('--encrypt-key-file <file>', 'key of an encrypted backup')
    .option('--dry-run', 'verify the backup, check the target and print the plan; change nothing')
    .option('--yes', 'do not ask for confirmation on a terminal')
    .option('--abort', 'make a target left as a replica by an interrupted restore a master again')
    .option('--force', 'with --abort: even if its master link is up')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  neurallog-redis restore backups/redis-backup-20261126T012233Z.rdb.gz --dir .neurallog-redis\n  neurallog-redis restore FILE --url redis://admin@10.0.0.5:6379 --password-file pw --dry-run\n  neurallog-redis restore FILE --dir .neurallog-redis --mode merge --on-conflict skip --match \'rules:*\'\n  neurallog-redis restore FILE --data-dir /var/lib/redis --config /etc/redis/redis.conf   # server stopped\n  neurallog-redis restore --abort --url redis://admin@10.0.0.5:6379',
    )
    .action(lazy(async () => (await import('./restore.js')).restoreCommand));

  // `config lint --version 8.1` names a release, not this program's version: the program reads its own
  // options before the subcommand only, and every command takes --debug itself.
  program.enablePositionalOptions();
  const addDebug = (parent: Command) => {
    for (const sub of parent.commands) {
      if (!sub.options.some((o) => o.long === '--debug')) sub.addOption(new Option('--debug', 'show stack traces for errors').hideHelp());
      addDebug(sub);
    }
  };
  addDebug(program);

  return program;
}

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
if (process.env.NEURALLOG_REDIS_REPORT_RSS === '1') {
  // for benchmarks: the peak resident set size of this CLI process, and its own CPU time (helper
  // programs not included)
  process.on('exit', () => {
    const u = process.resourceUsage();
    process.stderr.write(`neurallog-redis: peak RSS ${u.maxRSS} KiB, CPU user ${(u.userCPUTime / 1e6).toFixed(2)} s system ${(u.systemCPUTime / 1e6).toFixed(2)} s\n`);
  });
}
