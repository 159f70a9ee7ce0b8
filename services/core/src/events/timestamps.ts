/** Timestamps are microseconds since the epoch inside the engine and RFC 3339 (µs, `Z`) outside. */

// The events of one append share one timestamp: answering a batch formats it once, not once an event.
let lastFormattedUs = Number.NaN;
let lastFormatted = '';

export function formatTimestamp(us: number): string {
  if (us === lastFormattedUs) return lastFormatted;
  const second = Math.floor(us / 1_000_000);
  const fraction = us - second * 1_000_000;
  const ms = Math.floor(fraction / 1000);
  lastFormatted = `${timestampSecondPrefix(second)}${DIGITS3[ms]}${DIGITS3[fraction - ms * 1000]}Z`;
  lastFormattedUs = us;
  return lastFormatted;
}

/** `YYYY-MM-DDTHH:mm:ss.` of a second since the epoch: the text before the microseconds. */
export function timestampSecondPrefix(second: number): string {
  const slot = second & (SECOND_SLOTS - 1);
  let prefix = secondPrefix[slot];
  if (secondOf[slot] !== second || prefix === undefined) {
    const iso = new Date(second * 1000).toISOString(); // YYYY-MM-DDTHH:mm:ss.000Z
    prefix = iso.slice(0, iso.length - 4);
    secondPrefix[slot] = prefix;
    secondOf[slot] = second;
  }
  return prefix;
}

/**
 * Every event of a response is formatted, and events close in time share their second: the
 * `YYYY-MM-DDTHH:mm:ss.` text of recent seconds is kept (a direct-mapped table of 64 seconds),
 * so most calls build no Date and no ISO string.
 */
const SECOND_SLOTS = 64;
const secondOf = new Float64Array(SECOND_SLOTS).fill(Number.NaN);
const secondPrefix: Array<string | undefined> = new Array(SECOND_SLOTS).fill(undefined);
const DIGITS3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

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
