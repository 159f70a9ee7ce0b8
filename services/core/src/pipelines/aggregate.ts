import { getPath, splitPath } from './paths';
import type { ReduceConfig, ReduceFunction } from './types';

/** A failure of one pipeline on one event: counted in `events_failed`, its message kept as `last_error`. */
export class PipelineEventError extends Error {}

/** The group that collects events of new groups once an operator holds its maximum of groups. */
export const OTHER_GROUP = '__other__';

export interface GroupResult {
  /** Present when a `branch` operator before this one routed the event. */
  route?: string;
  /** The `group_by` value as text; null without `group_by` or when the value is missing/null. */
  group: string | null;
  count: number;
  /** The aggregate: count, sum, avg, min or max of the field over the group's events. */
  value: number;
  /** True on the `__other__` group that collects events of groups past PIPELINE_MAX_GROUPS. */
  folded?: true;
}

interface Accumulator {
  count: number;
  sum: number;
  min: number;
  max: number;
}

export function newAccumulator(): Accumulator {
  return { count: 0, sum: 0, min: Infinity, max: -Infinity };
}

export function accumulate(acc: Accumulator, value: number | undefined): void {
  acc.count++;
  if (value !== undefined) {
    acc.sum += value;
    if (value < acc.min) acc.min = value;
    if (value > acc.max) acc.max = value;
  }
}

export function aggregateValue(acc: Accumulator, fn: ReduceFunction): number {
  switch (fn) {
    case 'count':
      return acc.count;
    case 'sum':
      return acc.sum;
    case 'avg':
      return acc.count === 0 ? 0 : acc.sum / acc.count;
    case 'min':
      return acc.count === 0 ? 0 : acc.min;
    case 'max':
      return acc.count === 0 ? 0 : acc.max;
  }
}

/** Turns events into (group, number) inputs of a reduce operator. */
export class Aggregation {
  readonly fn: ReduceFunction;
  private readonly field: string[] | undefined;
  private readonly groupBy: string[] | undefined;

  constructor(readonly config: ReduceConfig) {
    this.fn = config.function;
    this.field = config.field === null || config.function === 'count' ? undefined : splitPath(config.field);
    this.groupBy = config.group_by === null ? undefined : splitPath(config.group_by);
  }

  /** The number to aggregate (undefined for count). Throws PipelineEventError when it is not a number. */
  input(payload: unknown): number | undefined {
    if (!this.field) return undefined;
    const v = getPath(payload, this.field);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new PipelineEventError(
        v === undefined ? `field '${this.config.field}' is missing` : `field '${this.config.field}' is not a number (got ${jsonKind(v)})`,
      );
    }
    return v;
  }

  group(payload: unknown): string | null {
    if (!this.groupBy) return null;
    return valueText(getPath(payload, this.groupBy));
  }
}

/** A payload value as group key / branch key text; null for missing and null. */
export function valueText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/**
 * Group values longer than this (in UTF-16 units) go to `__other__`: a group keeps its value in
 * memory as long as it lives, and values come from payloads, so a group budget of 1 MiB values
 * would hold gigabytes.
 */
export const GROUP_VALUE_MAX_LENGTH = 256;

/** How many distinct groups an operator may hold at once; past it, new groups fold into `__other__`. */
export class GroupBudget {
  used = 0;
  /** Events that went to `__other__`: the budget was spent, or their group value was too long. */
  foldedEvents = 0;

  constructor(readonly max: number) {}
}

interface GroupEntry {
  route: string | null;
  group: string | null;
  folded: boolean;
  acc: Accumulator;
}

function groupKey(route: string | null, group: string | null, folded: boolean): string {
  // Distinct encodings for null route, null group and the folded group: no collision with data.
  return `${route === null ? '-' : `r${route}`}\u0000${folded ? 'o' : group === null ? '-' : `g${group}`}`;
}

/** The groups of one reduce operator or of one window. */
export class GroupTable {
  private readonly entries = new Map<string, GroupEntry>();
  /** Entries charged to the budget (every group but `__other__`). */
  private charged = 0;

  constructor(private readonly budget: GroupBudget) {}

  get size(): number {
    return this.entries.size;
  }

  add(route: string | null, group: string | null, value: number | undefined): void {
    const tooLong = group !== null && group.length > GROUP_VALUE_MAX_LENGTH;
    let key = groupKey(route, group, false);
    let entry = tooLong ? undefined : this.entries.get(key);
    if (!entry) {
      if (!tooLong && this.budget.used < this.budget.max) {
        this.budget.used++;
        this.charged++;
        entry = { route, group, folded: false, acc: newAccumulator() };
        this.entries.set(key, entry);
      } else {
        this.budget.foldedEvents++;
        key = groupKey(route, null, true);
        entry = this.entries.get(key);
        if (!entry) {
          entry = { route, group: OTHER_GROUP, folded: true, acc: newAccumulator() };
          this.entries.set(key, entry);
        }
      }
    }
    accumulate(entry.acc, value);
  }

  /** Give this table's groups back to the budget (the window closed); its results stay readable. */
  release(): void {
    this.budget.used -= this.charged;
    this.charged = 0;
  }

  results(fn: ReduceFunction): GroupResult[] {
    const out: GroupResult[] = [];
    for (const e of this.entries.values()) {
      const r: GroupResult = { group: e.group, count: e.acc.count, value: aggregateValue(e.acc, fn) };
      if (e.route !== null) r.route = e.route;
      if (e.folded) r.folded = true;
      out.push(r);
    }
    return out.sort(compareGroups);
  }
}

function compareGroups(a: GroupResult, b: GroupResult): number {
  if ((a.route ?? '') !== (b.route ?? '')) return (a.route ?? '') < (b.route ?? '') ? -1 : 1;
  if (a.folded !== b.folded) return a.folded ? 1 : -1;
  if (a.group === b.group) return 0;
  if (a.group === null) return -1;
  if (b.group === null) return 1;
  return a.group < b.group ? -1 : 1;
}
