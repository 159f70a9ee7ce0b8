/**
 * ReplayManager against an in-memory event source whose reads the test can interleave with new
 * commits, so that catching up, the tail hand-over, a tail overflow and cancelling are exercised
 * deterministically.
 */
import type { StoredEvent } from '../events/storedEvent';
import { defineProjection, type KeyedProjection } from '../projections/defineProjection';
import type { Projection } from '../projections/projection';
import type { CommitListener } from '../storage/eventStore';
import { EventIndex, IN_BUFFER } from '../storage/index/eventIndex';
import { thrownError } from '../testing/errors';
import { orderSensitiveFold, type OrderedFold } from '../testing/projections';
import type { ReplayFilter } from './positionCursor';
import { ReplayManager, type ReplayObserver, type ReplayProgress, type ReplaySource } from './replayManager';

class FakeSource implements ReplaySource {
  readonly index = new EventIndex();
  readonly events: StoredEvent[] = [];
  private readonly listeners = new Set<CommitListener>();
  private lsn = 0;
  reads = 0;
  /** Runs inside every read, before it answers (the test commits events from here). */
  duringRead: ((read: number) => void | Promise<void>) | undefined;

  commit(count: number, entity = (i: number) => `e${i % 7}`, type = (i: number) => (i % 3 === 0 ? 'b.z' : 'a.x')): void {
    const batch: StoredEvent[] = [];
    for (let k = 0; k < count; k++) {
      const i = this.lsn++;
      const entityId = entity(i);
      const e: StoredEvent = {
        lsn: i + 1,
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        eventType: type(i),
        entityId,
        tenantId: 'default',
        timestampUs: 1_000_000 + i,
        version: this.index.versionOf(entityId) + 1,
        payloadJson: JSON.stringify({ i }),
        metadataJson: null,
      };
      this.index.add(e, IN_BUFFER, 0);
      this.events.push(e);
      batch.push(e);
    }
    for (const l of this.listeners) l(batch);
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  async readPositions(positions: ArrayLike<number>): Promise<StoredEvent[]> {
    const read = ++this.reads;
    await Promise.resolve();
    await this.duringRead?.(read);
    return Array.from(positions as ArrayLike<number>, (p) => this.events[p]!);
  }
}

/** An order-sensitive per-entity fold: it notices an event applied out of order or twice. */
function perEntity(name = 'per_entity'): KeyedProjection<OrderedFold> {
  return defineProjection(orderSensitiveFold(name, (payload) => (payload as { i: number }).i));
}

/** What a fold of every event of `source` gives (the reference). */
function fold(source: FakeSource, name = 'reference'): Map<string, unknown> {
  const p = perEntity(name);
  for (const e of source.events) p.apply(e);
  return new Map(p.entries());
}

function setup(opts: { maxConcurrent?: number; maxRecords?: number; tailMaxEvents?: number } = {}) {
  const source = new FakeSource();
  const projections = new Map<string, Projection>();
  const calls = { started: 0, events: 0, finished: [] as string[] };
  const observer: ReplayObserver = {
    onStarted: () => calls.started++,
    onEvents: (n) => (calls.events += n),
    onFinished: (status, seconds) => {
      expect(seconds).toBeGreaterThanOrEqual(0);
      calls.finished.push(status);
    },
  };
  const manager = new ReplayManager(
    source,
    projections,
    { maxConcurrent: opts.maxConcurrent ?? 4, maxRecords: opts.maxRecords ?? 100, tailMaxEvents: opts.tailMaxEvents ?? 0 },
    observer,
  );
  const live = perEntity();
  projections.set(live.name, live);
  // The live projection receives every commit, as the ProjectionManager does.
  source.onCommit((events) => events.forEach((e) => live.apply(e)));
  return { source, manager, live, calls, projections };
}

async function settle(manager: ReplayManager, id: string): Promise<ReplayProgress> {
  for (let i = 0; i < 100_000; i++) {
    const p = manager.get(id);
    if (p.status !== 'running' && p.status !== 'pending') return p;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('replay did not finish');
}

function request(filter: ReplayFilter = {}, batchSize = 10) {
  return { projectionName: 'per_entity', filter, batchSize };
}

describe('ReplayManager', () => {
  it('rebuilds a projection from the stored events and swaps it in', async () => {
    const { source, manager, live, calls } = setup();
    source.commit(95);
    live.reset(); // the live state is lost…
    const started = manager.start(request(), live);
    expect(started).toMatchObject({ status: 'running', total_events: 95, processed_events: 0, completed_at: null });
    const done = await settle(manager, started.replay_id);
    // …and rebuilt.
    expect(done).toMatchObject({ status: 'completed', total_events: 95, processed_events: 95, failed_events: 0, progress_percentage: 100, error_message: null });
    expect(done.completed_at).toEqual(expect.any(String));
    expect(new Map(live.entries())).toEqual(fold(source));
    expect(calls).toEqual({ started: 1, events: 95, finished: ['completed'] });
    expect(source.reads).toBe(10);
    expect(source.listenerCount).toBe(1); // the tail listener is gone
  });

  it('catches up events committed during the replay, in order, none twice', async () => {
    const { source, manager, live } = setup();
    source.commit(200);
    source.duringRead = (read) => {
      if (read % 3 === 0 && read < 60) source.commit(7);
    };
    live.reset();
    const started = manager.start(request({}, 10), live);
    const done = await settle(manager, started.replay_id);
    expect(source.events.length).toBeGreaterThan(200);
    expect(done).toMatchObject({ status: 'completed', total_events: source.events.length, processed_events: source.events.length });
    const expected = fold(source);
    expect(new Map(live.entries())).toEqual(expected);
    for (const s of live.entries()) expect(s[1].inOrder).toBe(true);
  });

  it('hands over events committed while the last positions are read (the tail)', async () => {
    const { source, manager, live } = setup();
    source.commit(25);
    // Every read commits a few events: the tail listener must collect the ones of the last read.
    let duringTail = 0;
    source.duringRead = (read) => {
      if (read >= 40) return;
      if (source.listenerCount === 2) duringTail++;
      source.commit(3);
    };
    live.reset();
    const done = await settle(manager, manager.start(request({}, 50), live).replay_id);
    expect(duringTail).toBeGreaterThan(0);
    expect(done.status).toBe('completed');
    expect(done.processed_events).toBe(source.events.length);
    expect(new Map(live.entries())).toEqual(fold(source));
  });

  it('falls back to the store when the tail overflows, and still converges', async () => {
    const { source, manager, live } = setup({ tailMaxEvents: 0 });
    source.commit(5);
    // batch 2 → tail cap 8; commit 20 during the first two tail reads (the tail listener is the
    // second one): overflow, then those events are read from the store.
    let overflows = 0;
    source.duringRead = () => {
      if (source.listenerCount === 2 && overflows < 2) {
        overflows++;
        source.commit(20);
      }
    };
    live.reset();
    const done = await settle(manager, manager.start(request({}, 2), live).replay_id);
    expect(overflows).toBe(2);
    expect(source.events.length).toBe(45);
    expect(done.status).toBe('completed');
    expect(done.processed_events).toBe(source.events.length);
    expect(new Map(live.entries())).toEqual(fold(source));
  });

  it('applies the filter to stored and newly committed events', async () => {
    const { source, manager, live } = setup();
    source.commit(100);
    source.duringRead = (read) => {
      if (read === 2) source.commit(30);
    };
    const filter = { entityId: 'e3', eventType: 'a.x' };
    const done = await settle(manager, manager.start(request(filter, 3), live).replay_id);
    const matching = source.events.filter((e) => e.entityId === 'e3' && e.eventType === 'a.x');
    expect(done).toMatchObject({ status: 'completed', entity_id: 'e3', event_type: 'a.x', processed_events: matching.length, total_events: matching.length });
    expect([...live.keys()]).toEqual(['e3']);
    expect(live.get('e3')!.count).toBe(matching.length);
  });

  it('counts events the projection fails on and completes; a fork that throws fails the replay', async () => {
    const { source, manager, projections, calls } = setup();
    source.commit(20);
    let inits = 0;
    const picky = defineProjection<number>({
      name: 'picky',
      init: () => {
        inits++;
        if (inits > 2) throw new Error('cannot create a fresh state');
        return 0;
      },
      apply: (n, e) => {
        if (e.eventType === 'b.z') throw new Error('no b.z here');
        return n + 1;
      },
    });
    projections.set('picky', picky);
    const first = await settle(manager, manager.start({ projectionName: 'picky', filter: {}, batchSize: 5 }, picky).replay_id);
    expect(first).toMatchObject({ status: 'completed', processed_events: 20, failed_events: 7 });
    expect(first.error_message).toMatch(/^7 events failed to apply and were skipped; first: event .*: no b\.z here$/);
    expect(picky.current()).toBe(13);
    const second = await settle(manager, manager.start({ projectionName: 'picky', filter: {}, batchSize: 5 }, picky).replay_id);
    expect(second).toMatchObject({ status: 'failed', error_message: 'cannot create a fresh state', processed_events: 0 });
    expect(picky.current()).toBe(13);
    expect(calls.finished).toEqual(['completed', 'failed']);
  });

  it('fails when the store cannot be read, leaving the live projection as it was', async () => {
    const { source, manager, live } = setup();
    source.commit(30);
    source.duringRead = (read) => {
      if (read === 2) throw new Error('segment unreadable');
    };
    const before = new Map(live.entries());
    const done = await settle(manager, manager.start(request({}, 10), live).replay_id);
    expect(done).toMatchObject({ status: 'failed', error_message: 'segment unreadable', processed_events: 10 });
    expect(new Map(live.entries())).toEqual(before);
    expect(source.listenerCount).toBe(1);
  });

  it('cancels: the rebuilt state is discarded; cancelling again is a no-op, a finished replay → 409', async () => {
    const { source, manager, live, calls } = setup();
    source.commit(50);
    live.reset();
    let id = '';
    source.duringRead = (read) => {
      if (read === 2) expect(manager.cancel(id).status).toBe('cancelled');
    };
    id = manager.start(request({}, 10), live).replay_id;
    const done = await settle(manager, id);
    expect(done.status).toBe('cancelled');
    expect(done.error_message).toBe('cancelled by request');
    expect(live.size).toBe(0); // never swapped in
    expect(manager.cancel(id).status).toBe('cancelled');
    await manager.close(); // waits for the loop to stop
    expect(source.reads).toBe(2);
    expect(calls.finished).toEqual(['cancelled']);

    const other = setup();
    other.source.commit(3);
    const completed = await settle(other.manager, other.manager.start(request(), other.live).replay_id);
    const err = thrownError(() => other.manager.cancel(completed.replay_id));
    expect(err.code).toBe('CONFLICT');
    expect(err.status).toBe(409);
  });

  it('delete: a running replay is cancelled then forgotten; unknown ids → 404', async () => {
    const { source, manager, live } = setup();
    source.commit(100);
    let gate: () => void = () => undefined;
    source.duringRead = () => new Promise<void>((resolve) => (gate = resolve));
    const id = manager.start(request({}, 10), live).replay_id;
    expect(manager.delete(id)).toMatchObject({ replay_id: id, status: 'cancelled' });
    expect(thrownError(() => manager.get(id)).code).toBe('NOT_FOUND');
    expect(thrownError(() => manager.cancel(id)).status).toBe(404);
    expect(thrownError(() => manager.delete('nope')).status).toBe(404);
    expect(manager.list()).toEqual([]);
    source.duringRead = undefined;
    gate();
    await manager.close();
  });

  it('bounds: concurrent replays → 429, one per projection → 409, finished records evicted oldest first', async () => {
    const { source, manager, live, projections } = setup({ maxConcurrent: 2, maxRecords: 3 });
    source.commit(10);
    const gates: Array<() => void> = [];
    source.duringRead = () => new Promise<void>((resolve) => gates.push(resolve));
    const other = perEntity('other');
    projections.set('other', other);
    const a = manager.start(request(), live);
    const conflict = thrownError(() => manager.start(request(), live));
    expect(conflict.code).toBe('CONFLICT');
    const b = manager.start({ ...request(), projectionName: 'other' }, other);
    const third = perEntity('third');
    const limited = thrownError(() => manager.start({ ...request(), projectionName: 'third' }, third));
    expect(limited.code).toBe('RATE_LIMITED');
    expect(limited.status).toBe(429);
    expect(manager.list().map((p) => p.replay_id)).toEqual([b.replay_id, a.replay_id]);

    source.duringRead = undefined;
    while (gates.length > 0) gates.shift()!();
    await settle(manager, a.replay_id);
    await settle(manager, b.replay_id);
    const ids = [a.replay_id, b.replay_id];
    for (let i = 0; i < 3; i++) ids.push((await settle(manager, manager.start(request(), live).replay_id)).replay_id);
    // 5 finished replays, 3 kept: the newest, newest first.
    expect(manager.list().map((p) => p.replay_id)).toEqual(ids.slice(2).reverse());
    expect(thrownError(() => manager.get(a.replay_id)).status).toBe(404);
  });

  it('close() cancels running replays and refuses new ones', async () => {
    const { source, manager, live } = setup();
    source.commit(100);
    let reads = 0;
    source.duringRead = () => {
      reads++;
    };
    const id = manager.start(request({}, 1), live).replay_id;
    await manager.close();
    expect(manager.get(id)).toMatchObject({ status: 'cancelled', error_message: 'the server is shutting down' });
    const readsAtClose = reads;
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(readsAtClose);
    expect(thrownError(() => manager.start(request(), live)).status).toBe(503);
  });
});
