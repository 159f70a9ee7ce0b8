import { formatTimestamp } from '../events/timestamps';
import { GroupBudget, GroupTable, GROUP_VALUE_MAX_LENGTH, newAccumulator, accumulate, aggregateValue, OTHER_GROUP, type GroupResult } from './aggregate';
import type { ReduceFunction, WindowSpec } from './types';

/**
 * Event-time windows. Time is the event's timestamp (microseconds). The watermark is the latest
 * event time seen (or, when results are read, the wall clock); a window closes once the watermark
 * minus the allowed lateness has passed its end. Events for an already closed window are counted
 * as late and dropped. Open windows are bounded through the group budget; closed windows are kept
 * for /results up to a count and a total of groups, oldest dropped first.
 */

export interface WindowLimits {
  /** Groups over all open windows of the operator (PIPELINE_MAX_GROUPS); also the most open windows. */
  maxGroups: number;
  /** Closed windows kept (PIPELINE_MAX_CLOSED_WINDOWS). */
  maxClosedWindows: number;
  /** Allowed lateness in microseconds (PIPELINE_WINDOW_LATENESS_MS). */
  latenessUs: number;
}

export interface WindowResult {
  window_start: string;
  /** Exclusive end (tumbling, sliding); the last event's time for a session. */
  window_end: string;
  status: 'open' | 'closed';
  events: number;
  groups: GroupResult[];
}

export interface WindowOperatorState {
  watermark: string | null;
  windows: WindowResult[];
  /** Events for windows that had already closed (dropped). */
  late_events: number;
  /** Events that went to `__other__` because the operator held PIPELINE_MAX_GROUPS groups. */
  events_folded: number;
  /** Events dropped because the operator already had the maximum of open windows. */
  events_dropped: number;
  /** Closed windows no longer shown because of PIPELINE_MAX_CLOSED_WINDOWS. */
  closed_windows_dropped: number;
}

/** A closed window, rendered only when /results is read (closing stays cheap on the commit path). */
interface ClosedWindow {
  startUs: number;
  endUs: number;
  events: number;
  groups: number;
  render(): GroupResult[];
}

export interface WindowState {
  /** Add one event's input (counted as late and dropped when its window already closed). */
  add(timeUs: number, route: string | null, group: string | null, value: number | undefined): void;
  /** Move the watermark forward to `timeUs` and close what it passed (`thorough`: full scan). */
  advance(timeUs: number, thorough: boolean): void;
  results(): WindowOperatorState;
  reset(): void;
}

export function secondsToUs(seconds: number): number {
  return Math.max(1, Math.round(seconds * 1_000_000));
}

/** Closed windows kept for /results, bounded by a count and by their total of groups. */
class ClosedWindows {
  /** Oldest first, from `head` on (a queue without O(n) shifts). */
  private list: ClosedWindow[] = [];
  private head = 0;
  private groups = 0;
  dropped = 0;

  constructor(private readonly limits: WindowLimits) {}

  push(w: ClosedWindow): void {
    this.list.push(w);
    this.groups += w.groups;
    while (
      this.list.length - this.head > this.limits.maxClosedWindows ||
      (this.groups > this.limits.maxGroups && this.list.length - this.head > 1)
    ) {
      const old = this.list[this.head]!;
      this.list[this.head] = undefined as unknown as ClosedWindow;
      this.head++;
      this.groups -= old.groups;
      this.dropped++;
    }
    if (this.head > 1024 && this.head * 2 > this.list.length) {
      this.list = this.list.slice(this.head);
      this.head = 0;
    }
  }

  results(): WindowResult[] {
    return this.list.slice(this.head).map((w) => ({
      window_start: formatTimestamp(w.startUs),
      window_end: formatTimestamp(w.endUs),
      status: 'closed' as const,
      events: w.events,
      groups: w.render(),
    }));
  }

  reset(): void {
    this.list = [];
    this.head = 0;
    this.groups = 0;
    this.dropped = 0;
  }
}

interface FixedWindow {
  startUs: number;
  endUs: number;
  events: number;
  table: GroupTable;
}

/** Tumbling (slide = size) and sliding windows, aligned to the Unix epoch. */
export class FixedWindows implements WindowState {
  private readonly sizeUs: number;
  private readonly slideUs: number;
  private open = new Map<number, FixedWindow>();
  private readonly closed: ClosedWindows;
  private budget: GroupBudget;
  private watermarkUs = -Infinity;
  /** Every window whose end is at or before this is closed. */
  private closedThroughUs = -Infinity;
  /** Earliest end among open windows (a lower bound). */
  private nextCloseUs = Infinity;
  private late = 0;
  private dropped = 0;

  constructor(
    spec: WindowSpec,
    private readonly fn: ReduceFunction,
    private readonly limits: WindowLimits,
  ) {
    this.sizeUs = secondsToUs(spec.size_seconds!);
    this.slideUs = spec.window_type === 'sliding' ? secondsToUs(spec.slide_seconds!) : this.sizeUs;
    this.closed = new ClosedWindows(limits);
    this.budget = new GroupBudget(limits.maxGroups);
  }

  add(timeUs: number, route: string | null, group: string | null, value: number | undefined): void {
    const kMax = Math.floor(timeUs / this.slideUs);
    const kMin = Math.floor((timeUs - this.sizeUs) / this.slideUs) + 1;
    let taken = false;
    for (let k = kMin; k <= kMax; k++) {
      const startUs = k * this.slideUs;
      const endUs = startUs + this.sizeUs;
      if (endUs <= this.closedThroughUs || timeUs < startUs || timeUs >= endUs) continue;
      let w = this.open.get(startUs);
      if (!w) {
        if (this.open.size >= this.limits.maxGroups) {
          this.dropped++;
          return;
        }
        w = { startUs, endUs, events: 0, table: new GroupTable(this.budget) };
        this.open.set(startUs, w);
        if (endUs < this.nextCloseUs) this.nextCloseUs = endUs;
      }
      w.events++;
      w.table.add(route, group, value);
      taken = true;
    }
    if (!taken) this.late++;
  }

  advance(timeUs: number): void {
    if (timeUs > this.watermarkUs) this.watermarkUs = timeUs;
    const limit = this.watermarkUs - this.limits.latenessUs;
    if (limit <= this.closedThroughUs) return;
    this.closedThroughUs = limit;
    if (limit < this.nextCloseUs) return;
    const closing = [...this.open.values()].filter((w) => w.endUs <= limit).sort((a, b) => a.startUs - b.startUs);
    for (const w of closing) {
      this.open.delete(w.startUs);
      w.table.release();
      const { table } = w;
      this.closed.push({ startUs: w.startUs, endUs: w.endUs, events: w.events, groups: table.size, render: () => table.results(this.fn) });
    }
    this.nextCloseUs = Infinity;
    for (const w of this.open.values()) if (w.endUs < this.nextCloseUs) this.nextCloseUs = w.endUs;
  }

  private windowResult(w: FixedWindow): WindowResult {
    return {
      window_start: formatTimestamp(w.startUs),
      window_end: formatTimestamp(w.endUs),
      status: 'open',
      events: w.events,
      groups: w.table.results(this.fn),
    };
  }

  results(): WindowOperatorState {
    const open = [...this.open.values()].sort((a, b) => a.startUs - b.startUs).map((w) => this.windowResult(w));
    return {
      watermark: Number.isFinite(this.watermarkUs) ? formatTimestamp(this.watermarkUs) : null,
      windows: [...this.closed.results(), ...open],
      late_events: this.late,
      events_folded: this.budget.foldedEvents,
      events_dropped: this.dropped,
      closed_windows_dropped: this.closed.dropped,
    };
  }

  reset(): void {
    this.open = new Map();
    this.closed.reset();
    this.budget = new GroupBudget(this.limits.maxGroups);
    this.watermarkUs = -Infinity;
    this.closedThroughUs = -Infinity;
    this.nextCloseUs = Infinity;
    this.late = 0;
    this.dropped = 0;
  }
}

interface Session {
  key: string;
  route: string | null;
  group: string | null;
  folded: boolean;
  startUs: number;
  lastUs: number;
  acc: ReturnType<typeof newAccumulator>;
}

/**
 * Session windows, one session per (route, group): a session lasts while its events come less
 * than `session_timeout_seconds` apart (and, when `size_seconds` is set, until it spans that long).
 * The sessions map is kept in order of last activity, so closing scans only its expired front.
 */
export class SessionWindows implements WindowState {
  private readonly timeoutUs: number;
  private readonly maxLengthUs: number;
  private sessions = new Map<string, Session>();
  private readonly closed: ClosedWindows;
  private budgetUsed = 0;
  private foldedEvents = 0;
  private watermarkUs = -Infinity;
  private closedThroughUs = -Infinity;
  private late = 0;

  constructor(
    spec: WindowSpec,
    private readonly fn: ReduceFunction,
    private readonly limits: WindowLimits,
  ) {
    this.timeoutUs = secondsToUs(spec.session_timeout_seconds!);
    this.maxLengthUs = spec.size_seconds === null ? Infinity : secondsToUs(spec.size_seconds);
    this.closed = new ClosedWindows(limits);
  }

  add(timeUs: number, route: string | null, group: string | null, value: number | undefined): void {
    const tooLong = group !== null && group.length > GROUP_VALUE_MAX_LENGTH;
    let key = sessionKey(route, group, false);
    let s = tooLong ? undefined : this.sessions.get(key);
    let folded = false;
    if (!s && (tooLong || this.budgetUsed >= this.limits.maxGroups)) {
      this.foldedEvents++;
      folded = true;
      key = sessionKey(route, null, true);
      s = this.sessions.get(key);
      group = OTHER_GROUP;
    }
    if (s) {
      if (timeUs < s.startUs - this.timeoutUs) {
        // Older than the open session by more than the gap: it belonged to an earlier session.
        this.late++;
        return;
      }
      if (timeUs - s.lastUs >= this.timeoutUs || timeUs - s.startUs >= this.maxLengthUs) {
        this.close(s);
        s = undefined;
      }
    }
    if (!s) {
      if (timeUs + this.timeoutUs <= this.closedThroughUs) {
        this.late++;
        return;
      }
      s = { key, route, group, folded, startUs: timeUs, lastUs: timeUs, acc: newAccumulator() };
      if (!folded) this.budgetUsed++;
      this.sessions.set(key, s);
    } else if (timeUs > s.lastUs) {
      s.lastUs = timeUs;
      // Move it to the end: the map stays ordered by last activity.
      this.sessions.delete(key);
      this.sessions.set(key, s);
    } else if (timeUs < s.startUs) {
      s.startUs = timeUs;
    }
    accumulate(s.acc, value);
  }

  private close(s: Session): void {
    this.sessions.delete(s.key);
    if (!s.folded) this.budgetUsed--;
    this.closed.push({ startUs: s.startUs, endUs: s.lastUs, events: s.acc.count, groups: 1, render: () => [this.sessionGroup(s)] });
  }

  advance(timeUs: number, thorough: boolean): void {
    if (timeUs > this.watermarkUs) this.watermarkUs = timeUs;
    const limit = this.watermarkUs - this.limits.latenessUs;
    if (limit <= this.closedThroughUs) return;
    this.closedThroughUs = limit;
    const expired: Session[] = [];
    for (const s of this.sessions.values()) {
      if (s.lastUs + this.timeoutUs <= limit) expired.push(s);
      else if (!thorough) break;
    }
    if (expired.length > 1) expired.sort((a, b) => a.startUs - b.startUs);
    for (const s of expired) this.close(s);
  }

  private sessionGroup(s: Session): GroupResult {
    const group: GroupResult = { group: s.group, count: s.acc.count, value: aggregateValue(s.acc, this.fn) };
    if (s.route !== null) group.route = s.route;
    if (s.folded) group.folded = true;
    return group;
  }

  private sessionResult(s: Session): WindowResult {
    return {
      window_start: formatTimestamp(s.startUs),
      window_end: formatTimestamp(s.lastUs),
      status: 'open',
      events: s.acc.count,
      groups: [this.sessionGroup(s)],
    };
  }

  results(): WindowOperatorState {
    const open = [...this.sessions.values()].sort((a, b) => a.startUs - b.startUs).map((s) => this.sessionResult(s));
    return {
      watermark: Number.isFinite(this.watermarkUs) ? formatTimestamp(this.watermarkUs) : null,
      windows: [...this.closed.results(), ...open],
      late_events: this.late,
      events_folded: this.foldedEvents,
      events_dropped: 0,
      closed_windows_dropped: this.closed.dropped,
    };
  }

  reset(): void {
    this.sessions = new Map();
    this.closed.reset();
    this.budgetUsed = 0;
    this.foldedEvents = 0;
    this.watermarkUs = -Infinity;
    this.closedThroughUs = -Infinity;
    this.late = 0;
  }
}

function sessionKey(route: string | null, group: string | null, folded: boolean): string {
  return `${route === null ? '-' : `r${route}`}\u0000${folded ? 'o' : group === null ? '-' : `g${group}`}`;
}
