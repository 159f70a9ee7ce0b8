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

/**
 * A stored state of an entity after its first `eventCount` events, from which a fold can start
 * instead of reading those events again (the snapshots module provides them).
 */
export interface StoredEntityState {
  readonly eventCount: number;
  /** A fresh copy of the state (the caller merges into it). */
  restore(): EntityStateObject;
}

/** Where folds find stored states; the engine and this file know nothing else of snapshots. */
export interface SnapshotLookup {
  /** The stored state of `entityId` that covers the most events, but no more than `maxEventCount`. */
  latest(entityId: string, maxEventCount: number): StoredEntityState | undefined;
}

export interface EntityFold {
  state: EntityStateObject;
  /** Every event of the entity up to as_of, whether or not a snapshot covered some of them. */
  eventCount: number;
  last: StoredEvent | undefined;
  /** The first `historyLimit` events, for the answer's `history`. */
  history: StoredEvent[];
  /** Events covered by the stored state the fold started from (0 when none was used). */
  fromSnapshot: number;
}

const CHUNK = 1000;

/** How many of an entity's events (its index positions `list`) are at or before `asOfUs`. */
export function eventsUpTo(store: EventStore, list: { data: Uint32Array; length: number }, asOfUs: number | undefined): number {
  if (asOfUs === undefined) return list.length;
  const ts = store.index.timestampUs;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[list.data[mid]!]! <= asOfUs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The stored state a fold of the first `end` events starts from, and how many events it covers (0: none). */
export function startingPoint(entityId: string, end: number, snapshots: SnapshotLookup | undefined): { stored: StoredEntityState | undefined; from: number } {
  const stored = end > 0 ? snapshots?.latest(entityId, end) : undefined;
  return { stored, from: stored && stored.eventCount > 0 && stored.eventCount <= end ? stored.eventCount : 0 };
}

/**
 * Fold an entity's events up to `asOfUs` (inclusive) into its state, reading them in chunks so
 * memory stays bounded for entities with many events. With `snapshots`, the fold starts from the
 * latest stored state that covers no event after as_of and reads only the later events (plus the
 * first `historyLimit` events for the history): the answer is the same as without it.
 */
export async function foldEntity(
  store: EventStore,
  entityId: string,
  asOfUs: number | undefined,
  historyLimit: number,
  snapshots?: SnapshotLookup,
): Promise<EntityFold | undefined> {
  const list = store.index.positionsOfEntity(entityId);
  if (!list || list.length === 0) return undefined;
  const end = eventsUpTo(store, list, asOfUs);
  const { stored, from } = startingPoint(entityId, end, snapshots);
  const fold: EntityFold = {
    state: from > 0 ? stored!.restore() : emptyState(),
    eventCount: end,
    last: undefined,
    history: [],
    fromSnapshot: from,
  };
  // The history still lists the first events, which the stored state covers: read them, but
  // do not parse their payloads, and read none past the history cap.
  const historyOnlyEnd = Math.min(from, historyLimit);
  for (let start = 0; start < historyOnlyEnd; start += CHUNK) {
    const events = await store.readPositions(list.data.subarray(start, Math.min(historyOnlyEnd, start + CHUNK)));
    for (const e of events) fold.history.push(e);
  }
  for (let start = from; start < end; start += CHUNK) {
    const events = await store.readPositions(list.data.subarray(start, Math.min(end, start + CHUNK)));
    for (const e of events) {
      mergeInto(fold.state, JSON.parse(e.payloadJson));
      if (fold.history.length < historyLimit) fold.history.push(e);
      fold.last = e;
    }
  }
  if (!fold.last && end > 0) {
    // Every event was covered by the stored state: the last one is still the answer's last_updated.
    fold.last = historyOnlyEnd === end ? fold.history[end - 1] : (await store.readPositions([list.data[end - 1]!]))[0];
  }
  return fold;
}
