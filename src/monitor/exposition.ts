/**
 * A scrape's MetricSet in Prometheus's text format, written by prom-client (escaping, number format,
 * content type): a fresh registry per scrape, since the families present change with the server
 * (a replica has master_* metrics, a primary does not), and the process's own metrics beside them.
 */
import { Counter, Gauge, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import type { Family, SummarySample } from './metric-set.js';
import type { MetricSet } from './metric-set.js';

/** A summary whose quantiles, sum and count come from elsewhere (prom-client computes its own otherwise). */
class PrecomputedSummary extends Summary<string> {
  constructor(
    family: Family,
    private readonly precomputed: readonly SummarySample[],
    registry: Registry,
  ) {
    super({ name: family.name, help: family.help, labelNames: family.labelNames, percentiles: [], registers: [registry] });
  }

  override async get(): ReturnType<Summary<string>['get']> {
    const base = await super.get();
    const values: typeof base.values = [];
    for (const s of this.precomputed) {
      for (const [quantile, value] of s.quantiles) values.push({ labels: { ...s.labels, quantile }, value });
      values.push({ metricName: `${base.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${base.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return { ...base, values };
  }
}

/** The process's own metrics (process_cpu_seconds_total, process_resident_memory_bytes, ...), registered once. */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // its collector waits for a setImmediate turn on every scrape (0.24 ms of each, measured); the
  // event loop's delay is still exported, from a histogram kept in the background
  // (nodejs_eventloop_lag_p50_seconds, _p99_, _max_, ...)
  registry.removeSingleMetric('nodejs_eventloop_lag_seconds');
  return registry;
}

export function registryOf(set: MetricSet): Registry {
  const registry = new Registry();
  for (const family of set.families.values()) {
    if (family.kind === 'summary') {
      new PrecomputedSummary(family, family.summaries, registry);
    } else if (family.kind === 'counter') {
      const counter = new Counter({ name: family.name, help: family.help, labelNames: family.labelNames, registers: [registry] });
      for (const s of family.samples) if (s.value >= 0) counter.inc(s.labels, s.value);
    } else {
      const gauge = new Gauge({ name: family.name, help: family.help, labelNames: family.labelNames, registers: [registry] });
      for (const s of family.samples) gauge.set(s.labels, s.value);
    }
  }
  return registry;
}

export const CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** the text format of the scrape and of `extra` registries (the process's own metrics) */
export async function exposition(set: MetricSet, extra: readonly Registry[] = []): Promise<string> {
  return Registry.merge([registryOf(set), ...extra]).metrics();
}
