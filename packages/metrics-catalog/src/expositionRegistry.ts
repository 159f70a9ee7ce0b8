/**
 * A prom-client Registry whose text rendering costs less, for the same bytes.
 *
 * prom-client formats every sample line through arrays (`Object.entries`, `[...parts]`,
 * `filter`, `join`) and turns every histogram bound into a string again on every line. After a
 * cardinality load, `/metrics` is ~5,000 lines, and that formatting was most of a scrape. This
 * subclass renders the same Prometheus text format (0.0.4) straight into one string, and keeps
 * the strings that do not change between scrapes (a histogram bound's `le="…"`, a series' shared
 * labels) instead of rebuilding them. The values themselves are read fresh on every scrape: no
 * rendered text is kept across scrapes.
 *
 * Anything this fast path does not cover (OpenMetrics content type, default labels) goes to
 * prom-client's own formatting. `expositionRegistry.unit.test.ts` compares the output with
 * prom-client's, byte for byte.
 */
import { Histogram, Registry, type Metric } from 'prom-client';

interface SampleValue {
  value: number;
  labels?: Record<string, string | number | undefined>;
  sharedLabels?: Record<string, string | number | undefined>;
  metricName?: string;
}
interface MetricData {
  name: string;
  help: string;
  type: string;
  values?: readonly SampleValue[];
}
interface Renderable {
  get(): Promise<MetricData> | MetricData;
  getForPromString?(): Promise<MetricData> | MetricData;
}

const NEEDS_ESCAPE = /[\\\n"]/;

/** Same result as prom-client's escapeString (`\` and newline). */
function escapeString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `name="value"` exactly as prom-client writes it (non-string values go through String()). */
function labelPair(name: string, value: string | number | undefined): string {
  if (typeof value !== 'string' || !NEEDS_ESCAPE.test(value)) return `${name}="${value}"`;
  return `${name}="${escapeString(value).replace(/"/g, '\\"')}"`;
}

/** Same result as prom-client's getValueAsString (including its `Nan`). */
function valueString(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/** The fields of a prom-client 15 Histogram this registry reads to render it without copies. */
interface HistogramInternals {
  name: string;
  help: string;
  type: string;
  upperBounds: readonly number[];
  hashMap: Record<string, { labels: Record<string, string | number | undefined>; bucketValues: Record<string, number>; sum: number; count: number }>;
  enableExemplars: boolean;
  collect?: () => unknown;
}

function isPlainHistogram(metric: unknown): metric is HistogramInternals {
  const h = metric as Partial<HistogramInternals>;
  return metric instanceof Histogram && Array.isArray(h.upperBounds) && typeof h.hashMap === 'object' && !h.enableExemplars;
}

export class ExpositionRegistry extends Registry {
  /** `a="x",b="y"` by labels object: a series keeps its labels object from scrape to scrape. */
  private readonly labelsCache = new WeakMap<object, string>();
  /** `le="0.005"`: histogram bounds repeat on every scrape. */
  private readonly leCache = new Map<unknown, string>();
  /** Per histogram: `\n<name>_bucket{le="<bound>"` for each bound, and each bound as a key of bucketValues. */
  private readonly bucketPrefixes = new WeakMap<object, { prefixes: string[]; keys: string[] }>();

  // Not in prom-client's typings, but the method its `metrics()` and `getSingleMetricAsString()`
  // call for each metric (prom-client 15).
  async getMetricsAsString(metric: Metric): Promise<string> {
    const defaults = (this as unknown as { _defaultLabels: Record<string, string> })._defaultLabels;
    if (this.contentType !== Registry.PROMETHEUS_CONTENT_TYPE || Object.keys(defaults).length > 0) {
      return (Registry.prototype as unknown as { getMetricsAsString(m: Metric): Promise<string> }).getMetricsAsString.call(this, metric);
    }
    if (isPlainHistogram(metric)) return this.histogram(metric);
    const m = metric as unknown as Renderable;
    const data = typeof m.getForPromString === 'function' ? await m.getForPromString() : await m.get();
    const name = escapeString(data.name);
    let out = `# HELP ${name} ${escapeString(data.help)}\n# TYPE ${name} ${data.type}`;
    for (const val of data.values ?? []) {
      const shared = val.sharedLabels;
      let labelsText = '';
      const labels = val.labels;
      if (labels !== undefined) {
        if (shared === undefined) labelsText = this.labelsText(labels);
        else {
          for (const key of Object.keys(labels)) {
            if (Object.prototype.hasOwnProperty.call(shared, key)) continue;
            const part = key === 'le' ? this.le(labels.le) : labelPair(key, labels[key]);
            labelsText = labelsText === '' ? part : `${labelsText},${part}`;
          }
        }
      }
      if (shared !== undefined) {
        const sharedText = this.labelsText(shared);
        if (sharedText !== '') labelsText = labelsText === '' ? sharedText : `${labelsText},${sharedText}`;
      }
      const metricName = val.metricName === undefined ? name : val.metricName;
      out += labelsText === '' ? `\n${metricName} ${valueString(val.value)}` : `\n${metricName}{${labelsText}} ${valueString(val.value)}`;
    }
    return out;
  }

  /**
   * A histogram straight from its series: the lines prom-client's getForPromString() +
   * formatting would give (cumulative buckets, +Inf, _sum, _count per series, in series order),
   * without building an object per bucket line.
   */
  private async histogram(h: HistogramInternals): Promise<string> {
    if (h.collect) {
      const v = h.collect();
      if (v instanceof Promise) await v;
    }
    let fixed = this.bucketPrefixes.get(h);
    if (fixed === undefined) {
      fixed = { prefixes: h.upperBounds.map((b) => `\n${h.name}_bucket{${this.le(b)}`), keys: h.upperBounds.map((b) => String(b)) };
      this.bucketPrefixes.set(h, fixed);
    }
    const { prefixes, keys } = fixed;
    const name = escapeString(h.name);
    const inf = `\n${h.name}_bucket{${this.le('+Inf')}`;
    let out = `# HELP ${name} ${escapeString(h.help)}\n# TYPE ${name} ${h.type}`;
    for (const series of Object.values(h.hashMap)) {
      const shared = this.labelsText(series.labels);
      const tail = shared === '' ? '} ' : `,${shared}} `;
      let acc = 0;
      for (let i = 0; i < keys.length; i++) {
        acc += series.bucketValues[keys[i]!]!;
        out += `${prefixes[i]}${tail}${valueString(acc)}`;
      }
      out += `${inf}${tail}${valueString(series.count)}`;
      out += shared === '' ? `\n${h.name}_sum ${valueString(series.sum)}\n${h.name}_count ${valueString(series.count)}` : `\n${h.name}_sum{${shared}} ${valueString(series.sum)}\n${h.name}_count{${shared}} ${valueString(series.count)}`;
    }
    return out;
  }

  private le(value: string | number | undefined): string {
    let text = this.leCache.get(value);
    if (text === undefined) {
      text = labelPair('le', value);
      // Bounds are a fixed set per histogram; the guard only protects against misuse.
      if (this.leCache.size < 4096) this.leCache.set(value, text);
    }
    return text;
  }

  private labelsText(labels: Record<string, string | number | undefined>): string {
    let text = this.labelsCache.get(labels);
    if (text === undefined) {
      text = '';
      for (const key of Object.keys(labels)) {
        const part = labelPair(key, labels[key]);
        text = text === '' ? part : `${text},${part}`;
      }
      this.labelsCache.set(labels, text);
    }
    return text;
  }
}
