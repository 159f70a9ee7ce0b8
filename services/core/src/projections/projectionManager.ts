import type { StoredEvent } from '../events/storedEvent';
import type { EventStore } from '../storage/eventStore';
import type { Projection, ProjectionObserver } from './projection';

export interface ProjectionStatus {
  name: string;
  events_processed: number;
  errors: number;
  last_processed_at: string | null;
}

interface Registered {
  projection: Projection;
  processed: number;
  errors: number;
  lastProcessedAt: number | undefined;
}

/** Feeds every committed event to each registered projection, isolating their failures. */
export class ProjectionManager {
  private readonly projections = new Map<string, Registered>();
  private readonly observer: ProjectionObserver;

  constructor(observer: ProjectionObserver = {}) {
    this.observer = observer;
  }

  register(projection: Projection): void {
    if (this.projections.has(projection.name)) throw new Error(`projection ${projection.name} is already registered`);
    this.projections.set(projection.name, { projection, processed: 0, errors: 0, lastProcessedAt: undefined });
  }

  get(name: string): Projection | undefined {
    return this.projections.get(name)?.projection;
  }

  /** Names of the registered projections, in registration order. */
  names(): string[] {
    return [...this.projections.keys()];
  }

  list(): ProjectionStatus[] {
    return [...this.projections.values()].map((r) => ({
      name: r.projection.name,
      events_processed: r.processed,
      errors: r.errors,
      last_processed_at: r.lastProcessedAt === undefined ? null : new Date(r.lastProcessedAt).toISOString(),
    }));
  }

  /**
   * Start-up: seed every projection that can build its state from the index, then replay the
   * stored events (read in chunks) into the others only. Built-ins need no replay.
   */
  async catchUp(store: EventStore, chunk = 10_000): Promise<{ seeded: string[]; replayed: string[] }> {
    const replay = new Set<string>();
    const seeded: string[] = [];
    for (const [name, r] of this.projections) {
      if (r.projection.seedFromIndex?.(store.index)) seeded.push(name);
      else replay.add(name);
    }
    if (replay.size > 0) {
      const count = store.index.count;
      for (let start = 0; start < count; start += chunk) {
        const positions = Array.from({ length: Math.min(chunk, count - start) }, (_, i) => start + i);
        this.process(await store.readPositions(positions), replay);
      }
    }
    return { seeded, replayed: [...replay] };
  }

  /** Apply committed events to every projection (or only to those named in `only`). */
  process(events: readonly StoredEvent[], only?: ReadonlySet<string>): void {
    for (const r of this.projections.values()) {
      if (only && !only.has(r.projection.name)) continue;
      const started = performance.now();
      let ok = 0;
      for (const e of events) {
        try {
          r.projection.apply(e);
          ok++;
        } catch (err) {
          r.errors++;
          this.observer.onError?.(r.projection.name, err);
        }
      }
      r.processed += ok;
      r.lastProcessedAt = Date.now();
      // allsource_projection_processing_duration_seconds is the time to apply ONE event: report
      // the group's mean per event, not the time of the whole group.
      if (ok > 0) this.observer.onProcessed?.(r.projection.name, ok, (performance.now() - started) / 1000 / events.length);
    }
  }
}
