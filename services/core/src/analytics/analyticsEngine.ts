/**
 * Analytics over the index alone (timestamps, type and entity columns, per-entity and per-type
 * position lists): no payload is read. Every function is synchronous and bounded: the events a
 * request may scan are counted before scanning and refused past `maxScanEvents`.
 */
import { AllSourceError } from '@allsource/errors';
import type { EventIndex } from '../storage/index/eventIndex';
import type { GrowableUint32 } from '../storage/index/growable';
import { nextWindowStart, windowCount, windowStart, type TimeWindow } from './timeWindows';

export interface AnalyticsFilter {
  entityId?: string | undefined;
  eventType?: string | undefined;
  /** Inclusive bounds, microseconds. */
  sinceUs?: number | undefined;
  untilUs?: number | undefined;
}

export interface AnalyticsLimits {
  /** Most index entries one request may scan. */
  maxScanEvents: number;
  /** Most buckets one frequency answer may hold. */
  maxBuckets: number;
}

/** Length of the top lists of the summary. */
export const TOP_N = 10;
const DAY_US = 86_400_000_000;

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** The events a filter selects, as a range of the most selective source. */
interface Scan {
  /** Positions of an entity or type list; undefined: the global order, positions lo..hi-1. */
  list: Uint32Array | undefined;
  lo: number;
  hi: number;
  /** Checked per event (-1: any). */
  entity: number;
  type: number;
}

const EMPTY_SCAN: Scan = { list: undefined, lo: 0, hi: 0, entity: -1, type: -1 };

/** First i in list whose event time is ≥ us (> us when `after`). Lists hold ascending positions. */
function listBound(list: GrowableUint32, ts: Float64Array, us: number, after: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const t = ts[list.data[mid]!]!;
    if (after ? t <= us : t < us) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function listRange(list: GrowableUint32, ts: Float64Array, f: AnalyticsFilter): { lo: number; hi: number } {
  return {
    lo: f.sinceUs === undefined ? 0 : listBound(list, ts, f.sinceUs, false),
    hi: f.untilUs === undefined ? list.length : listBound(list, ts, f.untilUs, true),
  };
}

function tooMany(count: number, max: number, advice: string): AllSourceError {
  return new AllSourceError(
    'INVALID_QUERY',
    `this request would scan ${count} events, more than ANALYTICS_MAX_SCAN_EVENTS (${max}); ${advice}`,
    { events_to_scan: count, max_scan_events: max },
  );
}

/** Pick the smallest source among the entity's list, the type's list and the global time range. */
function planScan(index: EventIndex, f: AnalyticsFilter, maxScan: number): Scan {
  if (f.sinceUs !== undefined && f.untilUs !== undefined && f.sinceUs > f.untilUs) return EMPTY_SCAN;
  const ts = index.timestampUs;
  let entity = -1;
  let type = -1;
  if (f.entityId !== undefined) {
    const id = index.entities.idOf(f.entityId);
    if (id === undefined) return EMPTY_SCAN;
    entity = id;
  }
  if (f.eventType !== undefined) {
    const id = index.types.idOf(f.eventType);
    if (id === undefined) return EMPTY_SCAN;
    type = id;
  }
  let best: Scan = {
    list: undefined,
    lo: f.sinceUs === undefined ? 0 : index.lowerBound(f.sinceUs),
    hi: f.untilUs === undefined ? index.count : index.upperBound(f.untilUs),
    entity,
    type,
  };
  for (const list of [entity >= 0 ? index.entityPositions[entity] : undefined, type >= 0 ? index.typePositions[type] : undefined]) {
    if (!list) continue;
    const { lo, hi } = listRange(list, ts, f);
    if (hi - lo < best.hi - best.lo) best = { list: list.data, lo, hi, entity, type };
  }
  if (best.hi - best.lo > maxScan) {
    throw tooMany(best.hi - best.lo, maxScan, 'narrow since/until or filter by entity_id or event_type');
  }
  return best;
}

/** Call `fn` for every matching position, in position (= time) order. */
function forEachMatch(index: EventIndex, scan: Scan, fn: (pos: number) => void): void {
  const { list, lo, hi, entity, type } = scan;
  const entityOf = index.entityOf;
  const typeOf = index.typeOf;
  for (let i = lo; i < hi; i++) {
    const pos = list ? list[i]! : i;
    if (entity >= 0 && entityOf[pos] !== entity) continue;
    if (type >= 0 && typeOf[pos] !== type) continue;
    fn(pos);
  }
}

/**
 * Counts per dictionary id: a typed array when the ids seen may be a good part of the
 * dictionary, a Map otherwise (a scan of a few events over millions of entities).
 */
class IdCounter {
  private readonly dense: Uint32Array | undefined;
  private readonly sparse: Map<number, number> | undefined;
  distinct = 0;

  constructor(universe: number, expected: number) {
    if (universe <= expected * 4 + 4096) this.dense = new Uint32Array(universe);
    else this.sparse = new Map();
  }

  inc(id: number): void {
    if (this.dense) {
      const n = this.dense[id]!;
      this.dense[id] = n + 1;
      if (n === 0) this.distinct++;
    } else {
      const n = this.sparse!.get(id);
      if (n === undefined) this.distinct++;
      this.sparse!.set(id, (n ?? 0) + 1);
    }
  }

  /** The `n` largest counts, ties by name (ascending). */
  top(n: number, nameOf: (id: number) => string): Array<{ name: string; count: number }> {
    const top: Array<{ id: number; count: number }> = [];
    const better = (id: number, count: number, than: { id: number; count: number }): boolean =>
      count > than.count || (count === than.count && nameOf(id) < nameOf(than.id));
    const offer = (id: number, count: number): void => {
      if (count === 0) return;
      if (top.length === n && !better(id, count, top[n - 1]!)) return;
      let at = top.length;
      while (at > 0 && better(id, count, top[at - 1]!)) at--;
      top.splice(at, 0, { id, count });
      if (top.length > n) top.pop();
    };
    if (this.dense) this.dense.forEach((count, id) => offer(id, count));
    else for (const [id, count] of this.sparse!) offer(id, count);
    return top.map((t) => ({ name: nameOf(t.id), count: t.count }));
  }
}

// ---------------------------------------------------------------------------------------------
// Frequency
// ---------------------------------------------------------------------------------------------

export interface FrequencyQuery extends AnalyticsFilter {
  window: TimeWindow;
  /** Default end of the range when `untilUs` is not given. */
  nowUs: number;
}

export interface FrequencyBucket {
  startUs: number;
  count: number;
  /** Count per event type; a prototype-less object (event types are data). */
  eventTypes: Record<string, number>;
}

export interface FrequencyResult {
  buckets: FrequencyBucket[];
  totalEvents: number;
  window: TimeWindow;
  fromUs: number;
  toUs: number;
}

function bucketCapError(count: number, max: number, window: TimeWindow): AllSourceError {
  return new AllSourceError(
    'INVALID_QUERY',
    `the range holds ${count} windows of a ${window}, more than ANALYTICS_MAX_BUCKETS (${max}); use a larger window or a narrower since/until`,
    { buckets: count, max_buckets: max },
  );
}

/**
 * Events per UTC window (minute, hour, day, ISO week from Monday, calendar month), gap-filled
 * from the window holding `since` (default: the first matching event) to the window holding
 * `until` (default: now, or the newest event when later).
 */
export function frequency(index: EventIndex, q: FrequencyQuery, limits: AnalyticsLimits): FrequencyResult {
  const newest = index.count > 0 ? index.timestampUs[index.count - 1]! : 0;
  const toUs = q.untilUs ?? Math.max(q.nowUs, newest);
  if (q.sinceUs !== undefined) {
    const n = windowCount(q.sinceUs, toUs, q.window);
    if (n > limits.maxBuckets) throw bucketCapError(n, limits.maxBuckets, q.window);
  }
  const scan = planScan(index, { ...q, untilUs: toUs }, limits.maxScanEvents);

  // Buckets that hold events, in time order (positions are in time order).
  const filled: Array<{ startUs: number; count: number; types: Map<number, number> }> = [];
  let current: { startUs: number; count: number; types: Map<number, number> } | undefined;
  let currentEnd = -Infinity;
  let firstUs: number | undefined;
  let total = 0;
  const ts = index.timestampUs;
  const typeOf = index.typeOf;
  forEachMatch(index, scan, (pos) => {
    const t = ts[pos]!;
    firstUs ??= t;
    if (!current || t >= currentEnd) {
      const startUs = windowStart(t, q.window);
      current = { startUs, count: 0, types: new Map() };
      currentEnd = nextWindowStart(startUs, q.window);
      filled.push(current);
    }
    current.count++;
    const type = typeOf[pos]!;
    current.types.set(type, (current.types.get(type) ?? 0) + 1);
    total++;
  });

  const fromUs = q.sinceUs ?? firstUs ?? toUs;
  const n = windowCount(fromUs, toUs, q.window);
  if (n > limits.maxBuckets) throw bucketCapError(n, limits.maxBuckets, q.window);
  const buckets: FrequencyBucket[] = [];
  let next = 0;
  for (let i = 0, start = windowStart(fromUs, q.window); i < n; i++, start = nextWindowStart(start, q.window)) {
    const eventTypes = Object.create(null) as Record<string, number>;
    const data = filled[next];
    if (data && data.startUs === start) {
      next++;
      for (const [type, count] of data.types) eventTypes[index.types.valueOf(type)] = count;
      buckets.push({ startUs: start, count: data.count, eventTypes });
    } else {
      buckets.push({ startUs: start, count: 0, eventTypes });
    }
  }
  return { buckets, totalEvents: total, window: q.window, fromUs, toUs };
}

// ---------------------------------------------------------------------------------------------
// Summary
// ---------------------------------------------------------------------------------------------

export interface SummaryResult {
  totalEvents: number;
  uniqueEntities: number;
  uniqueEventTypes: number;
  /** Since (or the first matching event) to until (or the last one); undefined when nothing matched. */
  range: { fromUs: number; toUs: number } | undefined;
  eventsPerDay: number;
  topEventTypes: Array<{ name: string; count: number; percentage: number }>;
  topEntities: Array<{ name: string; count: number; percentage: number }>;
  firstUs: number | undefined;
  lastUs: number | undefined;
}

/**
 * Totals over the matching events: true distinct counts of entities and event types, the ten
 * largest of each (ties by name), percentages of the total (2 decimals), and events per day
 * over the range (at least one day, so a burst does not read as millions a day).
 */
export function summary(index: EventIndex, f: AnalyticsFilter, limits: AnalyticsLimits): SummaryResult {
  const scan = planScan(index, f, limits.maxScanEvents);
  const expected = scan.hi - scan.lo;
  const entities = new IdCounter(index.entities.size, expected);
  const types = new IdCounter(index.types.size, expected);
  let firstUs: number | undefined;
  let lastUs: number | undefined;
  let total = 0;
  const ts = index.timestampUs;
  const entityOf = index.entityOf;
  const typeOf = index.typeOf;
  forEachMatch(index, scan, (pos) => {
    firstUs ??= ts[pos]!;
    lastUs = ts[pos]!;
    entities.inc(entityOf[pos]!);
    types.inc(typeOf[pos]!);
    total++;
  });
  const pct = (count: number): number => round2((count * 100) / total);
  let range: SummaryResult['range'];
  let eventsPerDay = 0;
  if (firstUs !== undefined && lastUs !== undefined) {
    range = { fromUs: f.sinceUs ?? firstUs, toUs: f.untilUs ?? lastUs };
    eventsPerDay = round2(total / Math.max(1, (range.toUs - range.fromUs) / DAY_US));
  }
  return {
    totalEvents: total,
    uniqueEntities: entities.distinct,
    uniqueEventTypes: types.distinct,
    range,
    eventsPerDay,
    topEventTypes: types.top(TOP_N, (id) => index.types.valueOf(id)).map((t) => ({ ...t, percentage: pct(t.count) })),
    topEntities: entities.top(TOP_N, (id) => index.entities.valueOf(id)).map((t) => ({ ...t, percentage: pct(t.count) })),
    firstUs,
    lastUs,
  };
}

// ---------------------------------------------------------------------------------------------
// Correlation
// ---------------------------------------------------------------------------------------------

export interface CorrelationQuery {
  typeA: string;
  typeB: string;
  windowUs: number;
  sinceUs?: number | undefined;
  untilUs?: number | undefined;
}

export interface CorrelationPair {
  entityId: string;
  aPos: number;
  bPos: number;
  aUs: number;
  bUs: number;
}

export interface CorrelationResult {
  totalA: number;
  totalB: number;
  correlatedPairs: number;
  /** correlatedPairs / totalA × 100, 2 decimals; 0 when there is no A. */
  percentage: number;
  /** Mean B − A time of the pairs in seconds (µs precision); undefined when there is none. */
  avgSeconds: number | undefined;
  /** The first pairs found, in the order their B events occurred (then A order). */
  examples: CorrelationPair[];
}

export const MAX_CORRELATION_EXAMPLES = 10;

/**
 * Per entity, an A event is correlated when the first B event of the same entity after it (in
 * ingest order) comes at most `windowUs` later. Each A counts at most once; one B can close
 * several earlier As. Only events within since/until count, As and Bs alike. When A and B are
 * the same type, an event closes the pending As before it and then waits as an A itself.
 */
export function correlation(index: EventIndex, q: CorrelationQuery, limits: AnalyticsLimits): CorrelationResult {
  const result: CorrelationResult = { totalA: 0, totalB: 0, correlatedPairs: 0, percentage: 0, avgSeconds: undefined, examples: [] };
  if (q.sinceUs !== undefined && q.untilUs !== undefined && q.sinceUs > q.untilUs) return result;
  const ts = index.timestampUs;
  const range = (name: string): { list: Uint32Array; lo: number; hi: number } | undefined => {
    const list = index.positionsOfType(name);
    return list ? { list: list.data, ...listRange(list, ts, q) } : undefined;
  };
  const a = range(q.typeA);
  const b = q.typeB === q.typeA ? a : range(q.typeB);
  result.totalA = a ? a.hi - a.lo : 0;
  result.totalB = b ? b.hi - b.lo : 0;
  const toScan = a === b ? result.totalA : result.totalA + result.totalB;
  if (toScan > limits.maxScanEvents) throw tooMany(toScan, limits.maxScanEvents, 'narrow since/until');
  if (!a || !b) return result;

  const pending = new Map<number, number[]>();
  const entityOf = index.entityOf;
  let sumUs = 0;
  const closeWith = (bPos: number): void => {
    const entity = entityOf[bPos]!;
    const waiting = pending.get(entity);
    if (!waiting) return;
    pending.delete(entity);
    const bUs = ts[bPos]!;
    for (const aPos of waiting) {
      const aUs = ts[aPos]!;
      if (bUs - aUs > q.windowUs) continue;
      result.correlatedPairs++;
      sumUs += bUs - aUs;
      if (result.examples.length < MAX_CORRELATION_EXAMPLES) {
        result.examples.push({ entityId: index.entities.valueOf(entity), aPos, bPos, aUs, bUs });
      }
    }
  };
  const wait = (aPos: number): void => {
    const entity = entityOf[aPos]!;
    const waiting = pending.get(entity);
    if (waiting) waiting.push(aPos);
    else pending.set(entity, [aPos]);
  };

  // Merge the two position lists in position order.
  let i = a.lo;
  let j = b.lo;
  while (i < a.hi || j < b.hi) {
    const pa = i < a.hi ? a.list[i]! : Infinity;
    const pb = j < b.hi ? b.list[j]! : Infinity;
    if (pb <= pa) {
      closeWith(pb);
      j++;
      if (pb === pa) {
        // Same list (A = B): the event also waits as an A.
        wait(pa);
        i++;
      }
    } else {
      wait(pa);
      i++;
    }
  }
  if (result.totalA > 0) result.percentage = round2((result.correlatedPairs * 100) / result.totalA);
  if (result.correlatedPairs > 0) result.avgSeconds = Math.round(sumUs / result.correlatedPairs) / 1e6;
  return result;
}
