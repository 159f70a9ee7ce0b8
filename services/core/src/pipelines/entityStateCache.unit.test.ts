import { EntityStateCache, type EntityFoldResult } from './entityStateCache';
import { PipelineEvent } from './pipelineEvent';
import { storedEvent } from './testEvents';

function wrap(...events: ReturnType<typeof storedEvent>[]): PipelineEvent[] {
  return events.map((e) => new PipelineEvent(e));
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setImmediate(r));
  expect(check()).toBe(true);
}

describe('EntityStateCache', () => {
  const noLoad = {
    maxBytes: 1 << 20,
    maxPendingLoads: 4,
    load: async (): Promise<EntityFoldResult | undefined> => undefined,
    versionOf: () => 0,
  };

  it('starts entities at their first event and keeps cached ones current, in version order', () => {
    const cache = new EntityStateCache({ ...noLoad, maxEntries: 10 });
    cache.apply(wrap(storedEvent('u.c', { name: 'ada', tier: 'a' }, { entity: 'u1', version: 1 })));
    cache.apply(wrap(storedEvent('u.u', { tier: 'b' }, { entity: 'u1', version: 2 })));
    expect({ ...cache.get('u1') }).toEqual({ name: 'ada', tier: 'b' });
    // An entity first seen at version > 1 is unknown (its earlier events are not here).
    cache.apply(wrap(storedEvent('u.u', { tier: 'c' }, { entity: 'u2', version: 5 })));
    expect(cache.get('u2')).toBeUndefined();
    // A gap in versions drops the entry rather than keep a wrong state.
    cache.apply(wrap(storedEvent('u.u', { tier: 'z' }, { entity: 'u1', version: 4 })));
    expect(cache.get('u1')).toBeUndefined();
  });

  it('keeps at most maxEntries, least recently used evicted first', () => {
    const cache = new EntityStateCache({ ...noLoad, maxEntries: 2 });
    cache.apply(wrap(storedEvent('u.c', { n: 1 }, { entity: 'a' }), storedEvent('u.c', { n: 2 }, { entity: 'b' })));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.apply(wrap(storedEvent('u.c', { n: 3 }, { entity: 'c' })));
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
  });

  it('bounds the states by their JSON size too, counting what each commit merges in', () => {
    const cache = new EntityStateCache({ ...noLoad, maxEntries: 100, maxBytes: 800 });
    cache.apply(wrap(storedEvent('u.c', { text: 'x'.repeat(60) }, { entity: 'a' }), storedEvent('u.c', { text: 'y'.repeat(60) }, { entity: 'b' })));
    expect(cache.size).toBe(2);
    // a grows past an eighth of the bound: dropped (the next event needing it is a miss).
    cache.apply(wrap(storedEvent('u.c', { more: 'z'.repeat(60) }, { entity: 'a', version: 2 })));
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBeDefined();
    // A first event too large for the cache is not kept.
    cache.apply(wrap(storedEvent('u.c', { text: 'w'.repeat(200) }, { entity: 'c' })));
    expect(cache.get('c')).toBeUndefined();
  });

  it('loads a missed entity in the background, once, and only if it is still current', async () => {
    let version = 3;
    const loads: string[] = [];
    const cache = new EntityStateCache({
      maxEntries: 10,
      maxBytes: 1 << 20,
      maxPendingLoads: 1,
      load: async (id) => {
        loads.push(id);
        return { state: Object.assign(Object.create(null), { tier: 'gold' }), eventCount: 3 };
      },
      versionOf: () => version,
    });
    cache.warm('u9');
    cache.warm('u9'); // deduplicated
    cache.warm('u8'); // past maxPendingLoads: skipped
    expect(cache.skippedLoads).toBe(1);
    await until(() => !cache.loading('u9'));
    expect(loads).toEqual(['u9']);
    expect({ ...cache.get('u9') }).toEqual({ tier: 'gold' });

    // A load that an event overtook is not cached.
    version = 4;
    cache.warm('u7');
    await until(() => !cache.loading('u7'));
    expect(cache.get('u7')).toBeUndefined();
  });

  it('a load that finishes after clear() is not cached', async () => {
    let release: () => void = () => undefined;
    const cache = new EntityStateCache({
      maxEntries: 10,
      maxBytes: 1 << 20,
      maxPendingLoads: 4,
      load: () => new Promise((resolve) => (release = () => resolve({ state: Object.create(null), eventCount: 1 }))),
      versionOf: () => 1,
    });
    cache.warm('u1');
    cache.clear();
    release();
    await until(() => !cache.loading('u1'));
    expect(cache.get('u1')).toBeUndefined();
  });
});
