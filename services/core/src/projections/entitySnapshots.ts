import type { StoredEvent } from '../events/storedEvent';
import { emptyState, foldEntity, mergeInto, type EntityStateObject, type SnapshotLookup } from '../query/entityState';
import { StateLru } from '../query/stateLru';
import type { EventStore } from '../storage/eventStore';
import type { Projection } from './projection';

interface Entry {
  state: EntityStateObject;
  version: number;
}

/**
 * Built-in: the merged state of each entity. The states live in an LRU bounded by entry count
 * and by their JSON size (`StateLru`); cached entities are kept current by every committed
 * event, others are folded from the store on request. So the memory is bounded whatever the
 * number and the size of the entities.
 */
export class EntitySnapshotsProjection implements Projection {
  readonly name = 'entity_snapshots';
  private cache: StateLru<Entry>;
  /**
   * Stored entity states that folds may start from (set by the snapshots module); the entity
   * state route uses it too. Never changes an answer, only how much is read to compute it.
   */
  snapshotLookup: SnapshotLookup | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {
    this.cache = new StateLru(maxEntries, maxBytes);
  }

  apply(event: StoredEvent): void {
    const entry = this.cache.peek(event.entityId);
    if (!entry) return;
    if (event.version !== entry.version + 1) {
      // Out of step (should not happen): drop it and fold again on the next read.
      this.cache.delete(event.entityId);
      return;
    }
    mergeInto(entry.state, JSON.parse(event.payloadJson));
    entry.version = event.version;
    this.cache.grew(event.entityId, event.payloadJson.length);
  }

  /**
   * Without a key: a summary (the states are per entity and folded on demand, so they are not
   * listed). With an entity id: its merged state (folded from the store when not cached), or
   * undefined when the entity has no events.
   */
  state(key?: string): unknown {
    if (key === undefined) {
      return {
        total_entities: this.store.index.entities.size,
        cached_entities: this.cache.size,
        max_entries: this.maxEntries,
        cached_bytes: this.cache.bytes,
        max_bytes: this.maxBytes,
      };
    }
    return this.snapshot(key);
  }

  /** Nothing to build at start: states are folded from the store on first request. */
  seedFromIndex(): boolean {
    return true;
  }

  reset(): void {
    this.cache = new StateLru(this.maxEntries, this.maxBytes);
  }

  /** A fresh, empty cache over the same store: a replay into it leaves every state to be folded again. */
  fork(): EntitySnapshotsProjection {
    return new EntitySnapshotsProjection(this.store, this.maxEntries, this.maxBytes);
  }

  adopt(rebuilt: Projection): void {
    if (!(rebuilt instanceof EntitySnapshotsProjection)) throw new TypeError('entity_snapshots can only adopt a fork of itself');
    this.cache = rebuilt.cache;
  }

  /** The current merged state of an entity, or undefined when it has no events. */
  async snapshot(entityId: string): Promise<EntityStateObject | undefined> {
    const cached = this.cache.get(entityId);
    if (cached) return cached.state;
    const fold = await foldEntity(this.store, entityId, undefined, 0, this.snapshotLookup);
    if (!fold) return undefined;
    // Cache only when no event of the entity arrived while we were reading.
    if (this.store.index.versionOf(entityId) === fold.eventCount && !this.cache.has(entityId)) {
      this.cache.set(entityId, { state: fold.state, version: fold.eventCount }, JSON.stringify(fold.state).length);
    }
    return fold.state ?? emptyState();
  }
}
