export interface Spread {
  min: number;
  median: number;
  max: number;
  runs: number[];
}

/** min / median / max of repeated runs (the runs themselves kept, in the order they ran). */
export function spread(runs: number[]): Spread {
  if (runs.length === 0) return { min: NaN, median: NaN, max: NaN, runs };
  const sorted = [...runs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median: round(median, 3), max: sorted[sorted.length - 1]!, runs };
}

/** Median of some numbers. */
export const median = (xs: number[]): number => spread(xs).median;

export const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Rounds to `significant` significant digits (for figures of any magnitude). */
export function sig(n: number, significant = 3): number {
  if (!Number.isFinite(n) || n === 0) return n;
  const digits = Math.max(0, significant - 1 - Math.floor(Math.log10(Math.abs(n))));
  return round(n, digits);
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of latency samples (ms). */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const at = (p: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return { count: n, p50: round(at(50), 3), p90: round(at(90), 3), p99: round(at(99), 3), max: round(sorted[n - 1]!, 3), mean: round(sum / n, 3) };
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** A number for people: thousands separators, fewer decimals for larger values. */
export function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 1 ? 2 : 3;
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** median (min–max) of a spread, or the single value. */
export function range(s: Spread): string {
  return s.runs.length > 1 ? `${num(s.median)} (${num(s.min)}–${num(s.max)})` : num(s.median);
}

