import type { EventIndex } from '../storage/index/eventIndex';

export type TopBy = 'events' | 'recent';

export interface TopEntityRow {
  entityId: string;
  eventCount: number;
  lastEventUs: number;
}

/** The `limit` entities with the most events (or the most recent last event). O(E·log limit). */
export function topEntities(index: EventIndex, limit: number, by: TopBy): TopEntityRow[] {
  const score = (e: number): number => {
    const list = index.entityPositions[e]!;
    return by === 'events' ? list.length : index.timestampUs[list.last()]!;
  };
  // A small sorted array is enough: limit is bounded by the API (≤ 1000).
  const top: Array<{ e: number; s: number }> = [];
  const n = index.entities.size;
  for (let e = 0; e < n; e++) {
    const s = score(e);
    if (top.length === limit && s <= top[top.length - 1]!.s) continue;
    let i = top.length;
    while (i > 0 && top[i - 1]!.s < s) i--;
    top.splice(i, 0, { e, s });
    if (top.length > limit) top.pop();
  }
  return top.map(({ e }) => {
    const list = index.entityPositions[e]!;
    return { entityId: index.entities.valueOf(e), eventCount: list.length, lastEventUs: index.timestampUs[list.last()]! };
  });
}
