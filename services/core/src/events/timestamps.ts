/** Timestamps are microseconds since the epoch inside the engine and RFC 3339 (µs, `Z`) outside. */

// The events of one append share one timestamp: answering a batch formats it once, not once an event.
let lastFormattedUs = Number.NaN;
let lastFormatted = '';

export function formatTimestamp(us: number): string {
  if (us === lastFormattedUs) return lastFormatted;
  const ms = Math.floor(us / 1000);
  const micros = us - ms * 1000;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:mm:ss.sssZ
  lastFormatted = `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
  lastFormattedUs = us;
  return lastFormatted;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Parse an RFC 3339 timestamp to microseconds, or `undefined` when it is not one. */
export function parseTimestamp(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return undefined;
  }
  // Date.parse accepts e.g. Feb 30 by rolling over, whatever the zone; reject such dates.
  if (day > daysInMonth(Number(y), month)) return undefined;
  const base = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${zone.toUpperCase()}`);
  if (Number.isNaN(base)) return undefined;
  const micros = Number((frac + '000000').slice(0, 6));
  return base * 1000 + micros;
}
