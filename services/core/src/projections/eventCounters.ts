import type { StoredEvent } from '../events/storedEvent';
import type { EventIndex } from '../storage/index/eventIndex';
import type { Projection } from './projection';

/** Built-in: number of events per event type. Bounded by the number of event types stored. */
export class EventCountersProjection implements Projection {
  readonly name = 'event_counters';
  private counts = new Map<string, number>();

  apply(event: StoredEvent): void {
    this.counts.set(event.eventType, (this.counts.get(event.eventType) ?? 0) + 1);
  }

  state(key?: string): unknown {
    if (key !== undefined) return this.counts.get(key);
    return Object.fromEntries(this.counts);
  }

  keys(): Iterable<string> {
    return this.counts.keys();
  }

  reset(): void {
    this.counts = new Map();
  }

  /** The index already knows how many events each type has. */
  seedFromIndex(index: EventIndex): boolean {
    const counts = new Map<string, number>();
    for (let t = 0; t < index.types.size; t++) counts.set(index.types.valueOf(t), index.typePositions[t]!.length);
    this.counts = counts;
    return true;
  }

  fork(): EventCountersProjection {
    return new EventCountersProjection();
  }

  adopt(rebuilt: Projection): void {
    if (!(rebuilt instanceof EventCountersProjection)) throw new TypeError('event_counters can only adopt a fork of itself');
    this.counts = rebuilt.counts;
  }
}
