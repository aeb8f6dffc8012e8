/**
 * Monitoring assets from the model: Prometheus alert rules (the common Redis pack, and what it misses
 * on a primary data store), a scrape config for `monitor`, and a Grafana dashboard of NeuralLog's
 * families. The Kubernetes PrometheusRule is made from the same rules. Pure functions.
 */
import { createHmac } from 'node:crypto';
import type { Deployment } from '../config/schema.js';
import { grafanaDashboard } from './grafana.js';
import { toYaml } from './yaml.js';

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  severity: 'critical' | 'warning';
  summary: string;
}

const MiB = 1024 * 1024;

/**
 * The token a `monitor` of this deployment asks beyond loopback, derived from the monitor user's
 * password (HMAC-SHA256): secret, deterministic for a renderer, and it changes when that password is
 * rotated. Whoever holds the monitor password may read the same things through Redis anyway.
 */
export function metricsToken(monitorPassword: string): string {
  return createHmac('sha256', monitorPassword).update('neurallog-redis metrics token').digest('base64url');
}

/** `selector`: the PromQL label matchers that pick this deployment's series, e.g. job="redis" */
export function alertRules(d: Deployment, selector: string): AlertRule[] {
  const s = `{${selector}}`;
  return [...commonRules(d, s), ...dataStoreRules(s)];
}

/** the common Redis pack (awesome-prometheus-alerts); `s`: the label matchers in braces */
function commonRules(d: Deployment, s: string): AlertRule[] {
  return [
    { alert: 'RedisDown', expr: `redis_up${s} == 0`, for: '1m', severity: 'critical', summary: 'Redis does not answer; NeuralLog cannot read or write logs.' },
    {
      alert: 'RedisOutOfMaxmemory',
      expr: `redis_memory_used_bytes${s} / redis_memory_max_bytes${s} > 0.9 and redis_memory_max_bytes${s} > 0`,
      for: '2m',
      severity: 'warning',
      summary: `Memory is above 90 % of maxmemory; under ${d.memory.maxmemoryPolicy}, ${d.memory.maxmemoryPolicy === 'noeviction' ? 'writes fail with OOM once it is reached' : 'keys are evicted once it is reached'}.`,
    },
    {
      alert: 'RedisTooManyConnections',
      expr: `redis_connected_clients${s} / redis_config_maxclients${s} > 0.9`,
      for: '2m',
      severity: 'warning',
      summary: 'Clients are above 90 % of maxclients.',
    },
    {
      alert: 'RedisRejectedConnections',
      expr: `increase(redis_rejected_connections_total${s}[5m]) > 0`,
      severity: 'warning',
      summary: 'Redis rejected connections (maxclients reached).',
    },
    {
      alert: 'RedisMasterLinkDown',
      expr: `redis_master_link_up${s} == 0`,
      for: '2m',
      severity: 'critical',
      summary: 'A replica has lost its link to the master.',
    },
    {
      alert: 'RedisReplicationBroken',
      expr: `delta(redis_connected_slaves${s}[1m]) < 0`,
      severity: 'critical',
      summary: 'A replica disconnected from the master.',
    },
    {
      alert: 'RedisClusterStateNotOk',
      expr: `redis_cluster_state${s} == 0`,
      for: '5m',
      severity: 'critical',
      summary: 'The cluster state is not ok (slots uncovered).',
    },
    {
      alert: 'RedisMissingBackup',
      expr: `time() - redis_rdb_last_save_timestamp_seconds${s} > 172800`,
      severity: 'critical',
      summary: 'No RDB save for 48 hours.',
    },
  ];
}

/** what none of the packs alerts on, and a primary data store needs */
function dataStoreRules(s: string): AlertRule[] {
  return [
    {
      alert: 'RedisRdbSaveFailing',
      expr: `redis_rdb_last_bgsave_status${s} == 0`,
      for: '5m',
      severity: 'critical',
      summary: 'The last RDB save failed (disk full or fork failed); with stop-writes-on-bgsave-error Redis refuses writes (MISCONF).',
    },
    {
      alert: 'RedisAofWriteFailing',
      expr: `redis_aof_last_write_status${s} == 0`,
      for: '1m',
      severity: 'critical',
      summary: 'Writes to the append-only file fail; Redis refuses writes until they succeed.',
    },
    {
      alert: 'RedisAofRewriteFailing',
      expr: `redis_aof_last_bgrewrite_status${s} == 0`,
      for: '10m',
      severity: 'warning',
      summary: 'The last AOF rewrite failed; the AOF keeps growing.',
    },
    {
      alert: 'RedisEvictingData',
      expr: `increase(redis_evicted_keys_total${s}[5m]) > 0`,
      severity: 'critical',
      summary: 'Keys were evicted: NeuralLog keeps its data in Redis, so every eviction is lost data.',
    },
    {
      alert: 'RedisReplicationLagBeyondBacklog',
      // the furthest-behind replica's offset against the master's, and the backlog that bridges them
      expr: `max by (instance) (redis_master_repl_offset${s}) - min by (instance) (redis_connected_slave_offset_bytes${s}) > max by (instance) (redis_replication_backlog_bytes${s})`,
      for: '1m',
      severity: 'warning',
      summary: 'A replica is further behind than the replication backlog holds: its next reconnect is a full resync.',
    },
    {
      alert: 'RedisSentinelTilt',
      expr: `redis_sentinel_tilt${s} == 1`,
      for: '1m',
      severity: 'warning',
      summary: 'A Sentinel is in TILT mode and will not act on failures.',
    },
    {
      alert: 'RedisSentinelQuorumLost',
      expr: `redis_sentinel_master_ckquorum_status${s} == 0`,
      for: '1m',
      severity: 'critical',
      summary: 'Sentinel cannot reach the quorum or the majority needed to fail over.',
    },
    {
      alert: 'RedisFragmentation',
      expr: `redis_mem_fragmentation_ratio${s} > 1.4 and redis_mem_fragmentation_bytes${s} > ${10 * MiB}`,
      for: '30m',
      severity: 'warning',
      summary: 'Memory fragmentation above 1.4 and more than 10 MiB wasted (small instances are ignored).',
    },
    {
      alert: 'NeuralLogBackupTooOld',
      expr: `neurallog_backup_newest_age_seconds${s} > 93600`,
      severity: 'critical',
      summary: 'The newest backup is more than 26 hours old.',
    },
    {
      alert: 'NeuralLogBackupNotVerified',
      expr: `neurallog_backup_newest_verified${s} == 0`,
      severity: 'critical',
      summary: 'The newest backup has no verified manifest: it may not restore.',
    },
  ];
}

/** A Prometheus rule file (`rule_files:`), the groups as promtool reads them. */
export function prometheusRuleGroups(d: Deployment, selector: string): { groups: unknown[] } {
  return {
    groups: [
      {
        name: `${d.name}.rules`,
        rules: alertRules(d, selector).map((a) => ({
          alert: a.alert,
          expr: a.expr,
          ...(a.for ? { for: a.for } : {}),
          labels: { severity: a.severity },
          annotations: { summary: a.summary },
        })),
      },
    ],
  };
}

/**
 * A scrape job for `monitor` at `target` (host:port), with the bearer token file when it needs one.
 * One server: its /metrics. A Sentinel or Cluster topology: every node, redis_exporter's multi-target
 * way: the node list from the monitor's /targets (Prometheus http_sd, refreshed as roles change), each
 * node scraped through /scrape?target=host:port, `instance` set to the node and `role`/`shard` kept.
 */
export function prometheusScrapeConfig(d: Deployment, target: string, tokenFile?: string): Record<string, unknown> {
  const authorization = tokenFile ? { authorization: { type: 'Bearer', credentials_file: tokenFile } } : {};
  const common = { job_name: d.name, scrape_interval: '30s', scrape_timeout: '10s' };
  if (d.topology.kind === 'single')
    return { scrape_configs: [{ ...common, metrics_path: '/metrics', ...authorization, static_configs: [{ targets: [target] }] }], rule_files: ['alerts.yml'] };
  return {
    scrape_configs: [
      {
        ...common,
        metrics_path: '/scrape',
        ...authorization,
        http_sd_configs: [{ url: `http://${target}/targets`, refresh_interval: '30s', ...authorization }],
        relabel_configs: [
          { source_labels: ['__address__'], target_label: '__param_target' },
          { source_labels: ['__param_target'], target_label: 'instance' },
          { target_label: '__address__', replacement: target },
        ],
      },
    ],
    rule_files: ['alerts.yml'],
  };
}

/**
 * `render monitoring`: a Prometheus scrape config for the monitor at `target`, its alert rules, and
 * the Grafana dashboard. With a token file, Prometheus sends the token (a monitor beyond loopback).
 */
export function renderMonitoring(d: Deployment, options: { target: string; tokenFile?: string }): Array<{ path: string; content: string; secret: boolean }> {
  const selector = `job="${d.name}"`;
  const header = `# Rendered by neurallog-redis for the "${d.name}" deployment. Edit the model, not this file.\n`;
  return [
    { path: 'prometheus.yml', content: header + toYaml(prometheusScrapeConfig(d, options.target, options.tokenFile)), secret: false },
    { path: 'alerts.yml', content: header + toYaml(prometheusRuleGroups(d, selector)), secret: false },
    { path: 'grafana-dashboard.json', content: `${JSON.stringify(grafanaDashboard(d, selector), null, 2)}\n`, secret: false },
  ];
}
