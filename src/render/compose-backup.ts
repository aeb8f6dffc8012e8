/** The Compose backup service's command, shared by the single-server and the HA projects. */
import type { Deployment } from '../config/schema.js';
import { backupUrl, PATHS } from './kubernetes/names.js';

export function composeBackupCommand(d: Deployment): string[] {
  return [
    'backup',
    '--url',
    backupUrl(d),
    '--password-file',
    PATHS.backupPasswordFile,
    '--to',
    PATHS.backups,
    '--every',
    d.deploy.backup.every,
    '--keep-last',
    String(d.deploy.backup.keepLast),
  ];
}
