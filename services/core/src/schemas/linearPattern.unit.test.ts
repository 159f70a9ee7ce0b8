import { CHECK_MAX_WORK, PatternCheckTooCostly, compileLinearPattern, withPatternDeadline } from './linearPattern';

describe('the bounds on pattern checks', () => {
  it('refuses to check a string longer than the pattern allows, in proportion to its program size', () => {
    const small = compileLinearPattern('^[a-z]+$');
    const large = compileLinearPattern('^[a-z]{0,999}$');
    // A small pattern checks long strings; a large one (about 2,000 program steps) only shorter ones.
    expect(small.test('a'.repeat(100_000))).toBe(true);
    expect(large.test('a'.repeat(999))).toBe(true);
    let caught: unknown;
    try {
      large.test('a'.repeat(CHECK_MAX_WORK / 1000));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PatternCheckTooCostly);
    expect((caught as Error).message).toMatch(/^a string of 10000 characters is too long to check against the pattern "\^\[a-z\]\{0,999\}\$" \(at most \d+ for this pattern\)$/);
  });

  it('stops the checks of a request past its deadline, and only inside it', () => {
    const p = compileLinearPattern('^a');
    const afterWaiting = (ms: number): boolean => {
      const until = performance.now() + ms;
      while (performance.now() < until);
      return p.test('abc');
    };
    expect(() => withPatternDeadline(1, () => afterWaiting(5))).toThrow(/^checking the schema's patterns took longer than 1 ms for this request$/);
    // Nested deadlines keep the earlier one; outside any, checks are not timed.
    expect(() => withPatternDeadline(-1, () => withPatternDeadline(60_000, () => p.test('abc')))).toThrow(PatternCheckTooCostly);
    expect(withPatternDeadline(60_000, () => p.test('abc'))).toBe(true);
    expect(p.test('abc')).toBe(true);
  });

  it('keys compiled patterns by their text, so ajv never shares one between two patterns', () => {
    expect(String(compileLinearPattern('a+'))).toBe('/a+/');
    expect(String(compileLinearPattern('a+'))).not.toBe(String(compileLinearPattern('a*')));
  });
});
