import type { EventIndex } from '../storage/index/eventIndex';

export type TopBy = 'events' | 'recent';

export interface TopEntityRow {
  entityId: string;
  eventCount: number;
  lastEventUs: number;
}

/**
 * The `limit` entities with the most events (or the most recent last event), ties in entity
 * order. O(E·log limit): a min-heap of the best so far, whose root is the one to beat. (A sorted
 * array with inserts cost E·limit when scores rise with entity numbers, as last-event times
 * often do: 400-740 ms for 300k entities at limit 1000, against 36-75 ms now.)
 */
export function topEntities(index: EventIndex, limit: number, by: TopBy): TopEntityRow[] {
  const score = (e: number): number => {
    const list = index.entityPositions[e]!;
    return by === 'events' ? list.length : index.timestampUs[list.last()]!;
  };
  // Heap order: worse first. Worse = lower score, or the same score and a later entity.
  const worse = (a: Ranked, b: Ranked): boolean => a.s < b.s || (a.s === b.s && a.e > b.e);
  const heap: Ranked[] = [];
  const n = index.entities.size;
  for (let e = 0; e < n && limit > 0; e++) {
    const item = { e, s: score(e) };
    if (heap.length < limit) {
      heap.push(item);
      siftUp(heap, heap.length - 1, worse);
    } else if (item.s > heap[0]!.s) {
      // Equal scores keep the earlier entity, which is already in.
      heap[0] = item;
      siftDown(heap, 0, worse);
    }
  }
  heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
  return heap.map(({ e }) => {
    const list = index.entityPositions[e]!;
    return { entityId: index.entities.valueOf(e), eventCount: list.length, lastEventUs: index.timestampUs[list.last()]! };
  });
}

interface Ranked {
  e: number;
  s: number;
}

function siftUp(heap: Ranked[], at: number, worse: (a: Ranked, b: Ranked) => boolean): void {
  while (at > 0) {
    const parent = (at - 1) >> 1;
    if (!worse(heap[at]!, heap[parent]!)) return;
    [heap[at], heap[parent]] = [heap[parent]!, heap[at]!];
    at = parent;
  }
}

function siftDown(heap: Ranked[], at: number, worse: (a: Ranked, b: Ranked) => boolean): void {
  for (;;) {
    const left = 2 * at + 1;
    const right = left + 1;
    let worst = at;
    if (left < heap.length && worse(heap[left]!, heap[worst]!)) worst = left;
    if (right < heap.length && worse(heap[right]!, heap[worst]!)) worst = right;
    if (worst === at) return;
    [heap[at], heap[worst]] = [heap[worst]!, heap[at]!];
    at = worst;
  }
}
