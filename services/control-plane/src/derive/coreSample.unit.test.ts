import { parseExposition } from '../prometheus/textFormat';
import { addIncrease, computeIncrease, rescaleIncrease, sampleFromFamilies, zeroIncrease, type CoreSample } from './coreSample';
import { DERIVED_METRICS, computeRecord } from './derivedMetrics';

interface Scrape {
  ingested: number;
  queries: Record<string, number>;
  errors?: Record<string, number>;
  http?: Array<[string, string, number]>;
  queryBuckets?: Record<string, number[]>;
  ingestBuckets?: number[];
  ingestSum?: number;
  start?: number;
  events?: number;
  ws?: number;
}

const QB = ['0.001', '0.01', '0.1', '+Inf'];

/** A /metrics body shaped like the core's. */
function exposition(s: Scrape): string {
  const lines: string[] = [];
  if (s.start !== undefined) lines.push('# TYPE process_start_time_seconds gauge', `process_start_time_seconds ${s.start}`);
  lines.push('# TYPE allsource_events_ingested_total counter', `allsource_events_ingested_total ${s.ingested}`);
  lines.push('# TYPE allsource_queries_total counter');
  for (const [t, v] of Object.entries(s.queries)) lines.push(`allsource_queries_total{query_type="${t}"} ${v}`);
  lines.push('# TYPE allsource_ingestion_errors_total counter');
  for (const [r, v] of Object.entries(s.errors ?? {})) lines.push(`allsource_ingestion_errors_total{reason="${r}"} ${v}`);
  lines.push('# TYPE allsource_http_requests_total counter');
  for (const [endpoint, status, v] of s.http ?? []) lines.push(`allsource_http_requests_total{method="GET",endpoint="${endpoint}",status="${status}"} ${v}`);
  lines.push('# TYPE allsource_query_duration_seconds histogram');
  for (const [t, counts] of Object.entries(s.queryBuckets ?? {})) {
    counts.forEach((c, i) => lines.push(`allsource_query_duration_seconds_bucket{le="${QB[i]}",query_type="${t}"} ${c}`));
    lines.push(`allsource_query_duration_seconds_sum{query_type="${t}"} ${counts[counts.length - 1]! * 0.002}`);
    lines.push(`allsource_query_duration_seconds_count{query_type="${t}"} ${counts[counts.length - 1]}`);
  }
  lines.push('# TYPE allsource_ingestion_duration_seconds histogram');
  const ib = s.ingestBuckets ?? [0, 0, 0, 0];
  ib.forEach((c, i) => lines.push(`allsource_ingestion_duration_seconds_bucket{le="${QB[i]}"} ${c}`));
  lines.push(`allsource_ingestion_duration_seconds_sum ${s.ingestSum ?? 0}`, `allsource_ingestion_duration_seconds_count ${ib[ib.length - 1]}`);
  lines.push('# TYPE allsource_storage_events_total gauge', `allsource_storage_events_total ${s.events ?? 0}`);
  lines.push('# TYPE allsource_websocket_connections_active gauge', `allsource_websocket_connections_active ${s.ws ?? 0}`);
  return lines.join('\n');
}

const sample = (s: Scrape, at: number): CoreSample => sampleFromFamilies(parseExposition(exposition(s)), at);

describe('computeIncrease', () => {
  it('sums per-series counter increases over the interval', () => {
    const a = sample({ ingested: 100, queries: { entity: 10, type: 5 }, http: [['/a', '200', 50], ['/a', '500', 1]] }, 0);
    const b = sample({ ingested: 160, queries: { entity: 14, type: 9 }, http: [['/a', '200', 70], ['/a', '500', 3]] }, 2000);
    const inc = computeIncrease(a, b);
    expect(inc.seconds).toBe(2);
    expect(inc.ingested).toBe(60);
    expect(inc.queries).toBe(8);
    expect(inc.httpRequests).toBe(22);
    expect(inc.http5xx).toBe(2);
    const r = computeRecord(inc, b.gauges);
    expect(r.ingestion_rate).toBe(30);
    expect(r.query_rate).toBe(4);
    expect(r.http_error_ratio).toBeCloseTo(2 / 22, 12);
  });

  it('handles a counter reset per series: the new value is the increase, never a negative one', () => {
    const a = sample({ ingested: 1000, queries: { entity: 500, type: 7 } }, 0);
    // The core restarted: entity queries started again from 0, type queries did not move.
    const b = sample({ ingested: 40, queries: { entity: 3, type: 7 } }, 1000);
    const inc = computeIncrease(a, b);
    expect(inc.ingested).toBe(40);
    expect(inc.queries).toBe(3);
    for (const v of Object.values(computeRecord(inc, b.gauges))) if (v !== null) expect(v).toBeGreaterThanOrEqual(0);
  });

  it('treats every series as reset when process_start_time_seconds changed (restart that outgrew the old values)', () => {
    const a = sample({ ingested: 10, queries: { entity: 1 }, start: 1000 }, 0);
    const b = sample({ ingested: 25, queries: { entity: 4 }, start: 2000 }, 1000);
    const inc = computeIncrease(a, b);
    expect(inc.ingested).toBe(25);
    expect(inc.queries).toBe(4);
  });

  it('counts a labelled series that appeared between two scrapes from 0', () => {
    const a = sample({ ingested: 0, queries: {} }, 0);
    const b = sample({ ingested: 0, queries: { analytics: 6 }, errors: { validation: 2 } }, 1000);
    const inc = computeIncrease(a, b);
    expect(inc.queries).toBe(6);
    expect(inc.ingestErrors).toBe(2);
  });

  it('sums histogram bucket increases by le across label sets, resetting a series as a whole', () => {
    const a = sample({ ingested: 0, queries: {}, queryBuckets: { entity: [1, 2, 3, 3], type: [0, 5, 9, 10] } }, 0);
    // entity grew; type reset (restart of that series) to smaller counts.
    const b = sample({ ingested: 0, queries: {}, queryBuckets: { entity: [2, 4, 6, 7], type: [0, 1, 2, 2] } }, 1000);
    const inc = computeIncrease(a, b);
    expect([...inc.queryBuckets]).toEqual([
      [0.001, 1 + 0],
      [0.01, 2 + 1],
      [0.1, 3 + 2],
      [Infinity, 4 + 2],
    ]);
    expect(inc.queryCount).toBe(6);
  });

  it('derives the error ratio, mean latency and quantiles of ingestion', () => {
    const a = sample({ ingested: 0, queries: {}, ingestBuckets: [0, 0, 0, 0], ingestSum: 0 }, 0);
    const b = sample({ ingested: 8, queries: {}, errors: { validation: 2 }, ingestBuckets: [2, 6, 8, 8], ingestSum: 0.04 }, 1000);
    const r = computeRecord(computeIncrease(a, b), b.gauges);
    expect(r.error_ratio).toBeCloseTo(2 / 10, 12);
    expect(r.avg_ingestion_latency_ms).toBeCloseTo(5, 9);
    // rank 4 of 8 → bucket (0.001, 0.01] holding 3..6: 0.001 + 0.009 × 2/4
    expect(r.ingestion_latency_p50_ms).toBeCloseTo(5.5, 9);
  });

  it('gives null (not 0, not NaN) for ratios and quantiles without observations', () => {
    const a = sample({ ingested: 0, queries: {} }, 0);
    const r = computeRecord(computeIncrease(a, sample({ ingested: 0, queries: {} }, 1000)), a.gauges);
    expect(r.error_ratio).toBeNull();
    expect(r.query_latency_p95_ms).toBeNull();
    expect(r.avg_query_latency_ms).toBeNull();
    expect(r.ingestion_rate).toBe(0);
  });

  it('reads gauges', () => {
    const s = sample({ ingested: 0, queries: {}, events: 42, ws: 3 }, 0);
    expect(s.gauges.events_stored).toBe(42);
    expect(s.gauges.websocket_connections).toBe(3);
    expect(s.gauges.storage_bytes).toBeNull();
  });
});

describe('increase arithmetic', () => {
  it('rescales to another interval at the same rates and adds', () => {
    const inc = zeroIncrease(2);
    inc.ingested = 10;
    inc.queryBuckets.set(Infinity, 4);
    const scaled = rescaleIncrease(inc, 4);
    expect(scaled.seconds).toBe(4);
    expect(scaled.ingested).toBe(20);
    expect(scaled.queryBuckets.get(Infinity)).toBe(8);
    const sum = addIncrease(zeroIncrease(), scaled);
    addIncrease(sum, scaled);
    expect(sum.ingested).toBe(40);
    expect(sum.seconds).toBe(8);
  });
});

describe('DERIVED_METRICS', () => {
  it('has unique names and a PromQL for every metric', () => {
    const names = DERIVED_METRICS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const m of DERIVED_METRICS) expect(m.promql('instance="a:1"', '60s')).toMatch(/allsource_/);
  });
});
