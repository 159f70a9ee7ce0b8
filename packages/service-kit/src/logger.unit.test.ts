import { isoTime } from './logger';

describe('isoTime', () => {
  afterEach(() => jest.restoreAllMocks());

  it("gives pino's time field, as Date#toISOString writes it, across seconds and milliseconds", () => {
    const base = Date.UTC(2026, 10, 27, 23, 59, 58);
    for (const ms of [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1999, 2000, 2345, 61_007]) {
      jest.spyOn(Date, 'now').mockReturnValue(base + ms);
      expect(isoTime()).toBe(`,"time":"${new Date(base + ms).toISOString()}"`);
    }
    // Going back a second (a clock step) still gives the right text.
    jest.spyOn(Date, 'now').mockReturnValue(base + 5);
    expect(isoTime()).toBe(`,"time":"${new Date(base + 5).toISOString()}"`);
  });
});
