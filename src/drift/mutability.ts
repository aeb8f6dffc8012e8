/**
 * Which directives a running server refuses to change (CONFIG SET), from the IMMUTABLE_CONFIG and
 * PROTECTED_CONFIG flags of src/config.c in Redis 7.0.15, Redis 8.0 and Valkey 8.1 (their union).
 * `config diff` says from this table whether a difference can be fixed at runtime; `config apply`
 * trusts the server itself: an argument CONFIG SET calls immutable or protected moves to the
 * restart list, whatever this table said (tested on all three engines).
 */

/** CONFIG SET answers "can't set immutable config": only a restart with a changed file changes them. */
const IMMUTABLE = new Set([
  'aclfile',
  'always-show-logo',
  'aof-rewrite-cpulist',
  'appenddirname',
  'appendfilename',
  'bgsave-cpulist',
  'bio-cpulist',
  'client-default-resp',
  'cluster-config-file',
  'cluster-enabled',
  'cluster-port',
  'daemonize',
  'databases',
  'disable-thp',
  'enable-debug-assert',
  'enable-debug-command',
  'enable-module-command',
  'enable-protected-configs',
  'io-threads',
  'io-threads-do-reads',
  'logfile',
  'pidfile',
  'rdbchecksum',
  'replicaof',
  'server-cpulist',
  'set-proc-title',
  'socket-mark-id',
  'supervised',
  'syslog-enabled',
  'syslog-facility',
  'syslog-ident',
  'tcp-backlog',
  'unixsocket',
  'unixsocketgroup',
  'unixsocketperm',
]);

/** CONFIG SET answers "can't set protected config" unless the server runs with enable-protected-configs. */
const PROTECTED = new Set(['dbfilename', 'dir']);

/**
 * Where clients connect: the server takes a new value at runtime, but the clients, the deployment's
 * state and this very command would lose it, so `config apply` leaves these to a restart.
 */
const LISTENER = new Set(['port', 'bind', 'bind-source-addr', 'tls-port', 'unixsocket']);

export type Change = 'runtime' | 'restart' | 'protected' | 'listener';

export function changeKind(name: string): Change {
  if (LISTENER.has(name)) return 'listener';
  if (IMMUTABLE.has(name)) return 'restart';
  if (PROTECTED.has(name)) return 'protected';
  return 'runtime';
}

/** What CONFIG SET's refusal says about an argument: 'restart' for immutable, 'protected', else undefined. */
export function refusalKind(message: string): { name: string; kind: 'restart' | 'protected' } | undefined {
  const match = /argument '([^']+)'\) - can't set (immutable|protected) config/.exec(message);
  if (!match) return undefined;
  return { name: match[1]!, kind: match[2] === 'immutable' ? 'restart' : 'protected' };
}

export const CHANGE_HINT: Record<Change, string> = {
  runtime: 'CONFIG SET changes it now',
  restart: 'the server reads it only at start: change the file and restart',
  protected: 'CONFIG SET refuses it unless the server runs with enable-protected-configs: change the file and restart',
  listener: 'it moves where clients connect: apply leaves it (change the file and restart, or CONFIG SET it by hand)',
};
