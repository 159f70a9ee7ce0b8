/**
 * The analytics engine over an index built by hand, so every timestamp is known and every number
 * below is exact.
 */
import { randomUUID } from 'node:crypto';
import { isAllSourceError } from '@allsource/errors';
import { formatTimestamp, parseTimestamp } from '../events/timestamps';
import { EventIndex, IN_BUFFER } from '../storage/index/eventIndex';
import { correlation, frequency, summary, type AnalyticsLimits, type FrequencyResult } from './analyticsEngine';

const us = (text: string): number => {
  const v = parseTimestamp(text);
  if (v === undefined) throw new Error(`bad timestamp ${text}`);
  return v;
};

type Row = [entity: string, type: string, at: string | number];

/** An index of the rows, in time order (as the store keeps it). */
function indexOf(rows: Row[]): EventIndex {
  const index = new EventIndex();
  const sorted = rows.map((r) => ({ r, t: typeof r[2] === 'number' ? r[2] : us(r[2]) })).sort((a, b) => a.t - b.t);
  sorted.forEach(({ r, t }, i) => index.add({ id: randomUUID(), entityId: r[0], eventType: r[1], tenantId: 'default', timestampUs: t }, IN_BUFFER, i));
  return index;
}

const LIMITS: AnalyticsLimits = { maxScanEvents: 1_000_000, maxBuckets: 10_000 };

function expectInvalidQuery(run: () => unknown, text: string): void {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(isAllSourceError(caught) && caught.code === 'INVALID_QUERY').toBe(true);
  expect((caught as Error).message).toContain(text);
}

/** Buckets as [timestamp, count, event_types] for compact expectations. */
const rowsOf = (r: FrequencyResult): Array<[string, number, Record<string, number>]> =>
  r.buckets.map((b) => [formatTimestamp(b.startUs), b.count, { ...b.eventTypes }]);

describe('frequency', () => {
  const index = indexOf([
    ['e1', 'user.created', '2026-03-02T10:15:30Z'], // a Monday
    ['e1', 'user.updated', '2026-03-02T10:15:45Z'],
    ['e2', 'user.created', '2026-03-02T10:17:00Z'],
    ['e1', 'user.updated', '2026-03-02T12:00:00Z'],
    ['e3', 'order.placed', '2026-03-04T00:00:00Z'],
    ['e2', 'user.updated', '2026-03-09T08:00:00Z'], // next Monday
    ['e3', 'order.placed', '2026-04-01T00:00:00Z'],
  ]);
  const now = us('2026-05-15T00:00:00Z');

  it('counts per minute, gap-filled between since and until', () => {
    const r = frequency(index, { window: 'minute', sinceUs: us('2026-03-02T10:15:00Z'), untilUs: us('2026-03-02T10:18:59Z'), nowUs: now }, LIMITS);
    expect(rowsOf(r)).toEqual([
      ['2026-03-02T10:15:00.000000Z', 2, { 'user.created': 1, 'user.updated': 1 }],
      ['2026-03-02T10:16:00.000000Z', 0, {}],
      ['2026-03-02T10:17:00.000000Z', 1, { 'user.created': 1 }],
      ['2026-03-02T10:18:00.000000Z', 0, {}],
    ]);
    expect(r.totalEvents).toBe(3);
    expect([formatTimestamp(r.fromUs), formatTimestamp(r.toUs)]).toEqual(['2026-03-02T10:15:00.000000Z', '2026-03-02T10:18:59.000000Z']);
  });

  it('counts per hour and per day, since defaulting to the first matching event', () => {
    const hours = frequency(index, { window: 'hour', untilUs: us('2026-03-02T12:30:00Z'), nowUs: now }, LIMITS);
    expect(rowsOf(hours).map(([t, n]) => [t, n])).toEqual([
      ['2026-03-02T10:00:00.000000Z', 3],
      ['2026-03-02T11:00:00.000000Z', 0],
      ['2026-03-02T12:00:00.000000Z', 1],
    ]);
    expect(formatTimestamp(hours.fromUs)).toBe('2026-03-02T10:15:30.000000Z');

    const days = frequency(index, { window: 'day', untilUs: us('2026-03-04T23:59:59Z'), nowUs: now }, LIMITS);
    expect(rowsOf(days)).toEqual([
      ['2026-03-02T00:00:00.000000Z', 4, { 'user.created': 2, 'user.updated': 2 }],
      ['2026-03-03T00:00:00.000000Z', 0, {}],
      ['2026-03-04T00:00:00.000000Z', 1, { 'order.placed': 1 }],
    ]);
  });

  it('uses ISO weeks from Monday and calendar months, until defaulting to now', () => {
    const weeks = frequency(index, { window: 'week', sinceUs: us('2026-03-01T00:00:00Z'), untilUs: us('2026-03-10T00:00:00Z'), nowUs: now }, LIMITS);
    expect(rowsOf(weeks).map(([t, n]) => [t, n])).toEqual([
      ['2026-02-23T00:00:00.000000Z', 0],
      ['2026-03-02T00:00:00.000000Z', 5],
      ['2026-03-09T00:00:00.000000Z', 1],
    ]);
    const months = frequency(index, { window: 'month', nowUs: now }, LIMITS);
    expect(rowsOf(months)).toEqual([
      ['2026-03-01T00:00:00.000000Z', 6, { 'user.created': 2, 'user.updated': 3, 'order.placed': 1 }],
      ['2026-04-01T00:00:00.000000Z', 1, { 'order.placed': 1 }],
      ['2026-05-01T00:00:00.000000Z', 0, {}],
    ]);
    expect(months.totalEvents).toBe(7);
    expect(months.toUs).toBe(now);
  });

  it('applies entity and type filters, alone and together', () => {
    const range = { sinceUs: us('2026-03-02T00:00:00Z'), untilUs: us('2026-03-09T23:00:00Z'), nowUs: now };
    const byEntity = frequency(index, { ...range, window: 'day', entityId: 'e1' }, LIMITS);
    expect(byEntity.totalEvents).toBe(3);
    expect(byEntity.buckets).toHaveLength(8);
    expect(byEntity.buckets[0]!.count).toBe(3);
    const byType = frequency(index, { ...range, window: 'week', eventType: 'user.updated' }, LIMITS);
    expect(rowsOf(byType).map(([, n]) => n)).toEqual([2, 1]);
    const both = frequency(index, { ...range, window: 'week', entityId: 'e2', eventType: 'user.updated' }, LIMITS);
    expect(rowsOf(both)).toEqual([
      ['2026-03-02T00:00:00.000000Z', 0, {}],
      ['2026-03-09T00:00:00.000000Z', 1, { 'user.updated': 1 }],
    ]);
    const unknown = frequency(index, { ...range, window: 'week', entityId: 'nobody' }, LIMITS);
    expect(rowsOf(unknown).map(([, n]) => n)).toEqual([0, 0]);
    expect(unknown.totalEvents).toBe(0);
  });

  it('answers one empty bucket when nothing matches and no since is given', () => {
    const r = frequency(index, { window: 'day', eventType: 'nothing.here', nowUs: now }, LIMITS);
    expect(rowsOf(r)).toEqual([['2026-05-15T00:00:00.000000Z', 0, {}]]);
  });

  it('refuses more buckets than the cap and more events to scan than the cap', () => {
    const tight: AnalyticsLimits = { maxScanEvents: 2, maxBuckets: 60 };
    expectInvalidQuery(
      () => frequency(index, { window: 'minute', sinceUs: us('2026-03-02T10:00:00Z'), untilUs: us('2026-03-02T11:00:00Z'), nowUs: now }, tight),
      'ANALYTICS_MAX_BUCKETS',
    );
    // The cap holds also when since comes from the data.
    expectInvalidQuery(() => frequency(index, { window: 'day', nowUs: now }, { maxScanEvents: 100, maxBuckets: 60 }), 'use a larger window');
    expectInvalidQuery(() => frequency(index, { window: 'month', nowUs: now }, tight), 'ANALYTICS_MAX_SCAN_EVENTS');
    // A filter that selects few events is within the scan cap.
    expect(frequency(index, { window: 'month', entityId: 'e2', nowUs: now }, tight).totalEvents).toBe(2);
  });
});

describe('summary', () => {
  // ent-01 … ent-12, ent-k with k events; types by position; two days apart from first to last.
  const rows: Row[] = [];
  const base = us('2026-01-01T00:00:00Z');
  let n = 0;
  for (let k = 1; k <= 12; k++) {
    for (let i = 0; i < k; i++) rows.push([`ent-${String(k).padStart(2, '0')}`, ['a.x', 'b.y', 'c.z'][n++ % 3]!, base + n * 1_000_000]);
  }
  rows.push(['ent-tie', 'a.x', base + 2 * 86_400_000_000]); // 79 events, last exactly two days after the first... plus 1 s
  const index = indexOf(rows);

  it('gives true unique counts, the top ten with percentages, and the range', () => {
    const r = summary(index, {}, LIMITS);
    expect(r.totalEvents).toBe(79);
    expect(r.uniqueEntities).toBe(13);
    expect(r.uniqueEventTypes).toBe(3);
    expect(r.topEntities).toHaveLength(10);
    expect(r.topEntities[0]).toEqual({ name: 'ent-12', count: 12, percentage: 15.19 });
    expect(r.topEntities[9]).toEqual({ name: 'ent-03', count: 3, percentage: 3.8 });
    expect(r.topEventTypes).toEqual([
      { name: 'a.x', count: 27, percentage: 34.18 },
      { name: 'b.y', count: 26, percentage: 32.91 },
      { name: 'c.z', count: 26, percentage: 32.91 },
    ]);
    expect(formatTimestamp(r.firstUs!)).toBe('2026-01-01T00:00:01.000000Z');
    expect(formatTimestamp(r.lastUs!)).toBe('2026-01-03T00:00:00.000000Z');
    expect(r.range).toEqual({ fromUs: r.firstUs, toUs: r.lastUs });
    // 79 events over 2 days less one second.
    expect(r.eventsPerDay).toBe(Math.round((79 / ((2 * 86_400 - 1) / 86_400)) * 100) / 100);
  });

  it('breaks count ties by name and filters by entity, type and time', () => {
    const ties = summary(index, { sinceUs: base + 1_000_000, untilUs: base + 3_000_000 }, LIMITS);
    // ent-01 (1 event) and ent-02 (2 events) in the first three seconds.
    expect(ties.topEntities.map((t) => t.name)).toEqual(['ent-02', 'ent-01']);
    expect(ties.topEventTypes).toEqual([
      { name: 'a.x', count: 1, percentage: 33.33 },
      { name: 'b.y', count: 1, percentage: 33.33 },
      { name: 'c.z', count: 1, percentage: 33.33 },
    ]);
    // A range shorter than a day counts as one day.
    expect(ties.eventsPerDay).toBe(3);
    expect(ties.range).toEqual({ fromUs: base + 1_000_000, toUs: base + 3_000_000 });

    const one = summary(index, { entityId: 'ent-05', eventType: 'b.y' }, LIMITS);
    expect(one.totalEvents).toBe(2);
    expect([one.uniqueEntities, one.uniqueEventTypes]).toEqual([1, 1]);
    expect(one.topEntities).toEqual([{ name: 'ent-05', count: 2, percentage: 100 }]);

    const none = summary(index, { eventType: 'no.such' }, LIMITS);
    expect(none).toMatchObject({ totalEvents: 0, uniqueEntities: 0, uniqueEventTypes: 0, range: undefined, eventsPerDay: 0, firstUs: undefined });
    expect(none.topEntities).toEqual([]);
  });

  it('refuses to scan more than the cap unless the filters narrow it', () => {
    expectInvalidQuery(() => summary(index, {}, { maxScanEvents: 50, maxBuckets: 10 }), 'would scan 79 events');
    expect(summary(index, { entityId: 'ent-12' }, { maxScanEvents: 50, maxBuckets: 10 }).totalEvents).toBe(12);
  });
});

describe('correlation', () => {
  const t0 = us('2026-02-01T00:00:00Z');
  const s = (seconds: number): number => t0 + seconds * 1_000_000;
  const index = indexOf([
    ['a1', 'cart.added', s(0)],
    ['a1', 'order.placed', s(30)], // pair, 30 s
    ['a1', 'order.placed', s(110)], // nothing pending
    ['a2', 'cart.added', s(0)],
    ['a2', 'order.placed', s(90)], // too late for a 60 s window
    ['a3', 'cart.added', s(10)],
    ['a3', 'cart.added', s(20)],
    ['a3', 'order.placed', s(50)], // closes both: 40 s and 30 s
    ['a4', 'order.placed', s(5)],
    ['a4', 'cart.added', s(6)], // B before A: no pair
    ['a5', 'cart.added', s(100)], // no B of a5
    ['a6', 'cart.added', s(200)],
    ['a6', 'order.placed', s(210)], // pair, 10 s
    ['a6', 'order.placed', s(220)], // the A already counted
    ['x', 'ping', s(0)],
    ['x', 'ping', s(10)],
    ['x', 'ping', s(100)],
  ]);
  const q = { typeA: 'cart.added', typeB: 'order.placed', windowUs: 60_000_000 };

  it('pairs each A with the next B of its entity within the window', () => {
    const r = correlation(index, q, LIMITS);
    expect(r).toMatchObject({ totalA: 7, totalB: 7, correlatedPairs: 4, percentage: 57.14, avgSeconds: 27.5 });
    expect(r.examples.map((p) => [p.entityId, (p.aUs - t0) / 1e6, (p.bUs - t0) / 1e6])).toEqual([
      ['a1', 0, 30],
      ['a3', 10, 50],
      ['a3', 20, 50],
      ['a6', 200, 210],
    ]);
  });

  it('widens and narrows with the window and the time range', () => {
    expect(correlation(index, { ...q, windowUs: 90_000_000 }, LIMITS).correlatedPairs).toBe(5);
    expect(correlation(index, { ...q, windowUs: 0 }, LIMITS)).toMatchObject({ correlatedPairs: 0, avgSeconds: undefined, percentage: 0 });
    const later = correlation(index, { ...q, sinceUs: s(15), untilUs: s(215) }, LIMITS);
    // As from 15 s on: a3@20, a5@100, a6@200; Bs up to 215 s: a1@30, a2@90, a3@50, a1@110, a6@210.
    expect(later).toMatchObject({ totalA: 3, totalB: 5, correlatedPairs: 2, percentage: 66.67, avgSeconds: 20 });
  });

  it('correlates a type with itself: each event closes the one before it', () => {
    const r = correlation(index, { typeA: 'ping', typeB: 'ping', windowUs: 60_000_000 }, LIMITS);
    expect(r).toMatchObject({ totalA: 3, totalB: 3, correlatedPairs: 1, percentage: 33.33, avgSeconds: 10 });
  });

  it('answers zeros for unknown types and refuses scans over the cap', () => {
    expect(correlation(index, { ...q, typeB: 'never.seen' }, LIMITS)).toMatchObject({ totalA: 7, totalB: 0, correlatedPairs: 0, examples: [] });
    expectInvalidQuery(() => correlation(index, q, { maxScanEvents: 13, maxBuckets: 1 }), 'would scan 14 events');
  });

  it('caps the examples at ten', () => {
    const rows: Row[] = [];
    for (let i = 0; i < 25; i++) rows.push([`u${i}`, 'a.a', s(i)], [`u${i}`, 'b.b', s(i + 1)]);
    const r = correlation(indexOf(rows), { typeA: 'a.a', typeB: 'b.b', windowUs: 5_000_000 }, LIMITS);
    expect(r.correlatedPairs).toBe(25);
    expect(r.examples).toHaveLength(10);
    expect(r.percentage).toBe(100);
    expect(r.avgSeconds).toBe(1);
  });
});
