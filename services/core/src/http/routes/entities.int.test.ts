/**
 * Integration tests of the entity endpoints through real sockets: state (shallow merge, counts,
 * history, as_of), the entity_snapshots projection, top entities and URL-encoded entity ids.
 */
import type { EntityStateResponse, IngestEventResponse, JsonValue, RawResponse } from '@allsource/client';
import { startTestCore, type TestCore } from '../../testing/testCore';
import { sleep } from '../../testing/wait';

interface ErrorBody {
  error: string;
  code: string;
}

function expectError(res: RawResponse<unknown>, status: number, code: string, prefix: string): void {
  expect({ status: res.status, body: res.data }).toMatchObject({ status, body: { code } });
  expect((res.data as ErrorBody).error.startsWith(`${prefix}: `)).toBe(true);
}

/** Microseconds since the epoch of an RFC 3339 `…ss.ffffffZ` timestamp. */
function toUs(ts: string): number {
  return Date.parse(`${ts.slice(0, 23)}Z`) * 1000 + Number(ts.slice(23, 26));
}

describe('entity state and snapshots', () => {
  let t: TestCore;
  const entity = 'acct-1';
  const payloads: JsonValue[] = [
    { a: 1, b: 1 },
    { b: 2, c: 3 },
    'not an object',
    [1, 2, 3],
    null,
    42,
    { a: 9, d: { nested: true, list: [1] } },
    { c: null },
  ];
  const types = ['acct.opened', 'acct.updated', 'acct.noted', 'acct.noted', 'acct.noted', 'acct.noted', 'acct.updated', 'acct.updated'];
  const answers: IngestEventResponse[] = [];

  beforeAll(async () => {
    t = await startTestCore();
    // Another entity interleaved, which must not leak into acct-1's state.
    await t.client.ingest({ event_type: 'acct.opened', entity_id: 'acct-2', payload: { a: 'other' } });
    for (let i = 0; i < payloads.length; i++) {
      answers.push(await t.client.ingest({ event_type: types[i]!, entity_id: entity, payload: payloads[i]! }));
      await t.client.ingest({ event_type: 'acct.updated', entity_id: 'acct-2', payload: { i } });
      await sleep(3);
    }
  });
  afterAll(() => t.stop());

  it('merges object payloads shallowly in order, ignoring non-object payloads', async () => {
    const state = await t.client.entityState(entity);
    expect(state.entity_id).toBe(entity);
    expect(state.current_state).toEqual({ a: 9, b: 2, c: null, d: { nested: true, list: [1] } });
    expect(state.as_of).toBeNull();
    expect(state.last_updated).toBe(answers[answers.length - 1]!.timestamp);
  });

  it('counts every event and lists the whole history in order', async () => {
    const state = await t.client.entityState(entity);
    expect(state.event_count).toBe(payloads.length);
    expect(state.history).toEqual(
      payloads.map((payload, i) => ({ event_id: answers[i]!.event_id, type: types[i], timestamp: answers[i]!.timestamp, payload })),
    );
  });

  it('gives the earlier state, count and history at an as_of in the middle, and echoes as_of', async () => {
    const mid = answers[2]!; // after { a: 1, b: 1 }, { b: 2, c: 3 }, 'not an object'
    const res = await t.client.raw<EntityStateResponse>('GET', `/api/v1/entities/${entity}/state`, { params: { as_of: mid.timestamp } });
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({
      entity_id: entity,
      event_count: 3,
      as_of: mid.timestamp,
      last_updated: mid.timestamp,
      current_state: { a: 1, b: 2, c: 3 },
    });
    expect(res.data.history.map((h) => h.event_id)).toEqual(answers.slice(0, 3).map((a) => a.event_id));

    // One microsecond before the third event: two events.
    const before = new Date(Math.floor((toUs(mid.timestamp) - 1) / 1000)).toISOString().slice(0, 23);
    const micros = String((toUs(mid.timestamp) - 1) % 1000).padStart(3, '0');
    const justBefore = await t.client.entityState(entity, { as_of: `${before}${micros}Z` });
    expect(justBefore.event_count).toBe(2);
    expect(justBefore.current_state).toEqual({ a: 1, b: 2, c: 3 });
    expect(toUs(justBefore.as_of!)).toBe(toUs(mid.timestamp) - 1);

    // An as_of after the last event is the current state; an offset spelling means the same instant.
    const future = await t.client.entityState(entity, { as_of: '2999-01-01T00:00:00+01:00' });
    expect(future.event_count).toBe(payloads.length);
    expect(toUs(future.as_of!)).toBe(toUs('2998-12-31T23:00:00.000000Z'));
  });

  it('answers 404 for an unknown entity and for an as_of before its first event', async () => {
    expectError(await t.client.raw('GET', '/api/v1/entities/nobody/state'), 404, 'ENTITY_NOT_FOUND', 'Entity not found');
    expectError(
      await t.client.raw('GET', `/api/v1/entities/${entity}/state`, { params: { as_of: '2000-01-01T00:00:00Z' } }),
      404,
      'ENTITY_NOT_FOUND',
      'Entity not found',
    );
    expectError(await t.client.raw('GET', '/api/v1/entities/nobody/snapshot'), 404, 'ENTITY_NOT_FOUND', 'Entity not found');
    for (const asOf of ['yesterday', '2026-01-01', '']) {
      expectError(await t.client.raw('GET', `/api/v1/entities/${entity}/state?as_of=${asOf}`), 400, 'INVALID_QUERY', 'Invalid query');
    }
    expectError(await t.client.raw('GET', `/api/v1/entities/${entity}/state?as_of=2026-01-01T00:00:00Z&as_of=2027-01-01T00:00:00Z`), 400, 'INVALID_QUERY', 'Invalid query');
  });

  it('serves the snapshot from the entity_snapshots projection, equal to the current state', async () => {
    const res = await t.client.raw('GET', `/api/v1/entities/${entity}/snapshot`);
    expect(res.status).toBe(200);
    const state = await t.client.entityState(entity);
    expect(res.data).toEqual({ entity_id: entity, snapshot: state.current_state, from_projection: 'entity_snapshots' });
  });

  it('keeps the snapshot current after more events (cached and uncached entities)', async () => {
    await t.client.entitySnapshot(entity); // now cached
    await t.client.ingest({ event_type: 'acct.updated', entity_id: entity, payload: { a: 10, e: 'new' } });
    await t.client.ingest({ event_type: 'acct.updated', entity_id: entity, payload: { b: [2] } });
    const expected = { a: 10, b: [2], c: null, d: { nested: true, list: [1] }, e: 'new' };
    expect((await t.client.entitySnapshot(entity)).snapshot).toEqual(expected);
    expect((await t.client.entityState(entity)).current_state).toEqual(expected);

    // An entity whose first snapshot request comes after its events.
    await t.client.ingest({ event_type: 'acct.opened', entity_id: 'acct-3', payload: { x: 1 } });
    await t.client.ingest({ event_type: 'acct.updated', entity_id: 'acct-3', payload: { y: 2 } });
    expect((await t.client.entitySnapshot('acct-3')).snapshot).toEqual({ x: 1, y: 2 });
    await t.client.ingest({ event_type: 'acct.updated', entity_id: 'acct-3', payload: { x: 3 } });
    expect((await t.client.entitySnapshot('acct-3')).snapshot).toEqual({ x: 3, y: 2 });
  });

  it('folds an entity with thousands of events across a segment and the buffer', async () => {
    const stamps: string[] = [];
    for (let b = 0; b < 3; b++) {
      const events = Array.from({ length: 1000 }, (_, i) => ({
        event_type: 'bulk.set',
        entity_id: 'bulk-1',
        payload: { [`k${i % 7}`]: b * 1000 + i, last: b * 1000 + i },
      }));
      const res = await t.client.ingestBatch(events);
      expect(res.events[999]!.version).toBe((b + 1) * 1000);
      stamps.push(res.events[0]!.timestamp);
      if (b === 0) await t.core.store.flush();
      await sleep(3);
    }
    const state = await t.client.entityState('bulk-1');
    expect(state.event_count).toBe(3000);
    expect(state.history).toHaveLength(3000);
    expect(state.history[2999]!.payload).toEqual({ k5: 2999, last: 2999 }); // 999 % 7 = 5
    expect(state.current_state.last).toBe(2999);
    const mid = await t.client.entityState('bulk-1', { as_of: stamps[1]! });
    expect(mid.event_count).toBe(2000);
    expect(mid.current_state.last).toBe(1999);
    expect((await t.client.entitySnapshot('bulk-1')).snapshot).toEqual(state.current_state);
  });

  it('gives the same state, count and history once the events are in a Parquet segment', async () => {
    const before = await t.client.entityState(entity);
    const beforeSnapshot = await t.client.entitySnapshot('acct-2');
    await t.core.store.flush();
    expect(t.core.store.stats().parquetFiles).toBeGreaterThanOrEqual(1);
    expect(await t.client.entityState(entity)).toEqual(before);
    expect(await t.client.entitySnapshot('acct-2')).toEqual(beforeSnapshot);
    const other = await t.client.entityState('acct-2');
    expect(other.event_count).toBe(payloads.length + 1);
    expect(other.current_state).toEqual({ a: 'other', i: payloads.length - 1 });
  });
});

describe('top entities', () => {
  let t: TestCore;
  // entity → number of events; ingested so that the most recent last event is not the biggest.
  const counts: Array<[string, number]> = [
    ['big', 6],
    ['mid', 4],
    ['small', 3],
    ['tiny', 2],
    ['one', 1],
  ];
  const lastAt = new Map<string, string>();
  const lastOrder: string[] = [];

  beforeAll(async () => {
    t = await startTestCore();
    const remaining = new Map(counts);
    // Round-robin, then the entities' last events happen in this order: one, tiny, small, mid, big…
    // then re-touch "tiny" last of all so that `recent` differs from `events`.
    let left = true;
    while (left) {
      left = false;
      for (const [id] of counts) {
        const n = remaining.get(id)!;
        if (n === 0) continue;
        left = true;
        remaining.set(id, n - 1);
        if (id === 'tiny' && n === 1) continue; // its last event comes at the very end
        const a = await t.client.ingest({ event_type: 'thing.touched', entity_id: id, payload: { n } });
        lastAt.set(id, a.timestamp);
        await sleep(2);
      }
    }
    const a = await t.client.ingest({ event_type: 'thing.touched', entity_id: 'tiny', payload: { n: 'last' } });
    lastAt.set('tiny', a.timestamp);
    lastOrder.push(...[...lastAt.entries()].sort((x, y) => (x[1] < y[1] ? 1 : x[1] > y[1] ? -1 : 0)).map(([id]) => id));
  });
  afterAll(() => t.stop());

  it('ranks by event count (default) with total_entities and each last_event_at', async () => {
    const res = await t.client.raw('GET', '/api/v1/entities/top');
    expect(res.status).toBe(200);
    expect(res.data).toEqual({
      entities: counts.map(([entity_id, event_count]) => ({ entity_id, event_count, last_event_at: lastAt.get(entity_id) })),
      total_entities: counts.length,
    });
    const limited = await t.client.topEntities({ limit: 3, by: 'events' });
    expect(limited.entities.map((e) => e.entity_id)).toEqual(['big', 'mid', 'small']);
    expect(limited.total_entities).toBe(counts.length);
  });

  it('ranks by the most recent event with by=recent', async () => {
    expect(lastOrder[0]).toBe('tiny');
    const res = await t.client.topEntities({ by: 'recent' });
    expect(res.entities.map((e) => e.entity_id)).toEqual(lastOrder);
    expect(res.entities.map((e) => e.last_event_at)).toEqual(lastOrder.map((id) => lastAt.get(id)));
    const two = await t.client.topEntities({ by: 'recent', limit: 2 });
    expect(two.entities.map((e) => e.entity_id)).toEqual(lastOrder.slice(0, 2));
    expect(two.total_entities).toBe(counts.length);
  });

  it('accepts limits 1 to 1000 and rejects bad limit or by with 400', async () => {
    expect((await t.client.topEntities({ limit: 1 })).entities.map((e) => e.entity_id)).toEqual(['big']);
    expect((await t.client.topEntities({ limit: 1000 })).entities).toHaveLength(counts.length);
    for (const q of ['limit=0', 'limit=-1', 'limit=abc', 'limit=1.5', 'limit=1001', 'limit=', 'limit=1&limit=2', 'by=size', 'by=EVENTS']) {
      expectError(await t.client.raw('GET', `/api/v1/entities/top?${q}`), 400, 'INVALID_QUERY', 'Invalid query');
    }
  });
});

describe('entity ids in URLs', () => {
  let t: TestCore;
  const ids = ['has space', 'a/b/c', 'ünïcødé-😀-名前', 'q?x=1#frag', '100%', 'a+b', 'top', 'semi;colon', "quote'\"", 'back\\slash'];

  beforeAll(async () => {
    t = await startTestCore();
  });
  afterAll(() => t.stop());

  it('round-trips ids with spaces, slashes, unicode and URL metacharacters', async () => {
    for (const [i, id] of ids.entries()) {
      const a = await t.client.ingest({ event_type: 'odd.id', entity_id: id, payload: { i } });
      const b = await t.client.ingest({ event_type: 'odd.id', entity_id: id, payload: { j: i } });
      expect(b.version).toBe(2);
      const state = await t.client.entityState(id);
      expect({ id, entity_id: state.entity_id, count: state.event_count, state: state.current_state }).toEqual({
        id,
        entity_id: id,
        count: 2,
        state: { i, j: i },
      });
      expect(await t.client.entitySnapshot(id)).toEqual({ entity_id: id, snapshot: { i, j: i }, from_projection: 'entity_snapshots' });
      const events = await t.client.queryEvents({ entity_id: id });
      expect(events.events.map((e) => e.id)).toEqual([a.event_id, b.event_id]);
      expect((await t.client.getEvent(a.event_id)).entity_id).toBe(id);
    }
    const top = await t.client.topEntities({ limit: 100 });
    expect(top.entities.map((e) => e.entity_id).sort()).toEqual([...ids].sort());
    expect(top.total_entities).toBe(ids.length);
    // An encoded slash is part of the id, not a path separator.
    expectError(await t.client.raw('GET', '/api/v1/entities/a/b/c/state'), 404, 'NOT_FOUND', 'Not found');
  });
});
