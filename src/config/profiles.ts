/**
 * The two starting points of a deployment.
 * - `guide`: the NeuralLog Redis Configuration Guide's values, verbatim. `config lint` reports what is
 *   wrong with them on Redis 7.0.
 * - `neurallog` (default): the guide's values with deliberate changes where Redis 7.0 measurably breaks
 *   them; docs/configuration.md lists each difference and why.
 */
import { DEFAULT_RELEASE, defaultImage } from './engines.js';
import { TOPOLOGY_DEFAULTS } from './topology.js';
import { DEPLOY_DEFAULTS, type AclUser, type Deployment, type ProfileName } from './schema.js';

const MB = 1024 * 1024;

/** NeuralLog's key families: log entries and their indexes, rules and their actions, detected patterns. */
export const NEURALLOG_KEY_PATTERNS = ['~logs:*', '~idx:logs:*', '~rules:*', '~rule:actions:*', '~patterns:*'];

function guideDefaultUser(): AclUser {
  return { name: 'default', enabled: true, nopass: true, keys: ['~*'], channels: ['&*'], commands: ['+@all'] };
}

/**
 * What the `app` user may not do although `+@all -@admin -@dangerous` would let it (docs/configuration.md,
 * "What the users may do", says why each): replace or delete the server's functions and scripts (they
 * are installed by an operator as admin; app calls them with FCALL/EVALSHA and may SCRIPT LOAD its own),
 * debug scripts (SCRIPT DEBUG SYNC blocks the server), list key or channel names outside its patterns
 * (ACL rules cannot filter SCAN's, RANDOMKEY's or PUBSUB CHANNELS' output), and use any database
 * but 0 (SELECT other than 0, MOVE and COPY, whose target database ACL rules cannot restrict).
 */
export const APP_DENIED_COMMANDS = [
  '-function|flush',
  '-function|delete',
  '-function|load',
  '-function|restore',
  '-script|flush',
  '-script|debug',
  '-scan',
  '-randomkey',
  '-pubsub|channels',
  '-pubsub|shardchannels',
  '-select',
  '+select|0',
  '-move',
  '-copy',
];

/**
 * What Redis Commander 0.9.0 sends to list keys and show them, and nothing else (read from its source;
 * docs/monitoring.md, "Redis Commander", says what each is for): INFO (ioredis's ready check and the
 * server page), SCAN (the key tree; ACL rules cannot filter its output, so names outside NeuralLog's
 * patterns are listed but their TYPE and values are refused), TYPE and TTL of a key, the size of a
 * collection in the tree and each type's read command. Left out, and it works without them: COMMAND
 * (its read-only filter falls back to a built-in list), MODULE LIST, CLIENT SETNAME (errors ignored),
 * CONFIG GET databases (only when adding a server in the UI; falls back to 16), EVAL (only with
 * ui.maxHashFieldSize), KEYS (it uses SCAN), every write.
 */
export const COMMANDER_COMMANDS = [
  '-@all',
  '+info',
  '+scan',
  '+type',
  '+ttl',
  '+get',
  '+llen',
  '+lrange',
  '+hgetall',
  '+smembers',
  '+scard',
  '+zcard',
  '+zcount',
  '+zrevrange',
  '+xlen',
  '+xrange',
];

/** The least-privilege users of the neurallog profile. */
export function neurallogUsers(): AclUser[] {
  return [
    { name: 'default', enabled: false, nopass: false, keys: [], channels: [], commands: ['-@all'] },
    {
      name: 'app',
      enabled: true,
      nopass: false,
      keys: [...NEURALLOG_KEY_PATTERNS],
      channels: ['&neurallog:*'],
      commands: ['+@all', '-@admin', '-@dangerous', ...APP_DENIED_COMMANDS],
    },
    {
      name: 'backup',
      enabled: true,
      nopass: false,
      keys: [],
      channels: [],
      commands: ['-@all', '+sync', '+psync', '+replconf', '+ping', '+info'],
    },
    {
      name: 'monitor',
      enabled: true,
      nopass: false,
      // read-only on NeuralLog's keys, for MEMORY USAGE of the sampled keys (sizes, never values)
      keys: NEURALLOG_KEY_PATTERNS.map((pattern) => `%R${pattern}`),
      channels: [],
      // LATENCY RESET would erase what operators and exporters read; the rest of LATENCY only reads.
      // SLOWLOG GET gives redis_exporter's slowlog_last_id and the dashboard's slow log; its entries
      // carry the slow commands' arguments, which the monitor never shows. DBSIZE, SCAN and MEMORY
      // USAGE: the background count of NeuralLog's key families (bounded passes, names and sizes
      // only). No CONFIG: CONFIG GET would read masterauth, a path from this user to the replication
      // user and so to all data.
      commands: ['-@all', '+ping', '+info', '+latency', '-latency|reset', '+slowlog|len', '+slowlog|get', '+client|list', '+dbsize', '+scan', '+memory|usage'],
    },
    {
      name: 'commander',
      enabled: true,
      nopass: false,
      // Redis Commander's key browser (render/commander.ts): read-only on NeuralLog's keys
      keys: NEURALLOG_KEY_PATTERNS.map((pattern) => `%R${pattern}`),
      channels: [],
      commands: [...COMMANDER_COMMANDS],
    },
    {
      name: 'ops',
      enabled: true,
      nopass: false,
      keys: [],
      channels: [],
      // `doctor`: what monitor reads plus CONFIG GET (eviction, persistence, limits, protected mode,
      // debug command) and CLUSTER INFO; nothing that writes. CONFIG GET also reads masterauth where
      // replication is set up, and ACL rules cannot hide one parameter: this password is as
      // sensitive as the replication user's, which is why monitor (the sidecar, behind an HTTP
      // token) does not get it (docs/doctor.md).
      commands: ['-@all', '+ping', '+info', '+latency', '-latency|reset', '+slowlog|len', '+slowlog|get', '+client|list', '+config|get', '+cluster|info'],
    },
    { name: 'admin', enabled: true, nopass: false, keys: ['~*'], channels: ['&*'], commands: ['+@all'] },
  ];
}

function guideProfile(): Deployment {
  return {
    profile: 'guide',
    name: 'redis',
    // The guide names no release; its image, redis:7-alpine, resolves to the 7.4 line today.
    engine: 'redis',
    version: '7.4',
    server: { port: 6379, bind: ['0.0.0.0'], protectedMode: true, daemonize: false, databases: 16 },
    memory: { maxmemory: 256 * MB, maxmemoryPolicy: 'allkeys-lru' },
    persistence: {
      appendonly: true,
      appendfsync: 'everysec',
      save: [
        { seconds: 900, changes: 1 },
        { seconds: 300, changes: 10 },
        { seconds: 60, changes: 10000 },
      ],
      aofRewriteIncrementalFsync: true,
      aofUseRdbPreamble: true,
      dbfilename: 'dump.rdb',
      appendfilename: 'appendonly.aof',
      appenddirname: 'appendonlydir',
    },
    logging: { loglevel: 'notice', logfile: '' },
    security: { users: [guideDefaultUser()] },
    performance: { tcpKeepalive: 300, timeout: 0, tcpBacklog: 511, activerehashing: true, hz: 10 },
    advanced: {
      hashMaxListpackEntries: 512,
      hashMaxListpackValue: 64,
      listMaxListpackSize: -2,
      setMaxIntsetEntries: 512,
      zsetMaxListpackEntries: 128,
      zsetMaxListpackValue: 64,
      hllSparseMaxBytes: 3000,
      clientOutputBufferLimit: {
        normal: { hardLimit: 0, softLimit: 0, softSeconds: 0 },
        replica: { hardLimit: 256 * MB, softLimit: 64 * MB, softSeconds: 60 },
        pubsub: { hardLimit: 32 * MB, softLimit: 8 * MB, softSeconds: 60 },
      },
    },
    extraDirectives: [],
    container: {
      image: 'redis:7-alpine',
      memoryRequest: 128 * MB,
      memoryLimit: 256 * MB,
      cpuRequest: 100,
      cpuLimit: 300,
      storage: 1024 * MB,
      replicas: 0,
    },
    retention: { logsTtlSeconds: 0 },
    topology: structuredClone(TOPOLOGY_DEFAULTS),
    deploy: structuredClone(DEPLOY_DEFAULTS),
  };
}

/**
 * Memory a container needs for a given model: 1.5 x maxmemory (a fork for a save or an AOF rewrite
 * may copy up to half the data under write load) plus one replica output buffer per replica.
 */
export function requiredMemoryLimit(d: Pick<Deployment, 'memory' | 'advanced' | 'container'>): number {
  return Math.ceil(d.memory.maxmemory * 1.5) + d.container.replicas * d.advanced.clientOutputBufferLimit.replica.hardLimit;
}

function neurallogProfile(): Deployment {
  const base = guideProfile();
  const deployment: Deployment = {
    ...base,
    profile: 'neurallog',
    memory: { ...base.memory, maxmemoryPolicy: 'noeviction' },
    security: { users: neurallogUsers() },
    engine: 'redis',
    version: DEFAULT_RELEASE.redis,
    container: { ...base.container, image: defaultImage('redis', DEFAULT_RELEASE.redis) },
    // A backup pulls its snapshot as a diskless replica; without this the server waits
    // repl-diskless-sync-delay (5 s) for more replicas before every backup starts.
    extraDirectives: [{ name: 'repl-diskless-sync-max-replicas', args: ['1'] }],
  };
  // 1.5 x 256mb = 384Mi; rounded up to whole MiB so manifests show an exact, readable quantity.
  deployment.container.memoryLimit = Math.ceil(requiredMemoryLimit(deployment) / MB) * MB;
  return deployment;
}

export function profile(name: ProfileName): Deployment {
  return name === 'guide' ? guideProfile() : neurallogProfile();
}

export const DEFAULT_PROFILE: ProfileName = 'neurallog';
