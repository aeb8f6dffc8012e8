/**
 * Every way the rendered manifests (neurallog profile) differ from the four manifests of the NeuralLog
 * Redis Configuration Guide, and why. One table, used twice: test/deploy-guide.test.ts compares the
 * guide's manifests with ours field by field and fails on a difference no entry explains (and on an
 * entry that explains nothing), and it generates the comparison section of docs/deploy.md from it.
 *
 * A path is a field in the comparison's notation: `.field`, `["key.with.dots"]` for map keys, and
 * `[name]` for list items with a name (containers, volumes, ports, env, items). An entry explains a
 * field when one of its paths is the field or an ancestor of it. Measured behaviour is Redis 7.0.15.
 */

export type GuideManifest = 'StatefulSet' | 'Service' | 'ConfigMap' | 'PersistentVolumeClaim';

export interface GuideDifference {
  id: string;
  manifest: GuideManifest;
  paths: string[];
  /** what we render, in a few words (the exact values are in the comparison table and the golden files) */
  ours: string;
  why: string;
}

const C = 'spec.template.spec.containers[redis]';
/** a directive of the ConfigMap's redis.conf, in the comparison's notation */
const conf = (name: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `data["redis.conf"].${name}` : `data["redis.conf"]["${name}"]`);
const LABELS_WHY =
  "The recommended `app.kubernetes.io/*` labels (name, instance, component, part-of, managed-by) let `kubectl get -l` and dashboards find every object of the deployment. The guide's `app: redis` stays, and stays the only selector: a StatefulSet's `spec.selector` cannot be changed, so a guide deployment is updated in place.";
const NAMESPACE_WHY =
  'Every object names its namespace (`deploy.namespace`, default `neurallog`), so the directory also works with `kubectl apply -f` and a Namespace object is rendered; kustomize sets the same value.';

export const GUIDE_DIFFERENCES: readonly GuideDifference[] = [
  // ---------------------------------------------------------------- StatefulSet
  {
    id: 'namespace',
    manifest: 'StatefulSet',
    paths: ['metadata.namespace'],
    ours: '`deploy.namespace`',
    why: NAMESPACE_WHY,
  },
  {
    id: 'labels',
    manifest: 'StatefulSet',
    paths: ['metadata.labels', 'spec.template.metadata.labels'],
    ours: '`app: redis` plus `app.kubernetes.io/*`',
    why: LABELS_WHY,
  },
  {
    id: 'checksums',
    manifest: 'StatefulSet',
    paths: ['spec.template.metadata.annotations'],
    ours: '`checksum/redis.conf`, `checksum/users.acl` (SHA-256 of the rendered files)',
    why: 'Redis reads redis.conf and the ACL file only when it starts. A changed ConfigMap or Secret changes these annotations, so `kubectl apply` rolls the pod instead of leaving it on the old configuration.',
  },
  {
    id: 'image',
    manifest: 'StatefulSet',
    paths: [`${C}.image`],
    ours: '`redis:8.0.4-alpine` (`container.image`, from `engine` and `version`; Valkey: `valkey/valkey:8.1.9-alpine`)',
    why: "`7-alpine` moves to every new 7.x on a pod restart (today 7.4, which writes RDB 12 that a 7.0 or 7.2 server cannot load), so a restart can change behaviour and a rollback can fail. Ours pins a release of the 8.0 line that this project's tests run for real (Redis 8.0.2: lint tables, `up`, probes); 8.0.4 is the same line with the security fixes 8.0.2's image lacks (CVE-2025-32023, CVE-2025-48367, CVE-2025-49844 and the other Lua fixes). Patch releases change neither the directives nor the RDB format (docs/deploy.md).",
  },
  {
    id: 'image-pull-policy',
    manifest: 'StatefulSet',
    paths: [`${C}.imagePullPolicy`],
    ours: '`IfNotPresent`',
    why: "Kubernetes' default for a tag other than `latest`, written out so the pinned image is not pulled again on every start.",
  },
  {
    id: 'command',
    manifest: 'StatefulSet',
    paths: [`${C}.command`],
    ours: '`redis-server /etc/redis/redis.conf --dir /data --aclfile /run/secrets/redis/users.acl` (`valkey-server` for Valkey)',
    why: 'The rendered redis.conf holds no machine paths (the same file serves `up`, Compose and Kubernetes), so the data directory and the ACL file are arguments. Without the ACL file Redis 7.0 has only the default user `on nopass`, and with `protected-mode yes` it answers every client from another pod `-DENIED` (measured, also with `bind 0.0.0.0`); with it, clients log in as `app`, `backup`, `monitor` or `admin` and anonymous clients get `NOAUTH`.',
  },
  {
    id: 'probe-password',
    manifest: 'StatefulSet',
    paths: [`${C}.env`],
    ours: '`REDISCLI_AUTH` from Secret key `monitor-password`',
    why: 'The probes log in as the least-privileged `monitor` user. redis-cli reads the password from `REDISCLI_AUTH`, so it never appears in a command line (`ps`, `/proc/*/cmdline`, `kubectl describe`).',
  },
  {
    id: 'memory-limit',
    manifest: 'StatefulSet',
    paths: [`${C}.resources.limits.memory`],
    ours: '`384Mi` = 1.5 x maxmemory 256mb + 0 replicas x 256mb (`container.memoryLimit`)',
    why: 'maxmemory bounds the data, not the process. A BGSAVE or AOF rewrite forks, and under writes copy-on-write duplicates pages (up to about half the data); each replica can hold an output buffer up to its 256mb hard limit. With the limit equal to maxmemory, the first save under load gets the container OOM-killed. `render kubernetes` refuses a model below 1.5 x maxmemory + replica buffers, naming `container.memoryLimit`.',
  },
  {
    id: 'startup-probe',
    manifest: 'StatefulSet',
    paths: [`${C}.startupProbe`],
    ours: 'the readiness check every 10 s, failureThreshold = max(300 s, container.storage / 10 MiB/s) / 10 s (30 for 1Gi)',
    why: "Loading a dataset takes time (measured: 111 MB of RDB, 3 M keys, in 4.3 s, about 26 MB/s; an AOF of commands is slower). The startup probe gives the whole data volume time to load at a slow disk's 10 MiB/s before liveness and readiness start, so a large dataset is not killed while loading. It scales with `container.storage`.",
  },
  {
    id: 'liveness',
    manifest: 'StatefulSet',
    paths: [
      `${C}.livenessProbe.tcpSocket`,
      `${C}.livenessProbe.exec`,
      `${C}.livenessProbe.initialDelaySeconds`,
      `${C}.livenessProbe.timeoutSeconds`,
      `${C}.livenessProbe.failureThreshold`,
    ],
    ours: 'exec: alive on `PONG`, `LOADING` or `MASTERDOWN`; every 20 s (kept), timeout 5 s, 6 failures; no initial delay',
    why: 'A TCP connect succeeds even when Redis is hung: the kernel completes the handshake into the listen backlog (measured with a SIGSTOPped redis-server: the connect succeeds, `PING` times out). The exec probe reads the reply instead, and tolerates `LOADING` so a pod reloading a large dataset is not restarted into the same load again. The startup probe replaces the initial delay; 6 failures (2 minutes) as spotahome found necessary for large datasets.',
  },
  {
    id: 'readiness',
    manifest: 'StatefulSet',
    paths: [
      `${C}.readinessProbe.exec`,
      `${C}.readinessProbe.initialDelaySeconds`,
      `${C}.readinessProbe.timeoutSeconds`,
      `${C}.readinessProbe.failureThreshold`,
    ],
    ours: 'exec: ready only when `PING` answers exactly `PONG` as `monitor`; every 10 s (kept), timeout 5 s, 3 failures; no initial delay',
    why: "`redis-cli ping` exits 0 whatever Redis answers: `NOAUTH` (no or a wrong password), `LOADING`, an error (measured on 7.0.15). The guide's probe therefore marks the pod ready while it refuses every command. Ours compares the reply with `PONG`. The startup probe replaces the initial delay; exec probes start a shell and redis-cli, so 5 s rather than the default 1 s.",
  },
  {
    id: 'pre-stop',
    manifest: 'StatefulSet',
    paths: [`${C}.lifecycle`],
    ours: 'preStop: `SHUTDOWN SAVE` as `admin` (password read from the mounted Secret file)',
    why: "Before the pod stops, Redis fsyncs the AOF, writes a final RDB and exits (measured: `Calling fsync() on the AOF file`, `DB saved on disk`, exit 0) — also when a model has no save points. The admin password is read from a file inside the shell, so it is neither in argv nor in the container's environment.",
  },
  {
    id: 'grace-period',
    manifest: 'StatefulSet',
    paths: ['spec.template.spec.terminationGracePeriodSeconds'],
    ours: '48 s = shutdown-timeout 10 s + maxmemory 256 MiB / 32 MiB/s + 30 s',
    why: "Kubernetes' default 30 s includes the preStop hook. The shutdown budget is Redis's wait for lagging replicas (`shutdown-timeout`, 10 s) plus writing the whole dataset at a slow disk's 32 MiB/s (measured here: 111 MB in 1.4 s); the grace period adds 30 s for the kubelet and clients.",
  },
  {
    id: 'pod-security',
    manifest: 'StatefulSet',
    paths: ['spec.template.spec.securityContext'],
    ours: 'runAsNonRoot, uid 999, gid 1000, fsGroup 1000 (OnRootMismatch), seccomp RuntimeDefault',
    why: "The guide's `command:` replaces the image's entrypoint, which is what drops root, so its Redis runs as root. Ours runs as the image's `redis` user (alpine: uid 999, group 1000); fsGroup makes the data volume (and files an earlier root-run Redis left there) group-writable, and the Secret files group-readable.",
  },
  {
    id: 'container-security',
    manifest: 'StatefulSet',
    paths: [`${C}.securityContext`],
    ours: 'no privilege escalation, read-only root file system, all capabilities dropped',
    why: 'Redis writes only to /data (logs go to standard output), so nothing else needs to be writable, and it needs no capability.',
  },
  {
    id: 'config-read-only',
    manifest: 'StatefulSet',
    paths: [`${C}.volumeMounts[redis-config].readOnly`],
    ours: '`true`',
    why: 'ConfigMap volumes are read-only anyway; written out so the manifest says what the pod gets.',
  },
  {
    id: 'secret-volume',
    manifest: 'StatefulSet',
    paths: [`${C}.volumeMounts[redis-secrets]`, 'spec.template.spec.volumes[redis-secrets]'],
    ours: 'Secret `redis-auth` items `users.acl` and `admin-password`, mode 0440, at /run/secrets/redis',
    why: "The ACL file (password hashes only) and the preStop hook's password come from the Secret, never from the ConfigMap. A Secret volume is updated in place when the Secret changes, so after `kubectl apply` an `ACL LOAD` (or the rollout the checksum annotation triggers) takes new passwords.",
  },
  {
    id: 'no-service-account',
    manifest: 'StatefulSet',
    paths: ['spec.template.spec.automountServiceAccountToken', 'spec.template.spec.enableServiceLinks'],
    ours: '`false`, `false`',
    why: 'Redis never talks to the Kubernetes API, so it gets no token; service links would put `REDIS_PORT=tcp://…`-style variables of every Service into its environment.',
  },
  // ---------------------------------------------------------------- Service
  { id: 'service-namespace', manifest: 'Service', paths: ['metadata.namespace'], ours: '`deploy.namespace`', why: NAMESPACE_WHY },
  { id: 'service-labels', manifest: 'Service', paths: ['metadata.labels'], ours: '`app: redis` plus `app.kubernetes.io/*`', why: LABELS_WHY },
  // ---------------------------------------------------------------- ConfigMap
  { id: 'configmap-namespace', manifest: 'ConfigMap', paths: ['metadata.namespace'], ours: '`deploy.namespace`', why: NAMESPACE_WHY },
  { id: 'configmap-labels', manifest: 'ConfigMap', paths: ['metadata.labels'], ours: '`app: redis` plus `app.kubernetes.io/*`', why: LABELS_WHY },
  {
    id: 'conf-eviction',
    manifest: 'ConfigMap',
    paths: [conf('maxmemory-policy')],
    ours: '`noeviction`',
    why: "Redis is NeuralLog's primary data store, not a cache: `allkeys-lru` silently deletes logs, index entries and rules when memory is full. Under `noeviction` writes fail with an OOM error NeuralLog reports, and nothing is lost (docs/configuration.md).",
  },
  {
    id: 'conf-diskless-backup',
    manifest: 'ConfigMap',
    paths: [conf('repl-diskless-sync-max-replicas')],
    ours: '`1`',
    why: "The backup job pulls its snapshot as a diskless replica. With Redis's default (0), 7.0.15 waits `repl-diskless-sync-delay` (5 s) for more replicas before every snapshot starts; with 1 the transfer starts at once (docs/configuration.md has the measurement).",
  },
  {
    id: 'conf-complete',
    manifest: 'ConfigMap',
    paths: [
      conf('appendfilename'),
      conf('appenddirname'),
      conf('dbfilename'),
      conf('aof-use-rdb-preamble'),
      conf('tcp-keepalive'),
      conf('timeout'),
      conf('tcp-backlog'),
      conf('databases'),
      conf('save'),
      conf('hash-max-listpack-entries'),
      conf('hash-max-listpack-value'),
      conf('list-max-listpack-size'),
      conf('set-max-intset-entries'),
      conf('zset-max-listpack-entries'),
      conf('zset-max-listpack-value'),
      conf('hll-sparse-max-bytes'),
      conf('activerehashing'),
      conf('client-output-buffer-limit'),
      conf('hz'),
      conf('aof-rewrite-incremental-fsync'),
    ],
    ours: 'the whole rendered redis.conf, byte for byte `render conf` (= redis/conf/redis.conf)',
    why: "The guide's ConfigMap is a shorter, different redis.conf than its own redis/conf/redis.conf: the pod would run without the guide's save points, tuning and buffer limits. Ours is the same file everywhere; the 7.0 names replace the `*-ziplist-*` aliases and `slave`, and the persistence file names are explicit (docs/configuration.md lists each value).",
  },
];
