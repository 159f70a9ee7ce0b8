import { Dictionary, GROWTH_COPY_EVERY, GrowableUint32, ensureCapacity } from './growable';
import { LocalIdIndex, type IdIndex } from './idIndex';

/** Columns below this many slots grow at once (a copy of well under a millisecond). */
const INCREMENTAL_GROWTH_MIN = 1 << 16;
/** Positions copied into growing columns per add, on average (see `EventIndex.stepGrowth`). */
const GROWTH_COPY_PER_ADD = 64;

interface Columns {
  timestampUs: Float64Array<ArrayBuffer>;
  entityOf: Uint32Array<ArrayBuffer>;
  typeOf: Uint32Array<ArrayBuffer>;
  tenantOf: Uint32Array<ArrayBuffer>;
  segmentOf: Int32Array<ArrayBuffer>;
  rowOf: Uint32Array<ArrayBuffer>;
}

/** Where an event's full record lives: the in-memory buffer or a row of a Parquet segment. */
export const IN_BUFFER = -1;

export interface IndexEntry {
  id: string;
  entityId: string;
  eventType: string;
  tenantId: string;
  timestampUs: number;
  /** The event's stored version, when known (it may exceed the entity's count after data was lost). */
  version?: number;
}

/**
 * In-memory index of every stored event, by position (0..count-1, ingest order, which is also
 * timestamp order). Columns are typed arrays; per entity and per event type it keeps the list
 * of positions. It holds no payloads: those are read from the buffer or from segments.
 */
export class EventIndex {
  private _count = 0;
  timestampUs = new Float64Array(1024);
  entityOf = new Uint32Array(1024);
  typeOf = new Uint32Array(1024);
  tenantOf = new Uint32Array(1024);
  /** Segment number, or IN_BUFFER. */
  segmentOf = new Int32Array(1024);
  rowOf = new Uint32Array(1024);

  /**
   * A growth of the columns under way: larger copies filled a slice per add (positions below
   * `copied`), swapped in once they hold every position. See `stepGrowth`.
   */
  private growth: { columns: Columns; copied: number; adds: number } | undefined;

  readonly entities = new Dictionary();
  readonly types = new Dictionary();
  readonly tenants = new Dictionary();
  /** Positions of each entity's events, in order; an entity's version is its list length. */
  readonly entityPositions: GrowableUint32[] = [];
  readonly typePositions: GrowableUint32[] = [];
  /**
   * Positions of each tenant's events: a query by tenant alone reads its own list instead of
   * walking the whole index (~10 ns an event, a second per query at 100M events). 4 bytes an
   * event.
   */
  readonly tenantPositions: GrowableUint32[] = [];
  /** Highest stored version seen per entity (by entity number). */
  private lastVersions = new Float64Array(1024);
  private readonly ids: IdIndex;

  /** `ids`: where event ids are indexed (default: on this thread). */
  constructor(ids: IdIndex = new LocalIdIndex()) {
    this.ids = ids;
  }

  get count(): number {
    return this._count;
  }

  /**
   * Index one event at the next position. `idBytes`/`idOffset`: its id's UUID bytes when the
   * caller has them (new events, binary WAL records), which spares parsing the id text.
   * `entity`: its entity's number when the caller already looked it up (-1: look it up here).
   */
  add(entry: IndexEntry, segment: number, row: number, idBytes?: Uint8Array, idOffset = 0, entity = -1): number {
    const pos = this.addInterned(
      entity >= 0 ? entity : this.entities.intern(entry.entityId),
      this.types.intern(entry.eventType),
      this.tenants.intern(entry.tenantId),
      entry.timestampUs,
      entry.version ?? 0,
      segment,
      row,
    );
    if (idBytes) this.ids.addBytes(idBytes, idOffset, pos);
    else this.ids.add(entry.id, pos);
    // Appends grow the columns a slice at a time; a bulk load (addInterned) reserves up front.
    this.stepGrowth();
    return pos;
  }

  /**
   * Add an event by its already interned entity, type and tenant numbers (from `entities`,
   * `types`, `tenants`); its id, if any, is added with `addIdKey`. For bulk loading (recovery
   * reads segments column by column); `add` is the general entry point.
   */
  addInterned(entity: number, type: number, tenant: number, timestampUs: number, version: number, segment: number, row: number): number {
    const pos = this._count;
    if (pos >= this.rowOf.length) this.reserve(pos + 1);
    if (entity >= this.entityPositions.length) {
      while (entity >= this.entityPositions.length) this.entityPositions.push(new GrowableUint32(2));
      this.lastVersions = ensureCapacity(this.lastVersions, entity + 1);
    }
    while (type >= this.typePositions.length) this.typePositions.push(new GrowableUint32(64));
    while (tenant >= this.tenantPositions.length) this.tenantPositions.push(new GrowableUint32(64));

    this.timestampUs[pos] = timestampUs;
    this.entityOf[pos] = entity;
    this.typeOf[pos] = type;
    this.tenantOf[pos] = tenant;
    this.segmentOf[pos] = segment;
    this.rowOf[pos] = row;
    const positions = this.entityPositions[entity]!;
    positions.push(pos);
    const v = version > positions.length ? version : positions.length;
    if (this.lastVersions[entity]! < v) this.lastVersions[entity] = v;
    this.typePositions[type]!.push(pos);
    this.tenantPositions[tenant]!.push(pos);
    this._count = pos + 1;
    return pos;
  }

  /** Index the event at `pos` under the 64-bit key of its UUID (see `uuidKeyOfUtf8`). */
  addIdKey(hi: number, lo: number, pos: number): void {
    this.ids.addKey(hi, lo, pos);
  }

  /**
   * Make room for `count` events in every column (they always grow together), at once: a growth
   * under way is finished first. Appends rarely get here with no room: columns start growing,
   * a slice per add, once they are 15/16 full (`stepGrowth`).
   */
  reserve(count: number): void {
    if (count <= this.rowOf.length) return;
    this.finishGrowth();
    if (count <= this.rowOf.length) return;
    this.timestampUs = ensureCapacity(this.timestampUs, count);
    this.entityOf = ensureCapacity(this.entityOf, count);
    this.typeOf = ensureCapacity(this.typeOf, count);
    this.tenantOf = ensureCapacity(this.tenantOf, count);
    this.segmentOf = ensureCapacity(this.segmentOf, count);
    this.rowOf = ensureCapacity(this.rowOf, count);
  }

  /** Whether the columns are growing (tests). */
  get growing(): boolean {
    return this.growth !== undefined;
  }

  /**
   * Columns past `INCREMENTAL_GROWTH_MIN` slots grow without stopping the event loop: copying six
   * columns of millions of events at once stalled it (51 ms at 3.4M events, 141 ms at 7.7M).
   * Once 15/16 full, larger columns are allocated and each add copies `GROWTH_COPY_PER_ADD`
   * positions into them; they replace the current ones when they hold every position, before
   * the current ones are full (after ~1.5% of the capacity in adds, against 6.25% left). So late
   * a start keeps the spare capacity close to growing when full. Until then everything reads and
   * appends to the current columns, and `setLocation` writes to both for the positions already
   * copied.
   */
  private stepGrowth(): void {
    const growth = this.growth;
    const count = this._count;
    if (growth === undefined) {
      const capacity = this.rowOf.length;
      if (capacity < INCREMENTAL_GROWTH_MIN || count * 16 < capacity * 15) return;
      const next = Math.ceil(capacity * 1.5);
      this.growth = {
        columns: {
          timestampUs: new Float64Array(next),
          entityOf: new Uint32Array(next),
          typeOf: new Uint32Array(next),
          tenantOf: new Uint32Array(next),
          segmentOf: new Int32Array(next),
          rowOf: new Uint32Array(next),
        },
        copied: 0,
        adds: 0,
      };
      return;
    }
    if (++growth.adds < GROWTH_COPY_EVERY) return;
    growth.adds = 0;
    const end = Math.min(count, growth.copied + GROWTH_COPY_PER_ADD * GROWTH_COPY_EVERY);
    this.copyColumns(growth, end);
    if (end === count) this.swapColumns(growth.columns);
  }

  private finishGrowth(): void {
    const growth = this.growth;
    if (growth === undefined) return;
    this.copyColumns(growth, this._count);
    this.swapColumns(growth.columns);
  }

  private copyColumns(growth: { columns: Columns; copied: number }, end: number): void {
    const from = growth.copied;
    if (end <= from) return;
    const c = growth.columns;
    c.timestampUs.set(this.timestampUs.subarray(from, end), from);
    c.entityOf.set(this.entityOf.subarray(from, end), from);
    c.typeOf.set(this.typeOf.subarray(from, end), from);
    c.tenantOf.set(this.tenantOf.subarray(from, end), from);
    c.segmentOf.set(this.segmentOf.subarray(from, end), from);
    c.rowOf.set(this.rowOf.subarray(from, end), from);
    growth.copied = end;
  }

  private swapColumns(c: Columns): void {
    this.timestampUs = c.timestampUs;
    this.entityOf = c.entityOf;
    this.typeOf = c.typeOf;
    this.tenantOf = c.tenantOf;
    this.segmentOf = c.segmentOf;
    this.rowOf = c.rowOf;
    this.growth = undefined;
  }

  /** Size the id table for `count` ids at once (recovery knows how many it will add). */
  reserveIds(count: number): void {
    this.ids.reserve(count);
  }

  setLocation(pos: number, segment: number, row: number): void {
    this.segmentOf[pos] = segment;
    this.rowOf[pos] = row;
    const growth = this.growth;
    if (growth !== undefined && pos < growth.copied) {
      growth.columns.segmentOf[pos] = segment;
      growth.columns.rowOf[pos] = row;
    }
  }

  /** Current version of an entity (its number of events); 0 when unknown. */
  versionOf(entityId: string): number {
    const entity = this.entities.idOf(entityId);
    return entity === undefined ? 0 : this.entityPositions[entity]!.length;
  }

  /**
   * The version the entity's next event builds on: its highest stored version. Equal to
   * `versionOf` unless events were lost (a WAL record cut in the middle, an unreadable segment)
   * while later ones of the entity survive; then versions continue above the highest one, so
   * no version is ever given twice.
   */
  lastVersionOf(entityId: string): number {
    const entity = this.entities.idOf(entityId);
    return entity === undefined ? 0 : this.lastVersionAt(entity);
  }

  /** `lastVersionOf` by entity number. */
  lastVersionAt(entity: number): number {
    return Math.max(this.lastVersions[entity]!, this.entityPositions[entity]!.length);
  }

  /** Version of the event at `pos`: its rank in its entity's list, plus one. */
  versionAt(pos: number): number {
    const list = this.entityPositions[this.entityOf[pos]!]!;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = list.data[mid]!;
      if (v === pos) return mid + 1;
      if (v < pos) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  positionsOfEntity(entityId: string): GrowableUint32 | undefined {
    const entity = this.entities.idOf(entityId);
    return entity === undefined ? undefined : this.entityPositions[entity];
  }

  positionsOfType(eventType: string): GrowableUint32 | undefined {
    const type = this.types.idOf(eventType);
    return type === undefined ? undefined : this.typePositions[type];
  }

  /** Positions whose id may be `id` (same 64-bit key; usually zero or one), after every add so far. */
  idCandidates(id: string): Promise<number[]> {
    return this.ids.candidates(id);
  }

  /** Bytes the id index's table holds (on its worker, when it runs on one). */
  get idBytes(): number {
    return this.ids.byteLength;
  }

  /** The id index's worker is behind its bound (appends should wait). */
  get idsBacklogged(): boolean {
    return this.ids.backlogged;
  }

  /** Settles once the id index's worker is within its bound again (see `IdIndex.caughtUp`). */
  idsCaughtUp(): Promise<void> {
    return this.ids.caughtUp();
  }

  /** Stop the id index's worker, if any. */
  closeIds(): Promise<void> {
    return this.ids.close();
  }

  /** First position whose timestamp is ≥ `us` (count when none). */
  lowerBound(us: number): number {
    let lo = 0;
    let hi = this._count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestampUs[mid]! < us) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First position whose timestamp is > `us`. */
  upperBound(us: number): number {
    let lo = 0;
    let hi = this._count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestampUs[mid]! <= us) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
