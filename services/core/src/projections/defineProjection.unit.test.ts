import type { StoredEvent } from '../events/storedEvent';
import { defineProjection, KeyedProjection, ProjectionKeyLimitError, SingleStateProjection } from './defineProjection';
import { isRebuildable } from './projection';
import { ProjectionManager } from './projectionManager';

let lsn = 0;
function ev(eventType: string, entityId: string, payload: unknown, metadata: unknown = null): StoredEvent {
  lsn++;
  return {
    lsn,
    id: `00000000-0000-4000-8000-${String(lsn).padStart(12, '0')}`,
    eventType,
    entityId,
    tenantId: 'default',
    timestampUs: 1_700_000_000_000_000 + lsn,
    version: 1,
    payloadJson: JSON.stringify(payload),
    metadataJson: metadata === null ? null : JSON.stringify(metadata),
  };
}

describe('defineProjection: one state', () => {
  it('folds events in place and exposes typed state', () => {
    const revenue = defineProjection({
      name: 'revenue',
      init: () => ({ orders: 0, total: 0 }),
      apply(state, event) {
        if (event.eventType !== 'order.placed') return;
        state.orders += 1;
        state.total += (event.payload as { amount: number }).amount;
      },
    });
    expect(revenue).toBeInstanceOf(SingleStateProjection);
    revenue.apply(ev('order.placed', 'o1', { amount: 5 }));
    revenue.apply(ev('order.cancelled', 'o1', {}));
    revenue.apply(ev('order.placed', 'o2', { amount: 7 }));
    expect(revenue.current()).toEqual({ orders: 2, total: 12 });
    expect(revenue.state()).toEqual({ orders: 2, total: 12 });
    expect(revenue.state('total')).toBe(12);
    expect(revenue.state('nope')).toBeUndefined();
    expect([...revenue.keys()!]).toEqual(['orders', 'total']);
  });

  it('takes the returned state (immutable style) and gives the event view', () => {
    const seen: unknown[] = [];
    const p = defineProjection<number>({
      name: 'count',
      init: () => 0,
      apply: (n, e) => {
        seen.push([e.eventType, e.entityId, e.payload, e.metadata, e.timestamp, e.version]);
        return n + 1;
      },
    });
    p.apply(ev('a.b', 'e1', { x: 1 }, { source: 'test' }));
    p.apply(ev('a.b', 'e2', [1, 2]));
    expect(p.current()).toBe(2);
    expect(p.keys()).toBeUndefined();
    expect(p.state('x')).toBeUndefined();
    expect(seen[0]).toEqual(['a.b', 'e1', { x: 1 }, { source: 'test' }, expect.stringMatching(/^2023-.*Z$/), 1]);
    expect(seen[1]).toEqual(['a.b', 'e2', [1, 2], null, expect.any(String), 1]);
  });

  it('pages over a Map state by its string keys', () => {
    const p = defineProjection({
      name: 'by_type',
      init: () => new Map<string, number>(),
      apply: (m, e) => void m.set(e.eventType, (m.get(e.eventType) ?? 0) + 1),
    });
    p.apply(ev('a.b', 'e1', {}));
    p.apply(ev('a.c', 'e1', {}));
    p.apply(ev('a.b', 'e2', {}));
    expect([...p.keys()!]).toEqual(['a.b', 'a.c']);
    expect(p.state('a.b')).toBe(2);
  });

  it('forks an empty instance and adopts its state; reset re-inits', () => {
    const p = defineProjection<number>({ name: 'n', init: () => 0, apply: (n) => n + 1 });
    p.apply(ev('a.b', 'e', {}));
    expect(isRebuildable(p)).toBe(true);
    const fresh = p.fork();
    expect(fresh.current()).toBe(0);
    fresh.apply(ev('a.b', 'e', {}));
    fresh.apply(ev('a.b', 'e', {}));
    fresh.apply(ev('a.b', 'e', {}));
    expect(p.current()).toBe(1);
    p.adopt(fresh);
    expect(p.current()).toBe(3);
    p.reset();
    expect(p.current()).toBe(0);
    const other = defineProjection<number>({ name: 'n', init: () => 0, apply: (n) => n + 1 });
    expect(() => p.adopt(other)).toThrow(/fork of itself/);
  });

  it('rejects bad names and specs', () => {
    expect(() => defineProjection({ name: 'has space', init: () => 0, apply: () => undefined })).toThrow(/name/);
    expect(() => defineProjection({ name: '', init: () => 0, apply: () => undefined })).toThrow(/name/);
    expect(() => defineProjection({ name: 'x'.repeat(129), init: () => 0, apply: () => undefined })).toThrow(/name/);
    expect(() => defineProjection({ name: 'ok', init: () => 0 } as never)).toThrow(/apply/);
    expect(() => defineProjection({ name: 'ok', init: () => 0, apply: () => undefined, key: 'entity' } as never)).toThrow(/key/);
    expect(() => defineProjection({ name: 'ok', init: () => 0, apply: () => undefined, key: () => 'k', maxKeys: 0 })).toThrow(/maxKeys/);
  });
});

describe('defineProjection: one state per key', () => {
  it('keeps a state per key, skips events without a key', () => {
    const carts = defineProjection({
      name: 'cart_items',
      key: (e) => (e.eventType.startsWith('cart.') ? e.entityId : undefined),
      init: () => 0,
      apply: (n, e) => (e.eventType === 'cart.item_added' ? n + 1 : n),
    });
    expect(carts).toBeInstanceOf(KeyedProjection);
    carts.apply(ev('cart.item_added', 'c1', {}));
    carts.apply(ev('cart.item_added', 'c1', {}));
    carts.apply(ev('user.created', 'u1', {}));
    carts.apply(ev('cart.checked_out', 'c2', {}));
    expect(carts.get('c1')).toBe(2);
    expect(carts.get('c2')).toBe(0);
    expect(carts.get('u1')).toBeUndefined();
    expect(carts.size).toBe(2);
    expect([...carts.keys()]).toEqual(['c1', 'c2']);
    expect(carts.state('c1')).toBe(2);
    expect([...carts.entries()]).toEqual([
      ['c1', 2],
      ['c2', 0],
    ]);
  });

  it('mutable per-key state is kept without being returned', () => {
    const p = defineProjection({
      name: 'names',
      key: (e) => e.entityId,
      init: () => ({ names: [] as string[] }),
      apply: (s, e) => void s.names.push((e.payload as { name: string }).name),
    });
    p.apply(ev('x.y', 'e1', { name: 'a' }));
    p.apply(ev('x.y', 'e1', { name: 'b' }));
    expect(p.get('e1')).toEqual({ names: ['a', 'b'] });
  });

  it('refuses new keys past maxKeys but keeps updating known ones', () => {
    const p = defineProjection({ name: 'capped', key: (e) => e.entityId, init: () => 0, apply: (n) => n + 1, maxKeys: 2 });
    p.apply(ev('x.y', 'a', {}));
    p.apply(ev('x.y', 'b', {}));
    expect(() => p.apply(ev('x.y', 'c', {}))).toThrow(ProjectionKeyLimitError);
    p.apply(ev('x.y', 'a', {}));
    expect(p.size).toBe(2);
    expect(p.get('a')).toBe(2);
    expect(p.get('c')).toBeUndefined();
  });

  it('does not create a key whose first apply throws', () => {
    const p = defineProjection<number>({
      name: 'throws',
      key: (e) => e.entityId,
      init: () => 0,
      apply: (n, e) => {
        if ((e.payload as { bad?: boolean }).bad) throw new Error('bad event');
        return n + 1;
      },
    });
    expect(() => p.apply(ev('x.y', 'a', { bad: true }))).toThrow('bad event');
    expect(p.size).toBe(0);
  });

  it('fork/adopt swap the whole key map', () => {
    const p = defineProjection({ name: 'k', key: (e) => e.entityId, init: () => 0, apply: (n) => n + 1 });
    p.apply(ev('x.y', 'old', {}));
    const fresh = p.fork();
    fresh.apply(ev('x.y', 'new', {}));
    p.adopt(fresh);
    expect([...p.keys()]).toEqual(['new']);
  });
});

describe('ProjectionManager with code-defined projections', () => {
  it('isolates a failing projection: counted, reported, the others go on', () => {
    const errors: string[] = [];
    const processed = new Map<string, number>();
    const manager = new ProjectionManager({
      onError: (name) => errors.push(name),
      onProcessed: (name, n) => processed.set(name, (processed.get(name) ?? 0) + n),
    });
    const broken = defineProjection<number>({
      name: 'broken',
      init: () => 0,
      apply: (n, e) => {
        if (e.eventType === 'poison.pill') throw new Error('cannot handle');
        return n + 1;
      },
    });
    const counter = defineProjection<number>({ name: 'counter', init: () => 0, apply: (n) => n + 1 });
    manager.register(broken);
    manager.register(counter);
    expect(() => manager.register(defineProjection<number>({ name: 'counter', init: () => 0, apply: (n) => n }))).toThrow(/already/);
    manager.process([ev('a.b', 'e', {}), ev('poison.pill', 'e', {}), ev('a.b', 'e', {})]);
    expect(broken.current()).toBe(2);
    expect(counter.current()).toBe(3);
    expect(errors).toEqual(['broken']);
    expect(processed.get('broken')).toBe(2);
    expect(processed.get('counter')).toBe(3);
    const list = manager.list();
    expect(list.find((p) => p.name === 'broken')).toMatchObject({ events_processed: 2, errors: 1, last_processed_at: expect.any(String) });
    expect(list.find((p) => p.name === 'counter')).toMatchObject({ events_processed: 3, errors: 0 });
    expect(manager.names()).toEqual(['broken', 'counter']);
  });
});
