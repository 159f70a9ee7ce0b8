/**
 * Integration tests of /metrics through real sockets: after a workload, the ingestion, query,
 * storage and HTTP metrics are live and right; label values are capped; registries are per core;
 * METRICS_ENABLED=false turns the instruments off.
 */
import { CORE_METRICS } from '@allsource/metrics-catalog';
import parsePrometheusTextFormat, { type PrometheusFamily, type PrometheusSample } from 'parse-prometheus-text-format';
import { startTestCore, useTestCore, type TestCore } from '../testing/testCore';

interface Scrape {
  text: string;
  families: Map<string, PrometheusFamily>;
}

async function scrape(t: TestCore): Promise<Scrape> {
  const res = await t.client.raw('GET', '/metrics', { headers: { Accept: 'text/plain' } });
  expect(res.status).toBe(200);
  const families = new Map<string, PrometheusFamily>();
  for (const f of parsePrometheusTextFormat(res.text)) families.set(f.name, f);
  return { text: res.text, families };
}

function family(s: Scrape, name: string): PrometheusFamily {
  const f = s.families.get(name);
  if (!f) throw new Error(`metric family ${name} is missing from /metrics`);
  return f;
}

const matches = (sample: PrometheusSample, labels: Record<string, string>): boolean =>
  Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v);

/** Sum of the values of the samples of a counter/gauge family matching `labels`. */
function value(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  return family(s, name)
    .metrics.filter((m) => matches(m, labels))
    .reduce((sum, m) => sum + Number(m.value), 0);
}

/** Labels of a sample line `name{a="x",b="y"} value`. */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of text.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/**
 * Sum of the observation counts (`<name>_count` samples) of a histogram matching `labels`. Read
 * from the text: parse-prometheus-text-format merges the series of a labelled histogram into one.
 */
function histogramCount(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  expect(family(s, name).type).toBe('HISTOGRAM');
  let sum = 0;
  for (const line of s.text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== `${name}_count`) continue;
    if (matches({ labels: parseLabels(m[2] ?? '') }, labels)) sum += Number(m[3]);
  }
  return sum;
}

const labelValues = (s: Scrape, name: string, label: string): string[] =>
  family(s, name).metrics.map((m) => m.labels?.[label] ?? '');

describe('metrics after a workload', () => {
  let t: TestCore;
  let s: Scrape;
  let contentType: string;
  let eventId = '';
  const results: Record<string, number> = {};
  let ingestRequests = 0;

  beforeAll(async () => {
    t = await startTestCore({ FLUSH_MAX_AGE_MS: '3600000' }); // flushes only when the test asks
    const c = t.client;
    for (const [type, entity] of [
      ['user.created', 'u-1'],
      ['user.updated', 'u-1'],
      ['user.created', 'u-2'],
    ] as const) {
      eventId = (await c.ingest({ event_type: type, entity_id: entity, payload: { type } })).event_id;
      ingestRequests++;
    }
    await c.ingestBatch([
      { event_type: 'order.placed', entity_id: 'o-1', payload: {} },
      { event_type: 'order.placed', entity_id: 'o-2', payload: {} },
      { event_type: 'user.created', entity_id: 'u-3', payload: {} },
      { event_type: 'audit', entity_id: 'u-1', payload: {} },
    ]);
    ingestRequests++;
    // Failures: validation (single and batch) and a version conflict.
    expect((await c.raw('POST', '/api/v1/events', { body: { event_type: 'Bad', entity_id: 'u-1', payload: {} } })).status).toBe(400);
    expect((await c.raw('POST', '/api/v1/events/batch', { body: { events: [{ event_type: 'a', entity_id: ' ', payload: 1 }] } })).status).toBe(400);
    expect((await c.raw('POST', '/api/v1/events', { body: { event_type: 'a.b', entity_id: 'u-1', payload: {}, expected_version: 0 } })).status).toBe(409);
    // One query of each type.
    results.entity = (await c.queryEvents({ entity_id: 'u-1' })).count;
    results.type = (await c.queryEvents({ event_type: 'user.created' })).count;
    results.time_range = (await c.queryEvents({ since: '2000-01-01T00:00:00Z' })).count;
    results.full_scan = (await c.queryEvents({ limit: 2 })).count;
    results.state = (await c.entityState('u-1')).event_count;
    await t.core.store.flush();
    // HTTP: a templated route with a real id, unknown ids, an unknown URL.
    await c.getEvent(eventId);
    await c.raw('GET', '/api/v1/events/00000000-0000-4000-8000-000000000000');
    await c.raw('GET', '/api/v1/entities/u-2/snapshot');
    await c.raw('GET', `/no/such/${eventId}`);
    await c.raw('GET', '/api/v1/entities/u-1/unknown-sub-resource');

    const res = await c.raw('GET', '/metrics');
    contentType = res.headers['content-type'] ?? '';
    s = await scrape(t);
  });
  afterAll(() => t.stop());

  it('serves Prometheus text exposition 0.0.4 that parses', () => {
    expect(contentType.startsWith('text/plain; version=0.0.4')).toBe(true);
    expect(() => parsePrometheusTextFormat(s.text)).not.toThrow();
    expect(s.families.size).toBeGreaterThan(20);
    for (const line of s.text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? (-?[0-9.e+-]+|[+-]Inf|NaN)$/i);
    }
  });

  it('registers every ingestion, query, storage and http metric of the catalogue, with its type, and each moved', () => {
    const groups = new Set(['ingestion', 'query', 'storage', 'http']);
    const defs = CORE_METRICS.filter((d) => groups.has(d.group));
    expect(defs.length).toBe(15);
    for (const def of defs) {
      const f = family(s, def.name);
      expect({ name: def.name, type: f.type }).toEqual({ name: def.name, type: def.type.toUpperCase() });
      const moved = def.type === 'histogram' ? histogramCount(s, def.name) > 0 : f.metrics.some((m) => Number(m.value) > 0);
      expect({ name: def.name, moved }).toEqual({ name: def.name, moved: true });
    }
  });

  it('counts ingested events, by type, ingestion durations and errors by reason', async () => {
    const stats = await t.client.stats();
    expect(value(s, 'allsource_events_ingested_total')).toBe(7);
    expect(stats.total_ingested).toBe(7);
    expect(value(s, 'allsource_events_ingested_by_type', { event_type: 'user.created' })).toBe(3);
    expect(value(s, 'allsource_events_ingested_by_type', { event_type: 'user.updated' })).toBe(1);
    expect(value(s, 'allsource_events_ingested_by_type', { event_type: 'order.placed' })).toBe(2);
    expect(value(s, 'allsource_events_ingested_by_type', { event_type: 'audit' })).toBe(1);
    expect(labelValues(s, 'allsource_events_ingested_by_type', 'event_type').sort()).toEqual(['audit', 'order.placed', 'user.created', 'user.updated']);
    // One observation per successful ingest request (single event or batch).
    expect(histogramCount(s, 'allsource_ingestion_duration_seconds')).toBe(ingestRequests);
    expect(value(s, 'allsource_ingestion_errors_total', { reason: 'validation' })).toBe(2);
    expect(value(s, 'allsource_ingestion_errors_total', { reason: 'conflict' })).toBe(1);
  });

  it('counts queries, their results and durations by query type', () => {
    for (const [type, n] of Object.entries(results)) {
      expect({ type, queries: value(s, 'allsource_queries_total', { query_type: type }) }).toEqual({ type, queries: 1 });
      expect({ type, results: value(s, 'allsource_query_results_total', { query_type: type }) }).toEqual({ type, results: n });
      expect({ type, observed: histogramCount(s, 'allsource_query_duration_seconds', { query_type: type }) }).toEqual({ type, observed: 1 });
    }
    expect(results.full_scan).toBe(2);
    expect(results.entity).toBe(3);
  });

  it('reports storage gauges equal to /api/v1/stats', async () => {
    const stats = await t.client.stats();
    const now = await scrape(t);
    expect(value(now, 'allsource_storage_events_total')).toBe(stats.total_events);
    expect(value(now, 'allsource_storage_entities_total')).toBe(stats.total_entities);
    expect(value(now, 'allsource_wal_segments_total')).toBe(stats.wal_segments);
    expect(value(now, 'allsource_parquet_files_total')).toBe(stats.parquet_files);
    expect(value(now, 'allsource_storage_size_bytes')).toBe(stats.storage_bytes);
    expect(stats.total_events).toBe(7);
    expect(stats.total_entities).toBe(5);
    expect(stats.parquet_files).toBeGreaterThanOrEqual(1);
    expect(value(now, 'allsource_storage_size_bytes')).toBeGreaterThan(0);
  });

  it('labels HTTP requests by route template (never raw ids), unmatched and textual status', () => {
    const f = family(s, 'allsource_http_requests_total');
    const has = (labels: Record<string, string>): boolean => f.metrics.some((m) => matches(m, labels) && Number(m.value) > 0);
    expect(has({ method: 'GET', endpoint: '/api/v1/events/:event_id', status: '200' })).toBe(true);
    expect(has({ method: 'GET', endpoint: '/api/v1/events/:event_id', status: '404' })).toBe(true);
    expect(has({ method: 'GET', endpoint: '/api/v1/entities/:entity_id/state', status: '200' })).toBe(true);
    expect(has({ method: 'POST', endpoint: '/api/v1/events', status: '200' })).toBe(true);
    expect(has({ method: 'POST', endpoint: '/api/v1/events', status: '400' })).toBe(true);
    expect(has({ method: 'POST', endpoint: '/api/v1/events', status: '409' })).toBe(true);
    expect(has({ method: 'POST', endpoint: '/api/v1/events/batch', status: '400' })).toBe(true);
    expect(has({ method: 'GET', endpoint: 'unmatched', status: '404' })).toBe(true);
    for (const m of f.metrics) {
      const endpoint = m.labels?.endpoint ?? '';
      expect(endpoint === 'unmatched' || /^\/[a-z0-9_/:.-]*$/.test(endpoint)).toBe(true);
      expect(endpoint).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
      expect(endpoint).not.toMatch(/u-1|u-2|no\/such/);
      expect(m.labels?.status).toMatch(/^[1-5]\d\d$/);
    }
    expect(s.text).not.toContain(eventId);
    const inFlight = family(s, 'allsource_http_requests_in_flight');
    expect(inFlight.type).toBe('GAUGE');
    expect(inFlight.metrics.length).toBe(1);
    expect(histogramCount(s, 'allsource_http_request_duration_seconds', { endpoint: '/api/v1/events/:event_id' })).toBeGreaterThanOrEqual(2);
  });

  it('exposes the Node.js default metrics', () => {
    expect(s.families.has('process_cpu_user_seconds_total') || s.families.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });
});

describe('metrics label cap and per-core registries', () => {
  let capped: TestCore;
  let plain: TestCore;
  beforeAll(async () => {
    capped = await startTestCore({ EVENT_TYPE_LABEL_LIMIT: '5' });
    plain = await startTestCore();
  });
  afterAll(async () => {
    await capped.stop();
    await plain.stop();
  });

  it('folds event types past EVENT_TYPE_LABEL_LIMIT into __other__ and counts the folds', async () => {
    const types = Array.from({ length: 20 }, (_, i) => `type.number_${i}`);
    for (const type of types.slice(0, 8)) await capped.client.ingest({ event_type: type, entity_id: 'e', payload: {} });
    await capped.client.ingestBatch(types.slice(8).map((type) => ({ event_type: type, entity_id: 'e', payload: {} })));
    const s = await scrape(capped);
    const series = family(s, 'allsource_events_ingested_by_type').metrics;
    expect(series.length).toBeLessThanOrEqual(6);
    expect(labelValues(s, 'allsource_events_ingested_by_type', 'event_type').sort()).toEqual([...types.slice(0, 5), '__other__'].sort());
    expect(value(s, 'allsource_events_ingested_by_type', { event_type: '__other__' })).toBe(15);
    expect(value(s, 'allsource_metric_label_values_folded_total', { label: 'event_type' })).toBe(15);
    expect(value(s, 'allsource_events_ingested_total')).toBe(20);
    // Admitted types keep their own series.
    await capped.client.ingest({ event_type: types[0]!, entity_id: 'e', payload: {} });
    expect(value(await scrape(capped), 'allsource_events_ingested_by_type', { event_type: types[0]! })).toBe(2);
  });

  it('keeps an independent registry per core in one process', async () => {
    expect(capped.core.metrics.registry).not.toBe(plain.core.metrics.registry);
    const before = value(await scrape(capped), 'allsource_events_ingested_total');
    await plain.client.ingest({ event_type: 'only.plain', entity_id: 'p', payload: {} });
    await plain.client.ingest({ event_type: 'only.plain', entity_id: 'p', payload: {} });
    const p = await scrape(plain);
    const c = await scrape(capped);
    expect(value(p, 'allsource_events_ingested_total')).toBe(2);
    expect(labelValues(p, 'allsource_events_ingested_by_type', 'event_type')).toEqual(['only.plain']);
    expect(value(c, 'allsource_events_ingested_total')).toBe(before);
    expect(labelValues(c, 'allsource_events_ingested_by_type', 'event_type')).not.toContain('only.plain');
    expect(value(p, 'allsource_storage_events_total')).toBe(2);
    expect(value(c, 'allsource_storage_events_total')).toBe(before);
  });
});

describe('METRICS_ENABLED=false', () => {
  const t = useTestCore({ METRICS_ENABLED: 'false' });

  it('answers /metrics with 200 and no allsource_ series, while the API still works', async () => {
    const a = await t.client.ingest({ event_type: 'still.works', entity_id: 'x', payload: { ok: true } });
    expect(a.version).toBe(1);
    await t.client.ingestBatch([{ event_type: 'still.works', entity_id: 'x', payload: {} }]);
    expect((await t.client.raw('POST', '/api/v1/events', { body: { event_type: 'Bad', entity_id: 'x', payload: {} } })).status).toBe(400);
    expect((await t.client.queryEvents({ entity_id: 'x' })).count).toBe(2);
    expect((await t.client.entityState('x')).event_count).toBe(2);
    expect((await t.client.stats()).total_ingested).toBe(2);
    const res = await t.client.raw('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('allsource_');
    expect(() => parsePrometheusTextFormat(res.text)).not.toThrow();
  });
});
