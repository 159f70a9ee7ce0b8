/**
 * The bulk-loading entry points recovery uses (interning from UTF-8 bytes, ids keyed from their
 * bytes, events added by interned numbers into pre-sized columns) must build exactly the index
 * `add` builds from the same events.
 */
import { randomUUID } from 'node:crypto';
import { ByteInterner } from './byteInterner';
import { EventIndex, IN_BUFFER, type IndexEntry } from './eventIndex';
import { Dictionary } from './growable';
import { IdTable, uuidKeyOfUtf8 } from './idTable';
import { mulberry32 } from '../../testing/random';

const utf8 = new TextEncoder();

/** One UTF-8 buffer holding `values` back to back, and their offsets (as an Arrow string column). */
function column(values: string[]): { bytes: Uint8Array; offsets: number[] } {
  const parts = values.map((v) => utf8.encode(v));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  const offsets = [0];
  for (const p of parts) {
    bytes.set(p, offsets[offsets.length - 1]!);
    offsets.push(offsets[offsets.length - 1]! + p.length);
  }
  return { bytes, offsets };
}

describe('ByteInterner', () => {
  it('gives the dictionary id of each value, for values seen before, new, or already in the dictionary', () => {
    const rand = mulberry32(7);
    const dict = new Dictionary();
    dict.intern('already-there');
    const values: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const k = Math.floor(rand() * 3000);
      // Same-length values, a common prefix, non-ASCII text, the empty string, a pre-interned one.
      values.push(k === 0 ? '' : k === 1 ? 'already-there' : k % 7 === 0 ? `ünïcödé-✓-${k}-🎉` : `entity-${String(k).padStart(5, '0')}`);
    }
    const { bytes, offsets } = column(values);
    const interner = new ByteInterner(dict);
    const ids = values.map((_, i) => interner.intern(bytes, offsets[i]!, offsets[i + 1]!));
    const expected = new Dictionary();
    expected.intern('already-there');
    expect(ids).toEqual(values.map((v) => expected.intern(v)));
    expect(dict.values).toEqual(expected.values);
  });

  it('tells apart values whose hashes collide in its table (many values, tiny start)', () => {
    const dict = new Dictionary();
    const interner = new ByteInterner(dict);
    const values = Array.from({ length: 5000 }, (_, i) => `v${i}`);
    const { bytes, offsets } = column([...values, ...values.reverse()]);
    for (let i = 0; i < 10_000; i++) expect(dict.valueOf(interner.intern(bytes, offsets[i]!, offsets[i + 1]!))).toBe(i < 5000 ? `v${i}` : `v${9999 - i}`);
    expect(dict.size).toBe(5000);
  });
});

describe('uuidKeyOfUtf8 and IdTable.addKey', () => {
  it('keys an id from its bytes as add() keys it from its text', () => {
    const fromText = new IdTable();
    const fromBytes = new IdTable(16);
    fromBytes.reserve(10_000);
    const ids = Array.from({ length: 10_000 }, () => randomUUID());
    const { bytes, offsets } = column(ids);
    const key = new Uint32Array(2);
    ids.forEach((id, pos) => {
      fromText.add(id, pos);
      expect(uuidKeyOfUtf8(bytes, offsets[pos]!, key)).toBe(true);
      fromBytes.addKey(key[0]!, key[1]!, pos);
    });
    expect(fromBytes.size).toBe(ids.length);
    ids.forEach((id, pos) => {
      expect(fromBytes.candidates(id)).toContain(pos);
      expect(fromBytes.candidates(id)).toEqual(fromText.candidates(id));
    });
    expect(fromBytes.candidates(randomUUID())).toEqual([]);
  });

  it('refuses bytes that are not UUID text where the key and the dashes are', () => {
    const key = new Uint32Array(2);
    const bad = ['zzzzzzzz-0000-4000-8000-000000000000', '00000000-0000-4000-80z0-000000000000', '00000000_0000-4000-8000-000000000000', '00000000-0000-4000-8000x000000000000'];
    for (const id of bad) expect(uuidKeyOfUtf8(utf8.encode(id), 0, key)).toBe(false);
    expect(uuidKeyOfUtf8(utf8.encode(`xx${'0A1b2C3d-0000-4000-8000-000000000000'}`), 2, key)).toBe(true);
    expect([key[0], key[1]]).toEqual([0x0a1b2c3d, 0x80000000]);
  });
});

describe('EventIndex bulk loading', () => {
  it('addInterned + addIdKey into reserved columns build the same index as add', async () => {
    const rand = mulberry32(11);
    const entries: IndexEntry[] = [];
    let ts = 1_700_000_000_000_000;
    for (let i = 0; i < 30_000; i++) {
      ts += Math.floor(rand() * 3);
      entries.push({
        id: randomUUID(),
        entityId: `entity-${Math.floor(rand() * 700)}`,
        eventType: `type.${Math.floor(rand() * 5)}`,
        tenantId: rand() < 0.5 ? 'default' : 'tenant-ü',
        timestampUs: ts,
        version: rand() < 0.01 ? 1000 + i : 0,
      });
    }
    const viaAdd = new EventIndex();
    entries.forEach((e, i) => viaAdd.add(e, i < 20_000 ? 3 : IN_BUFFER, i));

    const bulk = new EventIndex();
    bulk.reserve(20_000);
    const [entities, types, tenants] = [new ByteInterner(bulk.entities), new ByteInterner(bulk.types), new ByteInterner(bulk.tenants)];
    const cols = {
      entity: column(entries.map((e) => e.entityId)),
      type: column(entries.map((e) => e.eventType)),
      tenant: column(entries.map((e) => e.tenantId)),
      id: column(entries.map((e) => e.id)),
    };
    const key = new Uint32Array(2);
    for (let i = 0; i < 20_000; i++) {
      const at = (c: { bytes: Uint8Array; offsets: number[] }, intern: ByteInterner): number => intern.intern(c.bytes, c.offsets[i]!, c.offsets[i + 1]!);
      const pos = bulk.addInterned(at(cols.entity, entities), at(cols.type, types), at(cols.tenant, tenants), entries[i]!.timestampUs, entries[i]!.version!, 3, i);
      expect(uuidKeyOfUtf8(cols.id.bytes, cols.id.offsets[i]!, key)).toBe(true);
      bulk.addIdKey(key[0]!, key[1]!, pos);
    }
    // Past the reserved size, mixed with the general entry point (as the WAL tail is).
    for (let i = 20_000; i < entries.length; i++) bulk.add(entries[i]!, IN_BUFFER, i);

    expect(bulk.count).toBe(viaAdd.count);
    const n = viaAdd.count;
    for (const c of ['timestampUs', 'entityOf', 'typeOf', 'tenantOf', 'segmentOf', 'rowOf'] as const) {
      expect(Array.from(bulk[c].subarray(0, n))).toEqual(Array.from(viaAdd[c].subarray(0, n)));
    }
    expect(bulk.entities.values).toEqual(viaAdd.entities.values);
    expect(bulk.types.values).toEqual(viaAdd.types.values);
    expect(bulk.tenants.values).toEqual(viaAdd.tenants.values);
    for (const entity of viaAdd.entities.values) {
      const a = viaAdd.positionsOfEntity(entity)!;
      const b = bulk.positionsOfEntity(entity)!;
      expect(Array.from(b.data.subarray(0, b.length))).toEqual(Array.from(a.data.subarray(0, a.length)));
      expect(bulk.lastVersionOf(entity)).toBe(viaAdd.lastVersionOf(entity));
    }
    for (const t of viaAdd.types.values) expect(bulk.positionsOfType(t)!.length).toBe(viaAdd.positionsOfType(t)!.length);
    for (const [pos, e] of entries.entries()) expect(await bulk.idCandidates(e.id)).toContain(pos);
  });
});
