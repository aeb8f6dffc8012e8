/**
 * A scrape's MetricSet in Prometheus's text format, written by prom-client (escaping, number format,
 * content type), into one registry kept between scrapes whose families follow the server's (a replica
 * has master_* metrics, a primary does not), and the process's own metrics beside them.
 */
import { Counter, Gauge, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import type { Family, SummarySample } from './metric-set.js';
import type { MetricSet } from './metric-set.js';

/** A summary whose quantiles, sum and count come from elsewhere (prom-client computes its own otherwise). */
class PrecomputedSummary extends Summary<string> {
  constructor(
    family: Family,
    public precomputed: readonly SummarySample[],
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

type FamilyMetric = Gauge<string> | Counter<string> | PrecomputedSummary;

function createMetric(family: Family, registry: Registry): FamilyMetric {
  const common = { name: family.name, help: family.help, labelNames: family.labelNames, registers: [registry] };
  if (family.kind === 'summary') return new PrecomputedSummary(family, family.summaries, registry);
  return family.kind === 'counter' ? new Counter(common) : new Gauge(common);
}

function fill(metric: FamilyMetric, family: Family): void {
  if (metric instanceof PrecomputedSummary) {
    metric.precomputed = family.summaries;
  } else if (metric instanceof Counter) {
    metric.reset();
    for (const s of family.samples) if (s.value >= 0) metric.inc(s.labels, s.value);
  } else {
    metric.reset();
    for (const s of family.samples) metric.set(s.labels, s.value);
  }
}

/**
 * Writes scrapes into one registry kept between them: each family's metric is made once and reset and
 * refilled by every scrape (a fresh registry made some 400 objects a scrape, which the collector then
 * had to find); a family a scrape lacks (a replica's master_* on a primary) leaves the registry.
 */
export class ExpositionWriter {
  private readonly registry = new Registry();
  private readonly metrics = new Map<string, { shape: string; metric: FamilyMetric }>();

  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly extra: readonly Registry[] = []) {}

  /** One scrape's text; writes run one after another (two requests at once must not mix their values). */
  write(set: MetricSet): Promise<string> {
    const text = this.queue.then(() => this.writeNow(set));
    this.queue = text.catch(() => undefined);
    return text;
  }

  private async writeNow(set: MetricSet): Promise<string> {
    for (const family of set.families.values()) {
      const shape = `${family.kind} ${family.labelNames.join(',')} ${family.help}`;
      let entry = this.metrics.get(family.name);
      if (entry && entry.shape !== shape) {
        this.registry.removeSingleMetric(family.name);
        entry = undefined;
      }
      if (!entry) {
        entry = { shape, metric: createMetric(family, this.registry) };
        this.metrics.set(family.name, entry);
      }
      fill(entry.metric, family);
    }
    for (const name of [...this.metrics.keys()]) {
      if (set.families.has(name)) continue;
      this.registry.removeSingleMetric(name);
      this.metrics.delete(name);
    }
    const texts = await Promise.all([this.registry, ...this.extra].map((r) => r.metrics()));
    // as Registry.merge writes them: a blank line between families
    return texts.filter((t) => t.trim().length > 0).join('\n');
  }
}

export const CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** the text format of one scrape and of `extra` registries (the process's own metrics) */
export async function exposition(set: MetricSet, extra: readonly Registry[] = []): Promise<string> {
  return new ExpositionWriter(extra).write(set);
}
