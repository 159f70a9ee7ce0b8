/** UTC calendar windows over microsecond timestamps (frequency buckets). */

export const TIME_WINDOWS = ['minute', 'hour', 'day', 'week', 'month'] as const;
export type TimeWindow = (typeof TIME_WINDOWS)[number];

const MINUTE_US = 60_000_000;
const HOUR_US = 60 * MINUTE_US;
const DAY_US = 24 * HOUR_US;
const WEEK_US = 7 * DAY_US;

/** Fixed window lengths; `month` has none. */
const FIXED: Record<Exclude<TimeWindow, 'month'>, number> = { minute: MINUTE_US, hour: HOUR_US, day: DAY_US, week: WEEK_US };

/** Days since the epoch of the Monday that starts the ISO week holding day `day` (1970-01-01 was a Thursday). */
function mondayOf(day: number): number {
  return day - ((((day + 3) % 7) + 7) % 7);
}

/** µs of the first instant of month `month` (0-based, may overflow into the next year) of `year`; valid for years below 100 too. */
function monthStartUs(year: number, month: number): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, 1);
  return d.getTime() * 1000;
}

/** Start (µs) of the UTC window holding `us`: minute/hour/day boundaries, ISO weeks (Monday 00:00), calendar months. */
export function windowStart(us: number, window: TimeWindow): number {
  switch (window) {
    case 'minute':
    case 'hour':
    case 'day':
      return Math.floor(us / FIXED[window]) * FIXED[window];
    case 'week':
      return mondayOf(Math.floor(us / DAY_US)) * DAY_US;
    case 'month': {
      const d = new Date(Math.floor(us / 1000));
      return monthStartUs(d.getUTCFullYear(), d.getUTCMonth());
    }
  }
}

/** Start of the window after the one starting at `start`. */
export function nextWindowStart(start: number, window: TimeWindow): number {
  if (window !== 'month') return start + FIXED[window];
  const d = new Date(Math.floor(start / 1000));
  return monthStartUs(d.getUTCFullYear(), d.getUTCMonth() + 1);
}

/** Number of windows from the one holding `fromUs` to the one holding `toUs`, both included (0 when to < from). */
export function windowCount(fromUs: number, toUs: number, window: TimeWindow): number {
  if (toUs < fromUs) return 0;
  const a = windowStart(fromUs, window);
  const b = windowStart(toUs, window);
  if (window !== 'month') return Math.round((b - a) / FIXED[window]) + 1;
  const da = new Date(a / 1000);
  const db = new Date(b / 1000);
  return (db.getUTCFullYear() - da.getUTCFullYear()) * 12 + (db.getUTCMonth() - da.getUTCMonth()) + 1;
}
