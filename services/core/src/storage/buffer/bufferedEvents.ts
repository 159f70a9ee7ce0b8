import type { StoredEvent } from '../../events/storedEvent';
import { ensureCapacity } from '../index/growable';

/** Dropped slots at the front are reclaimed (the rest moved down) once there are this many and they are half the array. */
const COMPACT_MIN = 4096;
/** Slots of sizes kept however few events are left (64K events, 512 KiB). */
const SIZES_KEPT = 65536;

/**
 * The events committed but not yet in a segment, oldest first, with the estimated memory of
 * each. A flush drops events from the front by moving a head index: taking them off with
 * `Array.prototype.slice` copied every remaining event (hundreds of thousands while segments
 * lag behind appends) on each flush. Slots before the head are reclaimed in one move once they
 * are half the array, so each event is moved at most about once.
 */
export class BufferedEvents {
  private events: StoredEvent[] = [];
  /** Estimated bytes of each event, aligned with `events`: a flush sums them without reading the (long promoted) events again. */
  private sizes = new Float64Array(1024);
  private head = 0;
  private totalBytes = 0;

  get length(): number {
    return this.events.length - this.head;
  }

  /** Estimated memory of the events held (see `eventBytes`). */
  get bytes(): number {
    return this.totalBytes;
  }

  /** The `i`-th oldest event held. */
  at(i: number): StoredEvent | undefined {
    return this.events[this.head + i];
  }

  push(event: StoredEvent, bytes: number): void {
    const slot = this.events.length;
    if (slot >= this.sizes.length) this.sizes = ensureCapacity(this.sizes, slot + 1);
    this.sizes[slot] = bytes;
    this.events.push(event);
    this.totalBytes += bytes;
  }

  /** Events `from` (inclusive) to `to` (exclusive), counted from the oldest held. */
  slice(from: number, to: number): StoredEvent[] {
    return this.events.slice(this.head + from, this.head + to);
  }

  /** Drop the `count` oldest events (now in a segment). */
  dropFront(count: number): void {
    const end = this.head + Math.min(count, this.length);
    for (let i = this.head; i < end; i++) this.totalBytes -= this.sizes[i]!;
    // Release the events themselves now; the slots go with the next compaction.
    this.events.fill(undefined as unknown as StoredEvent, this.head, end);
    this.head = end;
    if (this.head === this.events.length) {
      this.events = [];
      this.head = 0;
      this.totalBytes = 0;
      if (this.sizes.length > SIZES_KEPT) this.sizes = new Float64Array(1024);
    } else if (this.head >= COMPACT_MIN && this.head * 2 >= this.events.length) {
      this.events = this.events.slice(this.head);
      const live = this.sizes.subarray(this.head, this.head + this.events.length);
      // After a backlog, the sizes array shrinks back too (it grew with the buffer's peak).
      if (this.sizes.length > SIZES_KEPT && this.sizes.length > 4 * this.events.length) this.sizes = Float64Array.from(live);
      else this.sizes.copyWithin(0, this.head, this.head + this.events.length);
      this.head = 0;
    }
  }
}
