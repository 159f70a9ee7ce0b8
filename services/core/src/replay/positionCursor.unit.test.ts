import { IN_BUFFER, EventIndex } from '../storage/index/eventIndex';
import { PositionCursor, type ReplayFilter } from './positionCursor';

interface Row {
  entityId: string;
  eventType: string;
  timestampUs: number;
}

function indexOf(rows: Row[]): EventIndex {
  const index = new EventIndex();
  for (const r of rows) add(index, r);
  return index;
}

let n = 0;
function add(index: EventIndex, r: Row): void {
  n++;
  index.add({ id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, tenantId: 'default', ...r }, IN_BUFFER, 0);
}

/** Every matching position below `end` via the cursor, in chunks of `max`, scanning at most `scan` per call. */
function drain(cursor: PositionCursor, end: number, max = 3, scan = 5): number[] {
  const out: number[] = [];
  for (let guard = 0; !cursor.reached(end); guard++) {
    if (guard > 10_000) throw new Error('cursor does not progress');
    const chunk = cursor.take(max, end, scan);
    expect(chunk.length).toBeLessThanOrEqual(max);
    out.push(...chunk);
  }
  return out;
}

/** The positions a plain scan finds: the reference. */
function expected(rows: Row[], f: ReplayFilter, end = rows.length): number[] {
  const out: number[] = [];
  rows.slice(0, end).forEach((r, i) => {
    if (f.entityId !== undefined && r.entityId !== f.entityId) return;
    if (f.eventType !== undefined && r.eventType !== f.eventType) return;
    if (f.sinceUs !== undefined && r.timestampUs < f.sinceUs) return;
    if (f.untilUs !== undefined && r.timestampUs > f.untilUs) return;
    out.push(i);
  });
  return out;
}

// 60 events over 3 entities and 3 types; timestamps non-decreasing with ties.
const rows: Row[] = Array.from({ length: 60 }, (_, i) => ({
  entityId: `e${i % 3}`,
  eventType: ['a.x', 'a.y', 'b.z'][Math.floor(i / 2) % 3]!,
  timestampUs: 1000 + Math.floor(i / 4) * 10,
}));

const filters: ReplayFilter[] = [
  {},
  { sinceUs: 1050 },
  { untilUs: 1100 },
  { sinceUs: 1041, untilUs: 1099 },
  { entityId: 'e1' },
  { entityId: 'e1', sinceUs: 1030, untilUs: 1120 },
  { eventType: 'b.z' },
  { eventType: 'a.y', untilUs: 1075 },
  { entityId: 'e2', eventType: 'a.x' },
  { entityId: 'e2', eventType: 'a.x', sinceUs: 1020 },
  { entityId: 'nobody' },
  { eventType: 'no.type' },
  { entityId: 'e0', eventType: 'no.type' },
  { sinceUs: 99_999 },
  { untilUs: 5 },
];

describe('PositionCursor', () => {
  it.each(filters.map((f) => [JSON.stringify(f), f] as const))('finds exactly the matching positions, in order: %s', (_label, f) => {
    const index = indexOf(rows);
    const cursor = new PositionCursor(index, f);
    expect(cursor.countBelow(index.count)).toBe(expected(rows, f).length);
    expect(drain(cursor, index.count)).toEqual(expected(rows, f));
    expect(cursor.pending(index.count)).toBe(0);
  });

  it('stops at `end` and continues as the index grows (entity and type appearing later too)', () => {
    const index = indexOf(rows.slice(0, 30));
    const all: Row[] = [...rows.slice(0, 30)];
    const cursors = filters.map((f) => ({ f, cursor: new PositionCursor(index, f), seen: [] as number[] }));
    for (const c of cursors) c.seen.push(...drain(c.cursor, 20));
    for (const c of cursors) expect(c.seen).toEqual(expected(all, c.f, 20));
    for (const c of cursors) c.seen.push(...drain(c.cursor, index.count));
    // New events, including an entity and a type that did not exist.
    const more: Row[] = [
      ...rows.slice(30),
      { entityId: 'nobody', eventType: 'no.type', timestampUs: 2000 },
      { entityId: 'e0', eventType: 'no.type', timestampUs: 2000 },
      { entityId: 'nobody', eventType: 'a.x', timestampUs: 2010 },
    ];
    for (const r of more) {
      add(index, r);
      all.push(r);
    }
    for (const c of cursors) {
      expect(c.cursor.pending(index.count)).toBeGreaterThanOrEqual(0);
      c.seen.push(...drain(c.cursor, index.count));
      expect(c.seen).toEqual(expected(all, c.f));
    }
  });

  it('bounds the positions examined per call', () => {
    const index = indexOf(rows);
    const cursor = new PositionCursor(index, { eventType: 'b.z', entityId: 'e0' });
    // Matches are sparse: a call scanning at most 2 list entries may return nothing but progresses.
    const first = cursor.take(100, index.count, 2);
    expect(first.length).toBeLessThanOrEqual(2);
    expect(cursor.pending(index.count)).toBe(20 - 2);
  });

  it('matches() applies every filter to an event', () => {
    const cursor = new PositionCursor(new EventIndex(), { entityId: 'e1', eventType: 'a.x', sinceUs: 10, untilUs: 20 });
    const e = { lsn: 1, id: 'x', tenantId: 'default', version: 1, payloadJson: '{}', metadataJson: null };
    expect(cursor.matches({ ...e, entityId: 'e1', eventType: 'a.x', timestampUs: 15 })).toBe(true);
    expect(cursor.matches({ ...e, entityId: 'e2', eventType: 'a.x', timestampUs: 15 })).toBe(false);
    expect(cursor.matches({ ...e, entityId: 'e1', eventType: 'a.y', timestampUs: 15 })).toBe(false);
    expect(cursor.matches({ ...e, entityId: 'e1', eventType: 'a.x', timestampUs: 9 })).toBe(false);
    expect(cursor.matches({ ...e, entityId: 'e1', eventType: 'a.x', timestampUs: 21 })).toBe(false);
  });

  it('skipTo() moves past positions handled elsewhere', () => {
    const index = indexOf(rows);
    for (const f of [{}, { entityId: 'e1' }]) {
      const cursor = new PositionCursor(index, f);
      cursor.skipTo(30);
      expect(drain(cursor, index.count)).toEqual(expected(rows, f).filter((p) => p >= 30));
    }
  });
});
