/**
 * Optional Prometheus Operator objects (deploy.monitoring): a ServiceMonitor scraping the metrics
 * sidecar (this project's `monitor`, redis_exporter-compatible names) and a PrometheusRule with the
 * alerts the common packs miss for a primary data store (failed saves and AOF writes, memory).
 */
import type { Deployment } from '../../config/schema.js';
import { commonLabels, names, selectorLabels, type Manifest } from './names.js';

export function serviceMonitor(d: Deployment): Manifest {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: names(d).serviceMonitor, namespace: d.deploy.namespace, labels: commonLabels(d) },
    spec: {
      selector: { matchLabels: selectorLabels(d) },
      endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
    },
  };
}

interface Alert {
  alert: string;
  expr: string;
  for?: string;
  severity: 'critical' | 'warning';
  summary: string;
}

function alerts(d: Deployment): Alert[] {
  const job = `job="${names(d).service}"`;
  return [
    { alert: 'RedisDown', expr: `redis_up{${job}} == 0`, for: '1m', severity: 'critical', summary: 'Redis does not answer; NeuralLog cannot read or write logs.' },
    { alert: 'RedisRdbSaveFailing', expr: `redis_rdb_last_bgsave_status{${job}} == 0`, for: '5m', severity: 'critical', summary: 'The last RDB save failed (disk full or fork failed).' },
    { alert: 'RedisAofWriteFailing', expr: `redis_aof_last_write_status{${job}} == 0`, for: '1m', severity: 'critical', summary: 'Writes to the append-only file fail; Redis refuses writes until they succeed.' },
    {
      alert: 'RedisNearMaxmemory',
      expr: `redis_memory_used_bytes{${job}} / redis_memory_max_bytes{${job}} > 0.9 and redis_memory_max_bytes{${job}} > 0`,
      for: '5m',
      severity: 'warning',
      summary: 'Memory is above 90% of maxmemory; under noeviction, writes fail with OOM once it is reached.',
    },
    { alert: 'RedisRejectedConnections', expr: `increase(redis_rejected_connections_total{${job}}[5m]) > 0`, severity: 'warning', summary: 'Redis rejected connections (maxclients reached).' },
  ];
}

export function prometheusRule(d: Deployment): Manifest {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: names(d).prometheusRule, namespace: d.deploy.namespace, labels: commonLabels(d) },
    spec: {
      groups: [
        {
          name: `${d.name}.rules`,
          rules: alerts(d).map((a) => ({
            alert: a.alert,
            expr: a.expr,
            ...(a.for ? { for: a.for } : {}),
            labels: { severity: a.severity },
            annotations: { summary: a.summary },
          })),
        },
      ],
    },
  };
}
