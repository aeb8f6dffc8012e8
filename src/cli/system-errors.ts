/**
 * Operating-system errors (a file where a directory was expected, no permission, a full disk) that
 * reach the top of a command unplanned: one plain sentence naming the path and what to do, instead
 * of "unexpected error ... please report it". They are the user's environment, not our bug.
 */

const WHAT: Record<string, string> = {
  ENOTDIR: 'a part of this path is a file, not a directory',
  EISDIR: 'this is a directory; a file was expected',
  EEXIST: 'something already exists at this path (a file where a directory is needed, or the reverse)',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied: run as a user who may use this path, or choose another',
  EPERM: 'operation not permitted: run as a user who may use this path, or choose another',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'too many symbolic links in the path',
  EMFILE: 'too many open files (raise the limit: ulimit -n)',
};

const ACTION: Record<string, string> = {
  open: 'open',
  read: 'read',
  write: 'write',
  mkdir: 'create the directory',
  scandir: 'list the directory',
  lstat: 'look at',
  stat: 'look at',
  rename: 'rename',
  unlink: 'remove',
  rmdir: 'remove the directory',
  copyfile: 'copy',
  chmod: 'change the mode of',
  access: 'access',
};

/** A plain one-line description, or undefined when `error` is not an operating-system error. */
export function describeSystemError(error: unknown): string | undefined {
  const e = error as NodeJS.ErrnoException & { dest?: string };
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || typeof e.syscall !== 'string') return undefined;
  const what = WHAT[e.code];
  if (!what) return undefined;
  const action = ACTION[e.syscall] ?? e.syscall;
  const where = e.path ? ` ${e.path}${e.dest ? ` -> ${e.dest}` : ''}` : '';
  return `cannot ${action}${where}: ${what} (${e.code})`;
}
