/**
 * Old slots moved to the new table per id added while the table grows: growing is done after
 * 1/16 of the old capacity in adds (the next growth is 0.75 × the old capacity away), so the old
 * table is freed soon and the memory per event stays what it was. An add then re-inserts about
 * 12 ids besides its own: a 1000-event batch takes ~1 ms longer while it lasts.
 */
const MOVE_SLOTS_PER_ADD = 16;

/**
 * `MOVE_SLOTS_PER_ADD` for other modules. (Not exported itself: the CommonJS build would read an
 * exported const as `exports.…`, which `idTableSource` could not carry to a worker.)
 */
export function moveSlotsPerAdd(): number {
  return MOVE_SLOTS_PER_ADD;
}

/**
 * Event id → position, as an open-addressing hash table over typed arrays (12 bytes a slot)
 * instead of a Map of 36-character strings: 16-32 bytes an event at 37-75% load. Keys are 64
 * bits of the UUID; the caller checks the full id of the event it reads, so a (rare) 64-bit
 * collision only costs another probe.
 */
export class IdTable {
  /**
   * Slots of three words: key high, key low, position + 1 (0 marks an empty slot). Interleaved
   * so that a probe touches one cache line, not three arrays.
   */
  private table: Uint32Array;
  private mask: number;
  private count = 0;
  /**
   * While growing: the table before it, whose slots below `moved` have been copied into `table`.
   * Growing all at once stalled the event loop for as long as it took to re-insert every id
   * (35 ms at 0.8M ids, 233 ms at 6.3M, twice as long at each doubling); instead each add moves a
   * few slots, and lookups read both tables meanwhile.
   */
  private old: Uint32Array | undefined;
  private oldMask = 0;
  private moved = 0;

  constructor(initialCapacity = 1024) {
    const capacity = 1 << Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.table = new Uint32Array(capacity * 3);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Whether a growth is still moving ids from the previous table (tests). */
  get growing(): boolean {
    return this.old !== undefined;
  }

  /** Add an id from a client or the WAL: checked in full to be UUID text first (others are not indexed). */
  add(id: string, position: number): void {
    const key = uuidKeyOfText(id);
    if (!key) return;
    this.addKey(key[0], key[1], position);
  }

  /**
   * Add by the 64-bit key itself (see `uuidKeyOfUtf8`), for ids read back from our own segments:
   * no text to check again, no array allocated.
   */
  addKey(hi: number, lo: number, position: number): void {
    if (this.old) this.moveSlots(MOVE_SLOTS_PER_ADD);
    if ((this.count + 1) * 4 > (this.mask + 1) * 3) this.startGrowing((this.mask + 1) * 2);
    insert(this.table, this.mask, hi, lo, position + 1);
    this.count++;
  }

  /**
   * Add an id by the 16 bytes of its UUID at `offset` (ids the engine made itself): the key is
   * read from the bytes, so the text is neither validated nor parsed.
   */
  addBytes(bytes: Uint8Array, offset: number, position: number): void {
    this.addKey(readU32BE(bytes, offset), readU32BE(bytes, offset + 8), position);
  }

  /**
   * Make room for `total` ids without growing again, at once (before a bulk load: one pass
   * instead of several, and no lookups are waiting).
   */
  reserve(total: number): void {
    let capacity = this.mask + 1;
    while (total * 4 > capacity * 3) capacity *= 2;
    if (capacity === this.mask + 1) return;
    this.startGrowing(capacity);
    this.moveSlots(Number.POSITIVE_INFINITY);
  }

  /** Every position whose id shares the 64-bit key; usually zero or one. */
  candidates(id: string): number[] {
    const key = uuidKeyOfText(id);
    return key ? this.candidatesOfKey(key[0], key[1]) : [];
  }

  /** Every position under the 64-bit key (see `uuidKeyOfText`). */
  candidatesOfKey(hi: number, lo: number): number[] {
    const found: number[] = [];
    collect(this.table, this.mask, hi, lo, 0, found);
    // Old slots below `moved` are in the new table already.
    if (this.old) collect(this.old, this.oldMask, hi, lo, this.moved, found);
    return found;
  }

  /** Bytes of the table's slots (both tables while growing). */
  get byteLength(): number {
    return this.table.byteLength + (this.old ? this.old.byteLength : 0);
  }

  private startGrowing(capacity: number): void {
    // A growth still under way finishes first (only reserve() can ask that soon).
    if (this.old) this.moveSlots(Number.POSITIVE_INFINITY);
    this.old = this.table;
    this.oldMask = this.mask;
    this.moved = 0;
    this.table = new Uint32Array(capacity * 3);
    this.mask = capacity - 1;
  }

  private moveSlots(slots: number): void {
    const old = this.old!;
    const end = Math.min(this.oldMask + 1, this.moved + slots);
    for (let slot = this.moved; slot < end; slot++) {
      const at = slot * 3;
      if (old[at + 2] !== 0) insert(this.table, this.mask, old[at]!, old[at + 1]!, old[at + 2]!);
    }
    this.moved = end;
    if (end === this.oldMask + 1) this.old = undefined;
  }
}

function insert(t: Uint32Array, mask: number, hi: number, lo: number, value: number): void {
  let slot = mix(hi, lo) & mask;
  while (t[slot * 3 + 2] !== 0) slot = (slot + 1) & mask;
  const at = slot * 3;
  t[at] = hi;
  t[at + 1] = lo;
  t[at + 2] = value;
}

/** Push the position of every slot of `t` at or above `fromSlot` holding the key. */
function collect(t: Uint32Array, mask: number, hi: number, lo: number, fromSlot: number, found: number[]): void {
  let slot = mix(hi, lo) & mask;
  while (t[slot * 3 + 2] !== 0) {
    const at = slot * 3;
    if (slot >= fromSlot && t[at] === hi && t[at + 1] === lo) found.push(t[at + 2]! - 1);
    slot = (slot + 1) & mask;
  }
}

/** Hex digit values by char code; -1 for anything else. */
const HEX = hexDigitValues();

function hexDigitValues(): Int8Array {
  const hex = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) hex[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    hex[65 + i] = 10 + i;
    hex[97 + i] = 10 + i;
  }
  return hex;
}

/** Value of 8 hex digits of `id` starting at `from`, skipping the dash at `dash` (or -1 when not hex). */
function hex32(id: string, from: number, dash: number): number {
  let value = 0;
  for (let i = from, n = 0; n < 8; i++) {
    if (i === dash) continue;
    const c = id.charCodeAt(i);
    const d = c < 128 ? HEX[c]! : -1;
    if (d < 0) return -1;
    value = value * 16 + d;
    n++;
  }
  return value;
}

/** Whether `id` is 8-4-4-4-12 hex digits (checked in full for ids that come from clients). */
function isUuidText(id: string): boolean {
  if (id.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (c >= 128 || HEX[c]! < 0) {
      return false;
    }
  }
  return true;
}

/**
 * 64 bits of a UUID, without a regex or substrings (this runs for every ingested event): bytes
 * 0-3 and 8-11, which are random in v4 (the version nibble is skipped).
 */
function keyOf(id: string): [number, number] | undefined {
  if (id.length !== 36 || id.charCodeAt(8) !== 45 || id.charCodeAt(13) !== 45 || id.charCodeAt(18) !== 45 || id.charCodeAt(23) !== 45) {
    return undefined;
  }
  const hi = hex32(id, 0, -1);
  const lo = hex32(id, 19, 23);
  if (hi < 0 || lo < 0) return undefined;
  return [hi, lo];
}

/** The 64-bit key of an id given as text, once checked in full to be UUID text (others have none). */
export function uuidKeyOfText(id: string): [number, number] | undefined {
  return isUuidText(id) ? keyOf(id) : undefined;
}

/** Big-endian u32 at `at`: the same number `keyOf` reads from the id's text. */
export function readU32BE(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/**
 * The 64-bit key (as `keyOf`) of the UUID whose 36 bytes of UTF-8 text start at `bytes[at]`,
 * into `out[0]` (high) and `out[1]` (low), straight from the bytes of a segment's id column.
 * False when the dashes or the key's hex digits are not where they belong (such an id is not
 * indexed, as with `add`). The caller checks the length (36 bytes).
 */
export function uuidKeyOfUtf8(bytes: Uint8Array, at: number, out: Uint32Array): boolean {
  if (bytes[at + 8] !== 45 || bytes[at + 13] !== 45 || bytes[at + 18] !== 45 || bytes[at + 23] !== 45) return false;
  let hi = 0;
  let bad = 0;
  for (let i = at; i < at + 8; i++) {
    const c = bytes[i]!;
    const d = c < 128 ? HEX[c]! : -1;
    bad |= d;
    hi = hi * 16 + d;
  }
  let lo = 0;
  for (let i = at + 19; i < at + 28; i++) {
    if (i === at + 23) continue;
    const c = bytes[i]!;
    const d = c < 128 ? HEX[c]! : -1;
    bad |= d;
    lo = lo * 16 + d;
  }
  if (bad < 0) return false;
  out[0] = hi;
  out[1] = lo;
  return true;
}

function mix(hi: number, lo: number): number {
  return (Math.imul(hi ^ lo, 0x9e3779b1) ^ (lo >>> 15)) >>> 0;
}

/**
 * Source text of `IdTable` with what its key operations call, for a worker to run (see
 * `WorkerIdIndex`); its text-id methods are not used there.
 */
export function idTableSource(): string {
  return [`const MOVE_SLOTS_PER_ADD = ${MOVE_SLOTS_PER_ADD};`, insert, collect, mix, IdTable].map(String).join('\n');
}
