import { emptyState, mergeInto, type SnapshotLookup, type StoredEntityState } from '../query/entityState';

export type SnapshotType = 'manual' | 'automatic';

/** One snapshot: an entity's merged state after its first `eventCount` events. */
export interface Snapshot {
  readonly id: string;
  readonly entityId: string;
  /** Microseconds since the epoch. */
  readonly createdAtUs: number;
  /** Timestamp of the last event folded (µs). */
  readonly asOfUs: number;
  /** Events folded: the entity's version at the snapshot. */
  readonly eventCount: number;
  /** Id of the last event folded, checked against the store when snapshots are loaded. */
  readonly lastEventId: string;
  readonly type: SnapshotType;
  /** The state as JSON text (JSON.stringify of the merged state). */
  readonly stateJson: string;
  /** UTF-8 bytes of `stateJson`. */
  readonly sizeBytes: number;
}

export interface SnapshotLimits {
  /** Kept per entity; the one covering the fewest events goes first. */
  maxPerEntity: number;
  /** Kept in all; the oldest created goes first. */
  maxTotal: number;
  /** Bytes of state kept in all; the oldest created goes first. */
  maxTotalBytes: number;
}

/**
 * The snapshots in memory, bounded by count per entity, total count and total state bytes.
 * Per entity they are sorted by event count (then creation time); globally they are kept in
 * creation order, which is the eviction order. It is also the lookup folds start from.
 */
export class SnapshotRepository implements SnapshotLookup {
  private readonly byEntity = new Map<string, Snapshot[]>();
  /** Every snapshot by id, in creation order (oldest first). */
  private readonly byAge = new Map<string, Snapshot>();
  private bytes = 0;

  constructor(private readonly limits: SnapshotLimits) {}

  get count(): number {
    return this.byAge.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  get entityCount(): number {
    return this.byEntity.size;
  }

  /**
   * Add a snapshot (callers add in creation order), then enforce the caps. Returns the entities
   * whose set of snapshots changed (the new one's and every entity that lost one to a cap) and
   * whether the new snapshot itself is still kept.
   */
  add(snapshot: Snapshot): { changed: Set<string>; kept: boolean } {
    let list = this.byEntity.get(snapshot.entityId);
    if (!list) this.byEntity.set(snapshot.entityId, (list = []));
    let at = list.length;
    while (at > 0 && compare(list[at - 1]!, snapshot) > 0) at--;
    list.splice(at, 0, snapshot);
    this.byAge.set(snapshot.id, snapshot);
    this.bytes += snapshot.sizeBytes;

    const changed = new Set<string>([snapshot.entityId]);
    while (list.length > this.limits.maxPerEntity) this.remove(list[0]!);
    while (this.byAge.size > this.limits.maxTotal || this.bytes > this.limits.maxTotalBytes) {
      const oldest = this.byAge.values().next().value as Snapshot;
      changed.add(oldest.entityId);
      this.remove(oldest);
    }
    return { changed, kept: this.byAge.has(snapshot.id) };
  }

  /** Drop one snapshot (no-op when it is not kept). */
  remove(snapshot: Snapshot): void {
    if (!this.byAge.delete(snapshot.id)) return;
    this.bytes -= snapshot.sizeBytes;
    const list = this.byEntity.get(snapshot.entityId);
    if (!list) return;
    const i = list.indexOf(snapshot);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byEntity.delete(snapshot.entityId);
  }

  /** An entity's snapshots, covering the fewest events first. */
  ofEntity(entityId: string): readonly Snapshot[] {
    return this.byEntity.get(entityId) ?? [];
  }

  /** The snapshot covering the most events (the newest of those on a tie). */
  latestOf(entityId: string): Snapshot | undefined {
    const list = this.byEntity.get(entityId);
    return list?.[list.length - 1];
  }

  /** Creation time of the entity's most recently created snapshot (cheap: lists are short). */
  lastCreatedUs(entityId: string): number | undefined {
    const list = this.byEntity.get(entityId);
    if (!list) return undefined;
    let last = 0;
    for (const s of list) if (s.createdAtUs > last) last = s.createdAtUs;
    return last;
  }

  /** Every snapshot, most recently created first. */
  newestFirst(): Snapshot[] {
    return Array.from(this.byAge.values()).reverse();
  }

  latest(entityId: string, maxEventCount: number): StoredEntityState | undefined {
    const list = this.byEntity.get(entityId);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i]!;
      if (s.eventCount <= maxEventCount) return { eventCount: s.eventCount, restore: () => restoreState(s) };
    }
    return undefined;
  }
}

/** The snapshot's state as a fresh prototype-less object (as folds build it). */
export function restoreState(snapshot: Snapshot): ReturnType<typeof emptyState> {
  const state = emptyState();
  mergeInto(state, JSON.parse(snapshot.stateJson));
  return state;
}

function compare(a: Snapshot, b: Snapshot): number {
  return a.eventCount - b.eventCount || a.createdAtUs - b.createdAtUs;
}
