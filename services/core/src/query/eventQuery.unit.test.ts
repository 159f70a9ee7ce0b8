import { randomUUID } from 'node:crypto';
import { EventIndex, IN_BUFFER, type IndexEntry } from '../storage/index/eventIndex';
import { queryTypeOf, selectPositions, type EventQuery } from './eventQuery';
import { mulberry32 } from '../testing/random';


const T0 = 1_700_000_000_000_000;

interface Fixture {
  index: EventIndex;
  entries: IndexEntry[];
  entities: string[];
  types: string[];
  tenants: string[];
}

/**
 * Random events over skewed entities/types/tenants. Timestamps never decrease; about half the
 * events share their timestamp with the one before, so ties are common.
 */
function buildFixture(count: number, seed: number): Fixture {
  const rand = mulberry32(seed);
  const entities = Array.from({ length: 60 }, (_, i) => `entity-${i}`);
  const types = Array.from({ length: 12 }, (_, i) => `type.t${i}`);
  const tenants = ['default', 'acme', 'globex', 'initech'];
  const skewed = <T>(values: T[]): T => values[Math.floor(rand() ** 2 * values.length)]!;
  const index = new EventIndex();
  const entries: IndexEntry[] = [];
  let ts = T0;
  for (let i = 0; i < count; i++) {
    if (rand() < 0.5) ts += 1 + Math.floor(rand() * 20);
    const entry: IndexEntry = {
      id: randomUUID(),
      entityId: skewed(entities),
      eventType: skewed(types),
      tenantId: skewed(tenants),
      timestampUs: ts,
    };
    entries.push(entry);
    index.add(entry, IN_BUFFER, i);
  }
  return { index, entries, entities, types, tenants };
}

/** The reference: filter every position, order, then offset and limit. */
function bruteForce(entries: IndexEntry[], q: EventQuery): number[] {
  const matching: number[] = [];
  entries.forEach((e, pos) => {
    if (q.entityId !== undefined && e.entityId !== q.entityId) return;
    if (q.eventType !== undefined && e.eventType !== q.eventType) return;
    if (q.tenantId !== undefined && e.tenantId !== q.tenantId) return;
    if (q.sinceUs !== undefined && e.timestampUs < q.sinceUs) return;
    if (q.untilUs !== undefined && e.timestampUs > q.untilUs) return;
    matching.push(pos);
  });
  if (q.order === 'desc') matching.reverse();
  if (q.limit <= 0) return [];
  return matching.slice(Math.max(0, q.offset), Math.max(0, q.offset) + q.limit);
}

describe('selectPositions', () => {
  const fixture = buildFixture(4000, 2024);
  const { index, entries } = fixture;
  const first = entries[0]!.timestampUs;
  const last = entries[entries.length - 1]!.timestampUs;

  it('matches a brute-force filter for thousands of random queries', () => {
    const rand = mulberry32(7);
    const pick = <T>(values: T[]): T => values[Math.floor(rand() * values.length)]!;
    /** A time: often exactly an event's timestamp (to hit ties), sometimes in between or outside. */
    const time = (): number => {
      const r = rand();
      if (r < 0.6) return entries[Math.floor(rand() * entries.length)]!.timestampUs;
      if (r < 0.9) return first - 50 + Math.floor(rand() * (last - first + 100));
      return pick([first - 1, first, last, last + 1, 0, Number.MAX_SAFE_INTEGER]);
    };
    let nonEmpty = 0;
    let tested = 0;
    for (let i = 0; i < 5000; i++) {
      const q: EventQuery = {
        entityId: rand() < 0.4 ? (rand() < 0.05 ? 'entity-unknown' : pick(fixture.entities)) : undefined,
        eventType: rand() < 0.4 ? (rand() < 0.05 ? 'type.unknown' : pick(fixture.types)) : undefined,
        tenantId: rand() < 0.3 ? (rand() < 0.05 ? 'tenant-unknown' : pick(fixture.tenants)) : undefined,
        sinceUs: rand() < 0.4 ? time() : undefined,
        untilUs: rand() < 0.4 ? time() : undefined,
        limit: pick([1, 2, 5, 10, 100, 1000, 10_000]),
        offset: rand() < 0.5 ? 0 : pick([1, 3, 10, 50, 500, 5000]),
        order: rand() < 0.5 ? 'asc' : 'desc',
      };
      const expected = bruteForce(entries, q);
      const actual = selectPositions(index, q);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        // Let jest print the failing query and the difference.
        expect({ q, actual }).toEqual({ q, actual: expected });
      }
      tested++;
      if (expected.length > 0) nonEmpty++;
    }
    expect(tested).toBe(5000);
    // The random queries must exercise real results, not just empty ones.
    expect(nonEmpty).toBeGreaterThan(2000);
  });

  it('keeps a position list per tenant, which a query by tenant alone reads', () => {
    let total = 0;
    for (const tenant of fixture.tenants) {
      const t = index.tenants.idOf(tenant)!;
      const expected = entries.flatMap((e, pos) => (e.tenantId === tenant ? [pos] : []));
      expect(Array.from(index.tenantPositions[t]!.data.subarray(0, index.tenantPositions[t]!.length))).toEqual(expected);
      expect(selectPositions(index, { tenantId: tenant, limit: 10_000, offset: 0, order: 'asc' })).toEqual(expected.slice(0, 10_000));
      total += expected.length;
    }
    expect(total).toBe(entries.length);
  });

  it('matches the reference for every entity, type and tenant over time windows that cut through ties', () => {
    // Windows whose ends sit exactly on a run of equal timestamps.
    const tieStart = entries.findIndex((e, i) => i > 100 && entries[i + 1]?.timestampUs === e.timestampUs && entries[i - 1]!.timestampUs !== e.timestampUs);
    const tieTime = entries[tieStart]!.timestampUs;
    const windows: Array<[number | undefined, number | undefined]> = [
      [undefined, undefined],
      [tieTime, undefined],
      [undefined, tieTime],
      [tieTime, tieTime],
      [tieTime, tieTime + 100],
      [tieTime - 100, tieTime],
      [tieTime + 1, tieTime - 1], // empty: since after until
      [last, last],
      [first, first],
    ];
    for (const [sinceUs, untilUs] of windows) {
      for (const order of ['asc', 'desc'] as const) {
        const base = { sinceUs, untilUs, limit: 100_000, offset: 0, order };
        for (const entityId of fixture.entities) {
          const q = { ...base, entityId };
          expect(selectPositions(index, q)).toEqual(bruteForce(entries, q));
        }
        for (const eventType of fixture.types) {
          const q = { ...base, eventType };
          expect(selectPositions(index, q)).toEqual(bruteForce(entries, q));
          for (const tenantId of fixture.tenants) {
            const withTenant = { ...q, tenantId };
            expect(selectPositions(index, withTenant)).toEqual(bruteForce(entries, withTenant));
          }
        }
        for (const tenantId of fixture.tenants) {
          const q = { ...base, tenantId };
          expect(selectPositions(index, q)).toEqual(bruteForce(entries, q));
        }
        expect(selectPositions(index, base)).toEqual(bruteForce(entries, base));
      }
    }
  });

  it('includes every event of a tie at both inclusive bounds', () => {
    const tieTime = entries.find((e, i) => entries[i + 2]?.timestampUs === e.timestampUs)!.timestampUs;
    const atTie = entries.flatMap((e, pos) => (e.timestampUs === tieTime ? [pos] : []));
    expect(atTie.length).toBeGreaterThanOrEqual(3);
    const q: EventQuery = { sinceUs: tieTime, untilUs: tieTime, limit: 1000, offset: 0, order: 'asc' };
    expect(selectPositions(index, q)).toEqual(atTie);
    // Ties come in ingest order, reversed for desc.
    expect(selectPositions(index, { ...q, order: 'desc' })).toEqual([...atTie].reverse());
  });

  it('pages through the results with offset and limit without gaps or repeats', () => {
    for (const order of ['asc', 'desc'] as const) {
      for (const filter of [{}, { eventType: fixture.types[0] }, { entityId: fixture.entities[0] }, { tenantId: 'acme', sinceUs: first + 100 }]) {
        const all = selectPositions(index, { ...filter, limit: 1_000_000, offset: 0, order });
        expect(all).toEqual(bruteForce(entries, { ...filter, limit: 1_000_000, offset: 0, order }));
        const paged: number[] = [];
        for (let offset = 0; ; offset += 37) {
          const page = selectPositions(index, { ...filter, limit: 37, offset, order });
          paged.push(...page);
          if (page.length < 37) break;
        }
        expect(paged).toEqual(all);
      }
    }
  });

  it('returns nothing for unknown entities, types or tenants, or a zero limit', () => {
    const base: EventQuery = { limit: 100, offset: 0, order: 'asc' };
    expect(selectPositions(index, { ...base, entityId: 'entity-unknown' })).toEqual([]);
    expect(selectPositions(index, { ...base, eventType: 'type.unknown' })).toEqual([]);
    expect(selectPositions(index, { ...base, tenantId: 'tenant-unknown' })).toEqual([]);
    expect(selectPositions(index, { ...base, entityId: 'entity-unknown', eventType: fixture.types[0] })).toEqual([]);
    expect(selectPositions(index, { ...base, limit: 0 })).toEqual([]);
    expect(selectPositions(index, { ...base, sinceUs: last + 1 })).toEqual([]);
    expect(selectPositions(index, { ...base, untilUs: first - 1 })).toEqual([]);
    expect(selectPositions(index, { ...base, offset: entries.length })).toEqual([]);
  });

  it('answers on an empty index', () => {
    const empty = new EventIndex();
    for (const order of ['asc', 'desc'] as const) {
      expect(selectPositions(empty, { limit: 10, offset: 0, order })).toEqual([]);
      expect(selectPositions(empty, { sinceUs: 0, untilUs: T0, limit: 10, offset: 0, order })).toEqual([]);
      expect(selectPositions(empty, { entityId: 'x', limit: 10, offset: 0, order })).toEqual([]);
    }
  });

  it('filters an entity by type and tenant too (every filter applies in every combination)', () => {
    const small = new EventIndex();
    const rows: Array<[string, string, string, number]> = [
      ['e1', 'a', 't1', 10],
      ['e1', 'b', 't1', 10],
      ['e2', 'a', 't2', 20],
      ['e1', 'a', 't2', 20],
      ['e1', 'a', 't1', 30],
    ];
    rows.forEach(([entityId, eventType, tenantId, timestampUs], i) =>
      small.add({ id: randomUUID(), entityId, eventType, tenantId, timestampUs }, IN_BUFFER, i),
    );
    const q = (extra: Partial<EventQuery>): number[] => selectPositions(small, { limit: 10, offset: 0, order: 'asc', ...extra });
    expect(q({ entityId: 'e1', eventType: 'a' })).toEqual([0, 3, 4]);
    expect(q({ entityId: 'e1', eventType: 'a', tenantId: 't1' })).toEqual([0, 4]);
    expect(q({ entityId: 'e1', eventType: 'a', tenantId: 't1', untilUs: 20 })).toEqual([0]);
    expect(q({ eventType: 'a', tenantId: 't2' })).toEqual([2, 3]);
    expect(q({ sinceUs: 20 })).toEqual([2, 3, 4]);
    expect(q({ sinceUs: 10, untilUs: 10, order: 'desc' })).toEqual([1, 0]);
    expect(q({ entityId: 'e2', eventType: 'b' })).toEqual([]);
  });
});

describe('queryTypeOf', () => {
  const base: EventQuery = { limit: 10, offset: 0, order: 'asc' };
  it.each<[Partial<EventQuery>, string]>([
    [{}, 'full_scan'],
    [{ tenantId: 'acme' }, 'full_scan'],
    [{ sinceUs: 1 }, 'time_range'],
    [{ untilUs: 1 }, 'time_range'],
    [{ sinceUs: 0, untilUs: 0, tenantId: 'acme' }, 'time_range'],
    [{ eventType: 'a' }, 'type'],
    [{ eventType: 'a', sinceUs: 1, untilUs: 2 }, 'type'],
    [{ entityId: 'e' }, 'entity'],
    [{ entityId: 'e', eventType: 'a', sinceUs: 1 }, 'entity'],
    [{ entityId: '', eventType: '' }, 'entity'],
  ])('classifies %p as %s', (extra, type) => {
    expect(queryTypeOf({ ...base, ...extra })).toBe(type);
  });
});
