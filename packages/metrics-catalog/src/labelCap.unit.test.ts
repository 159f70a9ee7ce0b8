import { LabelCap, OTHER_LABEL_VALUE } from './index';

describe('LabelCap', () => {
  it('passes the first `limit` distinct values and folds later new ones into __other__', () => {
    let folds = 0;
    const cap = new LabelCap(2, () => folds++);
    expect(['a', 'b', 'a', 'c', 'b', 'd', 'c'].map((v) => cap.value(v))).toEqual([
      'a',
      'b',
      'a',
      OTHER_LABEL_VALUE,
      'b',
      OTHER_LABEL_VALUE,
      OTHER_LABEL_VALUE,
    ]);
    expect(OTHER_LABEL_VALUE).toBe('__other__');
    expect(folds).toBe(3);
    expect(cap.folded).toBe(3);
    expect(cap.size).toBe(2);
  });

  it('keeps its memory bounded by the limit', () => {
    const cap = new LabelCap(100);
    for (let i = 0; i < 100_000; i++) cap.value(`type-${i}`);
    expect(cap.size).toBe(100);
    expect(cap.folded).toBe(99_900);
    expect(cap.value('type-99')).toBe('type-99');
  });

  it('folds everything with a limit of 0', () => {
    const cap = new LabelCap(0);
    expect(cap.value('x')).toBe(OTHER_LABEL_VALUE);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects limit %p', (limit) => {
    expect(() => new LabelCap(limit)).toThrow(RangeError);
  });
});
