/**
 * One scrape's metrics as plain values: families in the order they were first seen, each with its
 * type, help text, label names and samples. Pure data; `exposition.ts` turns it into the text format.
 */
export type MetricKind = 'gauge' | 'counter' | 'summary';

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels: Labels;
  value: number;
}

/** A summary whose quantiles someone else computed (Redis's latency percentiles). */
export interface SummarySample {
  labels: Labels;
  count: number;
  sum: number;
  /** quantile label (as the exporter prints it: "50", "99.9") -> value */
  quantiles: ReadonlyArray<readonly [string, number]>;
}

export interface Family {
  name: string;
  help: string;
  kind: MetricKind;
  labelNames: readonly string[];
  samples: Sample[];
  summaries: SummarySample[];
}

export class MetricSet {
  readonly families = new Map<string, Family>();

  constructor(private readonly helpFor: (name: string) => string = (name) => `${name} metric`) {}

  gauge(name: string, value: number, labels: Labels = {}): void {
    this.family(name, 'gauge', labels).samples.push({ labels, value });
  }

  counter(name: string, value: number, labels: Labels = {}): void {
    this.family(name, 'counter', labels).samples.push({ labels, value });
  }

  summary(name: string, sample: SummarySample): void {
    this.family(name, 'summary', sample.labels).summaries.push(sample);
  }

  /** the value of an unlabelled sample, or of the first sample whose labels include `labels` */
  value(name: string, labels: Labels = {}): number | undefined {
    const family = this.families.get(name);
    const match = family?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    return match?.value;
  }

  private family(name: string, kind: MetricKind, labels: Labels): Family {
    let family = this.families.get(name);
    if (!family) {
      family = { name, help: this.helpFor(name), kind, labelNames: Object.keys(labels), samples: [], summaries: [] };
      this.families.set(name, family);
    }
    return family;
  }
}
