import { Registry, register as globalRegistry } from 'prom-client';
import {
  CONTROL_PLANE_METRICS,
  CORE_METRICS,
  LabelCap,
  QUERY_BUCKETS,
  type MetricDef,
  type MetricSet,
  createMetrics,
  createNoopMetrics,
  findMetric,
} from './index';

const ALL: readonly MetricDef[] = [...CORE_METRICS, ...CONTROL_PLANE_METRICS];

function defsNamed(...names: string[]): MetricDef[] {
  return names.map((n) => findMetric(n)!);
}

describe('createMetrics', () => {
  it.each([
    ['core', CORE_METRICS],
    ['control plane', CONTROL_PLANE_METRICS],
  ] as const)('exposes every %s metric with a # TYPE line of its type', async (_service, defs) => {
    const registry = new Registry();
    createMetrics(registry, defs);
    const text = await registry.metrics();
    for (const def of defs as readonly MetricDef[]) {
      expect(text).toContain(`\n# TYPE ${def.name} ${def.type}\n`);
    }
    expect(registry.getMetricsAsArray()).toHaveLength(defs.length);
  });

  it('never touches the global registry, so two instances live in one process', async () => {
    const before = globalRegistry.getMetricsAsArray().length;
    const a = createMetrics(new Registry(), CORE_METRICS);
    const b = createMetrics(new Registry(), CORE_METRICS);
    a.counter('allsource_events_ingested_total').inc(3);
    b.counter('allsource_events_ingested_total').inc();
    expect(globalRegistry.getMetricsAsArray()).toHaveLength(before);
    expect((await a.counter('allsource_events_ingested_total').get()).values[0]?.value).toBe(3);
    expect((await b.byName.allsource_events_ingested_total.get()).values[0]?.value).toBe(1);
  });

  it('uses the catalogue buckets', async () => {
    const registry = new Registry();
    createMetrics(registry, CORE_METRICS).histogram('allsource_query_duration_seconds').observe({ query_type: 'entity' }, 0.00003);
    const text = await registry.getSingleMetricAsString('allsource_query_duration_seconds');
    const les = [...text.matchAll(/_bucket\{le="([^"]+)"/g)].map((m) => m[1]);
    expect(les).toEqual([...QUERY_BUCKETS.map(String), '+Inf']);
    expect(text).toContain('allsource_query_duration_seconds_bucket{le="0.00005",query_type="entity"} 1');
  });

  it('accessors check the name and the type', () => {
    const metrics = createMetrics(new Registry(), CORE_METRICS);
    expect(metrics.gauge('allsource_http_requests_in_flight')).toBe(metrics.byName.allsource_http_requests_in_flight);
    // Casts stand in for names that arrive untyped (e.g. from config).
    expect(() => metrics.counter('allsource_http_requests_in_flight' as 'allsource_queries_total')).toThrow(
      'Metric allsource_http_requests_in_flight is a gauge, not a counter',
    );
    expect(() => metrics.histogram('allsource_nope' as 'allsource_query_duration_seconds')).toThrow(
      'Unknown metric allsource_nope',
    );
  });

  it('rejects duplicate definitions and collectors for non-gauges', () => {
    const def = findMetric('allsource_queries_total')!;
    expect(() => createMetrics(new Registry(), [def, def])).toThrow('defined twice');
    expect(() => createMetrics(new Registry(), defsNamed('allsource_queries_total'), { allsource_queries_total: () => {} })).toThrow(
      'not a gauge',
    );
  });

  it('calls gauge collectors at scrape time', async () => {
    const registry = new Registry();
    let events = 0;
    createMetrics(registry, CORE_METRICS, {
      allsource_storage_events_total: (gauge) => gauge.set(events),
      allsource_storage_size_bytes: async (gauge) => gauge.set(await Promise.resolve(4096)),
    });
    events = 42;
    const text = await registry.metrics();
    expect(text).toContain('\nallsource_storage_events_total 42\n');
    expect(text).toContain('\nallsource_storage_size_bytes 4096\n');
  });

  it('produces this exact exposition for a fixed set of observations', async () => {
    const registry = new Registry();
    const metrics = createMetrics(
      registry,
      defsNamed(
        'allsource_events_ingested_by_type',
        'allsource_metric_label_values_folded_total',
        'allsource_http_requests_in_flight',
        'allsource_wal_group_commit_batch_events',
        'control_plane_scrapes_total',
      ),
    );
    const folded = metrics.counter('allsource_metric_label_values_folded_total');
    const eventTypes = new LabelCap(2, () => folded.inc({ label: 'event_type' }));
    for (const type of ['user.created', 'user.created', 'order.placed', 'x.1', 'x.2']) {
      metrics.counter('allsource_events_ingested_by_type').inc({ event_type: eventTypes.value(type) });
    }
    const inFlight = metrics.gauge('allsource_http_requests_in_flight');
    inFlight.inc();
    inFlight.inc();
    inFlight.dec();
    const batch = metrics.histogram('allsource_wal_group_commit_batch_events');
    batch.observe(3);
    batch.observe(40);
    metrics.counter('control_plane_scrapes_total').labels('core-1', 'success').inc();

    expect(await registry.metrics()).toBe(
      `# HELP allsource_events_ingested_by_type Events appended, by event type (capped; excess types fold into __other__).
# TYPE allsource_events_ingested_by_type counter
allsource_events_ingested_by_type{event_type="user.created"} 2
allsource_events_ingested_by_type{event_type="order.placed"} 1
allsource_events_ingested_by_type{event_type="__other__"} 2

# HELP allsource_metric_label_values_folded_total Label values replaced by __other__ because the label reached its cap, by label name.
# TYPE allsource_metric_label_values_folded_total counter
allsource_metric_label_values_folded_total{label="event_type"} 2

# HELP allsource_http_requests_in_flight HTTP requests currently being served.
# TYPE allsource_http_requests_in_flight gauge
allsource_http_requests_in_flight 1

# HELP allsource_wal_group_commit_batch_events Events made durable by one WAL group commit (one fsync).
# TYPE allsource_wal_group_commit_batch_events histogram
allsource_wal_group_commit_batch_events_bucket{le="1"} 0
allsource_wal_group_commit_batch_events_bucket{le="2"} 0
allsource_wal_group_commit_batch_events_bucket{le="5"} 1
allsource_wal_group_commit_batch_events_bucket{le="10"} 1
allsource_wal_group_commit_batch_events_bucket{le="20"} 1
allsource_wal_group_commit_batch_events_bucket{le="50"} 2
allsource_wal_group_commit_batch_events_bucket{le="100"} 2
allsource_wal_group_commit_batch_events_bucket{le="200"} 2
allsource_wal_group_commit_batch_events_bucket{le="500"} 2
allsource_wal_group_commit_batch_events_bucket{le="1000"} 2
allsource_wal_group_commit_batch_events_bucket{le="2000"} 2
allsource_wal_group_commit_batch_events_bucket{le="5000"} 2
allsource_wal_group_commit_batch_events_bucket{le="10000"} 2
allsource_wal_group_commit_batch_events_bucket{le="+Inf"} 2
allsource_wal_group_commit_batch_events_sum 43
allsource_wal_group_commit_batch_events_count 2

# HELP control_plane_scrapes_total Scrapes of core nodes, by node and result (success/error).
# TYPE control_plane_scrapes_total counter
control_plane_scrapes_total{node_id="core-1",result="success"} 1
`,
    );
  });
});

describe('createNoopMetrics', () => {
  it('offers the same interface, does nothing and registers nothing', async () => {
    const before = globalRegistry.getMetricsAsArray().length;
    const metrics = createNoopMetrics(CORE_METRICS);
    metrics.counter('allsource_events_ingested_total').inc();
    metrics.counter('allsource_queries_total').inc({ query_type: 'entity' }, 2);
    metrics.counter('allsource_queries_total').labels('entity').inc();
    metrics.gauge('allsource_http_requests_in_flight').inc();
    metrics.gauge('allsource_http_requests_in_flight').dec();
    metrics.gauge('allsource_storage_events_total').set(5);
    metrics.gauge('allsource_build_info').labels({ version: '1', node_version: 'v20' }).set(1);
    const histogram = metrics.histogram('allsource_http_request_duration_seconds');
    histogram.observe({ method: 'GET', endpoint: '/health' }, 0.001);
    histogram.startTimer({ method: 'GET' })({ endpoint: '/health' });
    histogram.labels('GET', '/health').startTimer()();
    expect(globalRegistry.getMetricsAsArray()).toHaveLength(before);
    expect(Object.keys(metrics.byName)).toEqual(CORE_METRICS.map((d) => d.name));
  });

  it('checks names and types like the real thing', () => {
    const metrics = createNoopMetrics(CORE_METRICS);
    expect(() => metrics.gauge('allsource_queries_total' as 'allsource_build_info')).toThrow('is a counter, not a gauge');
  });

  it('is interchangeable with real metrics for instrumented code', () => {
    const instrument = (m: MetricSet<typeof CORE_METRICS>) => m.counter('allsource_replays_started_total').inc();
    expect(() => instrument(createMetrics(new Registry(), CORE_METRICS))).not.toThrow();
    expect(() => instrument(createNoopMetrics(CORE_METRICS))).not.toThrow();
  });
});

// Compile-time checks (tsc type-checks tests): names, types and label names come from the catalogue.
export function typeChecks(metrics: MetricSet<typeof CORE_METRICS>): void {
  metrics.counter('allsource_queries_total').inc({ query_type: 'entity' });
  // @ts-expect-error a gauge is not a counter
  metrics.counter('allsource_http_requests_in_flight');
  // @ts-expect-error not a catalogue name
  metrics.histogram('allsource_nope_seconds');
  // @ts-expect-error not a label of this metric
  metrics.counter('allsource_queries_total').inc({ entity_id: 'e-1' });
  metrics.byName.allsource_http_request_duration_seconds.observe({ method: 'GET', endpoint: '/x' }, 1);
  void ALL;
}
