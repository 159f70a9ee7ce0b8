/**
 * The two PromQL computations the control plane reproduces on its own scrapes:
 *
 * - `increase()` between two samples of a counter: a counter only goes up, so a value lower than
 *   the previous one means the process restarted (counter reset) and the whole new value is the
 *   increase since the restart, never a negative delta.
 * - `histogram_quantile()`: linear interpolation inside the bucket that holds the rank, exactly as
 *   Prometheus' `bucketQuantile` (promql/quantile.go) does it, including its edge cases.
 */
import type { HistogramBucket } from './textFormat';

/** Increase of a counter from `previous` to `current` (reset-aware; never negative). */
export function counterIncrease(previous: number | undefined, current: number): number {
  if (!Number.isFinite(current) || current < 0) return 0;
  if (previous === undefined || !Number.isFinite(previous)) return current;
  return current >= previous ? current - previous : current;
}

/**
 * `histogram_quantile(q, buckets)` with Prometheus' semantics:
 * q < 0 → -Inf, q > 1 → +Inf, NaN q → NaN; no `+Inf` bucket, fewer than two buckets or no
 * observations → NaN; buckets with the same bound are merged and counts made monotonic; a rank in
 * the `+Inf` bucket answers the highest finite bound; a rank in the first bucket interpolates from
 * 0 (or answers the bound when it is ≤ 0).
 */
export function histogramQuantile(q: number, input: readonly HistogramBucket[]): number {
  if (Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (input.length === 0) return NaN;
  const sorted = [...input].sort((a, b) => a.le - b.le);
  if (sorted[sorted.length - 1]!.le !== Infinity) return NaN;
  // coalesceBuckets: same upper bound → counts added.
  const buckets: HistogramBucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last && last.le === b.le) last.count += b.count;
    else buckets.push({ le: b.le, count: b.count });
  }
  // ensureMonotonic: a bucket never holds fewer observations than the one below it.
  let max = -Infinity;
  for (const b of buckets) {
    if (b.count > max) max = b.count;
    else b.count = max;
  }
  if (buckets.length < 2) return NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (!(observations > 0)) return NaN;
  let rank = q * observations;
  // sort.Search over all but the +Inf bucket: first bucket whose count reaches the rank.
  let b = buckets.length - 1;
  for (let i = 0; i < buckets.length - 1; i++) {
    if (buckets[i]!.count >= rank) {
      b = i;
      break;
    }
  }
  if (b === buckets.length - 1) return buckets[buckets.length - 2]!.le;
  if (b === 0 && buckets[0]!.le <= 0) return buckets[0]!.le;
  let bucketStart = 0;
  const bucketEnd = buckets[b]!.le;
  let count = buckets[b]!.count;
  if (b > 0) {
    bucketStart = buckets[b - 1]!.le;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}
