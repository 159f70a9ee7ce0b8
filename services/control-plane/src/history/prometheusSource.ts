/**
 * Timeseries from a Prometheus-compatible server (Prometheus, Thanos Query, VictoriaMetrics,
 * Mimir ...) that scrapes the core nodes itself: `GET <PROMETHEUS_URL>/api/v1/query_range` with
 * the PromQL of each derived metric (derive/derivedMetrics.ts), answered in the same shape as
 * the embedded history.
 */
import { AllSourceError } from '@allsource/errors';
import axios, { type AxiosInstance } from 'axios';
import type { ControlPlaneConfig, CoreNode } from '../config';
import type { DerivedMetricDef } from '../derive/derivedMetrics';
import type { Datapoint } from './history';

/** Escapes a string for a PromQL double-quoted label value. */
export function promString(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escapes a string for use as a literal inside a RE2 regular expression. */
export function re2Literal(value: string): string {
  return value.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/** Formats milliseconds as a PromQL duration (`90s`, `1500ms`). */
export function promDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.round(ms)}ms`;
}

interface QueryRangeAnswer {
  status?: string;
  error?: string;
  errorType?: string;
  data?: { resultType?: string; result?: Array<{ metric?: Record<string, string>; values?: Array<[number, string]> }> };
}

export class PrometheusSource {
  private readonly http: AxiosInstance;

  constructor(
    private readonly config: ControlPlaneConfig,
    private readonly baseUrl: string,
  ) {
    this.http = axios.create({
      timeout: config.prometheusTimeoutMs,
      maxContentLength: config.scrapeMaxBytes,
      maxRedirects: 0,
      validateStatus: () => true,
    });
  }

  /** Label matchers (no braces) selecting one node, or every configured node for the cluster. */
  selector(node: CoreNode | null): string {
    const label = this.config.prometheusInstanceLabel;
    const own = node
      ? `${label}="${promString(node.prometheusInstance)}"`
      : `${label}=~"${promString(this.config.nodes.map((n) => re2Literal(n.prometheusInstance)).join('|'))}"`;
    return [this.config.prometheusSelector, own].filter((s) => s !== '').join(',');
  }

  /** The PromQL sent for `metric` over one node (or the cluster) at `stepMs`. */
  query(metric: DerivedMetricDef, node: CoreNode | null, stepMs: number): string {
    const window = Math.max(stepMs, this.config.prometheusRateWindowMs);
    return metric.promql(this.selector(node), promDuration(window));
  }

  async queryRange(metric: DerivedMetricDef, node: CoreNode | null, fromMs: number, toMs: number, stepMs: number): Promise<Datapoint[]> {
    const query = this.query(metric, node, stepMs);
    const params = new URLSearchParams({
      query,
      start: (fromMs / 1000).toFixed(3),
      end: (toMs / 1000).toFixed(3),
      step: (stepMs / 1000).toString(),
    });
    let res;
    try {
      res = await this.http.get<unknown>(`${this.baseUrl}/api/v1/query_range?${params.toString()}`, { responseType: 'json' });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'ERROR';
      throw new AllSourceError('UPSTREAM_UNAVAILABLE', `Prometheus at ${this.baseUrl} did not answer (${code})`);
    }
    const body = (typeof res.data === 'object' && res.data !== null ? res.data : {}) as QueryRangeAnswer;
    if (res.status !== 200 || body.status !== 'success') {
      const detail = body.error ? `${body.errorType ?? 'error'}: ${body.error}` : `HTTP ${res.status}`;
      throw new AllSourceError('UPSTREAM_ERROR', `Prometheus query failed (${detail.slice(0, 300)})`, { query });
    }
    const series = body.data?.result?.[0];
    if (!series?.values) return [];
    return series.values.map(([ts, raw]) => {
      const v = Number(raw);
      return { timestamp: Math.round(Number(ts) * 1000), value: Number.isFinite(v) ? v : null };
    });
  }
}
