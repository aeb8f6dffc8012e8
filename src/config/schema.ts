/**
 * The deployment model: one typed description of a NeuralLog Redis deployment, the single source of
 * every artifact. Grouped by the sections of the NeuralLog Redis Configuration Guide.
 *
 * Sizes are whole bytes in the model. In a YAML file they may also be written as strings: fields that
 * end up in redis.conf take Redis's notation (`256mb`), fields that end up in Kubernetes manifests take
 * Kubernetes quantities (`640Mi`, CPU `100m`).
 */
import { z } from 'zod';
import { DEFAULT_RELEASE, ENGINES, VERSION_PATTERN, versionProblem } from './engines.js';
import { TOPOLOGY_DEFAULTS, topologySchema } from './topology.js';
import { parseK8sBytes, parseK8sMillicores, parseRedisSize } from './units.js';

export const EVICTION_POLICIES = [
  'noeviction',
  'allkeys-lru',
  'volatile-lru',
  'allkeys-lfu',
  'volatile-lfu',
  'allkeys-random',
  'volatile-random',
  'volatile-ttl',
] as const;
export const FSYNC_POLICIES = ['always', 'everysec', 'no'] as const;
export const LOG_LEVELS = ['debug', 'verbose', 'notice', 'warning'] as const;
export const PROFILES = ['neurallog', 'guide'] as const;

export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];
export type FsyncPolicy = (typeof FSYNC_POLICIES)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];
export type ProfileName = (typeof PROFILES)[number];

function sizeField(notation: 'redis' | 'kubernetes', description: string) {
  const parse = notation === 'redis' ? parseRedisSize : parseK8sBytes;
  const example = notation === 'redis' ? '`256mb` (1mb = 2^20, 1m = 10^6)' : '`640Mi` (Mi = 2^20, M = 10^6)';
  return z
    .union([
      z.int().nonnegative(),
      z.string().transform((text, ctx) => {
        const bytes = parse(text);
        if (bytes === undefined || bytes < 0) {
          ctx.addIssue({ code: 'custom', message: `"${text}" is not a size; write bytes or e.g. ${example}` });
          return z.NEVER;
        }
        return bytes;
      }),
    ])
    .describe(`${description}; bytes, or a string such as ${example}`);
}

const millicores = z
  .union([
    z.int().nonnegative(),
    z.string().transform((text, ctx) => {
      const value = parseK8sMillicores(text);
      if (value === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${text}" is not a CPU quantity; write e.g. \`100m\` or \`0.5\`` });
        return z.NEVER;
      }
      return value;
    }),
  ])
  .describe('CPU in millicores, or a Kubernetes quantity such as `100m`');

const nonNegative = z.int().nonnegative();

const outputBufferLimit = z.strictObject({
  hardLimit: sizeField('redis', 'hard limit (0 = none)'),
  softLimit: sizeField('redis', 'soft limit (0 = none)'),
  softSeconds: nonNegative.describe('seconds the soft limit may be exceeded'),
});

const aclPattern = (prefix: string, what: string) =>
  z.string().refine((s) => s.startsWith(prefix) || s === 'allkeys' || s === 'allchannels', {
    message: `${what} patterns start with "${prefix}"`,
  });

export const aclUserSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'user names are 1-64 letters, digits, "_", ".", "@" or "-"'),
  enabled: z.boolean().describe('`on` or `off` in the ACL file'),
  nopass: z.boolean().describe('no password at all (anyone may log in as this user)'),
  keys: z.array(aclPattern('~', 'key').or(z.string().regex(/^%(R|W|RW)~/))).describe('key patterns, e.g. `~logs:*`'),
  channels: z.array(aclPattern('&', 'channel')).describe('Pub/Sub channel patterns, e.g. `&neurallog:*`'),
  commands: z
    .array(z.string().regex(/^(\+|-)[@A-Za-z0-9_|-]+$|^(allcommands|nocommands)$/, 'command rules look like `+@read`, `-flushall` or `+client|list`'))
    .describe('command rules, applied in order'),
});
export type AclUser = z.infer<typeof aclUserSchema>;

/** A Kubernetes label as `key=value`; a list of them replaces the profile's list whole when overridden. */
const labelList = z.array(
  z
    .string()
    .regex(
      /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?=([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/,
      'a Kubernetes label written `key=value`, e.g. `app.kubernetes.io/name=neurallog-server`',
    ),
);

/** Where and how the model is deployed on Kubernetes and Docker Compose (render kubernetes|compose). */
export const deploySchema = z.strictObject({
  namespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and "-"')
    .describe('Kubernetes namespace of every object'),
  toolsImage: z.string().min(1).describe("this project's own image (the repository's Dockerfile), run by the backup job and service"),
  storageClassName: z.string().describe('StorageClass of the volume claims; "" uses the cluster default'),
  backup: z.strictObject({
    schedule: z
      .string()
      .regex(/^(\S+\s+){4}\S+$/, 'a five-field cron schedule, e.g. `17 * * * *`')
      .describe('when the Kubernetes CronJob takes a backup'),
    every: z
      .string()
      .regex(/^\d+[smhd]$/, 'a duration such as `1h`')
      .describe('interval of the Compose backup service'),
    keepLast: z.int().positive().describe('backups kept by the prune step'),
    storage: sizeField('kubernetes', 'size of the backups volume'),
  }),
  podDisruptionBudget: z.strictObject({
    maxUnavailable: nonNegative.describe('Redis pods a voluntary disruption (drain, eviction) may take down at once; 0 blocks every eviction and is refused'),
  }),
  networkPolicy: z.strictObject({
    clientPodLabels: labelList.describe('labels of the NeuralLog server pods (same namespace) that may reach Redis'),
    monitoringNamespaceLabels: labelList.describe('labels of the namespace the monitoring runs in ([] = the same namespace)'),
    monitoringPodLabels: labelList.describe('labels of the monitoring pods that may reach Redis ([] with no namespace labels = no monitoring access)'),
  }),
  monitoring: z.strictObject({
    serviceMonitor: z.boolean().describe("render a metrics sidecar (this project's `monitor`) and a ServiceMonitor"),
    prometheusRule: z.boolean().describe('render a PrometheusRule with the alerts'),
  }),
});
export type DeploySettings = z.output<typeof deploySchema>;

export const DEPLOY_DEFAULTS: DeploySettings = {
  namespace: 'neurallog',
  toolsImage: 'neurallog-redis:0.1.0',
  storageClassName: '',
  backup: { schedule: '17 * * * *', every: '1h', keepLast: 48, storage: 8 * 1024 ** 3 },
  podDisruptionBudget: { maxUnavailable: 1 },
  networkPolicy: {
    clientPodLabels: ['app.kubernetes.io/name=neurallog-server'],
    monitoringNamespaceLabels: ['kubernetes.io/metadata.name=monitoring'],
    monitoringPodLabels: ['app.kubernetes.io/name=prometheus'],
  },
  monitoring: { serviceMonitor: false, prometheusRule: false },
};

export const deploymentSchema = z
  .strictObject({
    profile: z.enum(PROFILES).describe('the profile the values started from'),
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and "-"')
      .describe('name of the deployment (Kubernetes object names)'),
    engine: z
      .enum(ENGINES)
      .default('redis')
      .describe('the server the model is for: `redis` or `valkey`; lint judges directives by its tables, and the image, probes and server command follow it'),
    version: z
      .string({ error: 'a release written as a string, e.g. "8.0" or "8.0.2" (unquoted, YAML reads 8.0 as the number 8)' })
      .regex(VERSION_PATTERN, 'a release such as "8.0" or "8.0.2"')
      .default(DEFAULT_RELEASE.redis)
      .describe(
        `the release the model is for, "8.0" or "8.0.2"; with only \`engine\` given, that engine's default (${Object.entries(DEFAULT_RELEASE)
          .map(([e, v]) => `${e} ${v}`)
          .join(', ')})`,
      ),
    server: z.strictObject({
      port: z.int().min(1).max(65535),
      bind: z.array(z.string().min(1)).min(1).describe('addresses to listen on'),
      protectedMode: z.boolean(),
      daemonize: z.boolean(),
      databases: z.int().min(1).max(100000),
    }),
    memory: z.strictObject({
      maxmemory: sizeField('redis', 'maximum memory for data (0 = unlimited)'),
      maxmemoryPolicy: z.enum(EVICTION_POLICIES),
    }),
    persistence: z.strictObject({
      appendonly: z.boolean(),
      appendfsync: z.enum(FSYNC_POLICIES),
      save: z.array(z.strictObject({ seconds: z.int().positive(), changes: z.int().positive() })).describe('RDB save points; empty disables snapshots'),
      aofRewriteIncrementalFsync: z.boolean(),
      aofUseRdbPreamble: z.boolean(),
      dbfilename: z.string().regex(/^[^/\s]+$/, 'a file name without "/" or spaces'),
      appendfilename: z.string().regex(/^[^/\s]+$/, 'a file name without "/" or spaces'),
      appenddirname: z.string().regex(/^[^/\s]+$/, 'a directory name without "/" or spaces'),
    }),
    logging: z.strictObject({
      loglevel: z.enum(LOG_LEVELS),
      logfile: z.string().describe('"" logs to standard output'),
    }),
    security: z.strictObject({
      users: z.array(aclUserSchema).describe('ACL users; rendered to users.acl with password hashes from the secrets file'),
    }),
    performance: z.strictObject({
      tcpKeepalive: nonNegative,
      timeout: nonNegative,
      tcpBacklog: nonNegative,
      activerehashing: z.boolean(),
      hz: z.int().min(1).max(500),
    }),
    advanced: z.strictObject({
      hashMaxListpackEntries: nonNegative,
      hashMaxListpackValue: nonNegative,
      listMaxListpackSize: z
        .int()
        .min(-5)
        .refine((n) => n !== 0, 'list-max-listpack-size is -5..-1 or a positive count'),
      setMaxIntsetEntries: nonNegative,
      zsetMaxListpackEntries: nonNegative,
      zsetMaxListpackValue: nonNegative,
      hllSparseMaxBytes: nonNegative,
      clientOutputBufferLimit: z.strictObject({
        normal: outputBufferLimit,
        replica: outputBufferLimit,
        pubsub: outputBufferLimit,
      }),
    }),
    extraDirectives: z
      .array(z.strictObject({ name: z.string().regex(/^[a-z][a-z0-9_-]*$/), args: z.array(z.string()) }))
      .describe('other directives of the target release, rendered verbatim after the modelled ones; lint checks them against that release'),
    container: z.strictObject({
      image: z
        .string()
        .min(1)
        .describe(
          'the server image; with `engine`/`version` given and no image, the official image of that release (`redis:8.0.4-alpine`, `valkey/valkey:8.1.9-alpine`)',
        ),
      memoryRequest: sizeField('kubernetes', 'memory request'),
      memoryLimit: sizeField('kubernetes', 'memory limit'),
      cpuRequest: millicores,
      cpuLimit: millicores,
      storage: sizeField('kubernetes', 'size of the data volume'),
      replicas: nonNegative.describe('replicas that attach to this server (each may fill a replica output buffer)'),
    }),
    retention: z.strictObject({
      logsTtlSeconds: nonNegative.describe('how long NeuralLog keeps log entries (0 = forever)'),
    }),
    topology: topologySchema
      .default(() => structuredClone(TOPOLOGY_DEFAULTS))
      .describe("one server (`single`, the default), Sentinel high availability, or Redis Cluster (the guide's Advanced Configuration)"),
    deploy: deploySchema.default(() => structuredClone(DEPLOY_DEFAULTS)).describe('Kubernetes and Docker Compose settings (render kubernetes|compose)'),
  })
  .superRefine((d, ctx) => {
    const problem = versionProblem(d.engine, d.version);
    if (problem && VERSION_PATTERN.test(d.version)) ctx.addIssue({ code: 'custom', path: ['version'], message: problem });
  });

export type Deployment = z.output<typeof deploymentSchema>;
export type DeploymentInput = z.input<typeof deploymentSchema>;
