/**
 * Append-only typed-array columns. The index keeps one number per event per column instead of
 * one object per event, so its heap cost stays a few dozen bytes an event.
 */

const GROWTH = 1.5;

export class GrowableUint32 {
  data: Uint32Array;
  length = 0;

  constructor(initialCapacity = 4) {
    this.data = new Uint32Array(initialCapacity);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(Math.max(4, Math.ceil(this.data.length * GROWTH)));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }

  /** Last element; only call when length > 0. */
  last(): number {
    return this.data[this.length - 1]!;
  }

  /** Drop trailing elements (used to roll back a failed recovery step). */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
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
