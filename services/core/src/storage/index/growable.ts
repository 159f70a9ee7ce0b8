/**
 * Append-only typed-array columns. The index keeps one number per event per column instead of
 * one object per event, so its heap cost stays a few dozen bytes an event.
 */

const GROWTH = 1.5;

/** Lists below this many slots grow at once (a copy of well under a millisecond). */
const INCREMENTAL_GROWTH_MIN = 1 << 16;
/** Elements copied into a growing list's next array per push, on average. */
const GROWTH_COPY_PER_PUSH = 64;
/**
 * A growing array is copied into every this many pushes (or adds, for the index's columns), for
 * all of them at once: each copy allocates a view whatever its length, and a copy at every add
 * was 5% of the event loop's time under durable batch appends.
 */
export const GROWTH_COPY_EVERY = 64;

export class GrowableUint32 {
  data: Uint32Array;
  length = 0;
  /**
   * A growth under way: a 1.5× array filled `GROWTH_COPY_PER_PUSH` elements a push (those below
   * `copied`), swapped in once it holds them all. Started at 15/16 full for lists past
   * `INCREMENTAL_GROWTH_MIN` (a per-event-type list holds a share of all events: copying one of
   * millions at once paused the event loop for milliseconds); done after ~1.5% of the capacity
   * in pushes, before the current array is full. Readers keep reading `data` meanwhile.
   */
  private next: Uint32Array | undefined;
  private copied = 0;
  /** Pushes since the last copy into `next`. */
  private pushesSinceCopy = 0;
  /** Length from which pushes start (or go on with) a growth; Infinity while the list is small. */
  private growAt = Number.POSITIVE_INFINITY;

  constructor(initialCapacity = 4) {
    this.data = new Uint32Array(initialCapacity);
  }

  push(value: number): void {
    if (this.length === this.data.length) this.growNow();
    this.data[this.length++] = value;
    if (this.length >= this.growAt) this.stepGrowth();
  }

  /** Last element; only call when length > 0. */
  last(): number {
    return this.data[this.length - 1]!;
  }

  /** Drop trailing elements (used to roll back a failed recovery step). */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
    if (this.copied > this.length) this.copied = this.length;
  }

  /** Whether a growth is under way (tests). */
  get growing(): boolean {
    return this.next !== undefined;
  }

  /** Full: finish a growth under way, or grow at once. */
  private growNow(): void {
    if (this.next !== undefined) {
      this.next.set(this.data.subarray(this.copied, this.length), this.copied);
      this.swap(this.next);
      if (this.length < this.data.length) return;
    }
    const next = new Uint32Array(Math.max(4, Math.ceil(this.data.length * GROWTH)));
    next.set(this.data);
    this.swap(next);
  }

  private stepGrowth(): void {
    if (this.next === undefined) {
      this.next = new Uint32Array(Math.ceil(this.data.length * GROWTH));
      this.copied = 0;
      this.pushesSinceCopy = 0;
    }
    if (++this.pushesSinceCopy < GROWTH_COPY_EVERY) return;
    this.pushesSinceCopy = 0;
    const end = Math.min(this.length, this.copied + GROWTH_COPY_PER_PUSH * GROWTH_COPY_EVERY);
    this.next.set(this.data.subarray(this.copied, end), this.copied);
    this.copied = end;
    if (end === this.length) this.swap(this.next);
  }

  private swap(next: Uint32Array): void {
    this.data = next;
    this.next = undefined;
    this.copied = 0;
    const capacity = next.length;
    this.growAt = capacity >= INCREMENTAL_GROWTH_MIN ? Math.ceil((capacity * 15) / 16) : Number.POSITIVE_INFINITY;
  }
}

type NumericArray = Float64Array | Uint32Array | Int32Array | Uint16Array;

/** Returns `arr` when it holds `needed` elements, else a larger copy of it. */
export function ensureCapacity<T extends NumericArray>(arr: T, needed: number): T {
  if (needed <= arr.length) return arr;
  const ctor = arr.constructor as new (length: number) => T;
  const next = new ctor(Math.max(needed, Math.ceil(arr.length * GROWTH), 1024));
  next.set(arr as never);
  return next;
}

/** Interns strings to dense integer ids (entity ids, event types, tenants). */
export class Dictionary {
  private readonly ids = new Map<string, number>();
  readonly values: string[] = [];

  get size(): number {
    return this.values.length;
  }

  idOf(value: string): number | undefined {
    return this.ids.get(value);
  }

  /** The last value interned and its id: runs of one event type or tenant skip the map. */
  private lastValue: string | undefined;
  private lastId = 0;

  intern(value: string): number {
    if (value === this.lastValue) return this.lastId;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
    }
    this.lastValue = value;
    this.lastId = id;
    return id;
  }

  valueOf(id: number): string {
    return this.values[id]!;
  }
}
