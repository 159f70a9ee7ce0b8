import type { StoredEvent } from '../events/storedEvent';
import type { EventIndex } from '../storage/index/eventIndex';
import type { GrowableUint32 } from '../storage/index/growable';

/** Which stored events a replay covers. Every filter applies; time bounds are inclusive, in µs. */
export interface ReplayFilter {
  entityId?: string | undefined;
  eventType?: string | undefined;
  sinceUs?: number | undefined;
  untilUs?: number | undefined;
}

/** First i in list[0..length) whose event time is ≥ us. */
function listLowerBound(list: GrowableUint32, ts: Float64Array, us: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[list.data[mid]!]! < us) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Walks the index positions that match a filter, in ingest order (which is timestamp order),
 * a bounded chunk at a time, while the index keeps growing. It uses the most selective access
 * path, as `selectPositions` does: the entity's list of positions, else the event type's list,
 * else the global order from the first position at or after `sinceUs`. An entity or type that
 * does not exist yet is looked up again on every call, so events committed during the replay
 * are found too. Reads only the index.
 */
export class PositionCursor {
  /** Range mode: the next global position to examine. List mode: the next list index. */
  private next = -1;
  /** Set once a position past `untilUs` was seen: every later one is past it too. */
  private exhausted = false;

  constructor(
    private readonly index: EventIndex,
    private readonly filter: ReplayFilter,
  ) {}

  /** Whether the cursor has examined every position below `end`. */
  reached(end: number): boolean {
    if (this.exhausted) return true;
    const list = this.list();
    if (list === null) return this.start() >= end;
    if (list === undefined) return true;
    const i = this.listStart(list);
    return i >= list.length || list.data[i]! >= end;
  }

  /** How many positions below `end` are still to examine (an upper bound in list mode). */
  pending(end: number): number {
    if (this.exhausted) return 0;
    const list = this.list();
    if (list === null) return Math.max(0, end - this.start());
    if (list === undefined) return 0;
    return list.length - this.listStart(list);
  }

  /**
   * Up to `max` matching positions below `end`, examining at most `scanMax` positions (so a
   * selective filter over a long range still returns to the event loop).
   */
  take(max: number, end: number, scanMax: number): number[] {
    const out: number[] = [];
    if (this.exhausted) return out;
    const ix = this.index;
    const ts = ix.timestampUs;
    const list = this.list();
    if (list === undefined) return out;
    let scanned = 0;
    if (list === null) {
      let pos = this.start();
      while (pos < end && out.length < max && scanned < scanMax) {
        scanned++;
        const t = ts[pos]!;
        if (this.filter.untilUs !== undefined && t > this.filter.untilUs) {
          this.exhausted = true;
          break;
        }
        if (this.filter.sinceUs === undefined || t >= this.filter.sinceUs) out.push(pos);
        pos++;
      }
      this.next = pos;
      return out;
    }
    const typeFilter = this.filter.entityId !== undefined && this.filter.eventType !== undefined ? ix.types.idOf(this.filter.eventType) : -1;
    if (typeFilter === undefined) {
      // Listed by entity, filtered by a type that does not exist yet: skip what is there now.
      while (this.listStart(list) < list.length && list.data[this.next]! < end) this.next++;
      return out;
    }
    let i = this.listStart(list);
    while (i < list.length && out.length < max && scanned < scanMax) {
      const pos = list.data[i]!;
      if (pos >= end) break;
      scanned++;
      const t = ts[pos]!;
      if (this.filter.untilUs !== undefined && t > this.filter.untilUs) {
        this.exhausted = true;
        break;
      }
      if ((this.filter.sinceUs === undefined || t >= this.filter.sinceUs) && (typeFilter < 0 || ix.typeOf[pos] === typeFilter)) {
        out.push(pos);
      }
      i++;
    }
    this.next = i;
    return out;
  }

  /** Number of matching positions below `end` (from the cursor's start; call before `take`). */
  countBelow(end: number): number {
    const ix = this.index;
    const ts = ix.timestampUs;
    const { sinceUs, untilUs } = this.filter;
    const list = this.list();
    if (list === undefined) return 0;
    if (list === null) {
      const lo = sinceUs === undefined ? 0 : ix.lowerBound(sinceUs);
      const hi = Math.min(end, untilUs === undefined ? ix.count : ix.upperBound(untilUs));
      return Math.max(0, hi - lo);
    }
    const lo = sinceUs === undefined ? 0 : listLowerBound(list, ts, sinceUs);
    let hi = list.length;
    if (untilUs !== undefined) hi = listLowerBound(list, ts, untilUs + 1);
    while (hi > lo && list.data[hi - 1]! >= end) hi--;
    if (this.filter.entityId === undefined || this.filter.eventType === undefined) return Math.max(0, hi - lo);
    const type = ix.types.idOf(this.filter.eventType);
    if (type === undefined) return 0;
    let n = 0;
    for (let i = lo; i < hi; i++) if (ix.typeOf[list.data[i]!] === type) n++;
    return n;
  }

  /** Whether an event (e.g. one just committed) matches the filter. */
  matches(e: StoredEvent): boolean {
    const f = this.filter;
    return (
      (f.entityId === undefined || e.entityId === f.entityId) &&
      (f.eventType === undefined || e.eventType === f.eventType) &&
      (f.sinceUs === undefined || e.timestampUs >= f.sinceUs) &&
      (f.untilUs === undefined || e.timestampUs <= f.untilUs)
    );
  }

  /** Skip every position below `end` without examining it (its events were handled otherwise). */
  skipTo(end: number): void {
    const list = this.list();
    if (list === null) {
      this.next = Math.max(this.start(), end);
      return;
    }
    if (list === undefined) return;
    let i = this.listStart(list);
    while (i < list.length && list.data[i]! < end) i++;
    this.next = i;
  }

  /** null: range mode; undefined: list mode over an entity/type that has no events yet. */
  private list(): GrowableUint32 | null | undefined {
    if (this.filter.entityId !== undefined) return this.index.positionsOfEntity(this.filter.entityId);
    if (this.filter.eventType !== undefined) return this.index.positionsOfType(this.filter.eventType);
    return null;
  }

  private start(): number {
    if (this.next < 0) this.next = this.filter.sinceUs === undefined ? 0 : this.index.lowerBound(this.filter.sinceUs);
    return this.next;
  }

  private listStart(list: GrowableUint32): number {
    if (this.next < 0) this.next = this.filter.sinceUs === undefined ? 0 : listLowerBound(list, this.index.timestampUs, this.filter.sinceUs);
    return this.next;
  }
}
