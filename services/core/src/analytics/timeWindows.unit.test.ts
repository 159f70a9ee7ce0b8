import { formatTimestamp, parseTimestamp } from '../events/timestamps';
import { nextWindowStart, windowCount, windowStart, type TimeWindow } from './timeWindows';

const us = (text: string): number => {
  const v = parseTimestamp(text);
  if (v === undefined) throw new Error(`bad timestamp ${text}`);
  return v;
};
const start = (text: string, window: TimeWindow): string => formatTimestamp(windowStart(us(text), window));

describe('UTC windows', () => {
  it('aligns minutes, hours and days to UTC boundaries', () => {
    expect(start('2026-03-04T10:15:30.123456Z', 'minute')).toBe('2026-03-04T10:15:00.000000Z');
    expect(start('2026-03-04T10:15:30.123456Z', 'hour')).toBe('2026-03-04T10:00:00.000000Z');
    expect(start('2026-03-04T10:15:30.123456Z', 'day')).toBe('2026-03-04T00:00:00.000000Z');
    // An offset is only a way of writing the instant: 01:30+02:00 is 23:30 UTC the day before.
    expect(start('2026-03-04T01:30:00+02:00', 'day')).toBe('2026-03-03T00:00:00.000000Z');
  });

  it('starts ISO weeks on Monday 00:00 UTC, also before 1970', () => {
    expect(start('2026-03-02T00:00:00Z', 'week')).toBe('2026-03-02T00:00:00.000000Z'); // a Monday
    expect(start('2026-03-08T23:59:59.999999Z', 'week')).toBe('2026-03-02T00:00:00.000000Z'); // Sunday
    expect(start('2026-03-09T00:00:00Z', 'week')).toBe('2026-03-09T00:00:00.000000Z');
    expect(start('1970-01-01T12:00:00Z', 'week')).toBe('1969-12-29T00:00:00.000000Z'); // a Thursday
    expect(start('1969-12-28T12:00:00Z', 'week')).toBe('1969-12-22T00:00:00.000000Z');
  });

  it('uses calendar months, across years and leap days', () => {
    expect(start('2024-02-29T23:00:00Z', 'month')).toBe('2024-02-01T00:00:00.000000Z');
    expect(formatTimestamp(nextWindowStart(us('2024-02-01T00:00:00Z'), 'month'))).toBe('2024-03-01T00:00:00.000000Z');
    expect(formatTimestamp(nextWindowStart(us('2025-12-01T00:00:00Z'), 'month'))).toBe('2026-01-01T00:00:00.000000Z');
    expect(start('0050-06-15T00:00:00Z', 'month')).toBe('0050-06-01T00:00:00.000000Z');
  });

  it('counts the windows of a range, both ends included', () => {
    expect(windowCount(us('2026-03-04T10:15:59Z'), us('2026-03-04T10:18:00Z'), 'minute')).toBe(4);
    expect(windowCount(us('2026-03-04T10:00:00Z'), us('2026-03-04T10:00:00Z'), 'hour')).toBe(1);
    expect(windowCount(us('2026-03-01T00:00:00Z'), us('2026-03-10T00:00:00Z'), 'week')).toBe(3);
    expect(windowCount(us('2025-11-30T00:00:00Z'), us('2026-02-01T00:00:00Z'), 'month')).toBe(4);
    expect(windowCount(us('2026-01-02T00:00:00Z'), us('2026-01-01T00:00:00Z'), 'day')).toBe(0);
  });
});
