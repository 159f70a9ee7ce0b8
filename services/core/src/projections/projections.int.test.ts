/**
 * The projections API through real sockets: listing, state (whole, one key, paged, bounded),
 * code-defined projections registered with the core, a deliberately failing projection that is
 * counted and logged without blocking ingestion or the others, and the projection metrics.
 */
import type { IngestEventRequest, RawResponse } from '@allsource/client';
import { sumSamples } from '../testing/metricsText';
import { startTestCore, type TestCore } from '../testing/testCore';
import { defineProjection } from './defineProjection';

interface Totals {
  events: number;
  amount: number;
}

function makeProjections() {
  const broken = defineProjection<number>({
    name: 'broken',
    init: () => 0,
    apply: (n, e) => {
      if (e.eventType === 'poison.pill') throw new Error('this projection cannot handle poison pills');
      return n + 1;
    },
  });
  const totals = defineProjection<Totals>({
    name: 'order_totals',
    init: () => ({ events: 0, amount: 0 }),
    apply: (s, e) => {
      if (e.eventType !== 'order.placed') return;
      s.events++;
      s.amount += (e.payload as { amount: number }).amount;
    },
  });
  const perCustomer = defineProjection<{ orders: number; last: string }>({
    name: 'orders_by_customer',
    key: (e) => (e.eventType === 'order.placed' ? (e.payload as { customer: string }).customer : undefined),
    init: () => ({ orders: 0, last: '' }),
    apply: (s, e) => ({ orders: s.orders + 1, last: e.entityId }),
    maxKeys: 25,
  });
  return { broken, totals, perCustomer };
}

describe('projections API', () => {
  let t: TestCore;
  const p = makeProjections();

  beforeAll(async () => {
    t = await startTestCore({ PROJECTION_STATE_MAX_KEYS: '10' }, { extraProjections: [p.broken, p.totals, p.perCustomer] });
    const events: IngestEventRequest[] = [];
    for (let i = 0; i < 30; i++) {
      events.push({ event_type: 'order.placed', entity_id: `order-${i}`, payload: { amount: i, customer: `c${i % 12}` } });
    }
    for (let i = 0; i < 4; i++) events.push({ event_type: 'poison.pill', entity_id: `pill-${i}`, payload: {} });
    events.push({ event_type: 'user.created', entity_id: 'user-1', payload: { name: 'Ada', plan: 'free' } });
    events.push({ event_type: 'user.updated', entity_id: 'user-1', payload: { plan: 'pro' } });
    // Poison pills go through one by one and in a batch: every ingest still succeeds.
    await t.client.ingest(events[30]!);
    await t.client.ingestBatch([...events.slice(0, 30), ...events.slice(31)]);
  });
  afterAll(() => t.stop());

  it('lists every projection with its counters', async () => {
    const { projections } = await t.client.projections.list();
    expect(projections.map((x) => x.name)).toEqual(['entity_snapshots', 'event_counters', 'broken', 'order_totals', 'orders_by_customer']);
    const byName = new Map(projections.map((x) => [x.name, x]));
    expect(byName.get('event_counters')).toMatchObject({ events_processed: 36, errors: 0, last_processed_at: expect.stringMatching(/Z$/) });
    expect(byName.get('broken')).toMatchObject({ events_processed: 32, errors: 4 });
    expect(byName.get('order_totals')).toMatchObject({ events_processed: 36, errors: 0 });
  });

  it('a failing projection never blocks ingestion or the others, and is counted in the metrics', async () => {
    expect(p.broken.current()).toBe(32);
    expect(p.totals.current()).toEqual({ events: 30, amount: 435 });
    // One more poison pill: accepted, counted.
    await t.client.ingest({ event_type: 'poison.pill', entity_id: 'pill-x', payload: {} });
    expect((await t.client.stats()).total_events).toBe(37);
    const text = await t.client.metricsText();
    expect(sumSamples(text, 'allsource_projection_errors_total', { projection_name: 'broken' })).toBe(5);
    expect(sumSamples(text, 'allsource_projection_errors_total', { projection_name: 'order_totals' })).toBe(0);
    expect(sumSamples(text, 'allsource_projection_events_processed', { projection_name: 'broken' })).toBe(32);
    expect(sumSamples(text, 'allsource_projection_events_processed', { projection_name: 'order_totals' })).toBe(37);
    expect(sumSamples(text, 'allsource_projection_events_processed', { projection_name: 'event_counters' })).toBe(37);
    expect(sumSamples(text, 'allsource_projection_processing_duration_seconds_count', { projection_name: 'event_counters' })).toBeGreaterThan(0);
    expect(sumSamples(text, 'allsource_projection_processing_duration_seconds_count', { projection_name: 'broken' })).toBeGreaterThan(0);
  });

  it('answers a one-value state whole and its keys one by one', async () => {
    // A plain-object (or Map) state is keyed by its properties: paged like any keyed state.
    expect(await t.client.projections.state('order_totals')).toEqual({
      name: 'order_totals',
      state: { events: 30, amount: 435 },
      total_keys: 2,
      offset: 0,
      limit: 10,
      returned: 2,
      next_offset: null,
    });
    expect(await t.client.projections.state('order_totals', { key: 'amount' })).toEqual({ name: 'order_totals', key: 'amount', state: 435 });
    expect(await t.client.projections.state('broken')).toEqual({ name: 'broken', state: 32 });
  });

  it('event_counters: whole state, one key; unknown key or projection → 404', async () => {
    const whole = await t.client.projections.state<{ state: Record<string, number>; total_keys: number }>('event_counters');
    expect(whole.state).toEqual({ 'poison.pill': 5, 'order.placed': 30, 'user.created': 1, 'user.updated': 1 });
    expect(whole.total_keys).toBe(4);
    expect(await t.client.projections.state('event_counters', { key: 'order.placed' })).toEqual({ name: 'event_counters', key: 'order.placed', state: 30 });
    const unknownKey = await t.client.raw('GET', '/api/v1/projections/event_counters/state?key=nope.nope');
    expect(unknownKey.status).toBe(404);
    expect(unknownKey.data).toEqual({ error: "Not found: projection 'event_counters' has no key 'nope.nope'", code: 'NOT_FOUND' });
    const unknown = await t.client.raw('GET', '/api/v1/projections/no_such/state');
    expect(unknown.status).toBe(404);
    expect(unknown.data).toMatchObject({ code: 'NOT_FOUND', error: expect.stringMatching(/^Not found: projection 'no_such' is not registered/) });
  });

  it('entity_snapshots: a summary, and one entity folded on demand', async () => {
    const { total_entities } = await t.client.stats();
    expect(await t.client.projections.state('entity_snapshots')).toMatchObject({
      name: 'entity_snapshots',
      state: { total_entities, max_entries: 10_000, cached_entities: expect.any(Number), cached_bytes: expect.any(Number), max_bytes: 64 * 1024 * 1024 },
    });
    expect(await t.client.projections.state('entity_snapshots', { key: 'user-1' })).toEqual({
      name: 'entity_snapshots',
      key: 'user-1',
      state: { name: 'Ada', plan: 'pro' },
    });
    expect((await t.client.raw('GET', '/api/v1/projections/entity_snapshots/state?key=ghost')).status).toBe(404);
  });

  it('pages a keyed state (PROJECTION_STATE_MAX_KEYS=10) and walks every page', async () => {
    type Page = { state: Record<string, { orders: number }>; total_keys: number; next_offset: number | null; returned: number; limit: number };
    const first = (await t.client.raw<Page>('GET', '/api/v1/projections/orders_by_customer/state')).data;
    expect(first).toMatchObject({ total_keys: 12, returned: 10, limit: 10, next_offset: 10 });
    const seen: Record<string, { orders: number }> = {};
    let offset: number | null = 0;
    for (let guard = 0; offset !== null && guard < 20; guard++) {
      const res: RawResponse<Page> = await t.client.raw<Page>('GET', `/api/v1/projections/orders_by_customer/state?limit=5&offset=${offset}`);
      expect(res.status).toBe(200);
      expect(res.data.returned).toBeLessThanOrEqual(5);
      Object.assign(seen, res.data.state);
      offset = res.data.next_offset;
    }
    expect(Object.keys(seen).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `c${i}`).sort());
    expect(Object.values(seen).reduce((n, s) => n + s.orders, 0)).toBe(30);
    expect(await t.client.projections.state('orders_by_customer', { key: 'c0' })).toEqual({
      name: 'orders_by_customer',
      key: 'c0',
      state: { orders: 3, last: 'order-24' },
    });
  });

  it('refuses bad paging parameters with 400', async () => {
    for (const q of ['limit=0', 'limit=11', 'limit=x', 'offset=-1', 'key=a&key=b']) {
      const res = await t.client.raw('GET', `/api/v1/projections/event_counters/state?${q}`);
      expect(res.status).toBe(400);
      expect(res.data).toMatchObject({ code: 'INVALID_QUERY' });
    }
  });
});

describe('projections API bounds', () => {
  it('a state over PROJECTION_STATE_MAX_BYTES is paged short or refused with 413', async () => {
    const blob = defineProjection<string>({
      name: 'blob',
      key: (e) => e.entityId,
      init: () => '',
      apply: (_s, e) => (e.payload as { text: string }).text,
    });
    const t = await startTestCore({ PROJECTION_STATE_MAX_BYTES: '2048' }, { extraProjections: [blob] });
    try {
      await t.client.ingestBatch([
        { event_type: 'blob.set', entity_id: 'a', payload: { text: 'a'.repeat(900) } },
        { event_type: 'blob.set', entity_id: 'b', payload: { text: 'b'.repeat(900) } },
        { event_type: 'blob.set', entity_id: 'c', payload: { text: 'c'.repeat(900) } },
        { event_type: 'blob.set', entity_id: 'huge', payload: { text: 'h'.repeat(5000) } },
      ]);
      const page = await t.client.raw<{ returned: number; next_offset: number }>('GET', '/api/v1/projections/blob/state');
      expect(page.status).toBe(200);
      expect(page.data).toMatchObject({ returned: 2, next_offset: 2 });
      const huge = await t.client.raw('GET', '/api/v1/projections/blob/state?key=huge');
      expect(huge.status).toBe(413);
      expect(huge.data).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', error: expect.stringMatching(/PROJECTION_STATE_MAX_BYTES/) });
    } finally {
      await t.stop();
    }
  });
});
