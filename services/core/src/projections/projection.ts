import type { StoredEvent } from '../events/storedEvent';

/**
 * A projection folds every committed event into state of its own. `apply` must be synchronous
 * and cheap: it runs on the commit path. A projection that throws is counted and logged; it
 * never blocks ingestion or the other projections.
 */
export interface Projection {
  readonly name: string;
  apply(event: StoredEvent): void;
  /** The whole state, or one key of it (undefined when the key is unknown). */
  state(key?: string): unknown;
  reset(): void;
}

export interface ProjectionObserver {
  onProcessed?(name: string, events: number, seconds: number): void;
  onError?(name: string, error: unknown): void;
}
