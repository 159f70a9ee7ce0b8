import type { JsonValue } from '@allsource/types';
import type { StoredEvent } from '../events/storedEvent';
import type { EventStore } from '../storage/eventStore';

export type EntityStateObject = Record<string, JsonValue>;

/**
 * Shallow-merge the top-level keys of object payloads, in order (later wins). The state object
 * has no prototype, so keys such as `__proto__` are plain data and cannot pollute anything.
 */
export function mergeInto(state: EntityStateObject, payload: unknown): void {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return;
  for (const key of Object.keys(payload)) state[key] = (payload as Record<string, JsonValue>)[key]!;
}

export function emptyState(): EntityStateObject {
  return Object.create(null) as EntityStateObject;
}

export interface EntityFold {
  state: EntityStateObject;
  eventCount: number;
  last: StoredEvent | undefined;
  /** The first `historyLimit` events, for the answer's `history`. */
  history: StoredEvent[];
}

const CHUNK = 1000;

/**
 * Fold an entity's events up to `asOfUs` (inclusive) into its state, reading them in chunks so
 * memory stays bounded for entities with many events.
 */
export async function foldEntity(
  store: EventStore,
  entityId: string,
  asOfUs: number | undefined,
  historyLimit: number,
): Promise<EntityFold | undefined> {
  const list = store.index.positionsOfEntity(entityId);
  if (!list || list.length === 0) return undefined;
  const ts = store.index.timestampUs;
  let end = list.length;
  if (asOfUs !== undefined) {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ts[list.data[mid]!]! <= asOfUs) lo = mid + 1;
      else hi = mid;
    }
    end = lo;
  }
  const fold: EntityFold = { state: emptyState(), eventCount: end, last: undefined, history: [] };
  for (let start = 0; start < end; start += CHUNK) {
    const events = await store.readPositions(list.data.subarray(start, Math.min(end, start + CHUNK)));
    for (const e of events) {
      mergeInto(fold.state, JSON.parse(e.payloadJson));
      if (fold.history.length < historyLimit) fold.history.push(e);
      fold.last = e;
    }
  }
  return fold;
}
