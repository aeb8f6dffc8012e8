/**
 * The command tree: each command's flags come from its `declare*` function (in the *-flags.ts files),
 * and its implementation loads when it runs, so that `--help` and quick commands start fast.
 */
import { Command, Option, type CommandUnknownOpts } from '@commander-js/extra-typings';
import { readFileSync } from 'node:fs';
import { declareConfigApply } from './config-apply-flags.js';
import { declareConfigDiff } from './config-diff-flags.js';
import { declareBackup, declareBackupsList, declareBackupsPrune, declareBackupsVerify } from './backup-flags.js';
import { declareDown, declareRotatePassword, declareStatus, declareUp, declareUrl } from './deployment-flags.js';
import { declareDoctor } from './doctor-flags.js';
import { declareConfigLint, declareLoadgen, declareRender } from './model-flags.js';
import { declareMonitor } from './monitor-flags.js';
import { declareRestore } from './restore-flags.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * A command's action, imported when it runs; its exit code reaches main() through process.exitCode.
 * (commander passes the command itself last; the implementations take what they declare and ignore it)
 */
function lazy<Args extends unknown[]>(load: () => Promise<(...args: Args) => Promise<number | void>>): (...args: Args) => Promise<void> {
  return async (...args) => {
    const code = await (await load())(...args);
    if (typeof code === 'number') process.exitCode = code;
  };
}

function registerDeploymentCommands(program: CommandUnknownOpts): void {
  declareUp(program).action(lazy(async () => (await import('./up.js')).upCommand));
  declareStatus(program).action(lazy(async () => (await import('./status.js')).statusCommand));
  declareMonitor(program).action(
    lazy(async () => {
      const { monitorCommand } = await import('./monitor.js');
      return (flags) => monitorCommand({ ...flags, version: pkg.version });
    }),
  );
  declareDown(program).action(lazy(async () => (await import('./down.js')).downCommand));
  declareUrl(program).action(lazy(async () => (await import('./url.js')).urlCommand));
  declareRotatePassword(program).action(lazy(async () => (await import('./rotate-password.js')).rotatePasswordCommand));
  declareDoctor(program).action(lazy(async () => (await import('./doctor.js')).doctorCommand));
}

function registerModelCommands(program: CommandUnknownOpts): void {
  const config = program.command('config').description('Check configuration files, and compare or align a live server with the model.');
  declareConfigLint(config).action(lazy(async () => (await import('./config-lint.js')).configLintCommand));
  declareConfigDiff(config).action(lazy(async () => (await import('./config-diff.js')).configDiffCommand));
  declareConfigApply(config).action(lazy(async () => (await import('./config-apply.js')).configApplyCommand));
  declareRender(program).action(lazy(async () => (await import('./render.js')).renderCommand));
  declareLoadgen(program).action(lazy(async () => (await import('./loadgen.js')).loadgenCommand));
}

function registerBackupCommands(program: CommandUnknownOpts): void {
  declareBackup(program).action(lazy(async () => (await import('./backup.js')).backupCommand));
  const backups = program.command('backups').description('List, verify and prune stored backups.');
  declareBackupsList(backups).action(lazy(async () => (await import('./backups.js')).backupsListCommand));
  declareBackupsVerify(backups).action(lazy(async () => (await import('./backups-verify.js')).backupsVerifyStart));
  declareBackupsPrune(backups).action(lazy(async () => (await import('./backups.js')).backupsPruneCommand));
}

/** Every command takes --debug itself (hidden): the program reads its own options before the subcommand only. */
function addDebug(parent: CommandUnknownOpts): void {
  for (const sub of parent.commands) {
    if (!sub.options.some((o) => o.long === '--debug')) sub.addOption(new Option('--debug', 'show stack traces for errors').hideHelp());
    addDebug(sub);
  }
}

export function buildProgram(): CommandUnknownOpts {
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
  registerDeploymentCommands(program);
  registerModelCommands(program);
  registerBackupCommands(program);
  declareRestore(program).action(lazy(async () => (await import('./restore-start.js')).restoreStart));
  // `config lint --version 8.1` names a release, not this program's version
  program.enablePositionalOptions();
  addDebug(program);
  return program;
}
