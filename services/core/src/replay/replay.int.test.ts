/**
 * Replay through real sockets over a real data directory (events in Parquet segments and in the
 * buffer): rebuilding projections while ingestion goes on, filters, cancel/delete, errors and
 * bounds, and the replay metrics.
 */
import type { ReplayProgress } from '@allsource/client';
import type { StoredEvent } from '../events/storedEvent';
import { defineProjection, type KeyedProjection } from '../projections/defineProjection';
import { sumSamples } from '../testing/metricsText';
import { orderSensitiveFold, type OrderedFold } from '../testing/projections';
import { startTestCore, type TestCore } from '../testing/testCore';

/** Order-sensitive: an event applied out of order, twice or not at all shows in the state. */
const perEntitySpec = (name: string) => orderSensitiveFold(name, (payload) => (payload as { n?: number }).n ?? 0);

/** The reference: a plain fold of every stored event, read straight from the store. */
async function fullFold(t: TestCore, name: string): Promise<Map<string, OrderedFold>> {
  const p = defineProjection(perEntitySpec(name));
  const store = t.core.store;
  for (let start = 0; start < store.index.count; start += 1000) {
    const positions = Array.from({ length: Math.min(1000, store.index.count - start) }, (_, i) => start + i);
    for (const e of await store.readPositions(positions)) p.apply(e as StoredEvent);
  }
  return new Map(p.entries());
}

async function settle(t: TestCore, id: string): Promise<ReplayProgress> {
  for (let i = 0; i < 6000; i++) {
    const p = await t.client.replay.get(id);
    if (p.status !== 'running' && p.status !== 'pending') return p;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`replay ${id} did not finish`);
}

async function ingestN(t: TestCore, n: number, prefix: string, entities = 20): Promise<void> {
  for (let start = 0; start < n; start += 500) {
    const events = Array.from({ length: Math.min(500, n - start) }, (_, k) => ({
      event_type: (start + k) % 4 === 0 ? 'order.placed' : 'cart.updated',
      entity_id: `${prefix}-${(start + k) % entities}`,
      payload: { n: start + k },
    }));
    await t.client.ingestBatch(events);
  }
}

describe('replay', () => {
  let t: TestCore;
  let perEntity: KeyedProjection<OrderedFold>;

  beforeAll(async () => {
    perEntity = defineProjection(perEntitySpec('per_entity'));
    // Small segments so that a replay reads from several Parquet files and from the buffer.
    t = await startTestCore({ FLUSH_MAX_EVENTS: '700', WAL_SYNC_MODE: 'none', REPLAY_MAX_RECORDS: '5' }, { extraProjections: [perEntity] });
    await ingestN(t, 3000, 'base');
    await t.core.store.flush();
    await ingestN(t, 300, 'buffered');
  });
  afterAll(() => t.stop());

  it('rebuilds event_counters and reports progress; the metrics move', async () => {
    const before = await t.client.metricsText();
    const started = await t.client.replay.start({ projection_name: 'event_counters', config: { batch_size: 250 } });
    expect(started).toMatchObject({ replay_id: expect.any(String), status: 'running', started_at: expect.stringMatching(/Z$/), total_events: 3300 });
    const done = await settle(t, started.replay_id);
    expect(done).toMatchObject({
      replay_id: started.replay_id,
      status: 'completed',
      total_events: 3300,
      processed_events: 3300,
      failed_events: 0,
      progress_percentage: 100,
      error_message: null,
      started_at: started.started_at,
      completed_at: expect.stringMatching(/Z$/),
    });
    expect(done.events_per_second).toBeGreaterThan(0);
    expect(Date.parse(done.updated_at)).toBeGreaterThanOrEqual(Date.parse(done.started_at));
    const counters = await t.client.projections.state<{ state: Record<string, number> }>('event_counters');
    expect(counters.state).toEqual({ 'order.placed': 825, 'cart.updated': 2475 });

    const after = await t.client.metricsText();
    expect(sumSamples(after, 'allsource_replays_started_total') - sumSamples(before, 'allsource_replays_started_total')).toBe(1);
    expect(sumSamples(after, 'allsource_replays_completed_total') - sumSamples(before, 'allsource_replays_completed_total')).toBe(1);
    expect(sumSamples(after, 'allsource_replay_events_processed') - sumSamples(before, 'allsource_replay_events_processed')).toBe(3300);
    expect(sumSamples(after, 'allsource_replay_duration_seconds_count') - sumSamples(before, 'allsource_replay_duration_seconds_count')).toBe(1);

    const list = await t.client.replay.list();
    expect(list.total).toBe(list.replays.length);
    expect(list.replays[0]).toEqual(done);
  });

  it('rebuilds a projection while events keep arriving: the result equals a full fold', async () => {
    let overlapped = false;
    for (let attempt = 0; attempt < 5 && !overlapped; attempt++) {
      perEntity.reset(); // lose the live state: only a real rebuild brings it back
      let stop = false;
      let ingested = 0;
      const writers = Array.from({ length: 3 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          await t.client.ingest({ event_type: 'cart.updated', entity_id: `live-${w}-${i % 5}`, payload: { n: i } });
          ingested++;
        }
      });
      // Let the writers get going, so that events are committed throughout the replay.
      while (ingested < 10) await new Promise((r) => setTimeout(r, 5));
      const started = await t.client.replay.start({ projection_name: 'per_entity', config: { batch_size: 20 } });
      const done = await settle(t, started.replay_id);
      stop = true;
      await Promise.all(writers);
      expect(done.status).toBe('completed');
      expect(done.failed_events).toBe(0);
      // Events committed after the replay started were caught up by it (not only by the live path).
      overlapped = done.processed_events > started.total_events;
      expect(done.total_events).toBe(done.processed_events);

      const expected = await fullFold(t, 'reference');
      const actual = new Map(perEntity.entries());
      expect(actual.size).toBe(expected.size);
      expect(actual).toEqual(expected);
      for (const [, s] of actual) expect(s.inOrder).toBe(true);
      const total = [...actual.values()].reduce((n, s) => n + s.count, 0);
      expect(total).toBe(t.core.store.index.count);
    }
    expect(overlapped).toBe(true);
  });

  it('replays a filtered range into a projection', async () => {
    const entity = 'base-4'; // n % 20 === 4: every one of its events is an order.placed
    const all = await t.client.queryEvents({ entity_id: entity, event_type: 'order.placed', limit: 10_000 });
    const from = all.events[2]!.timestamp;
    const to = all.events[all.events.length - 3]!.timestamp;
    const inRange = all.events.filter((e) => e.timestamp >= from && e.timestamp <= to);
    const started = await t.client.replay.start({
      projection_name: 'per_entity',
      entity_id: entity,
      event_type: 'order.placed',
      from_timestamp: from,
      to_timestamp: to,
      config: { batch_size: 7 },
    });
    expect(started.total_events).toBe(inRange.length);
    const done = await settle(t, started.replay_id);
    expect(done).toMatchObject({ status: 'completed', processed_events: inRange.length, entity_id: entity, event_type: 'order.placed' });
    // The rebuilt projection holds exactly the replayed events.
    expect([...perEntity.keys()]).toEqual([entity]);
    expect(perEntity.get(entity)!.count).toBe(inRange.length);
  });

  it('the default projection is entity_snapshots, and a POST without a body works', async () => {
    const res = await t.client.raw<{ replay_id: string; status: string }>('POST', '/api/v1/replay');
    expect(res.status).toBe(200);
    expect(res.data.status).toBe('running');
    const done = await settle(t, res.data.replay_id);
    expect(done).toMatchObject({ status: 'completed', projection_name: 'entity_snapshots' });
    // Entity snapshots are still right after their rebuild.
    const state = await t.client.entityState('buffered-1');
    expect((await t.client.entitySnapshot('buffered-1')).snapshot).toEqual(state.current_state);
  });

  it('cancel and delete; unknown ids → 404; a finished replay cannot be cancelled (409)', async () => {
    // batch_size 1 over 3300+ events: still running when cancelled.
    const started = await t.client.replay.start({ projection_name: 'event_counters', config: { batch_size: 1 } });
    const cancelled = await t.client.replay.cancel(started.replay_id);
    expect(cancelled).toMatchObject({ replay_id: started.replay_id, status: 'cancelled', error_message: 'cancelled by request' });
    expect((await settle(t, started.replay_id)).status).toBe('cancelled');
    expect(await t.client.replay.delete(started.replay_id)).toEqual({ replay_id: started.replay_id, deleted: true, status: 'cancelled' });
    for (const [method, path] of [
      ['GET', `/api/v1/replay/${started.replay_id}`],
      ['POST', '/api/v1/replay/nope/cancel'],
      ['DELETE', '/api/v1/replay/nope'],
    ] as const) {
      const res = await t.client.raw(method, path);
      expect(res.status).toBe(404);
      expect(res.data).toMatchObject({ code: 'NOT_FOUND' });
    }
    const running = await t.client.replay.start({ projection_name: 'event_counters', config: { batch_size: 1 } });
    expect(await t.client.replay.delete(running.replay_id)).toMatchObject({ deleted: true, status: 'cancelled' });

    const quick = await t.client.replay.start({ projection_name: 'event_counters', event_type: 'no.such.type' });
    expect(quick.total_events).toBe(0);
    expect((await settle(t, quick.replay_id)).status).toBe('completed');
    const conflict = await t.client.raw('POST', `/api/v1/replay/${quick.replay_id}/cancel`);
    expect(conflict.status).toBe(409);
    expect(conflict.data).toMatchObject({ code: 'CONFLICT' });
  });

  it('refuses bad requests: 400 for bad fields, 404 for an unknown projection, 409 for a second rebuild', async () => {
    const bad = [
      { from_timestamp: 'not-a-time' },
      { to_timestamp: '2026-13-01T00:00:00Z' },
      { from_timestamp: '2026-01-02T00:00:00Z', to_timestamp: '2026-01-01T00:00:00Z' },
      { config: { batch_size: 0 } },
      { config: { batch_size: 10_001 } },
      { entity_id: 42 },
    ];
    for (const body of bad) {
      const res = await t.client.raw('POST', '/api/v1/replay', { body });
      expect(res.status).toBe(400);
      expect(res.data).toMatchObject({ code: 'INVALID_INPUT', error: expect.stringMatching(/^Invalid input: /) });
    }
    const notJson = await t.client.raw('POST', '/api/v1/replay', { body: '{oops', headers: { 'Content-Type': 'application/json' } });
    expect(notJson.status).toBe(400);
    const unknown = await t.client.raw('POST', '/api/v1/replay', { body: { projection_name: 'no_such' } });
    expect(unknown.status).toBe(404);
    expect(unknown.data).toMatchObject({ code: 'NOT_FOUND', error: "Not found: projection 'no_such' is not registered" });

    const first = await t.client.replay.start({ projection_name: 'event_counters', config: { batch_size: 1 } });
    const second = await t.client.raw('POST', '/api/v1/replay', { body: { projection_name: 'event_counters' } });
    expect(second.status).toBe(409);
    expect(second.data).toMatchObject({ code: 'CONFLICT', details: { replay_id: first.replay_id } });
    await t.client.replay.cancel(first.replay_id);
    await settle(t, first.replay_id);
  });

  it('keeps at most REPLAY_MAX_RECORDS records', async () => {
    for (let i = 0; i < 3; i++) await settle(t, (await t.client.replay.start({ projection_name: 'event_counters', event_type: 'none' })).replay_id);
    const list = await t.client.replay.list();
    expect(list.total).toBe(5);
    expect(list.replays).toHaveLength(5);
  });
});

describe('replay failures and bounds', () => {
  it('a projection that cannot be rebuilt fails the replay: failed status, error message, failed metric', async () => {
    let inits = 0;
    const fragile = defineProjection<number>({
      name: 'fragile',
      init: () => {
        if (++inits > 1) throw new Error('fresh state unavailable');
        return 0;
      },
      apply: (n) => n + 1,
    });
    const t = await startTestCore({ REPLAY_MAX_CONCURRENT: '1' }, { extraProjections: [fragile] });
    try {
      await t.client.ingestBatch(Array.from({ length: 50 }, (_, i) => ({ event_type: 'x.y', entity_id: `e${i}`, payload: {} })));
      const started = await t.client.replay.start({ projection_name: 'fragile' });
      const done = await settle(t, started.replay_id);
      expect(done).toMatchObject({ status: 'failed', error_message: 'fresh state unavailable', processed_events: 0, completed_at: expect.any(String) });
      expect(fragile.current()).toBe(50); // the live projection is untouched
      let text = await t.client.metricsText();
      expect(sumSamples(text, 'allsource_replays_failed_total')).toBe(1);
      expect(sumSamples(text, 'allsource_replays_completed_total')).toBe(0);
      expect(sumSamples(text, 'allsource_replay_duration_seconds_count')).toBe(1);

      // REPLAY_MAX_CONCURRENT=1: a second replay while one runs → 429.
      await t.client.ingestBatch(Array.from({ length: 2000 }, (_, i) => ({ event_type: 'x.y', entity_id: `f${i}`, payload: {} })));
      const slow = await t.client.replay.start({ projection_name: 'event_counters', config: { batch_size: 1 } });
      const limited = await t.client.raw('POST', '/api/v1/replay', { body: { projection_name: 'entity_snapshots' } });
      expect(limited.status).toBe(429);
      expect(limited.data).toMatchObject({ code: 'RATE_LIMITED', error: expect.stringMatching(/REPLAY_MAX_CONCURRENT/) });
      await t.client.replay.cancel(slow.replay_id);
      await settle(t, slow.replay_id);
      text = await t.client.metricsText();
      expect(sumSamples(text, 'allsource_replays_failed_total')).toBe(2); // cancelled replays count as failed
      expect(sumSamples(text, 'allsource_replays_started_total')).toBe(2);
    } finally {
      await t.stop();
    }
  });

  it('shutdown cancels a running replay and closes cleanly', async () => {
    const t = await startTestCore();
    try {
      await t.client.ingestBatch(Array.from({ length: 3000 }, (_, i) => ({ event_type: 'x.y', entity_id: `e${i % 10}`, payload: {} })));
      const started = await t.client.replay.start({ projection_name: 'event_counters', config: { batch_size: 1 } });
      expect(started.status).toBe('running');
    } finally {
      await t.stop();
    }
  });
});
