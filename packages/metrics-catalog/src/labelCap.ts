/** The value a capped label takes once its cap is reached. */
export const OTHER_LABEL_VALUE = '__other__';

/**
 * Bounds the distinct values of one label fed by user data (event type, subject, ...). The first
 * `limit` distinct values pass through; later new values fold into `__other__`, so the series
 * count, and this object's memory, stay bounded whatever clients send.
 */
export class LabelCap {
  private readonly seen = new Set<string>();
  private foldCount = 0;

  constructor(
    readonly limit: number,
    private readonly onFold?: () => void,
  ) {
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`LabelCap limit must be a non-negative integer, got ${limit}`);
    }
  }

  value(raw: string): string {
    if (this.seen.has(raw)) return raw;
    if (this.seen.size < this.limit) {
      this.seen.add(raw);
      return raw;
    }
    this.foldCount++;
    this.onFold?.();
    return OTHER_LABEL_VALUE;
  }

  /** Distinct values admitted so far (at most `limit`). */
  get size(): number {
    return this.seen.size;
  }

  /** Values folded into `__other__` so far. */
  get folded(): number {
    return this.foldCount;
  }
}
