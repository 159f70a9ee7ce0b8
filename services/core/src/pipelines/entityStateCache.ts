import { emptyState, mergeInto, type EntityStateObject } from '../query/entityState';
import { StateLru } from '../query/stateLru';
import type { PipelineEvent } from './pipelineEvent';

interface Entry {
  state: EntityStateObject;
  /** The entity's version the state includes. */
  version: number;
}

export interface EntityFoldResult {
  state: EntityStateObject;
  eventCount: number;
}

export interface EntityStateCacheOptions {
  /** Most entity states kept (PIPELINE_ENRICH_CACHE_ENTRIES); least recently used go first. */
  maxEntries: number;
  /** Most JSON bytes of those states, estimated (PIPELINE_ENRICH_CACHE_BYTES; see `StateLru`). */
  maxBytes: number;
  /** Most loads from the store in flight at once; misses past it are not loaded. */
  maxPendingLoads: number;
  /** Read an entity's whole state and how many events it covers (from the store). */
  load(entityId: string): Promise<EntityFoldResult | undefined>;
  /** The entity's committed version now (to tell whether a load is still current). */
  versionOf(entityId: string): number;
}

/**
 * Entity states for `enrich` (sources `entity` and `entity:<path>`), readable without waiting.
 * Bounded LRU of merged states (the same shallow merge as `entity_snapshots`), kept current by
 * the commit groups (applied after the pipelines ran, so a pipeline sees the state as of the
 * previous commit group). A first-time event (version 1) creates an entry; an unknown entity is
 * loaded in the background on a miss and is there for later events.
 */
export class EntityStateCache {
  private entries: StateLru<Entry>;
  private readonly pending = new Set<string>();
  private generation = 0;
  loads = 0;
  skippedLoads = 0;

  constructor(private readonly opts: EntityStateCacheOptions) {
    this.entries = new StateLru(opts.maxEntries, opts.maxBytes);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The state of an entity, or undefined when it is not cached. */
  get(entityId: string): EntityStateObject | undefined {
    return this.entries.get(entityId)?.state;
  }

  /** Keep cached states current with one commit group. */
  apply(events: readonly PipelineEvent[]): void {
    for (const input of events) {
      const e = input.event;
      const entry = this.entries.peek(e.entityId);
      if (entry) {
        if (e.version === entry.version + 1) {
          mergeInto(entry.state, input.payload);
          entry.version = e.version;
          this.entries.grew(e.entityId, e.payloadJson.length);
        } else if (e.version > entry.version) {
          // Out of step (should not happen): drop it; the next miss loads it again.
          this.entries.delete(e.entityId);
        }
      } else if (e.version === 1) {
        const state = emptyState();
        mergeInto(state, input.payload);
        this.entries.set(e.entityId, { state, version: 1 }, e.payloadJson.length);
      }
    }
  }

  /** Load an entity in the background (deduplicated, bounded); errors only skip the load. */
  warm(entityId: string): void {
    if (this.pending.has(entityId) || this.entries.has(entityId)) return;
    if (this.pending.size >= this.opts.maxPendingLoads) {
      this.skippedLoads++;
      return;
    }
    this.pending.add(entityId);
    this.loads++;
    const generation = this.generation;
    void this.opts
      .load(entityId)
      .then((fold) => {
        // Cache only when no event of the entity was committed while reading, and not cleared since.
        if (!fold || generation !== this.generation || this.entries.has(entityId)) return;
        if (this.opts.versionOf(entityId) !== fold.eventCount) return;
        this.entries.set(entityId, { state: fold.state, version: fold.eventCount }, JSON.stringify(fold.state).length);
      })
      .catch(() => undefined)
      .finally(() => this.pending.delete(entityId));
  }

  /** Is a load of this entity in flight? (for tests) */
  loading(entityId: string): boolean {
    return this.pending.has(entityId);
  }

  clear(): void {
    this.entries = new StateLru(this.opts.maxEntries, this.opts.maxBytes);
    this.generation++;
  }
}
