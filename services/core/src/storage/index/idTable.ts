/**
 * Event id → position, as an open-addressing hash table over typed arrays (12 bytes a slot)
 * instead of a Map of 36-character strings. Keys are 64 bits of the UUID; the caller checks
 * the full id of the event it reads, so a (rare) 64-bit collision only costs another probe.
 */
export class IdTable {
  private hi: Uint32Array;
  private lo: Uint32Array;
  /** position + 1; 0 marks an empty slot. */
  private slots: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    const capacity = 1 << Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.slots = new Uint32Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  add(id: string, position: number): void {
    const key = keyOf(id);
    if (!key) return;
    if ((this.count + 1) * 4 > this.slots.length * 3) this.grow();
    this.insert(key[0], key[1], position + 1);
    this.count++;
  }

  /** Every position whose id shares the 64-bit key; usually zero or one. */
  candidates(id: string): number[] {
    const key = keyOf(id);
    if (!key) return [];
    const found: number[] = [];
    let slot = mix(key[0], key[1]) & this.mask;
    while (this.slots[slot] !== 0) {
      if (this.hi[slot] === key[0] && this.lo[slot] === key[1]) found.push(this.slots[slot]! - 1);
      slot = (slot + 1) & this.mask;
    }
    return found;
  }

  private insert(hi: number, lo: number, value: number): void {
    let slot = mix(hi, lo) & this.mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.hi[slot] = hi;
    this.lo[slot] = lo;
    this.slots[slot] = value;
  }

  private grow(): void {
    const { hi, lo, slots } = this;
    const capacity = slots.length * 2;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.slots = new Uint32Array(capacity);
    this.mask = capacity - 1;
    for (let i = 0; i < slots.length; i++) if (slots[i] !== 0) this.insert(hi[i]!, lo[i]!, slots[i]!);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function keyOf(id: string): [number, number] | undefined {
  if (id.length !== 36 || !UUID.test(id)) return undefined;
  // Skip the version nibble: bytes 0-3 and 8-11 of the UUID are random in v4.
  return [parseInt(id.slice(0, 8), 16) >>> 0, parseInt(id.slice(19, 23) + id.slice(24, 28), 16) >>> 0];
}

function mix(hi: number, lo: number): number {
  return (Math.imul(hi ^ lo, 0x9e3779b1) ^ (lo >>> 15)) >>> 0;
}
