/**
 * What the control plane keeps of one scrape of a core node, and the increase between two scrapes.
 *
 * Only the families the derived series need are kept (counters by series, two histograms by
 * series), so a sample stays small whatever else the core exposes. Increases are computed per
 * series and then summed, the way `sum(increase(x[w]))` does it in PromQL, with counter resets
 * (a core restart) handled per series: a counter that went down restarted from 0, so its whole
 * new value is the increase. A restart is also recognised by a changed
 * `process_start_time_seconds`, which catches a restarted core whose counters already grew past
 * their old values.
 */
import { counterIncrease } from '../prometheus/promql';
import { histogramSeries, labelKey, type HistogramBucket, type MetricFamily } from '../prometheus/textFormat';

/** Counter families read from the core, and the increase field each one feeds. */
export const COUNTER_FAMILIES = {
  allsource_events_ingested_total: 'ingested',
  allsource_queries_total: 'queries',
  allsource_ingestion_errors_total: 'ingestErrors',
  allsource_http_requests_total: 'httpRequests',
  allsource_projection_events_processed: 'projectionEvents',
  allsource_pipeline_events_processed: 'pipelineEvents',
  allsource_replay_events_processed: 'replayEvents',
  allsource_schema_validations_total: 'schemaValidations',
} as const;

export const HISTOGRAM_FAMILIES = {
  allsource_ingestion_duration_seconds: 'ingest',
  allsource_query_duration_seconds: 'query',
} as const;

/** Gauge families read from the core (summed over their series). */
export const GAUGE_FAMILIES = {
  allsource_storage_events_total: 'events_stored',
  allsource_storage_size_bytes: 'storage_bytes',
  allsource_wal_segments_total: 'wal_segments',
  allsource_parquet_files_total: 'parquet_files',
  allsource_websocket_connections_active: 'websocket_connections',
} as const;

export type GaugeName = (typeof GAUGE_FAMILIES)[keyof typeof GAUGE_FAMILIES];
export const GAUGE_NAMES: readonly GaugeName[] = Object.values(GAUGE_FAMILIES);
export type Gauges = Record<GaugeName, number | null>;

/** Bound on the series kept per family (the core caps its own labels; this is a second guard). */
export const MAX_SERIES_PER_FAMILY = 2000;

interface HistogramState {
  buckets: HistogramBucket[];
  sum: number;
  count: number;
}

/** The parts of one successful scrape of a node the derived series need. */
export interface CoreSample {
  /** When the scrape finished (ms since the epoch). */
  at: number;
  /** `process_start_time_seconds` of the core, when exposed. */
  processStart: number | undefined;
  /** Counter values by `family|labels`. */
  counters: Map<string, number>;
  /** Histogram series by `family|labels-without-le`. */
  histograms: Map<string, HistogramState>;
  gauges: Gauges;
  /** Current (cumulative since the core started) totals, for /api/v1/metrics. */
  totals: { ingested: number; queries: number; ingest_errors: number; http_requests: number };
}

export function emptyGauges(): Gauges {
  return { events_stored: null, storage_bytes: null, wal_segments: null, parquet_files: null, websocket_connections: null };
}

/** Extracts a CoreSample from parsed `/metrics` families. */
export function sampleFromFamilies(families: readonly MetricFamily[], at: number): CoreSample {
  const counters = new Map<string, number>();
  const histograms = new Map<string, HistogramState>();
  const gauges = emptyGauges();
  const totals = { ingested: 0, queries: 0, ingest_errors: 0, http_requests: 0 };
  let processStart: number | undefined;
  for (const family of families) {
    const name = family.name;
    if (name === 'process_start_time_seconds') {
      const v = family.samples[0]?.value;
      if (v !== undefined && Number.isFinite(v)) processStart = v;
      continue;
    }
    if (name in COUNTER_FAMILIES) {
      let kept = 0;
      for (const s of family.samples) {
        if (s.name !== name || !Number.isFinite(s.value)) continue;
        if (kept++ >= MAX_SERIES_PER_FAMILY) break;
        counters.set(`${name}|${labelKey(s.labels)}`, s.value);
        if (name === 'allsource_events_ingested_total') totals.ingested += s.value;
        else if (name === 'allsource_queries_total') totals.queries += s.value;
        else if (name === 'allsource_ingestion_errors_total') totals.ingest_errors += s.value;
        else if (name === 'allsource_http_requests_total') totals.http_requests += s.value;
      }
      continue;
    }
    if (name in HISTOGRAM_FAMILIES) {
      let kept = 0;
      for (const series of histogramSeries(family)) {
        if (kept++ >= MAX_SERIES_PER_FAMILY) break;
        histograms.set(`${name}|${series.key}`, { buckets: series.buckets, sum: series.sum, count: series.count });
      }
      continue;
    }
    const gauge = (GAUGE_FAMILIES as Record<string, GaugeName | undefined>)[name];
    if (gauge) {
      let total = 0;
      let any = false;
      for (const s of family.samples) {
        if (s.name === name && Number.isFinite(s.value)) {
          total += s.value;
          any = true;
        }
      }
      // prom-client always exposes an unlabelled gauge, even at 0.
      gauges[gauge] = any ? total : family.samples.length === 0 ? 0 : null;
    }
  }
  return { at, processStart, counters, histograms, gauges, totals };
}

/**
 * Increases of the tracked quantities over `seconds`. Bucket maps are `le → increase` of the
 * cumulative bucket counts, summed over series (`sum by (le) (increase(x_bucket[w]))`).
 */
export interface Increase {
  seconds: number;
  ingested: number;
  queries: number;
  ingestErrors: number;
  httpRequests: number;
  http5xx: number;
  projectionEvents: number;
  pipelineEvents: number;
  replayEvents: number;
  /** Payloads validated against a schema, and those of them found invalid (`result="invalid"`). */
  schemaValidations: number;
  schemaInvalid: number;
  ingestCount: number;
  ingestSum: number;
  queryCount: number;
  querySum: number;
  ingestBuckets: Map<number, number>;
  queryBuckets: Map<number, number>;
}

type ScalarField = Exclude<keyof Increase, 'seconds' | 'ingestBuckets' | 'queryBuckets'>;
const SCALAR_FIELDS: readonly ScalarField[] = [
  'ingested',
  'queries',
  'ingestErrors',
  'httpRequests',
  'http5xx',
  'projectionEvents',
  'pipelineEvents',
  'replayEvents',
  'schemaValidations',
  'schemaInvalid',
  'ingestCount',
  'ingestSum',
  'queryCount',
  'querySum',
];

export function zeroIncrease(seconds = 0): Increase {
  return {
    seconds,
    ingested: 0,
    queries: 0,
    ingestErrors: 0,
    httpRequests: 0,
    http5xx: 0,
    projectionEvents: 0,
    pipelineEvents: 0,
    replayEvents: 0,
    schemaValidations: 0,
    schemaInvalid: 0,
    ingestCount: 0,
    ingestSum: 0,
    queryCount: 0,
    querySum: 0,
    ingestBuckets: new Map(),
    queryBuckets: new Map(),
  };
}

/** `into += other × factor` (seconds included). */
export function addIncrease(into: Increase, other: Increase, factor = 1): Increase {
  into.seconds += other.seconds * factor;
  for (const f of SCALAR_FIELDS) into[f] += other[f] * factor;
  for (const [le, v] of other.ingestBuckets) into.ingestBuckets.set(le, (into.ingestBuckets.get(le) ?? 0) + v * factor);
  for (const [le, v] of other.queryBuckets) into.queryBuckets.set(le, (into.queryBuckets.get(le) ?? 0) + v * factor);
  return into;
}

/** A copy of `inc` rescaled to cover `seconds` at the same rates. */
export function rescaleIncrease(inc: Increase, seconds: number): Increase {
  if (!(inc.seconds > 0)) return zeroIncrease(seconds);
  const out = addIncrease(zeroIncrease(), inc, seconds / inc.seconds);
  out.seconds = seconds;
  return out;
}

export function cloneIncrease(inc: Increase): Increase {
  return addIncrease(zeroIncrease(), inc);
}

/** Did the core restart between the two samples (counter resets expected)? */
export function restarted(previous: CoreSample, current: CoreSample): boolean {
  return previous.processStart !== undefined && current.processStart !== undefined && previous.processStart !== current.processStart;
}

/** The increase from `previous` to `current` of every tracked quantity, never negative. */
export function computeIncrease(previous: CoreSample, current: CoreSample): Increase {
  const inc = zeroIncrease(Math.max(0, (current.at - previous.at) / 1000));
  const reset = restarted(previous, current);
  for (const [key, value] of current.counters) {
    const bar = key.indexOf('|');
    const family = key.slice(0, bar) as keyof typeof COUNTER_FAMILIES;
    const field = COUNTER_FAMILIES[family];
    // A series absent from the previous scrape started at 0 in between (prom-client exposes a
    // labelled counter from its first increment).
    const before = reset ? 0 : (previous.counters.get(key) ?? 0);
    const delta = counterIncrease(before, value);
    inc[field] += delta;
    if (family === 'allsource_http_requests_total' && /(^|,)status="5\d\d"/.test(key.slice(bar + 1))) inc.http5xx += delta;
    if (family === 'allsource_schema_validations_total' && /(^|,)result="invalid"/.test(key.slice(bar + 1))) inc.schemaInvalid += delta;
  }
  for (const [key, series] of current.histograms) {
    const family = key.slice(0, key.indexOf('|')) as keyof typeof HISTOGRAM_FAMILIES;
    const which = HISTOGRAM_FAMILIES[family];
    const before = reset ? undefined : previous.histograms.get(key);
    // One reset decision for the whole series (count, sum and every bucket), so the bucket
    // increases stay a consistent cumulative histogram.
    const seriesReset =
      before === undefined ||
      !(series.count >= before.count) ||
      series.buckets.some((b) => {
        const old = before.buckets.find((o) => o.le === b.le);
        return old !== undefined && b.count < old.count;
      });
    const buckets = which === 'ingest' ? inc.ingestBuckets : inc.queryBuckets;
    for (const b of series.buckets) {
      const old = seriesReset ? 0 : (before!.buckets.find((o) => o.le === b.le)?.count ?? 0);
      buckets.set(b.le, (buckets.get(b.le) ?? 0) + Math.max(0, b.count - old));
    }
    const countDelta = seriesReset ? finite(series.count) : Math.max(0, finite(series.count) - finite(before!.count));
    const sumDelta = seriesReset ? finite(series.sum) : Math.max(0, finite(series.sum) - finite(before!.sum));
    if (which === 'ingest') {
      inc.ingestCount += countDelta;
      inc.ingestSum += sumDelta;
    } else {
      inc.queryCount += countDelta;
      inc.querySum += sumDelta;
    }
  }
  return inc;
}

function finite(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

/** Bucket map → sorted bucket list for histogramQuantile. */
export function bucketList(map: ReadonlyMap<number, number>): HistogramBucket[] {
  return [...map].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}
