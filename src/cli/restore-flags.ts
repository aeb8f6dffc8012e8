/** The flags of `restore`. */
import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { UsageError } from '../errors.js';
import { clusterOption, masterNameOption, sentinelOption, sentinelPasswordFileOption, userOption, type FlagsOf } from './flags.js';

/** --db-map FROM:TO,...: the databases a merge moves. */
export function parseDbMap(text: string): Map<number, number> {
  const map = new Map<number, number>();
  for (const pair of text.split(',')) {
    const m = /^\s*(\d+):(\d+)\s*$/.exec(pair);
    if (!m) throw new UsageError(`--db-map takes FROM:TO pairs such as 0:1,2:3, not "${text}"`);
    map.set(Number(m[1]), Number(m[2]));
  }
  return map;
}

/** --resume-after N: a record count. */
function parseResumeAfter(text: string): number {
  const n = Number(text);
  if (!(Number.isInteger(n) && n >= 0)) throw new UsageError(`--resume-after takes a record count, not "${text}"`);
  return n;
}

export function declareRestore(parent: CommandUnknownOpts) {
  return parent
    .command('restore')
    .argument('[file]', 'the stored backup that `backup` printed, or a cluster backup set (its .set directory)')
    .description(
      'Restore a backup so that the data really comes back: replace a live server (it loads the RDB with its own loader, as a replica of the CLI, then becomes a master and rewrites its AOF), merge keys into it, or place the files of a stopped server (--data-dir). Nothing changes before the backup is known good.',
    )
    .option('--url <url>', 'target: redis://[user[:password]@]host:port (an admin user: REPLICAOF, INFO, CONFIG GET)')
    .option('--dir <dir>', 'target: a deployment made by `up` (as its admin user)')
    .option('--data-dir <dir>', 'target: the data directory of a STOPPED server (offline restore)')
    .option('--password-file <file>', 'password for --url, read from a file (or set NEURALLOG_REDIS_PASSWORD)')
    .addOption(sentinelOption())
    .addOption(masterNameOption())
    .addOption(clusterOption())
    .addOption(userOption())
    .addOption(sentinelPasswordFileOption())
    .option('--progress-file <file>', "a set's restore: where the progress per shard file is kept (default: beside the set), so that a second run resumes")
    .option('--config <file>', "offline: the server's redis.conf (file names, appendonly)")
    .option('--server <path>', 'offline: the redis-server or valkey-server that will load the directory (the backup must be of an RDB version it reads)')
    .addOption(new Option('--mode <mode>', 'replace (default for a live server) or merge').choices(['replace', 'merge'] as const))
    .addOption(new Option('--on-conflict <what>', 'merge: when a key exists').choices(['fail', 'replace', 'skip'] as const).default('fail' as const))
    .option('--match <pattern>', 'merge: only keys matching this glob')
    .option('--db-map <pairs>', 'merge: move databases, e.g. 0:1,2:3', parseDbMap)
    .option('--resume-after <n>', "merge: skip the first N records (from a failed merge's report)", parseResumeAfter)
    .option('--listen <host>', "replace: the address the target reaches the CLI at (default: the CLI's address towards it)")
    .addOption(
      new Option(
        '--load <how>',
        'replace: disk (receive the whole RDB, then load), swapdb (load while receiving, old data kept in memory until it succeeds: faster, needs memory for both), or auto: swapdb when both datasets fit under maxmemory',
      )
        .choices(['auto', 'disk', 'swapdb'] as const)
        .default('auto' as const),
    )
    .option('--encrypt-key-file <file>', 'key of an encrypted backup')
    .option('--dry-run', 'verify the backup, check the target and print the plan; change nothing')
    .option('--yes', 'do not ask for confirmation on a terminal')
    .option('--abort', 'make a target left as a replica by an interrupted restore a master again')
    .option('--force', 'with --abort: even if its master link is up')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      "\nExamples:\n  neurallog-redis restore backups/redis-backup-20261126T012233Z.rdb.gz --dir .neurallog-redis\n  neurallog-redis restore FILE --url redis://admin@10.0.0.5:6379 --password-file pw --dry-run\n  neurallog-redis restore FILE --dir .neurallog-redis --mode merge --on-conflict skip --match 'rules:*'\n  neurallog-redis restore FILE --data-dir /var/lib/redis --config /etc/redis/redis.conf   # server stopped\n  neurallog-redis restore --abort --url redis://admin@10.0.0.5:6379\n  neurallog-redis restore backups/redis-cluster-20261126T012233Z.set --cluster 10.0.0.9:7000 --user admin --password-file pw   # any number of masters",
    );
}
export type RestoreFlags = FlagsOf<typeof declareRestore>;
