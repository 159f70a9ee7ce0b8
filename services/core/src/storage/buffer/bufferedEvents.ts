import type { StoredEvent } from '../../events/storedEvent';
import { ensureCapacity } from '../index/growable';
import { decodeWalEvent, recordLayout, walEventLsn, type RecordLayout } from '../wal/walPayload';

/** Dropped slots at the front are reclaimed (the rest moved down) once there are this many and they are half the array. */
const COMPACT_MIN = 4096;
/** Slots of sizes kept however few events are left (64K events, 512 KiB). */
const SIZES_KEPT = 65536;

/**
 * A binary WAL record whose events are buffered as its bytes: the events are decoded from it when
 * read (see `BufferedEvents.pushRecord`). Its layout is worked out on the first read.
 */
class BufferedRecord {
  private layout: RecordLayout | undefined;

  constructor(readonly payload: Uint8Array) {}

  event(k: number): StoredEvent {
    this.layout ??= recordLayout(this.payload);
    return decodeWalEvent(this.payload, k, this.layout);
  }

  lsn(k: number): number {
    return walEventLsn(this.payload, k);
  }
}

/**
 * The events committed but not yet in a segment, oldest first, with the estimated memory of
 * each. A flush drops events from the front by moving a head index: taking them off with
 * `Array.prototype.slice` copied every remaining event (hundreds of thousands while segments
 * lag behind appends) on each flush. Slots before the head are reclaimed in one move once they
 * are half the array, so each event is moved at most about once.
 *
 * Events come in two forms. Those of a large append are kept as its WAL record's bytes (the
 * bytes the flush builds the segment from, which `UnflushedRecords` keeps as they are; they must
 * never change nor be transferred while held) and decoded when read: an event object per event,
 * kept until its flush, was copied by every scavenge until promoted, ~9% of the event loop's
 * time under durable batch appends. Events of small appends and those replayed from the WAL at
 * start are kept as objects.
 */
export class BufferedEvents {
  /** An event object, or the record the event is in (its index in the record in `within`). */
  private events: Array<StoredEvent | BufferedRecord> = [];
  private within = new Uint32Array(1024);
  /** Estimated bytes of each event, aligned with `events`: a flush sums them without reading the (long promoted) events again. */
  private sizes = new Float64Array(1024);
  private head = 0;
  private totalBytes = 0;

  get length(): number {
    return this.events.length - this.head;
  }

  /** Estimated memory of the events held (see `eventBytes`; a record's bytes are counted by `UnflushedRecords`). */
  get bytes(): number {
    return this.totalBytes;
  }

  /** The `i`-th oldest event held (decoded afresh when it is kept as record bytes). */
  at(i: number): StoredEvent | undefined {
    const slot = this.head + i;
    const held = this.events[slot];
    return held instanceof BufferedRecord ? held.event(this.within[slot]!) : held;
  }

  /** LSN of the `i`-th oldest event held, without decoding it. */
  lsnAt(i: number): number | undefined {
    const slot = this.head + i;
    const held = this.events[slot];
    return held instanceof BufferedRecord ? held.lsn(this.within[slot]!) : held?.lsn;
  }

  push(event: StoredEvent, bytes: number): void {
    const slot = this.events.length;
    this.makeRoom(slot + 1);
    this.sizes[slot] = bytes;
    this.events.push(event);
    this.totalBytes += bytes;
  }

  /**
   * Hold `count` events as the binary WAL record `payload` that holds them all (its events
   * 0..count-1, in order), at `bytesEach` each. The payload must not change while held.
   */
  pushRecord(payload: Uint8Array, count: number, bytesEach: number): void {
    const record = new BufferedRecord(payload);
    const first = this.events.length;
    this.makeRoom(first + count);
    for (let k = 0; k < count; k++) {
      this.events.push(record);
      this.within[first + k] = k;
      this.sizes[first + k] = bytesEach;
    }
    this.totalBytes += bytesEach * count;
  }

  /** Events `from` (inclusive) to `to` (exclusive), counted from the oldest held. */
  slice(from: number, to: number): StoredEvent[] {
    const out = new Array<StoredEvent>(Math.max(0, to - from));
    for (let i = from; i < to; i++) out[i - from] = this.at(i)!;
    return out;
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
      if (this.sizes.length > SIZES_KEPT) {
        this.sizes = new Float64Array(1024);
        this.within = new Uint32Array(1024);
      }
    } else if (this.head >= COMPACT_MIN && this.head * 2 >= this.events.length) {
      const live = this.events.length - this.head;
      this.events = this.events.slice(this.head);
      // After a backlog, the per-event arrays shrink back too (they grew with the buffer's peak).
      if (this.sizes.length > SIZES_KEPT && this.sizes.length > 4 * live) {
        this.sizes = Float64Array.from(this.sizes.subarray(this.head, this.head + live));
        this.within = Uint32Array.from(this.within.subarray(this.head, this.head + live));
      } else {
        this.sizes.copyWithin(0, this.head, this.head + live);
        this.within.copyWithin(0, this.head, this.head + live);
      }
      this.head = 0;
    }
  }

  private makeRoom(slots: number): void {
    if (slots > this.sizes.length) this.sizes = ensureCapacity(this.sizes, slots);
    if (slots > this.within.length) this.within = ensureCapacity(this.within, slots);
  }
}
