/**
 * Analytics through real sockets: exact numbers over events whose timestamps the server gave
 * (since/until around them), bad parameters, the caps, and the analytics query metrics.
 */
import type { CorrelationResponse, FrequencyResponse, IngestEventResponse, RawResponse, SummaryResponse } from '@allsource/client';
import { sumSamples } from '../testing/metricsText';
import { startTestCore, type TestCore } from '../testing/testCore';

/** Sum of the samples of `name` whose labels include `labels`, from /metrics text. */
const metric = async (t: TestCore, name: string, labels: Record<string, string> = {}): Promise<number> => sumSamples(await t.client.metricsText(), name, labels);

function expectInvalidQuery(res: RawResponse<unknown>, text: string): void {
  expect(res.status).toBe(400);
  const body = res.data as { error: string; code: string };
  expect(body.code).toBe('INVALID_QUERY');
  expect(body.error.startsWith('Invalid query: ')).toBe(true);
  expect(body.error).toContain(text);
}

const toUs = (ts: string): number => Date.parse(`${ts.slice(0, 23)}Z`) * 1000 + Number(ts.slice(23, 26));

describe('analytics endpoints', () => {
  let t: TestCore;
  const answers: Record<string, IngestEventResponse> = {};
  let since: string;
  let until: string;

  beforeAll(async () => {
    t = await startTestCore();
    // Something before the range, which since/until must leave out.
    await t.client.ingest({ event_type: 'user.created', entity_id: 'before', payload: {} });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const batch = await t.client.ingestBatch([
      { event_type: 'user.created', entity_id: 'e1', payload: { n: 1 } },
      { event_type: 'user.created', entity_id: 'e2', payload: { n: 2 } },
      { event_type: 'user.updated', entity_id: 'e1', payload: { n: 3 } },
    ]);
    [answers.c1, answers.c2, answers.u1] = batch.events as [IngestEventResponse, IngestEventResponse, IngestEventResponse];
    answers.u1b = await t.client.ingest({ event_type: 'user.updated', entity_id: 'e1', payload: {} });
    answers.o3 = await t.client.ingest({ event_type: 'order.placed', entity_id: 'e3', payload: {} });
    answers.o2 = await t.client.ingest({ event_type: 'order.placed', entity_id: 'e2', payload: {} });
    since = answers.c1!.timestamp;
    until = answers.o2!.timestamp;
  });
  afterAll(() => t.stop());

  it('summarises the events in the range with exact numbers', async () => {
    const before = await metric(t, 'allsource_queries_total', { query_type: 'analytics' });
    const s = await t.client.analytics.summary({ since, until });
    expect(s).toEqual<SummaryResponse>({
      total_events: 6,
      unique_entities: 3,
      unique_event_types: 3,
      time_range: { from: since, to: until },
      events_per_day: 6,
      top_event_types: [
        { event_type: 'order.placed', count: 2, percentage: 33.33 },
        { event_type: 'user.created', count: 2, percentage: 33.33 },
        { event_type: 'user.updated', count: 2, percentage: 33.33 },
      ],
      top_entities: [
        { entity_id: 'e1', count: 3, percentage: 50 },
        { entity_id: 'e2', count: 2, percentage: 33.33 },
        { entity_id: 'e3', count: 1, percentage: 16.67 },
      ],
      first_event: since,
      last_event: until,
    });
    const byEntity = await t.client.analytics.summary({ entity_id: 'e1' });
    expect(byEntity).toMatchObject({ total_events: 3, unique_entities: 1, unique_event_types: 2, first_event: since, last_event: answers.u1b!.timestamp });
    const all = await t.client.analytics.summary();
    expect(all).toMatchObject({ total_events: 7, unique_entities: 4 });
    expect(await metric(t, 'allsource_queries_total', { query_type: 'analytics' })).toBe(before + 3);
    expect(await metric(t, 'allsource_query_results_total', { query_type: 'analytics' })).toBeGreaterThanOrEqual(6 + 3 + 7);
    expect(await metric(t, 'allsource_query_duration_seconds_count', { query_type: 'analytics' })).toBeGreaterThanOrEqual(3);
  });

  it('counts per window, aligned to UTC and gap-filled', async () => {
    const days = await t.client.analytics.frequency({ since, until, window: 'day' });
    expect(days.window).toBe('day');
    expect(days.time_range).toEqual({ from: since, to: until });
    expect(days.total_events).toBe(6);
    // The events fall on one day, or two when the test ran across midnight UTC.
    const expectedDays = [...new Set([since, until].map((ts) => `${ts.slice(0, 10)}T00:00:00.000000Z`))];
    expect(days.buckets.map((b) => b.timestamp)).toEqual(expectedDays);
    const sumTypes: Record<string, number> = {};
    for (const b of days.buckets) for (const [type, n] of Object.entries(b.event_types)) sumTypes[type] = (sumTypes[type] ?? 0) + n;
    expect(sumTypes).toEqual({ 'user.created': 2, 'user.updated': 2, 'order.placed': 2 });

    // One minute before the first event to one after the last: gap-filled minutes.
    const from = new Date(toUs(since) / 1000 - 60_000).toISOString();
    const to = new Date(toUs(until) / 1000 + 60_000).toISOString();
    const minutes = await t.client.raw<FrequencyResponse>('GET', '/api/v1/analytics/frequency', {
      params: { since: from, until: to, window: 'minute', event_type: 'user.updated' },
    });
    expect(minutes.status).toBe(200);
    const b = minutes.data.buckets;
    expect(b.length).toBeGreaterThanOrEqual(3);
    expect(b[0]!.count).toBe(0);
    expect(b[b.length - 1]!.count).toBe(0);
    for (let i = 0; i < b.length; i++) {
      expect(b[i]!.timestamp).toMatch(/:00\.000000Z$/);
      if (i > 0) expect(toUs(b[i]!.timestamp) - toUs(b[i - 1]!.timestamp)).toBe(60_000_000);
    }
    expect(b.reduce((n, x) => n + x.count, 0)).toBe(2);
    expect(minutes.data.total_events).toBe(2);
  });

  it('correlates A and B events of the same entity', async () => {
    const c = await t.client.analytics.correlation({ event_type_a: 'user.created', event_type_b: 'order.placed', time_window_seconds: 3600, since, until });
    const gap = (toUs(answers.o2!.timestamp) - toUs(answers.c2!.timestamp)) / 1e6;
    expect(c).toEqual<CorrelationResponse & { time_window_seconds: number }>({
      event_type_a: 'user.created',
      event_type_b: 'order.placed',
      time_window_seconds: 3600,
      total_a: 2,
      total_b: 2,
      correlated_pairs: 1,
      correlation_percentage: 50,
      avg_time_between_seconds: gap,
      examples: [
        {
          entity_id: 'e2',
          event_a_id: answers.c2!.event_id,
          event_b_id: answers.o2!.event_id,
          event_a_timestamp: answers.c2!.timestamp,
          event_b_timestamp: answers.o2!.timestamp,
          time_between_seconds: gap,
        },
      ],
    });
    // Without since, the earlier user.created of 'before' counts as an A too.
    const wider = await t.client.analytics.correlation({ event_type_a: 'user.created', event_type_b: 'order.placed' });
    expect(wider).toMatchObject({ total_a: 3, correlated_pairs: 1, correlation_percentage: 33.33 });
  });

  it('answers 400 Invalid query for bad parameters', async () => {
    const get = (path: string, params: Record<string, string>) => t.client.raw('GET', `/api/v1/analytics/${path}`, { params });
    expectInvalidQuery(await get('frequency', { window: 'year' }), 'window must be one of minute, hour, day, week, month');
    expectInvalidQuery(await get('frequency', { since: 'yesterday' }), 'since must be an RFC 3339 timestamp');
    expectInvalidQuery(await get('summary', { since: until, until: since }), 'since must not be later than until');
    expectInvalidQuery(await get('correlation', { event_type_b: 'a.b' }), 'event_type_a is required');
    expectInvalidQuery(await get('correlation', { event_type_a: 'a.b' }), 'event_type_b is required');
    expectInvalidQuery(await get('correlation', { event_type_a: 'a.b', event_type_b: 'c.d', time_window_seconds: '-1' }), 'time_window_seconds');
    expectInvalidQuery(await get('frequency', { since: '2000-01-01T00:00:00Z', window: 'minute' }), 'ANALYTICS_MAX_BUCKETS');
    // Unknown filters are not errors: empty results.
    const none = await t.client.analytics.summary({ event_type: 'never.seen' });
    expect(none).toMatchObject({ total_events: 0, time_range: null, first_event: null, last_event: null, top_entities: [] });
  });
});

describe('analytics scan cap', () => {
  let t: TestCore;
  beforeAll(async () => {
    t = await startTestCore({ ANALYTICS_MAX_SCAN_EVENTS: '3' });
    await t.client.ingestBatch(['a', 'b', 'c', 'd'].map((e) => ({ event_type: 'x.y', entity_id: e, payload: {} })));
    await t.client.ingest({ event_type: 'z.z', entity_id: 'a', payload: {} });
  });
  afterAll(() => t.stop());

  it('refuses a request that would scan more than ANALYTICS_MAX_SCAN_EVENTS, with advice', async () => {
    const res = await t.client.raw('GET', '/api/v1/analytics/summary');
    expectInvalidQuery(res, 'ANALYTICS_MAX_SCAN_EVENTS (3)');
    expect((res.data as { error: string }).error).toContain('narrow since/until');
    // A filter that selects few events stays within it.
    expect(await t.client.analytics.summary({ entity_id: 'a' })).toMatchObject({ total_events: 2, unique_event_types: 2 });
  });
});
