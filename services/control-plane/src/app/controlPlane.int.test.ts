/**
 * The control plane against two REAL core processes with different data: totals, merged top
 * entities, rates integrated from the history, p95 against a reference computation, operations
 * performed on the cores, parameter errors, and every control-plane metric moving.
 */
import { spawnSync } from 'node:child_process';
import { ACCEPTED_PROMTOOL_FINDINGS, CONTROL_PLANE_METRICS } from '@allsource/metrics-catalog';
import type { StatsResponse } from '@allsource/client';
import { histogramSeries, parseExposition, parseFloatValue } from '../prometheus/textFormat';
import { coreNodes, events, startTestCluster, startTestControlPlane, waitFor, type CoreProcess, type TestCluster, type TestControlPlane } from '../testing/harness';

// Long enough that a scrape (timeout = interval) survives a busy CI machine.
const INTERVAL_MS = 600;

let core1: CoreProcess;
let core2: CoreProcess;
let t: TestControlPlane;

interface Point {
  timestamp: string;
  value: number | null;
}
interface Series {
  metric: string;
  step: string;
  step_seconds: number;
  source: string;
  datapoints: Point[];
  nodes?: Record<string, Point[]>;
}

/** Waits until the latest scrape saw both nodes healthy (absorbs a scrape that was slow on a busy machine). */
const bothHealthy = () =>
  waitFor('both nodes healthy', async () => {
    const { data } = await get<{ healthy_nodes: number }>('/api/v1/cluster/status');
    return data.healthy_nodes === 2;
  });

const get = async <T>(path: string, params?: object): Promise<{ status: number; data: T }> => {
  const res = await t.client.raw<T>('GET', path, params ? { params } : {});
  return { status: res.status, data: res.data };
};

let cluster: TestCluster | undefined;
beforeAll(async () => {
  cluster = await startTestCluster({
    SCRAPE_INTERVAL_MS: String(INTERVAL_MS),
    SCRAPE_TIMEOUT_MS: String(INTERVAL_MS),
    RATE_WINDOW_MS: '600000',
    TOP_ENTITIES_LIMIT: '50',
  });
  ({ core1, core2, t } = cluster);
  await bothHealthy();
});

afterAll(() => cluster?.stop());

describe('cluster view', () => {
  beforeAll(async () => {
    // Different data on each node; entity "a" lives on both.
    await core1.client.ingestBatch([...events('a', 5), ...events('b', 2)]);
    await core2.client.ingestBatch([...events('c', 4), ...events('d', 1), ...events('a', 3)]);
    await waitFor('the scrape to see 15 events', async () => {
      const { data } = await get<{ cluster: { total_events: number } }>('/api/v1/dashboard/overview');
      return data.cluster.total_events === 15;
    });
    await t.cp.scraper.waitForCycles(2);
  });

  it('lists every node with its real status and stats', async () => {
    await bothHealthy();
    const { status, data } = await get<{
      cluster_id: string;
      nodes: Array<{ id: string; type: string; status: string; url: string; stats: StatsResponse; last_scrape_at: string; last_error: string | null }>;
      total_nodes: number;
      healthy_nodes: number;
      timestamp: string;
    }>('/api/v1/cluster/status');
    expect(status).toBe(200);
    expect(data.cluster_id).toBe('allsource');
    expect(data.total_nodes).toBe(2);
    expect(data.healthy_nodes).toBe(2);
    expect(data.nodes.map((n) => [n.id, n.type, n.status, n.url, n.last_error])).toEqual([
      ['core-1', 'event-store', 'healthy', core1.url, null],
      ['core-2', 'event-store', 'healthy', core2.url, null],
    ]);
    expect(data.nodes[0]!.stats.total_events).toBe(7);
    expect(data.nodes[1]!.stats.total_events).toBe(8);
    expect(Date.parse(data.nodes[0]!.last_scrape_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(data.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('overview totals equal the sum of the nodes\' own stats', async () => {
    await bothHealthy();
    const [s1, s2] = await Promise.all([core1.client.stats(), core2.client.stats()]);
    const { status, data } = await get<{
      cluster: { total_nodes: number; healthy_nodes: number; total_events: number; total_entities: number; ingestion_rate: number };
      performance: Record<string, number | null>;
      health: { core_status: string; wal_segments: number; storage_bytes: number; storage_usage_percent: number | null };
    }>('/api/v1/dashboard/overview');
    expect(status).toBe(200);
    expect(data.cluster.total_nodes).toBe(2);
    expect(data.cluster.healthy_nodes).toBe(2);
    expect(data.cluster.total_events).toBe(s1.total_events + s2.total_events);
    expect(data.cluster.total_entities).toBe(s1.total_entities + s2.total_entities);
    expect(data.health.wal_segments).toBe(s1.wal_segments + s2.wal_segments);
    expect(data.health.storage_bytes).toBe(s1.storage_bytes + s2.storage_bytes);
    expect(data.health.core_status).toBe('healthy');
    expect(data.health.storage_usage_percent).toBeNull();
    expect(data.cluster.ingestion_rate).toBeGreaterThan(0);
    expect(data.performance.events_per_second).toBe(data.cluster.ingestion_rate);
    expect(data.performance.avg_ingestion_latency_ms).toBeGreaterThan(0);

    const metrics = await get<{ control_plane: { uptime_seconds: number; requests_total: number }; core_nodes: Record<string, unknown> & { nodes: Record<string, { events_total: number }> } }>(
      '/api/v1/metrics',
    );
    expect(metrics.status).toBe(200);
    expect(metrics.data.core_nodes.events_total).toBe(s1.total_events + s2.total_events);
    expect(metrics.data.core_nodes.nodes['core-1']!.events_total).toBe(s1.total_events);
    expect(metrics.data.core_nodes.nodes['core-2']!.events_total).toBe(s2.total_events);
    expect(metrics.data.control_plane.requests_total).toBeGreaterThan(0);
    expect(metrics.data.control_plane.uptime_seconds).toBeGreaterThan(0);
    // The later name answers the same document.
    const json = await get<{ core_nodes: { events_total: number } }>('/api/v1/metrics/json');
    expect(json.data.core_nodes.events_total).toBe(s1.total_events + s2.total_events);
  });

  it('merges the top entities of both nodes, one entry per (entity, node), ordered by event count', async () => {
    const { status, data } = await get<{ entities: Array<{ entity_id: string; event_count: number; node_id: string; last_event_at: string }>; nodes_reporting: string[] }>(
      '/api/v1/dashboard/top_entities',
    );
    expect(status).toBe(200);
    expect(data.nodes_reporting).toEqual(['core-1', 'core-2']);
    expect(data.entities.map((e) => [e.entity_id, e.event_count, e.node_id])).toEqual([
      ['a', 5, 'core-1'],
      ['c', 4, 'core-2'],
      ['a', 3, 'core-2'],
      ['b', 2, 'core-1'],
      ['d', 1, 'core-2'],
    ]);
    // The same numbers as each core's own list.
    const [top1, top2] = await Promise.all([core1.client.topEntities({ limit: 50 }), core2.client.topEntities({ limit: 50 })]);
    for (const e of data.entities) {
      const own = (e.node_id === 'core-1' ? top1 : top2).entities.find((x) => x.entity_id === e.entity_id)!;
      expect(e.event_count).toBe(own.event_count);
      expect(e.last_event_at).toBe(own.last_event_at);
    }
    const limited = await get<{ entities: unknown[] }>('/api/v1/dashboard/top_entities', { limit: 2 });
    expect(limited.data.entities).toEqual(data.entities.slice(0, 2));
    for (const bad of ['0', '51', 'ten', '-1']) {
      const res = await get<{ code: string; error: string }>('/api/v1/dashboard/top_entities', { limit: bad });
      expect(res.status).toBe(400);
      expect(res.data.code).toBe('INVALID_QUERY');
      expect(res.data.error).toMatch(/limit must be an integer from 1 to 50/);
    }
  });

  it('answers /health with the registry and scrape status, and /health/core with each node\'s /health', async () => {
    await bothHealthy();
    const health = await get<{ status: string; service: string; version: string; timestamp: string; metrics: { registry: { status: string }; scrape: { nodes: Record<string, { status: string }> } } }>(
      '/health',
    );
    expect(health.status).toBe(200);
    expect(health.data.status).toBe('healthy');
    expect(health.data.service).toBe('allsource-control-plane');
    expect(health.data.version).toBe('0.1.0');
    expect(health.data.metrics.registry.status).toBe('ok');
    expect(health.data.metrics.scrape.nodes['core-1']!.status).toBe('healthy');
    const core = await get<{ status: string; nodes: Array<{ id: string; health: { service: string; status: string } }> }>('/health/core');
    expect(core.status).toBe(200);
    expect(core.data.status).toBe('healthy');
    expect(core.data.nodes.map((n) => [n.id, n.health.service, n.health.status])).toEqual([
      ['core-1', 'allsource-core', 'healthy'],
      ['core-2', 'allsource-core', 'healthy'],
    ]);
  });
});

describe('history', () => {
  /** ∫ rate dt over the points after `after`: the number of events the rates account for. */
  const integrate = (points: Point[], after: number): number => {
    let total = 0;
    for (let i = 1; i < points.length; i++) {
      const at = Date.parse(points[i]!.timestamp);
      if (at <= after) continue;
      total += (points[i]!.value ?? 0) * ((at - Date.parse(points[i - 1]!.timestamp)) / 1000);
    }
    return total;
  };

  it('an ingestion rate from the history accounts for exactly the events sent over the window', async () => {
    // A quiet cycle first, so the window starts after every earlier event was counted.
    await t.cp.scraper.waitForCycles(2);
    const before = await get<Series>('/api/v1/dashboard/timeseries', { metric: 'ingestion_rate', range: '5m', node: 'core-1', step: `${INTERVAL_MS}ms` });
    const start = Date.parse(before.data.datapoints[before.data.datapoints.length - 1]!.timestamp);
    let sent = 0;
    for (let round = 0; round < 6; round++) {
      const batch = events(`rate-${round}`, 40 + round * 10);
      await core1.client.ingestBatch(batch);
      sent += batch.length;
      await core1.client.ingest({ event_type: 'test.single', entity_id: 'single', payload: {} });
      sent += 1;
      await new Promise((r) => setTimeout(r, INTERVAL_MS / 2));
    }
    await t.cp.scraper.waitForCycles(2);
    const after = await get<Series>('/api/v1/dashboard/timeseries', { metric: 'ingestion_rate', range: '5m', node: 'all', step: `${INTERVAL_MS}ms` });
    expect(after.status).toBe(200);
    expect(after.data.source).toBe('embedded');
    expect(after.data.step_seconds).toBeCloseTo(INTERVAL_MS / 1000, 9);
    const node = after.data.nodes!['core-1']!;
    // The rates were spread over several scrapes, not one.
    expect(node.filter((p) => Date.parse(p.timestamp) > start && (p.value ?? 0) > 0).length).toBeGreaterThan(1);
    // Tolerance: node series exact up to float rounding (each point is Δcounter / Δt of the same scrapes).
    expect(Math.abs(integrate(node, start) - sent)).toBeLessThan(1e-6 * sent);
    // Cluster series: the sum of node rates over the cluster's own cycle spacing, within 10 %.
    expect(Math.abs(integrate(after.data.datapoints, start) - sent)).toBeLessThan(0.1 * sent);
    // The other node was idle over the window.
    expect(integrate(after.data.nodes!['core-2']!, start)).toBe(0);
    // Gauges follow the stats.
    const stored = await get<Series>('/api/v1/dashboard/timeseries', { metric: 'events_stored', range: '5m', node: 'core-1', step: `${INTERVAL_MS}ms` });
    const s1 = await core1.client.stats();
    expect(stored.data.datapoints[stored.data.datapoints.length - 1]!.value).toBe(s1.total_events);
  });

  it('p95 query latency from the buckets matches a reference computation over the same scrapes', async () => {
    // A control plane of its own that scrapes only when told, so the reference can be taken
    // between exactly the same two scrapes.
    const manual = await startTestControlPlane({
      CORE_NODES: coreNodes(core1, core2),
      SCRAPE_INTERVAL_MS: '3600000',
      RATE_WINDOW_MS: '3600000',
    });
    try {
      await waitFor('the first scrape', () => manual.cp.scraper.cycles >= 1);
      const buckets = async (core: CoreProcess): Promise<Map<number, number>> => {
        const family = parseExposition(await core.client.metricsText()).find((f) => f.name === 'allsource_query_duration_seconds')!;
        const sum = new Map<number, number>();
        for (const s of histogramSeries(family)) for (const b of s.buckets) sum.set(b.le, (sum.get(b.le) ?? 0) + b.count);
        return sum;
      };
      const [b1Before, b2Before] = await Promise.all([buckets(core1), buckets(core2)]);
      // A workload of several query types on both nodes.
      for (let i = 0; i < 40; i++) {
        await core1.client.queryEvents({ entity_id: 'a' });
        await core1.client.queryEvents({ event_type: 'test.event', limit: 500 });
        await core2.client.entityState('c');
        if (i % 4 === 0) await core2.client.queryEvents({});
      }
      const [b1After, b2After] = await Promise.all([buckets(core1), buckets(core2)]);
      await manual.cp.scraper.runCycle(new AbortController().signal);

      const delta = (after: Map<number, number>, before: Map<number, number>): Map<number, number> =>
        new Map([...after].map(([le, c]) => [le, c - (before.get(le) ?? 0)]));
      const d1 = delta(b1After, b1Before);
      const d2 = delta(b2After, b2Before);
      const both = new Map([...d1].map(([le, c]) => [le, c + (d2.get(le) ?? 0)]));
      expect(both.get(Infinity)).toBe(40 * 3 + 10);

      const overview = await manual.client.raw<{ performance: { p95_query_latency_ms: number; query_latency_p50_ms: number } }>('GET', '/api/v1/dashboard/overview');
      expect(overview.data.performance.p95_query_latency_ms).toBeCloseTo(referenceQuantileMs(0.95, both), 9);
      expect(overview.data.performance.query_latency_p50_ms).toBeCloseTo(referenceQuantileMs(0.5, both), 9);
      // Per node: the only raw point after the baseline covers exactly the workload.
      for (const [node, d] of [['core-1', d1], ['core-2', d2]] as const) {
        for (const [metric, q] of [['query_latency_p95_ms', 0.95], ['query_latency_p99_ms', 0.99]] as const) {
          const res = await manual.client.raw<Series>('GET', '/api/v1/dashboard/timeseries', { params: { metric, range: '5m', node } });
          const last = res.data.datapoints[res.data.datapoints.length - 1]!;
          expect(last.value).toBeCloseTo(referenceQuantileMs(q, d), 9);
        }
      }
    } finally {
      await manual.stop(true);
    }
  });
});

/**
 * Reference quantile, written independently of src/prometheus/promql.ts from the Prometheus
 * documentation: find the bucket where the cumulative count reaches q × total, interpolate
 * linearly between its lower and upper bound; in the +Inf bucket, the largest finite bound.
 */
function referenceQuantileMs(q: number, cumulative: Map<number, number>): number {
  const bounds = [...cumulative.keys()].sort((x, y) => x - y);
  const total = cumulative.get(Infinity)!;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const count = cumulative.get(le)!;
    if (count >= rank) {
      if (le === Infinity) return bounds[bounds.length - 2]! * 1000;
      return (lower + (le - lower) * ((rank - below) / (count - below))) * 1000;
    }
    lower = le;
    below = count;
  }
  throw new Error('no +Inf bucket');
}

describe('operations on the cores', () => {
  it('takes a snapshot on the named node, and on the first healthy node by default', async () => {
    const res = await t.client.raw<{ operation: string; node_id: string; status: string; result: { snapshot_id: string; entity_id: string; event_count: number } }>(
      'POST',
      '/api/v1/operations/snapshot',
      { body: { entity_id: 'c', node: 'core-2' } },
    );
    expect(res.status).toBe(200);
    expect(res.data.operation).toBe('snapshot');
    expect(res.data.node_id).toBe('core-2');
    expect(res.data.result.entity_id).toBe('c');
    expect(res.data.result.event_count).toBe(4);
    // It really exists on core-2.
    const listed = await core2.client.snapshots.list({ entity_id: 'c' });
    expect(listed.snapshots.map((s) => s.id)).toContain(res.data.result.snapshot_id);

    await bothHealthy();
    const byDefault = await t.client.raw<{ node_id: string; result: { entity_id: string } }>('POST', '/api/v1/operations/snapshot', { body: { entity_id: 'b' } });
    expect(byDefault.status).toBe(200);
    expect(byDefault.data.node_id).toBe('core-1');
  });

  it('passes the core\'s 404 for an unknown entity through as 404', async () => {
    const res = await t.client.raw<{ error: string; code: string; node_id: string }>('POST', '/api/v1/operations/snapshot', { body: { entity_id: 'nobody', node: 'core-1' } });
    expect(res.status).toBe(404);
    expect(res.data.code).toBe('ENTITY_NOT_FOUND');
    expect(res.data.error).toMatch(/^Entity not found: /);
    expect(res.data.node_id).toBe('core-1');
  });

  it('starts a replay on the core', async () => {
    const res = await t.client.raw<{ operation: string; node_id: string; result: { replay_id: string; status: string } }>('POST', '/api/v1/operations/replay', {
      body: { node: 'core-2', entity_id: 'c' },
    });
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(300);
    expect(res.data.operation).toBe('replay');
    expect(res.data.node_id).toBe('core-2');
    const progress = await core2.client.replay.get(res.data.result.replay_id);
    expect(progress.replay_id).toBe(res.data.result.replay_id);
  });

  it.each([
    ['no entity_id', '/api/v1/operations/snapshot', { node: 'core-1' }, /'entity_id' is required/],
    ['an unknown node', '/api/v1/operations/snapshot', { entity_id: 'a', node: 'core-9' }, /unknown node "core-9"; valid nodes: core-1, core-2/],
    ['an unknown field', '/api/v1/operations/snapshot', { entity_id: 'a', force: true }, /unknown field\(s\) 'force'; valid fields: node, entity_id/],
    ['a body that is not an object', '/api/v1/operations/replay', [1, 2], /must be a JSON object/],
    ['as_of and to_timestamp', '/api/v1/operations/replay', { as_of: '2024-01-01T00:00:00Z', to_timestamp: '2024-01-01T00:00:00Z' }, /not both/],
  ])('rejects %s with 400', async (_what, path, body, message) => {
    const res = await t.client.raw<{ error: string; code: string }>('POST', path, { body });
    expect(res.status).toBe(400);
    expect(res.data.error).toMatch(message);
  });
});

describe('parameter errors', () => {
  it.each([
    [{ metric: 'nope' }, /unknown metric 'nope'; valid metrics: ingestion_rate, query_rate, error_ratio/, 'valid_metrics'],
    [{ range: '2w' }, /invalid range '2w'; valid ranges: 5m, 15m, 30m, 1h, 3h, 6h, 12h, 24h, 2d, 7d, 30d/, 'valid_ranges'],
    [{ node: 'core-9' }, /unknown node 'core-9'; valid values: cluster, all, core-1, core-2/, 'valid_nodes'],
    [{ step: 'soon' }, /invalid step 'soon'/, undefined],
    [{ range: '5m', step: '1h' }, /at most the range/, undefined],
    [{ range: '30d', step: '1s' }, /more than 11000 points/, undefined],
  ])('timeseries %j → 400 listing the valid values', async (params, message, listKey) => {
    const res = await get<{ error: string; code: string; details?: Record<string, unknown> }>('/api/v1/dashboard/timeseries', params);
    expect(res.status).toBe(400);
    expect(res.data.code).toBe('INVALID_QUERY');
    expect(res.data.error).toMatch(message);
    if (listKey) expect(Array.isArray(res.data.details?.[listKey])).toBe(true);
  });

  it('rejects a repeated parameter and answers unknown routes with the JSON error shape', async () => {
    const res = await t.client.raw<{ code: string }>('GET', '/api/v1/dashboard/timeseries?metric=a&metric=b');
    expect(res.status).toBe(400);
    const missing = await get<{ error: string; code: string }>('/api/v1/nope');
    expect(missing.status).toBe(404);
    expect(missing.data).toEqual({ error: 'Not found: no route for GET /api/v1/nope', code: 'NOT_FOUND' });
  });

  it('serves every derived metric over every range', async () => {
    const names = (await get<{ details: { valid_metrics: string[] } }>('/api/v1/dashboard/timeseries', { metric: '?' })).data.details.valid_metrics;
    expect(names.length).toBeGreaterThanOrEqual(20);
    for (const metric of names) {
      const res = await get<Series>('/api/v1/dashboard/timeseries', { metric, range: '1h' });
      expect(res.status).toBe(200);
      expect(res.data.metric).toBe(metric);
      expect(res.data.datapoints.length).toBeGreaterThan(0);
      expect(res.data.datapoints.length).toBeLessThanOrEqual(11_000);
    }
    for (const range of ['5m', '24h', '30d']) {
      const res = await get<Series>('/api/v1/dashboard/timeseries', { range });
      expect(res.status).toBe(200);
      expect(res.data.datapoints.length).toBeLessThanOrEqual(11_000);
    }
  });
});

describe('own metrics', () => {
  /** Findings of promtool on the control plane's /metrics that are expected (names fixed by the catalogue). */
  const ACCEPTED = new Set([
    ...ACCEPTED_PROMTOOL_FINDINGS.map((f) => `${f.metric} ${f.finding}`),
    // Catalogue name of a gauge (spec metrics-catalog.md), kept exactly for dashboards.
    'control_plane_core_events_total non-counter metrics should not have "_total" suffix',
  ]);

  it('every control-plane metric moves, next to the Node.js runtime metrics, and promtool accepts them', async () => {
    await bothHealthy();
    const res = await t.client.raw('GET', '/metrics', { headers: { Accept: 'text/plain' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parseExposition(res.text);
    const moved: Record<string, boolean> = {};
    for (const def of CONTROL_PLANE_METRICS) {
      const family = families.find((f) => f.name === def.name);
      expect(family?.type).toBe(def.type);
      const values = family!.samples.filter((s) => (def.type === 'histogram' ? s.name === `${def.name}_count` : true)).map((s) => s.value);
      moved[def.name] = values.some((v) => v > 0);
    }
    expect(Object.entries(moved).filter(([, m]) => !m)).toEqual([]);
    // node_id values are exactly the configured nodes; endpoints are route templates.
    const health = families.find((f) => f.name === 'control_plane_core_health_status')!;
    expect(health.samples.map((s) => [s.labels.node_id, s.value])).toEqual([
      ['core-1', 1],
      ['core-2', 1],
    ]);
    const scrapes = families.find((f) => f.name === 'control_plane_scrapes_total')!;
    expect(new Set(scrapes.samples.map((s) => s.labels.node_id))).toEqual(new Set(['core-1', 'core-2']));
    const endpoints = new Set(families.find((f) => f.name === 'control_plane_http_requests_total')!.samples.map((s) => s.labels.endpoint));
    expect(endpoints).toContain('/api/v1/dashboard/timeseries');
    expect(endpoints).toContain('unmatched');
    expect([...endpoints].some((e) => e?.includes('nope'))).toBe(false);
    for (const name of ['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(families.some((f) => f.name === name)).toBe(true);
    }
    expect(parseFloatValue(String(families.find((f) => f.name === 'control_plane_uptime_seconds')!.samples[0]!.value))).toBeGreaterThan(0);

    const check = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
    if (check.error) throw new Error(`promtool could not run (${check.error.message}); npm test installs Debian's prometheus package`);
    const findings = `${check.stdout}${check.stderr}`
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    expect(findings.filter((f) => !ACCEPTED.has(f))).toEqual([]);
    expect([0, 3]).toContain(check.status);
  });
});
