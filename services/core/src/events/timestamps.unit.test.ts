import { formatTimestamp, parseTimestamp } from './timestamps';

const US = 1000;
/** Microseconds of a UTC date-time given in milliseconds by Date.UTC, plus extra µs. */
const utcUs = (ms: number, micros = 0): number => ms * US + micros;

describe('formatTimestamp', () => {
  it('writes RFC 3339 UTC with six fraction digits and Z', () => {
    expect(formatTimestamp(0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(formatTimestamp(1)).toBe('1970-01-01T00:00:00.000001Z');
    expect(formatTimestamp(999)).toBe('1970-01-01T00:00:00.000999Z');
    expect(formatTimestamp(1000)).toBe('1970-01-01T00:00:00.001000Z');
    expect(formatTimestamp(utcUs(Date.UTC(2024, 1, 29, 23, 59, 59, 999), 999))).toBe('2024-02-29T23:59:59.999999Z');
    expect(formatTimestamp(utcUs(Date.UTC(2025, 0, 2, 3, 4, 5, 6), 7))).toBe('2025-01-02T03:04:05.006007Z');
  });

  it('keeps the microseconds of every value in a millisecond', () => {
    const base = utcUs(Date.UTC(2023, 6, 14, 12, 0, 0, 123));
    for (let micros = 0; micros < 1000; micros++) {
      const text = formatTimestamp(base + micros);
      expect(text).toBe(`2023-07-14T12:00:00.123${String(micros).padStart(3, '0')}Z`);
    }
  });

  it('formats times before the epoch', () => {
    expect(formatTimestamp(-1)).toBe('1969-12-31T23:59:59.999999Z');
    expect(formatTimestamp(-1000)).toBe('1969-12-31T23:59:59.999000Z');
    expect(formatTimestamp(-1001)).toBe('1969-12-31T23:59:59.998999Z');
  });

  it('always has the same shape', () => {
    const shape = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
    for (let i = 0; i < 1000; i++) {
      const us = Math.floor(Math.random() * 4_000_000_000_000_000); // 1970 .. ~2096
      expect(formatTimestamp(us)).toMatch(shape);
    }
  });
});

describe('formatTimestamp (cached seconds)', () => {
  /** The plain formula: a Date and its ISO text for every value. */
  const reference = (us: number): string => {
    const ms = Math.floor(us / 1000);
    return `${new Date(ms).toISOString().slice(0, 23)}${String(us - ms * 1000).padStart(3, '0')}Z`;
  };

  it('agrees with the plain formula for values in the same, nearby and far apart seconds, in any order', () => {
    const base = utcUs(Date.UTC(2026, 10, 27, 16, 0, 0));
    const values: number[] = [];
    for (let i = 0; i < 5000; i++) values.push(base + Math.floor(Math.random() * 300_000_000)); // 5 minutes
    for (let i = 0; i < 2000; i++) values.push(Math.floor(Math.random() * 4_000_000_000_000_000));
    // Seconds 64 apart share a slot of the table; both must come out right.
    for (let k = 0; k < 200; k++) values.push(base + (k % 2) * 64_000_000 + k);
    values.push(-1, -999_999, -1_000_000, -1_000_001, 0, 999_999, 1_000_000);
    for (const us of values) expect(formatTimestamp(us)).toBe(reference(us));
  });
});

describe('parseTimestamp', () => {
  const noon = utcUs(Date.UTC(2024, 2, 15, 12, 30, 45));

  it('parses Z (either case) and the T, t or space separator', () => {
    for (const text of ['2024-03-15T12:30:45Z', '2024-03-15t12:30:45z', '2024-03-15 12:30:45Z', '2024-03-15T12:30:45z']) {
      expect(parseTimestamp(text)).toBe(noon);
    }
  });

  it('applies offsets', () => {
    expect(parseTimestamp('2024-03-15T13:30:45+01:00')).toBe(noon);
    expect(parseTimestamp('2024-03-15T07:00:45-05:30')).toBe(noon);
    expect(parseTimestamp('2024-03-15T12:30:45+00:00')).toBe(noon);
    expect(parseTimestamp('2024-03-15T12:30:45-00:00')).toBe(noon);
    // An offset can move the instant into another day, month or year.
    expect(parseTimestamp('2024-01-01T00:30:00+01:00')).toBe(utcUs(Date.UTC(2023, 11, 31, 23, 30)));
    expect(parseTimestamp('2023-12-31T23:30:00-01:00')).toBe(utcUs(Date.UTC(2024, 0, 1, 0, 30)));
  });

  it('accepts fractions of 1 to 9 digits, truncated to microseconds', () => {
    const cases: Array<[string, number]> = [
      ['1', 100_000],
      ['12', 120_000],
      ['123', 123_000],
      ['1234', 123_400],
      ['12345', 123_450],
      ['123456', 123_456],
      ['1234567', 123_456],
      ['12345678', 123_456],
      ['123456789', 123_456],
      ['999999999', 999_999],
      ['000000001', 0],
      ['0', 0],
    ];
    for (const [fraction, micros] of cases) {
      expect(parseTimestamp(`2024-03-15T12:30:45.${fraction}Z`)).toBe(noon + micros);
      expect(parseTimestamp(`2024-03-15T13:30:45.${fraction}+01:00`)).toBe(noon + micros);
    }
  });

  it.each([
    '',
    'now',
    '2024',
    '2024-03-15',
    '2024-03-15T12:30',
    '2024-03-15T12:30:45', // no zone
    '2024-03-15T12:30:45.Z', // empty fraction
    '2024-03-15T12:30:45.1234567890Z', // ten fraction digits
    '2024-03-15T12:30:45,5Z',
    '2024-03-15T12:30:45+0100',
    '2024-03-15T12:30:45+01',
    '2024-03-15T12:30:45 Z',
    ' 2024-03-15T12:30:45Z',
    '2024-03-15T12:30:45Z ',
    '2024-3-15T12:30:45Z',
    '24-03-15T12:30:45Z',
    '+02024-03-15T12:30:45Z',
    '2024/03/15T12:30:45Z',
    '2024-03-15X12:30:45Z',
    '1710505845',
    '2024-03-15T12:30:45Zjunk',
    '2024-03-15T12:30:45+01:00Z',
    '２０２４-03-15T12:30:45Z', // full-width digits
  ])('rejects the malformed %j', (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });

  it.each([
    '2024-13-01T00:00:00Z', // month 13
    '2024-00-10T00:00:00Z', // month 0
    '2024-01-00T00:00:00Z', // day 0
    '2024-01-32T00:00:00Z',
    '2024-02-30T00:00:00Z', // Feb 30
    '2024-02-31T00:00:00Z',
    '2023-02-29T00:00:00Z', // not a leap year
    '2100-02-29T00:00:00Z', // not a leap year (century)
    '2024-04-31T00:00:00Z',
    '2024-06-31T00:00:00Z',
    '2024-09-31T00:00:00Z',
    '2024-11-31T00:00:00Z',
    '2024-02-30T00:00:00+01:00', // invalid whatever the zone
    '2024-02-30T12:00:00-05:00',
    '2023-02-29T23:30:00-01:00',
    '2024-04-31T00:00:00.5+02:00',
    '2024-01-01T24:00:00Z', // hour 24
    '2024-01-01T23:60:00Z',
    '2024-01-01T23:59:61Z',
    '2024-01-01T00:00:00+24:00', // offset out of range
    '2024-01-01T00:00:00+01:60',
  ])('rejects the invalid date or time %j', (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });

  it('accepts the last day of every month, leap days included', () => {
    const lastDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    for (const year of [2023, 2024, 2000, 1900]) {
      const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
      lastDays.forEach((last, i) => {
        const day = i === 1 && leap ? 29 : last;
        const month = String(i + 1).padStart(2, '0');
        for (const zone of ['Z', '+05:00', '-11:00']) {
          const text = `${year}-${month}-${day}T10:00:00${zone}`;
          expect(parseTimestamp(text)).toBeDefined();
          expect(parseTimestamp(`${year}-${month}-${day + 1}T10:00:00${zone}`)).toBeUndefined();
        }
      });
    }
  });

  it('round-trips format → parse exactly', () => {
    const samples = [0, 1, 999, 1000, 1_000_000, -1, -1_000_001, 1_710_505_845_123_456, 4_102_444_799_999_999];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 4_000_000_000_000_000));
    for (const us of samples) {
      expect(parseTimestamp(formatTimestamp(us))).toBe(us);
    }
  });

  it('round-trips parse → format for canonical text', () => {
    for (const text of ['2024-03-15T12:30:45.123456Z', '1999-12-31T23:59:59.999999Z', '2000-02-29T00:00:00.000000Z']) {
      const us = parseTimestamp(text);
      expect(us).toBeDefined();
      expect(formatTimestamp(us!)).toBe(text);
    }
  });
});
