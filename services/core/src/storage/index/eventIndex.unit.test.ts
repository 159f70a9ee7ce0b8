import { randomUUID } from 'node:crypto';
import { EventIndex, IN_BUFFER, type IndexEntry } from './eventIndex';
import { Dictionary, GrowableUint32, ensureCapacity } from './growable';
import { IdTable } from './idTable';
import { mulberry32 } from '../../testing/random';


/** A v4-shaped UUID from the seeded generator, so failures reproduce. */
function seededUuid(rand: () => number): string {
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(rand() * 4)]}${hex(3)}-${hex(12)}`;
}

interface Built {
  index: EventIndex;
  entries: IndexEntry[];
}

/** Events over a few entities/types/tenants, non-decreasing timestamps with ties. */
function build(count: number, seed: number, shape = { entities: 50, types: 8, tenants: 3 }): Built {
  const rand = mulberry32(seed);
  const index = new EventIndex();
  const entries: IndexEntry[] = [];
  let ts = 1_700_000_000_000_000;
  for (let i = 0; i < count; i++) {
    if (rand() < 0.7) ts += Math.floor(rand() * 5000);
    const entry: IndexEntry = {
      id: seededUuid(rand),
      entityId: `entity-${Math.floor(rand() * shape.entities)}`,
      eventType: `type.t${Math.floor(rand() * shape.types)}`,
      tenantId: `tenant-${Math.floor(rand() * shape.tenants)}`,
      timestampUs: ts,
    };
    entries.push(entry);
    const pos = index.add(entry, IN_BUFFER, i);
    if (pos !== i) throw new Error(`add returned ${pos} for the event number ${i}`);
  }
  return { index, entries };
}

const listOf = (g: GrowableUint32 | undefined): number[] => (g ? Array.from(g.data.subarray(0, g.length)) : []);

describe('EventIndex', () => {
  it('starts empty', async () => {
    const index = new EventIndex();
    expect(index.count).toBe(0);
    expect(index.versionOf('nobody')).toBe(0);
    expect(index.positionsOfEntity('nobody')).toBeUndefined();
    expect(index.positionsOfType('nothing')).toBeUndefined();
    expect(index.lowerBound(0)).toBe(0);
    expect(index.upperBound(0)).toBe(0);
    await expect(index.idCandidates(randomUUID())).resolves.toEqual([]);
  });

  it('keeps every column, per-entity and per-type list right across many events', () => {
    const { index, entries } = build(5000, 1);
    expect(index.count).toBe(entries.length);
    const byEntity = new Map<string, number[]>();
    const byType = new Map<string, number[]>();
    const columns = entries.map((_, pos) => ({
      timestampUs: index.timestampUs[pos],
      entityId: index.entities.valueOf(index.entityOf[pos]!),
      eventType: index.types.valueOf(index.typeOf[pos]!),
      tenantId: index.tenants.valueOf(index.tenantOf[pos]!),
      segment: index.segmentOf[pos],
      row: index.rowOf[pos],
    }));
    expect(columns).toEqual(entries.map((e, pos) => ({ timestampUs: e.timestampUs, entityId: e.entityId, eventType: e.eventType, tenantId: e.tenantId, segment: IN_BUFFER, row: pos })));
    entries.forEach((e, pos) => {
      const ofEntity = byEntity.get(e.entityId) ?? [];
      ofEntity.push(pos);
      byEntity.set(e.entityId, ofEntity);
      const ofType = byType.get(e.eventType) ?? [];
      ofType.push(pos);
      byType.set(e.eventType, ofType);
    });
    expect(index.entities.size).toBe(byEntity.size);
    expect(index.types.size).toBe(byType.size);
    expect(index.tenants.size).toBe(new Set(entries.map((e) => e.tenantId)).size);
    for (const [entity, positions] of byEntity) {
      expect(listOf(index.positionsOfEntity(entity))).toEqual(positions);
      expect(index.versionOf(entity)).toBe(positions.length);
    }
    for (const [type, positions] of byType) expect(listOf(index.positionsOfType(type))).toEqual(positions);
    expect(index.positionsOfEntity('entity-unknown')).toBeUndefined();
    expect(index.positionsOfType('type.unknown')).toBeUndefined();
    expect(index.versionOf('entity-unknown')).toBe(0);
  });

  it('gives each event its version: its rank within its entity, from 1', () => {
    const { index, entries } = build(3000, 2, { entities: 40, types: 3, tenants: 1 });
    const seen = new Map<string, number>();
    const expected = entries.map((e) => {
      const version = (seen.get(e.entityId) ?? 0) + 1;
      seen.set(e.entityId, version);
      return version;
    });
    expect(entries.map((_, pos) => index.versionAt(pos))).toEqual(expected);
  });

  it('treats entity ids, types and tenants as exact strings', () => {
    const index = new EventIndex();
    const ids = ['a', 'A', 'a ', ' a', 'é', 'e\u0301', '😀', '0', 'constructor', '__proto__'];
    ids.forEach((entityId, i) => index.add({ id: randomUUID(), entityId, eventType: 'x', tenantId: 'default', timestampUs: i }, IN_BUFFER, i));
    ids.forEach((entityId, i) => {
      expect(listOf(index.positionsOfEntity(entityId))).toEqual([i]);
      expect(index.versionOf(entityId)).toBe(1);
    });
    expect(index.versionOf('toString')).toBe(0);
    expect(index.positionsOfType('__proto__')).toBeUndefined();
  });

  it('finds lower and upper bounds with runs of equal timestamps', () => {
    const index = new EventIndex();
    const stamps = [10, 10, 10, 20, 30, 30, 40, 40, 40, 40, 50];
    stamps.forEach((timestampUs, i) => index.add({ id: randomUUID(), entityId: 'e', eventType: 't', tenantId: 'default', timestampUs }, IN_BUFFER, i));
    const lower = (us: number): number => stamps.findIndex((t) => t >= us) === -1 ? stamps.length : stamps.findIndex((t) => t >= us);
    const upper = (us: number): number => stamps.findIndex((t) => t > us) === -1 ? stamps.length : stamps.findIndex((t) => t > us);
    for (let us = 0; us <= 60; us++) {
      expect(index.lowerBound(us)).toBe(lower(us));
      expect(index.upperBound(us)).toBe(upper(us));
    }
    expect(index.lowerBound(10)).toBe(0);
    expect(index.upperBound(10)).toBe(3);
    expect(index.lowerBound(40)).toBe(6);
    expect(index.upperBound(40)).toBe(10);
    expect(index.lowerBound(-Infinity)).toBe(0);
    expect(index.upperBound(Infinity)).toBe(stamps.length);
  });

  it('finds bounds that agree with a scan over thousands of events', () => {
    const { index, entries } = build(4000, 3);
    const rand = mulberry32(33);
    const first = entries[0]!.timestampUs;
    const last = entries[entries.length - 1]!.timestampUs;
    const probes = [first - 1, first, last, last + 1, ...entries.slice(0, 200).map((e) => e.timestampUs)];
    for (let i = 0; i < 300; i++) probes.push(first - 10 + Math.floor(rand() * (last - first + 20)));
    for (const us of probes) {
      const lo = entries.findIndex((e) => e.timestampUs >= us);
      const hi = entries.findIndex((e) => e.timestampUs > us);
      expect(index.lowerBound(us)).toBe(lo === -1 ? entries.length : lo);
      expect(index.upperBound(us)).toBe(hi === -1 ? entries.length : hi);
    }
  });

  it('moves an event to a segment row with setLocation, touching nothing else', () => {
    const { index, entries } = build(3000, 4);
    for (let pos = 0; pos < 2000; pos++) index.setLocation(pos, 7 + (pos % 3), pos * 2);
    for (let pos = 0; pos < entries.length; pos++) {
      if (pos < 2000) {
        expect(index.segmentOf[pos]).toBe(7 + (pos % 3));
        expect(index.rowOf[pos]).toBe(pos * 2);
      } else {
        expect(index.segmentOf[pos]).toBe(IN_BUFFER);
        expect(index.rowOf[pos]).toBe(pos);
      }
      expect(index.timestampUs[pos]).toBe(entries[pos]!.timestampUs);
    }
    // A location set before growth survives the columns being reallocated.
    const more = build(0, 0).index;
    more.add({ id: randomUUID(), entityId: 'e', eventType: 't', tenantId: 'x', timestampUs: 1 }, IN_BUFFER, 0);
    more.setLocation(0, 3, 99);
    for (let i = 1; i < 5000; i++) more.add({ id: randomUUID(), entityId: 'e', eventType: 't', tenantId: 'x', timestampUs: 1 + i }, IN_BUFFER, i);
    expect(more.segmentOf[0]).toBe(3);
    expect(more.rowOf[0]).toBe(99);
  });

  it('grows past its initial capacities (50k events) without losing anything', async () => {
    const count = 50_000;
    const { index, entries } = build(count, 5, { entities: 20_000, types: 200, tenants: 70 });
    expect(index.count).toBe(count);
    expect(index.timestampUs.length).toBeGreaterThanOrEqual(count);
    expect(index.entityOf.length).toBeGreaterThanOrEqual(count);
    expect(index.segmentOf.length).toBeGreaterThanOrEqual(count);
    let listed = 0;
    for (const list of index.entityPositions) listed += list.length;
    expect(listed).toBe(count);
    listed = 0;
    for (const list of index.typePositions) listed += list.length;
    expect(listed).toBe(count);
    const versions = new Map<string, number>();
    for (let pos = 0; pos < count; pos++) {
      const e = entries[pos]!;
      if (index.timestampUs[pos] !== e.timestampUs) throw new Error(`timestamp of ${pos}`);
      if (index.entities.valueOf(index.entityOf[pos]!) !== e.entityId) throw new Error(`entity of ${pos}`);
      if (index.types.valueOf(index.typeOf[pos]!) !== e.eventType) throw new Error(`type of ${pos}`);
      if (index.tenants.valueOf(index.tenantOf[pos]!) !== e.tenantId) throw new Error(`tenant of ${pos}`);
      if (index.rowOf[pos] !== pos || index.segmentOf[pos] !== IN_BUFFER) throw new Error(`location of ${pos}`);
      const version = (versions.get(e.entityId) ?? 0) + 1;
      versions.set(e.entityId, version);
      if (index.versionAt(pos) !== version) throw new Error(`version of ${pos}`);
      if (!(await index.idCandidates(e.id)).includes(pos)) throw new Error(`id of ${pos}`);
    }
    for (const [entity, version] of versions) expect(index.versionOf(entity)).toBe(version);
  });

  it('finds events by id', async () => {
    const { index, entries } = build(2000, 6);
    for (const [pos, e] of entries.entries()) expect(await index.idCandidates(e.id)).toContain(pos);
    expect(await index.idCandidates(randomUUID())).toEqual([]);
    expect(await index.idCandidates('not-a-uuid')).toEqual([]);
  });
});

describe('EventIndex column growth', () => {
  /** What every column should hold at a position, from the position alone (and its location). */
  const expected = (pos: number, flushed: Set<number>) => ({
    timestampUs: 1_000_000 + pos,
    entity: pos % 97,
    type: pos % 5,
    tenant: pos % 2,
    segment: flushed.has(pos) ? 7 : IN_BUFFER,
    row: flushed.has(pos) ? pos % 1000 : 0,
  });
  const addEvent = (index: EventIndex, pos: number): void => {
    index.add({ id: randomUUID(), entityId: `e${pos % 97}`, eventType: `t${pos % 5}`, tenantId: `n${pos % 2}`, timestampUs: 1_000_000 + pos }, IN_BUFFER, 0);
  };
  const verify = (index: EventIndex, flushed: Set<number>): void => {
    const entityOf = (pos: number): number => Number(index.entities.valueOf(index.entityOf[pos]!).slice(1));
    const typeOf = (pos: number): number => Number(index.types.valueOf(index.typeOf[pos]!).slice(1));
    const tenantOf = (pos: number): number => Number(index.tenants.valueOf(index.tenantOf[pos]!).slice(1));
    for (let pos = 0; pos < index.count; pos++) {
      const want = expected(pos, flushed);
      if (
        index.timestampUs[pos] !== want.timestampUs ||
        entityOf(pos) !== want.entity ||
        typeOf(pos) !== want.type ||
        tenantOf(pos) !== want.tenant ||
        index.segmentOf[pos] !== want.segment ||
        index.rowOf[pos] !== want.row
      ) {
        const got = { timestampUs: index.timestampUs[pos], entity: entityOf(pos), type: typeOf(pos), tenant: tenantOf(pos), segment: index.segmentOf[pos], row: index.rowOf[pos] };
        throw new Error(`position ${pos} of ${index.count}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      }
    }
  };

  it('grows large columns a slice per add, keeping appends and location updates made meanwhile', () => {
    const index = new EventIndex();
    const flushed = new Set<number>();
    let growths = 0;
    let wasGrowing = false;
    let capacityAtStart = 0;
    for (let pos = 0; pos < 250_000; pos++) {
      if (!wasGrowing) capacityAtStart = index.rowOf.length;
      addEvent(index, pos);
      if (index.growing) {
        // While growing: move events already copied and some not yet copied to a segment.
        for (const at of [pos >> 1, pos - 1, Math.floor(pos * 0.9)]) {
          index.setLocation(at, 7, at % 1000);
          flushed.add(at);
        }
        if (!wasGrowing) {
          growths++;
          verify(index, flushed);
        } else if (pos % 400 === 0) {
          verify(index, flushed); // part way: some positions copied, the columns read still the current ones
        }
      }
      if (wasGrowing && !index.growing) {
        verify(index, flushed); // just swapped in
        // By the slices the adds copied, before the columns were full (not by a copy at once).
        expect(index.count).toBeLessThan(capacityAtStart);
      }
      wasGrowing = index.growing;
    }
    verify(index, flushed);
    // Columns grow by 1.5× from 1,024 slots; from 88,574 on (past 65,536) a growth begins at 15/16
    // full: at 83,039, 124,558 and 186,837 events.
    expect(growths).toBe(3);
  });

  it('finishes a growth under way when asked to make room at once', () => {
    const index = new EventIndex();
    let pos = 0;
    while (!index.growing) addEvent(index, pos++);
    // Some adds into the growth: some positions are copied already (a slice every 64 adds), later ones not yet.
    for (let i = 0; i < 100; i++) addEvent(index, pos++);
    expect(index.growing).toBe(true);
    const flushed = new Set([3, pos - 2]);
    for (const at of flushed) index.setLocation(at, 7, at % 1000);
    index.reserve(index.count + 1_000_000);
    expect(index.growing).toBe(false);
    expect(index.rowOf.length).toBeGreaterThanOrEqual(index.count + 1_000_000);
    verify(index, flushed);
    // Appends go on in the new columns.
    for (let i = 0; i < 1000; i++) addEvent(index, pos++);
    verify(index, flushed);
  });
});

describe('IdTable', () => {
  it('finds 100k random UUIDs and nothing for unknown ones', () => {
    const table = new IdTable();
    const ids: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const id = randomUUID();
      ids.push(id);
      table.add(id, i);
    }
    expect(table.size).toBe(100_000);
    for (let i = 0; i < ids.length; i++) {
      const found = table.candidates(ids[i]!);
      if (!found.includes(i)) throw new Error(`id ${ids[i]} at ${i} not found: ${JSON.stringify(found)}`);
      // A 64-bit key collision among 100k random ids is vanishingly unlikely.
      if (found.length !== 1) throw new Error(`id ${ids[i]} has candidates ${JSON.stringify(found)}`);
    }
    const known = new Set(ids);
    let probes = 0;
    for (let i = 0; i < 20_000; i++) {
      const id = randomUUID();
      if (known.has(id)) continue;
      expect(table.candidates(id)).toEqual([]);
      probes++;
    }
    expect(probes).toBeGreaterThan(19_000);
  });

  it('grows a few slots per add: every id is found exactly once before, during and after each growth', () => {
    const table = new IdTable(16);
    const ids: string[] = [];
    let growths = 0;
    let wasGrowing = false;
    const check = (): void => {
      for (let i = 0; i < ids.length; i++) {
        const found = table.candidates(ids[i]!);
        if (found.length !== 1 || found[0] !== i) throw new Error(`id ${i} of ${ids.length}: candidates ${JSON.stringify(found)}`);
      }
    };
    for (let i = 0; i < 50_000; i++) {
      const id = randomUUID();
      ids.push(id);
      table.add(id, i);
      if (table.growing && !wasGrowing) {
        growths++;
        check(); // right after a growth started: nothing moved yet
      }
      if (table.growing && i % 97 === 0) check(); // part way through moving
      wasGrowing = table.growing;
    }
    check();
    // From 16 slots to 128K (64K hold at most 49,152 ids at 75% load): 13 growths.
    expect(growths).toBe(13);
    expect(table.size).toBe(50_000);
  });

  it('finishes a growth under way before reserving, and then holds the reserved ids without growing', () => {
    const table = new IdTable(1024);
    const ids = Array.from({ length: 800 }, () => randomUUID());
    ids.forEach((id, i) => table.add(id, i));
    expect(table.growing).toBe(true);
    table.reserve(100_000);
    expect(table.growing).toBe(false);
    for (let i = 800; i < 100_000; i++) {
      const id = randomUUID();
      ids.push(id);
      table.add(id, i);
      if (table.growing) throw new Error(`grew at ${i} after reserving room for 100,000`);
    }
    ids.forEach((id, i) => expect(table.candidates(id)).toEqual([i]));
  });

  it('gives no candidates for strings that are not UUIDs, and ignores them when added', () => {
    const table = new IdTable(16);
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    table.add(id, 5);
    const notUuids = [
      '',
      'abc',
      '0f8fad5b-d9cb-469f-a165-70867728950',
      '0f8fad5b-d9cb-469f-a165-70867728950e0',
      '0f8fad5bd9cb469fa16570867728950e',
      '0f8fad5b-d9cb-469f-a165-70867728950g',
      '0f8fad5b_d9cb_469f_a165_70867728950e',
      ' 0f8fad5b-d9cb-469f-a165-70867728950',
      '{f8fad5b-d9cb-469f-a165-70867728950e}',
      '0f8fad5b-d9cb-469f-a165-70867728950e\n',
    ];
    for (const s of notUuids) expect(table.candidates(s)).toEqual([]);
    for (const [i, s] of notUuids.entries()) table.add(s, 100 + i);
    expect(table.size).toBe(1);
    expect(table.candidates(id)).toEqual([5]);
    // Case does not matter to the key: the caller compares the full id of what it reads.
    expect(table.candidates(id.toUpperCase())).toEqual([5]);
  });

  it('returns every position sharing a 64-bit key, so the caller can compare full ids', () => {
    const table = new IdTable(16);
    // Same first 8 hex digits and same 8 hex digits at 19-22 and 24-27: the same key.
    const a = '12345678-aaaa-4aaa-8bcd-ef0011111111';
    const b = '12345678-bbbb-4bbb-8bcd-ef0022222222';
    const c = '12345678-cccc-4ccc-9bcd-ef0011111111'; // differs in the variant digit: another key
    table.add(a, 0);
    table.add(b, 1);
    table.add(c, 2);
    expect(table.candidates(a).sort()).toEqual([0, 1]);
    expect(table.candidates(b).sort()).toEqual([0, 1]);
    expect(table.candidates(c)).toEqual([2]);
  });

  it('keeps everything through growth from a tiny capacity, including adversarial keys', () => {
    const rand = mulberry32(77);
    const table = new IdTable(1);
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) {
      // Half the ids share their first 8 hex digits, the rest are random.
      const id = seededUuid(rand);
      ids.push(i % 2 === 0 ? `00000000${id.slice(8)}` : id);
      table.add(ids[i]!, i);
    }
    expect(table.size).toBe(ids.length);
    ids.forEach((id, i) => expect(table.candidates(id)).toContain(i));
    expect(table.candidates('ffffffff-ffff-4fff-bfff-ffffffffffff')).toEqual([]);
  });
});

describe('growable helpers', () => {
  it('GrowableUint32 grows from any capacity, keeps order and truncates', () => {
    for (const initial of [0, 1, 2, 4, 100]) {
      const g = new GrowableUint32(initial);
      for (let i = 0; i < 1000; i++) g.push(i * 3);
      expect(g.length).toBe(1000);
      expect(g.last()).toBe(999 * 3);
      expect(listOf(g)).toEqual(Array.from({ length: 1000 }, (_, i) => i * 3));
      g.truncate(10);
      expect(g.length).toBe(10);
      g.truncate(50); // never lengthens
      expect(g.length).toBe(10);
      g.push(7);
      expect(listOf(g)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 7]);
    }
  });

  it('GrowableUint32 past 65,536 slots grows a slice per push: every element readable throughout, truncation mid-growth kept', () => {
    const g = new GrowableUint32(4);
    const check = (upTo: number): void => {
      const data = g.data;
      for (let i = 0; i < upTo; i++) if (data[i] !== i * 7) throw new Error(`element ${i} of ${g.length}: ${data[i]}`);
    };
    let growths = 0;
    let wasGrowing = false;
    let truncatedOnce = false;
    let capacityAtStart = 0;
    for (let i = 0; g.length < 400_000; i++) {
      if (!wasGrowing) capacityAtStart = g.data.length;
      g.push(g.length * 7);
      if (g.growing && !wasGrowing) growths++;
      if (g.growing && g.length % 300 === 0) {
        check(g.length); // part way: the array read is still the complete current one
        if (!truncatedOnce) {
          // Roll back some elements mid-growth (recovery does this); pushes go on from there.
          truncatedOnce = true;
          g.truncate(g.length - 500);
        }
      }
      if (wasGrowing && !g.growing) {
        check(g.length); // just swapped in
        expect(g.length).toBeLessThan(capacityAtStart); // by the pushes' slices, before the array was full
      }
      wasGrowing = g.growing;
    }
    check(g.length);
    expect(truncatedOnce).toBe(true);
    // From 4 slots by 1.5×, lists past 65,536 slots start growing at 15/16 full: at 66,693,
    // 100,040, 150,060, 225,090 and 337,635 elements.
    expect(growths).toBe(5);
  });

  it('ensureCapacity keeps the array when it is big enough, else copies into a larger one of the same type', () => {
    const small = new Float64Array([1.5, 2.5]);
    expect(ensureCapacity(small, 2)).toBe(small);
    const grown = ensureCapacity(small, 3);
    expect(grown).toBeInstanceOf(Float64Array);
    expect(grown.length).toBeGreaterThanOrEqual(3);
    expect(Array.from(grown.subarray(0, 2))).toEqual([1.5, 2.5]);
    const ints = ensureCapacity(new Int32Array([-1, -2]), 5000);
    expect(ints).toBeInstanceOf(Int32Array);
    expect(ints.length).toBeGreaterThanOrEqual(5000);
    expect(Array.from(ints.subarray(0, 2))).toEqual([-1, -2]);
  });

  it('Dictionary interns strings to dense ids', () => {
    const d = new Dictionary();
    expect(d.intern('a')).toBe(0);
    expect(d.intern('b')).toBe(1);
    expect(d.intern('a')).toBe(0);
    expect(d.intern('__proto__')).toBe(2);
    expect(d.size).toBe(3);
    expect(d.idOf('b')).toBe(1);
    expect(d.idOf('c')).toBeUndefined();
    expect(d.idOf('constructor')).toBeUndefined();
    expect(d.valueOf(2)).toBe('__proto__');
  });
});
