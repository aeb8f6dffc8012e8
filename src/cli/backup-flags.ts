/** The flags of `backup` and `backups list|verify|prune`. */
import { Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { parseDurationSeconds } from '../config/units.js';
import { UsageError } from '../errors.js';
import { clusterOption, masterNameOption, sentinelOption, sentinelPasswordFileOption, userOption, type FlagsOf } from './flags.js';
import { withRetention } from './retention.js';

/** --every: a duration of at least a second, and the words it was given in (for messages). */
function parseEvery(text: string): { text: string; seconds: number } {
  const seconds = parseDurationSeconds(text);
  if (!seconds) throw new UsageError(`--every takes a duration such as 30s, 15m, 1h or 1d, not "${text}"`);
  return { text, seconds };
}

export function declareBackup(parent: CommandUnknownOpts) {
  return withRetention(
    parent
      .command('backup')
      .description(
        "Take a verified backup: pull an RDB over the replication protocol (no SAVE, no access to the server's files), check its CRC-64 and structure while it streams, compress, and publish it atomically with a manifest. Prints the stored file's path.",
      )
      .option('--url <url>', 'redis://[user[:password]@]host:port (the user needs +sync +psync +replconf +ping +info)')
      .option('--dir <dir>', 'a deployment made by `up` (connects as its backup user)')
      .option('--password-file <file>', 'password for --url, read from a file (or set NEURALLOG_REDIS_PASSWORD)')
      .addOption(sentinelOption())
      .addOption(masterNameOption())
      .addOption(clusterOption())
      .addOption(userOption())
      .addOption(sentinelPasswordFileOption())
      .option(
        '--from-master',
        "with --sentinel: back up from the master when no replica is healthy (by default that is refused: the master's fork is what a replica spares)",
      )
      .option('--from-replicas', 'with --cluster: pull each shard from a healthy replica where it has one (default: from its master)')
      .option('--from-file <rdb>', 'verify and catalogue an existing RDB file instead of pulling one')
      .requiredOption('--to <dir>', 'backup directory')
      .addOption(new Option('--compress <kind>', 'compression of the stored file').choices(['gzip', 'zstd', 'none'] as const).default('gzip' as const))
      .option('--encrypt-key-file <file>', 'encrypt at rest with this 32-byte key (AES-256-GCM in chunks)')
      .option('--every <duration>', 'keep taking backups every 30s / 15m / 1h / 1d until stopped', parseEvery)
      .option(
        '--nice <n>',
        "scheduling niceness of the backup and its helper programs, 0-19: on a host it shares with Redis, the server's processes win when both want a CPU",
        '10',
      ),
  )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  neurallog-redis backup --dir .neurallog-redis --to backups/\n  neurallog-redis backup --url redis://backup@10.0.0.5:6379 --password-file pw --to /backups --compress zstd\n  neurallog-redis backup --dir .neurallog-redis --to backups/ --every 1h --keep-last 24 --daily 7\n  neurallog-redis backup --sentinel 10.0.0.7:26379,10.0.0.8:26379 --master-name mymaster --user backup --password-file pw --to /backups\n  neurallog-redis backup --cluster 10.0.0.5:7000 --user backup --password-file pw --to /backups   # one set, every shard',
    );
}
export type BackupFlags = FlagsOf<typeof declareBackup>;

export function declareBackupsList(parent: CommandUnknownOpts) {
  return parent
    .command('list')
    .description('List the backups in a directory with their state.')
    .requiredOption('--to <dir>', 'backup directory')
    .option('--json', 'print the list as JSON');
}
export type BackupsListFlags = FlagsOf<typeof declareBackupsList>;

export function declareBackupsVerify(parent: CommandUnknownOpts) {
  return parent
    .command('verify')
    .argument('<file>', 'a stored backup (or any .rdb file), or a cluster backup set (its .set directory)')
    .description(
      'Re-check a backup: SHA-256 against its manifest, decryption, decompression, RDB structure and CRC-64. Exits 1 and names the offset of any damage.',
    )
    .option('--encrypt-key-file <file>', 'key for an encrypted backup')
    .option(
      '--strict',
      'report as damage what Redis and Valkey load but never write (a stream whose length disagrees with its entries, bytes after the checksum); by default they are warnings with their offset',
    )
    .option('--json', 'print the result as JSON');
}
export type BackupsVerifyFlags = FlagsOf<typeof declareBackupsVerify>;

export function declareBackupsPrune(parent: CommandUnknownOpts) {
  return withRetention(
    parent
      .command('prune')
      .description('Delete old backups, keeping what the policy says; never deletes the newest verified backup.')
      .requiredOption('--to <dir>', 'backup directory'),
  )
    .option('--dry-run', 'show what would be removed')
    .option('--json', 'print the plan as JSON');
}
export type BackupsPruneFlags = FlagsOf<typeof declareBackupsPrune>;
