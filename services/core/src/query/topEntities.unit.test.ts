import { EventIndex, IN_BUFFER } from '../storage/index/eventIndex';
import { topEntities, type TopBy } from './topEntities';

/** An index of `events` events over `entities` entities, in a pseudo-random but fixed order. */
function indexOf(events: number, entities: number, seed: number): EventIndex {
  const index = new EventIndex();
  let x = seed;
  for (let i = 0; i < events; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    // Timestamps rise in steps, so several entities share a last-event time (ties).
    index.add({ id: '', entityId: `e${x % entities}`, eventType: 't.x', tenantId: 'default', timestampUs: Math.floor(i / 7) }, IN_BUFFER, i);
  }
  return index;
}

/** The answer by brute force: every entity scored, sorted best first, ties in entity order. */
function expected(index: EventIndex, limit: number, by: TopBy): string[] {
  const rows: Array<{ e: number; s: number }> = [];
  for (let e = 0; e < index.entities.size; e++) {
    const list = index.entityPositions[e]!;
    rows.push({ e, s: by === 'events' ? list.length : index.timestampUs[list.last()]! });
  }
  rows.sort((a, b) => b.s - a.s || a.e - b.e);
  return rows.slice(0, limit).map((r) => index.entities.valueOf(r.e));
}

describe('topEntities', () => {
  it.each<[TopBy, number]>([
    ['events', 1],
    ['events', 10],
    ['events', 1000],
    ['recent', 1],
    ['recent', 10],
    ['recent', 1000],
  ])('by %s, limit %i: the same as sorting every entity, ties in entity order', (by, limit) => {
    for (const seed of [1, 2, 3]) {
      const index = indexOf(5000, 700, seed);
      expect(topEntities(index, limit, by).map((r) => r.entityId)).toEqual(expected(index, limit, by));
    }
  });

  it('answers every entity when there are fewer than the limit, and nothing for limit 0', () => {
    const index = indexOf(20, 5, 9);
    expect(topEntities(index, 100, 'events').map((r) => r.entityId)).toEqual(expected(index, 100, 'events'));
    expect(topEntities(index, 0, 'recent')).toEqual([]);
  });
});
