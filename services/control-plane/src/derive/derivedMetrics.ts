/**
 * The derived series the control plane serves, each defined twice on purpose: how it is computed
 * from two scrapes (`compute`, from an Increase and the latest gauges) and the PromQL that gives
 * the same number from a Prometheus that scrapes the cores (`promql`, used with PROMETHEUS_URL).
 * docs/control-plane.md lists them from here.
 */
import { histogramQuantile } from '../prometheus/promql';
import { bucketList, type Gauges, type Increase } from './coreSample';

export type DerivedKind = 'rate' | 'ratio' | 'latency' | 'gauge';

export interface DerivedMetricDef {
  readonly name: string;
  readonly unit: string;
  readonly kind: DerivedKind;
  readonly description: string;
  /** PromQL for one node or the cluster: `sel` is a label-matcher list (no braces), `w` a range like `60s`. */
  promql(sel: string, w: string): string;
  /** The value over an increase (rates per second over `inc.seconds`); null when undefined (0/0). */
  compute(inc: Increase | null, gauges: Gauges | null): number | null;
}

const rate = (v: number, inc: Increase): number | null => (inc.seconds > 0 ? v / inc.seconds : null);
const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);
const ms = (v: number | null): number | null => (v === null ? null : v * 1000);
const quantile = (q: number, buckets: ReadonlyMap<number, number>): number | null => {
  const v = histogramQuantile(q, bucketList(buckets));
  return Number.isFinite(v) ? v * 1000 : null;
};
const sumRate = (metric: string, sel: string, w: string, extra = ''): string =>
  `sum(rate(${metric}{${[sel, extra].filter((s) => s !== '').join(',')}}[${w}]))`;
const quantilePromql = (q: number, metric: string, sel: string, w: string): string =>
  `1000 * histogram_quantile(${q}, sum by (le) (rate(${metric}_bucket{${sel}}[${w}])))`;

function rateMetric(name: string, family: string, field: keyof Increase & string, unit: string, description: string): DerivedMetricDef {
  return {
    name,
    unit,
    kind: 'rate',
    description,
    promql: (sel, w) => sumRate(family, sel, w),
    compute: (inc) => (inc ? rate(inc[field] as number, inc) : null),
  };
}

function quantileMetric(name: string, q: number, family: string, which: 'ingestBuckets' | 'queryBuckets', description: string): DerivedMetricDef {
  return {
    name,
    unit: 'ms',
    kind: 'latency',
    description,
    promql: (sel, w) => quantilePromql(q, family, sel, w),
    compute: (inc) => (inc ? quantile(q, inc[which]) : null),
  };
}

function gaugeMetric(name: keyof Gauges, family: string, unit: string, description: string): DerivedMetricDef {
  return {
    name,
    unit,
    kind: 'gauge',
    description,
    promql: (sel) => `sum(${family}{${sel}})`,
    compute: (_inc, gauges) => gauges?.[name] ?? null,
  };
}

export const DERIVED_METRICS: readonly DerivedMetricDef[] = [
  rateMetric('ingestion_rate', 'allsource_events_ingested_total', 'ingested', 'events/s', 'Events durably ingested per second.'),
  rateMetric('query_rate', 'allsource_queries_total', 'queries', 'queries/s', 'Queries executed per second (all query types).'),
  {
    name: 'error_ratio',
    unit: 'ratio',
    kind: 'ratio',
    description: 'Share of ingestion requests that failed: errors / (errors + successful ingestion requests).',
    promql: (sel, w) =>
      `(${sumRate('allsource_ingestion_errors_total', sel, w)} or vector(0)) / ((${sumRate('allsource_ingestion_errors_total', sel, w)} or vector(0)) + ${sumRate('allsource_ingestion_duration_seconds_count', sel, w)})`,
    compute: (inc) => (inc ? ratio(inc.ingestErrors, inc.ingestErrors + inc.ingestCount) : null),
  },
  rateMetric('http_request_rate', 'allsource_http_requests_total', 'httpRequests', 'requests/s', 'HTTP requests answered per second.'),
  {
    name: 'http_error_ratio',
    unit: 'ratio',
    kind: 'ratio',
    description: 'Share of HTTP requests answered with a 5xx status.',
    promql: (sel, w) =>
      `(${sumRate('allsource_http_requests_total', sel, w, 'status=~"5.."')} or vector(0)) / ${sumRate('allsource_http_requests_total', sel, w)}`,
    compute: (inc) => (inc ? ratio(inc.http5xx, inc.httpRequests) : null),
  },
  {
    name: 'avg_ingestion_latency_ms',
    unit: 'ms',
    kind: 'latency',
    description: 'Mean ingestion request duration: increase of the histogram sum / increase of its count.',
    promql: (sel, w) =>
      `1000 * ${sumRate('allsource_ingestion_duration_seconds_sum', sel, w)} / ${sumRate('allsource_ingestion_duration_seconds_count', sel, w)}`,
    compute: (inc) => (inc ? ms(ratio(inc.ingestSum, inc.ingestCount)) : null),
  },
  {
    name: 'avg_query_latency_ms',
    unit: 'ms',
    kind: 'latency',
    description: 'Mean query duration: increase of the histogram sum / increase of its count.',
    promql: (sel, w) =>
      `1000 * ${sumRate('allsource_query_duration_seconds_sum', sel, w)} / ${sumRate('allsource_query_duration_seconds_count', sel, w)}`,
    compute: (inc) => (inc ? ms(ratio(inc.querySum, inc.queryCount)) : null),
  },
  quantileMetric('ingestion_latency_p50_ms', 0.5, 'allsource_ingestion_duration_seconds', 'ingestBuckets', 'Median ingestion latency (bucket interpolation).'),
  quantileMetric('ingestion_latency_p95_ms', 0.95, 'allsource_ingestion_duration_seconds', 'ingestBuckets', '95th percentile ingestion latency.'),
  quantileMetric('ingestion_latency_p99_ms', 0.99, 'allsource_ingestion_duration_seconds', 'ingestBuckets', '99th percentile ingestion latency.'),
  quantileMetric('query_latency_p50_ms', 0.5, 'allsource_query_duration_seconds', 'queryBuckets', 'Median query latency (all query types).'),
  quantileMetric('query_latency_p95_ms', 0.95, 'allsource_query_duration_seconds', 'queryBuckets', '95th percentile query latency.'),
  quantileMetric('query_latency_p99_ms', 0.99, 'allsource_query_duration_seconds', 'queryBuckets', '99th percentile query latency.'),
  gaugeMetric('events_stored', 'allsource_storage_events_total', 'events', 'Events held by the store.'),
  gaugeMetric('storage_bytes', 'allsource_storage_size_bytes', 'bytes', 'Bytes on disk (WAL + segments + snapshots).'),
  gaugeMetric('wal_segments', 'allsource_wal_segments_total', 'files', 'WAL segment files on disk.'),
  gaugeMetric('parquet_files', 'allsource_parquet_files_total', 'files', 'Parquet segment files on disk.'),
  gaugeMetric('websocket_connections', 'allsource_websocket_connections_active', 'connections', 'WebSocket clients connected.'),
  rateMetric('projection_throughput', 'allsource_projection_events_processed', 'projectionEvents', 'events/s', 'Events applied by projections per second (all projections).'),
  rateMetric('pipeline_throughput', 'allsource_pipeline_events_processed', 'pipelineEvents', 'events/s', 'Events processed by stream pipelines per second (all pipelines).'),
  rateMetric('replay_throughput', 'allsource_replay_events_processed', 'replayEvents', 'events/s', 'Events re-applied by replays per second.'),
  rateMetric('schema_validation_rate', 'allsource_schema_validations_total', 'schemaValidations', 'validations/s', 'Payloads validated against a registered schema per second (valid and invalid).'),
  {
    name: 'schema_invalid_rate',
    unit: 'validations/s',
    kind: 'rate',
    description: 'Payloads found invalid by their schema per second.',
    promql: (sel, w) => `(${sumRate('allsource_schema_validations_total', sel, w, 'result="invalid"')} or vector(0))`,
    compute: (inc) => (inc ? rate(inc.schemaInvalid, inc) : null),
  },
];

export const DERIVED_METRIC_NAMES: readonly string[] = DERIVED_METRICS.map((m) => m.name);
const BY_NAME = new Map(DERIVED_METRICS.map((m, i) => [m.name, { def: m, index: i }]));

export function derivedMetric(name: string): { def: DerivedMetricDef; index: number } | undefined {
  return BY_NAME.get(name);
}

/** Every derived value, in DERIVED_METRICS order (NaN where undefined), for the history store. */
export function computeAll(inc: Increase | null, gauges: Gauges | null): Float64Array {
  const out = new Float64Array(DERIVED_METRICS.length);
  DERIVED_METRICS.forEach((m, i) => {
    const v = m.compute(inc, gauges);
    out[i] = v === null || !Number.isFinite(v) ? NaN : v;
  });
  return out;
}

/** Every derived value by name (null where undefined), for JSON answers. */
export function computeRecord(inc: Increase | null, gauges: Gauges | null): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const m of DERIVED_METRICS) {
    const v = m.compute(inc, gauges);
    out[m.name] = v === null || !Number.isFinite(v) ? null : v;
  }
  return out;
}
