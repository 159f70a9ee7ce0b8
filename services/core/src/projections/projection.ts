import type { StoredEvent } from '../events/storedEvent';
import type { EventIndex } from '../storage/index/eventIndex';

/**
 * A projection folds every committed event into state of its own. `apply` must be synchronous
 * and cheap: it runs on the commit path. A projection that throws is counted and logged; it
 * never blocks ingestion or the other projections.
 *
 * Write your own with `defineProjection` (./defineProjection.ts) rather than implementing this
 * interface by hand: it gives typed state, keyed state with a cap, and replay support.
 */
export interface Projection {
  readonly name: string;
  apply(event: StoredEvent): void;
  /**
   * The whole state, or one key of it (`undefined` when the key is unknown). May return a
   * promise (e.g. a state computed from the store on demand). Must be JSON-serializable; Maps
   * and Sets are answered as objects and arrays.
   */
  state(key?: string): unknown;
  /**
   * The keys of the state, when it is a collection of keys (so the state endpoint can page
   * through it); `undefined` (or no method) when the state is one value.
   */
  keys?(): Iterable<string> | undefined;
  reset(): void;
  /**
   * Start-up: build the state from the store's index alone (no event read). Returns false when
   * the projection needs every stored event replayed instead; absent means the same.
   */
  seedFromIndex?(index: EventIndex): boolean;
  /**
   * Replay support: a new, empty instance of the same projection (same definition and
   * configuration), into which a replay folds the stored events. May throw.
   */
  fork?(): Projection;
  /**
   * Replay support: take over the state of `rebuilt` (made by `fork`) in one synchronous step.
   * The projection object stays the same, so every reference to it sees the rebuilt state.
   */
  adopt?(rebuilt: Projection): void;
}

/** A projection that a replay can rebuild. */
export type RebuildableProjection = Projection & Required<Pick<Projection, 'fork' | 'adopt'>>;

export function isRebuildable(projection: Projection): projection is RebuildableProjection {
  return typeof projection.fork === 'function' && typeof projection.adopt === 'function';
}

export interface ProjectionObserver {
  /** `events` applied by projection `name` in one commit group, taking `secondsPerEvent` each on average. */
  onProcessed?(name: string, events: number, secondsPerEvent: number): void;
  /** An event projection `name` failed to apply (called once per failed event). */
  onError?(name: string, error: unknown): void;
}
