/**
 * Optional Prometheus Operator objects (deploy.monitoring): a ServiceMonitor scraping the metrics
 * sidecar (this project's `monitor`, redis_exporter-compatible names) with its token, and a
 * PrometheusRule of the same rules `render monitoring` writes (render/monitoring.ts).
 */
import type { Deployment } from '../../config/schema.js';
import { prometheusRuleGroups } from '../monitoring.js';
import { METRICS_TOKEN_KEY, commonLabels, names, selectorLabels, type Manifest } from './names.js';

export function serviceMonitor(d: Deployment): Manifest {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: names(d).serviceMonitor, namespace: d.deploy.namespace, labels: commonLabels(d) },
    spec: {
      selector: { matchLabels: selectorLabels(d) },
      // the sidecar listens beyond loopback, so it asks for its token (the Secret's metrics-token)
      endpoints: [
        {
          port: 'metrics',
          path: '/metrics',
          interval: '30s',
          authorization: { type: 'Bearer', credentials: { name: names(d).secret, key: METRICS_TOKEN_KEY } },
        },
      ],
    },
  };
}

export function prometheusRule(d: Deployment): Manifest {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: names(d).prometheusRule, namespace: d.deploy.namespace, labels: commonLabels(d) },
    spec: prometheusRuleGroups(d, `job="${names(d).service}"`),
  };
}
