/**
 * A fixed-capacity ring of points (timestamp + one value per derived metric) in two typed arrays:
 * memory is `capacity × (1 + metrics) × 8` bytes, allocated once, whatever runs through it.
 * Timestamps only go forward; the oldest point is overwritten when the ring is full.
 */
export class SeriesRing {
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    readonly width: number,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be ≥ 1, got ${capacity}`);
    this.timestamps = new Float64Array(capacity);
    this.values = new Float64Array(capacity * width);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the ring's arrays. */
  get bytes(): number {
    return this.timestamps.byteLength + this.values.byteLength;
  }

  /** Physical slot of the i-th oldest point. */
  private slot(i: number): number {
    return (this.head - this.count + i + this.capacity * 2) % this.capacity;
  }

  timeAt(i: number): number {
    return this.timestamps[this.slot(i)]!;
  }

  valueAt(i: number, metric: number): number {
    return this.values[this.slot(i) * this.width + metric]!;
  }

  get oldest(): number | undefined {
    return this.count > 0 ? this.timeAt(0) : undefined;
  }

  get newest(): number | undefined {
    return this.count > 0 ? this.timeAt(this.count - 1) : undefined;
  }

  /** Appends a point; one not newer than the newest is ignored (returns false). */
  push(t: number, vals: ArrayLike<number>): boolean {
    const newest = this.newest;
    if (newest !== undefined && !(t > newest)) return false;
    const s = this.head;
    this.timestamps[s] = t;
    const base = s * this.width;
    for (let m = 0; m < this.width; m++) this.values[base + m] = m < vals.length ? vals[m]! : NaN;
    this.head = (this.head + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
    return true;
  }

  /** Index of the first point with timestamp ≥ t (size when none). */
  lowerBound(t: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timeAt(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops points older than `t`. */
  dropBefore(t: number): void {
    const n = this.lowerBound(t);
    this.count -= n;
  }

  /** Points in chronological order: timestamps, then values row by row (for snapshots). */
  exportArrays(): { timestamps: Float64Array; values: Float64Array } {
    const timestamps = new Float64Array(this.count);
    const values = new Float64Array(this.count * this.width);
    for (let i = 0; i < this.count; i++) {
      const s = this.slot(i);
      timestamps[i] = this.timestamps[s]!;
      values.set(this.values.subarray(s * this.width, (s + 1) * this.width), i * this.width);
    }
    return { timestamps, values };
  }
}
