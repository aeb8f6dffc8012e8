/**
 * The redis.conf directives the model covers: one table used both to read a redis.conf into the
 * model and to render the model back, so the two cannot drift apart. Each entry names the Redis 7.0
 * directive, its deprecated aliases, the guide section it is rendered under, how its arguments are
 * read, and how it is written.
 */
import { EVICTION_POLICIES, FSYNC_POLICIES, LOG_LEVELS } from './schema.js';
import { formatRedisSize } from './units.js';
import { BUFFER_CLASSES, arity, boolDirective, field, intDirective, readEnum, readInt, readSizeArg, type DirectiveSpec } from './directive-kit.js';
export { SECTIONS, readInt, readYesNo, type DirectiveSpec, type ReadState, type Section } from './directive-kit.js';

export const DIRECTIVES: DirectiveSpec[] = [
  intDirective(
    'port',
    'Basic configuration',
    1,
    65535,
    (d) => d.server.port,
    (d, v) => (d.server.port = v),
  ),
  {
    name: 'bind',
    aliases: [],
    section: 'Basic configuration',
    read: (d, args) => {
      if (args.length === 0) throw new Error('expects one or more addresses');
      d.server.bind = [...args];
    },
    render: (d) => [d.server.bind],
  },
  boolDirective(
    'protected-mode',
    'Basic configuration',
    field(
      (d) => d.server.protectedMode,
      (d, v) => (d.server.protectedMode = v),
    ),
  ),
  boolDirective(
    'daemonize',
    'Basic configuration',
    field(
      (d) => d.server.daemonize,
      (d, v) => (d.server.daemonize = v),
    ),
  ),

  intDirective(
    'maxmemory',
    'Memory management',
    0,
    Number.MAX_SAFE_INTEGER,
    (d) => d.memory.maxmemory,
    (d, v) => (d.memory.maxmemory = v),
    [],
    'units',
  ),
  {
    name: 'maxmemory-policy',
    aliases: [],
    section: 'Memory management',
    read: (d, args) => (d.memory.maxmemoryPolicy = readEnum(args, EVICTION_POLICIES)),
    render: (d) => [[d.memory.maxmemoryPolicy]],
  },

  boolDirective(
    'appendonly',
    'Persistence',
    field(
      (d) => d.persistence.appendonly,
      (d, v) => (d.persistence.appendonly = v),
    ),
  ),
  {
    name: 'appendfsync',
    aliases: [],
    section: 'Persistence',
    read: (d, args) => (d.persistence.appendfsync = readEnum(args, FSYNC_POLICIES)),
    render: (d) => [[d.persistence.appendfsync]],
  },
  ...(['appendfilename', 'appenddirname', 'dbfilename'] as const).map((key): DirectiveSpec => ({
    name: key,
    aliases: [],
    section: 'Persistence',
    read: (d, args) => {
      arity(args, 1, 'one file name');
      if (!/^[^/\s]+$/.test(args[0]!)) throw new Error(`"${args[0]}" must be a plain file name without "/" or spaces`);
      d.persistence[key] = args[0]!;
    },
    render: (d) => [[d.persistence[key]]],
  })),
  boolDirective(
    'aof-use-rdb-preamble',
    'Persistence',
    field(
      (d) => d.persistence.aofUseRdbPreamble,
      (d, v) => (d.persistence.aofUseRdbPreamble = v),
    ),
  ),

  {
    name: 'loglevel',
    aliases: [],
    section: 'Logging',
    read: (d, args) => (d.logging.loglevel = readEnum(args, LOG_LEVELS)),
    render: (d) => [[d.logging.loglevel]],
  },
  {
    name: 'logfile',
    aliases: [],
    section: 'Logging',
    read: (d, args) => {
      arity(args, 1, 'one path ("" for standard output)');
      d.logging.logfile = args[0]!;
    },
    render: (d) => [[d.logging.logfile]],
  },

  intDirective(
    'tcp-keepalive',
    'Performance tuning',
    0,
    2 ** 31 - 1,
    (d) => d.performance.tcpKeepalive,
    (d, v) => (d.performance.tcpKeepalive = v),
  ),
  intDirective(
    'timeout',
    'Performance tuning',
    0,
    2 ** 31 - 1,
    (d) => d.performance.timeout,
    (d, v) => (d.performance.timeout = v),
  ),
  intDirective(
    'tcp-backlog',
    'Performance tuning',
    0,
    2 ** 31 - 1,
    (d) => d.performance.tcpBacklog,
    (d, v) => (d.performance.tcpBacklog = v),
  ),
  intDirective(
    'databases',
    'Performance tuning',
    1,
    100000,
    (d) => d.server.databases,
    (d, v) => (d.server.databases = v),
  ),

  {
    name: 'save',
    aliases: [],
    section: 'Snapshotting',
    read: (d, args, state) => {
      if (!state.saveSeen) {
        d.persistence.save = [];
        state.saveSeen = true;
      }
      if (args.length === 1 && args[0] === '') {
        d.persistence.save = [];
        return;
      }
      if (args.length === 0 || args.length % 2 !== 0) throw new Error('expects pairs of <seconds> <changes>, or "" to disable snapshots');
      for (let i = 0; i < args.length; i += 2) {
        const seconds = readInt([args[i]!], 1);
        const changes = readInt([args[i + 1]!], 1);
        d.persistence.save.push({ seconds, changes });
      }
    },
    render: (d) => (d.persistence.save.length === 0 ? [['']] : d.persistence.save.map((p) => [String(p.seconds), String(p.changes)])),
  },

  intDirective(
    'hash-max-listpack-entries',
    'Advanced configuration',
    0,
    2 ** 53,
    (d) => d.advanced.hashMaxListpackEntries,
    (d, v) => (d.advanced.hashMaxListpackEntries = v),
    ['hash-max-ziplist-entries'],
  ),
  intDirective(
    'hash-max-listpack-value',
    'Advanced configuration',
    0,
    2 ** 53,
    (d) => d.advanced.hashMaxListpackValue,
    (d, v) => (d.advanced.hashMaxListpackValue = v),
    ['hash-max-ziplist-value'],
    'read',
  ),
  intDirective(
    'list-max-listpack-size',
    'Advanced configuration',
    -5,
    2 ** 31 - 1,
    (d) => d.advanced.listMaxListpackSize,
    (d, v) => {
      if (v === 0) throw new Error('0 is not allowed (use -5..-1 for a size in KiB classes, or a positive entry count)');
      d.advanced.listMaxListpackSize = v;
    },
    ['list-max-ziplist-size'],
  ),
  intDirective(
    'set-max-intset-entries',
    'Advanced configuration',
    0,
    2 ** 53,
    (d) => d.advanced.setMaxIntsetEntries,
    (d, v) => (d.advanced.setMaxIntsetEntries = v),
  ),
  intDirective(
    'zset-max-listpack-entries',
    'Advanced configuration',
    0,
    2 ** 53,
    (d) => d.advanced.zsetMaxListpackEntries,
    (d, v) => (d.advanced.zsetMaxListpackEntries = v),
    ['zset-max-ziplist-entries'],
  ),
  intDirective(
    'zset-max-listpack-value',
    'Advanced configuration',
    0,
    2 ** 53,
    (d) => d.advanced.zsetMaxListpackValue,
    (d, v) => (d.advanced.zsetMaxListpackValue = v),
    ['zset-max-ziplist-value'],
    'read',
  ),
  intDirective(
    'hll-sparse-max-bytes',
    'Advanced configuration',
    0,
    2 ** 53,
    (d) => d.advanced.hllSparseMaxBytes,
    (d, v) => (d.advanced.hllSparseMaxBytes = v),
    [],
    'read',
  ),
  boolDirective(
    'activerehashing',
    'Advanced configuration',
    field(
      (d) => d.performance.activerehashing,
      (d, v) => (d.performance.activerehashing = v),
    ),
  ),
  {
    name: 'client-output-buffer-limit',
    aliases: [],
    section: 'Advanced configuration',
    read: (d, args) => {
      if (args.length === 0 || args.length % 4 !== 0)
        throw new Error('expects <class> <hard limit> <soft limit> <soft seconds>, class being normal, replica or pubsub');
      for (let i = 0; i < args.length; i += 4) {
        const cls = BUFFER_CLASSES[args[i]!.toLowerCase() as keyof typeof BUFFER_CLASSES];
        if (!cls) throw new Error(`"${args[i]}" is not a client class (normal, replica, pubsub)`);
        d.advanced.clientOutputBufferLimit[cls] = {
          hardLimit: readSizeArg(args[i + 1]!),
          softLimit: readSizeArg(args[i + 2]!),
          softSeconds: readInt([args[i + 3]!], 0),
        };
      }
    },
    render: (d) =>
      (['normal', 'replica', 'pubsub'] as const).map((cls) => {
        const l = d.advanced.clientOutputBufferLimit[cls];
        return [cls, formatRedisSize(l.hardLimit), formatRedisSize(l.softLimit), String(l.softSeconds)];
      }),
  },
  intDirective(
    'hz',
    'Advanced configuration',
    1,
    500,
    (d) => d.performance.hz,
    (d, v) => (d.performance.hz = v),
  ),
  boolDirective(
    'aof-rewrite-incremental-fsync',
    'Advanced configuration',
    field(
      (d) => d.persistence.aofRewriteIncrementalFsync,
      (d, v) => (d.persistence.aofRewriteIncrementalFsync = v),
    ),
  ),
];

const BY_NAME = new Map<string, DirectiveSpec>();
for (const spec of DIRECTIVES) {
  BY_NAME.set(spec.name, spec);
  for (const alias of spec.aliases) BY_NAME.set(alias, spec);
}

export function directiveSpec(name: string): DirectiveSpec | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/**
 * Old names every release here still accepts, with the name to use instead: used to find a setting
 * under either name. Which names a given release treats as aliases is its table's business
 * (engine-directives.ts: Valkey 8.0's masterauth, 8.1's slowlog-*).
 */
export const DEPRECATED_ALIASES: Record<string, string> = {
  ...Object.fromEntries(DIRECTIVES.flatMap((s) => s.aliases.map((a) => [a, s.name]))),
  slaveof: 'replicaof',
  'slave-serve-stale-data': 'replica-serve-stale-data',
  'slave-read-only': 'replica-read-only',
  'slave-priority': 'replica-priority',
  'slave-lazy-flush': 'replica-lazy-flush',
  'slave-ignore-maxmemory': 'replica-ignore-maxmemory',
  'slave-announce-ip': 'replica-announce-ip',
  'slave-announce-port': 'replica-announce-port',
  'min-slaves-to-write': 'min-replicas-to-write',
  'min-slaves-max-lag': 'min-replicas-max-lag',
  'repl-ping-slave-period': 'repl-ping-replica-period',
  'cluster-slave-validity-factor': 'cluster-replica-validity-factor',
  'cluster-slave-no-failover': 'cluster-replica-no-failover',
};
