/**
 * A Grafana dashboard (JSON model, schemaVersion 39) for one NeuralLog Redis: the server's health from
 * redis_exporter-compatible metrics and NeuralLog's key families and backups. Every query names
 * metrics `monitor` exports (test/monitor-assets.test.ts holds that against a live scrape).
 */
import type { Deployment } from '../config/schema.js';

interface Panel {
  title: string;
  type: 'timeseries' | 'stat';
  unit: string;
  exprs: Array<[expr: string, legend: string]>;
  width: number;
}

function panels(selector: string): Panel[] {
  const s = `{${selector}}`;
  return [
    { title: 'Up', type: 'stat', unit: 'none', width: 4, exprs: [[`redis_up${s}`, '{{instance}}']] },
    {
      title: 'Memory used / maxmemory',
      type: 'stat',
      unit: 'percentunit',
      width: 4,
      exprs: [[`redis_memory_used_bytes${s} / (redis_memory_max_bytes${s} > 0)`, '{{instance}}']],
    },
    { title: 'Evicted keys (1h)', type: 'stat', unit: 'none', width: 4, exprs: [[`increase(redis_evicted_keys_total${s}[1h])`, '{{instance}}']] },
    { title: 'Newest backup age', type: 'stat', unit: 's', width: 4, exprs: [[`neurallog_backup_newest_age_seconds${s}`, '{{instance}}']] },
    { title: 'Newest backup verified', type: 'stat', unit: 'none', width: 4, exprs: [[`neurallog_backup_newest_verified${s}`, '{{instance}}']] },
    { title: 'Last RDB save', type: 'stat', unit: 'dateTimeFromNow', width: 4, exprs: [[`redis_rdb_last_save_timestamp_seconds${s} * 1000`, '{{instance}}']] },
    { title: 'Commands per second', type: 'timeseries', unit: 'ops', width: 12, exprs: [[`rate(redis_commands_processed_total${s}[1m])`, '{{instance}}']] },
    {
      title: 'Memory',
      type: 'timeseries',
      unit: 'bytes',
      width: 12,
      exprs: [
        [`redis_memory_used_bytes${s}`, 'used'],
        [`redis_memory_max_bytes${s}`, 'maxmemory'],
        [`redis_memory_used_rss_bytes${s}`, 'rss'],
      ],
    },
    {
      title: 'Hit ratio',
      type: 'timeseries',
      unit: 'percentunit',
      width: 12,
      exprs: [
        [`rate(redis_keyspace_hits_total${s}[5m]) / (rate(redis_keyspace_hits_total${s}[5m]) + rate(redis_keyspace_misses_total${s}[5m]))`, '{{instance}}'],
      ],
    },
    {
      title: 'Clients',
      type: 'timeseries',
      unit: 'none',
      width: 12,
      exprs: [
        [`redis_connected_clients${s}`, 'connected'],
        [`redis_blocked_clients${s}`, 'blocked'],
      ],
    },
    { title: 'NeuralLog keys by family', type: 'timeseries', unit: 'none', width: 12, exprs: [[`neurallog_keys${s}`, '{{family}}']] },
    { title: 'NeuralLog memory by family', type: 'timeseries', unit: 'bytes', width: 12, exprs: [[`neurallog_memory_bytes${s}`, '{{family}}']] },
    {
      title: 'Persistence status (1 = ok)',
      type: 'timeseries',
      unit: 'none',
      width: 12,
      exprs: [
        [`redis_rdb_last_bgsave_status${s}`, 'rdb save'],
        [`redis_aof_last_write_status${s}`, 'aof write'],
        [`redis_aof_last_bgrewrite_status${s}`, 'aof rewrite'],
      ],
    },
    {
      title: 'Expired and evicted keys per second',
      type: 'timeseries',
      unit: 'ops',
      width: 12,
      exprs: [
        [`rate(redis_expired_keys_total${s}[5m])`, 'expired'],
        [`rate(redis_evicted_keys_total${s}[5m])`, 'evicted'],
      ],
    },
    { title: 'Top commands per second', type: 'timeseries', unit: 'ops', width: 12, exprs: [[`topk(5, rate(redis_commands_total${s}[5m]))`, '{{cmd}}']] },
    { title: 'Slow log length', type: 'timeseries', unit: 'none', width: 12, exprs: [[`redis_slowlog_length${s}`, '{{instance}}']] },
  ];
}

export function grafanaDashboard(d: Deployment, selector = `job="${d.name}"`): Record<string, unknown> {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const rendered = panels(selector).map((p, i) => {
    if (x + p.width > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const height = p.type === 'stat' ? 4 : 8;
    const gridPos = { h: height, w: p.width, x, y };
    x += p.width;
    rowHeight = Math.max(rowHeight, height);
    return {
      id: i + 1,
      title: p.title,
      type: p.type,
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos,
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      targets: p.exprs.map(([expr, legendFormat], j) => ({
        refId: String.fromCharCode(65 + j),
        expr,
        legendFormat,
        datasource: { type: 'prometheus', uid: '${datasource}' },
      })),
    };
  });
  return {
    title: `NeuralLog Redis (${d.name})`,
    uid: `neurallog-redis-${d.name}`.slice(0, 40),
    tags: ['neurallog', 'redis'],
    schemaVersion: 39,
    version: 1,
    editable: true,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    templating: { list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus' }] },
    panels: rendered,
  };
}
