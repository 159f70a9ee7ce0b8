import type { Dictionary } from './growable';

const decoder = new TextDecoder();

/**
 * Interns UTF-8 byte ranges (values of an Arrow string column) into a `Dictionary` without
 * making a string per value: a value seen before is found by a hash of its bytes and a byte
 * comparison; only a value new to this interner is decoded (once) and interned. Entity ids,
 * event types and tenants repeat across a segment, so at recovery almost every row is a hit.
 *
 * It keeps a copy of the bytes of each distinct value it has seen (for the comparison): meant to
 * live for one bulk load and then be dropped, not alongside the dictionary.
 */
export class ByteInterner {
  private readonly dict: Dictionary;
  /** Open addressing: slot → entry number + 1 (0 is empty). */
  private slots = new Int32Array(256);
  private mask = 255;
  private count = 0;
  /** Per entry: hash, dictionary id, start and length of its bytes in `pool`. */
  private hashes = new Uint32Array(128);
  private ids = new Uint32Array(128);
  private starts = new Uint32Array(128);
  private lengths = new Uint32Array(128);
  private pool = new Uint8Array(4096);
  private poolUsed = 0;

  constructor(dict: Dictionary) {
    this.dict = dict;
  }

  /** Dictionary id of the UTF-8 text `bytes[start..end)`. */
  intern(bytes: Uint8Array, start: number, end: number): number {
    const len = end - start;
    // FNV-1a over the bytes.
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    h >>>= 0;
    const slots = this.slots;
    let slot = h & this.mask;
    for (let e = slots[slot]!; e !== 0; e = slots[slot]!) {
      const entry = e - 1;
      if (this.hashes[entry] === h && this.lengths[entry] === len && this.sameBytes(entry, bytes, start, len)) return this.ids[entry]!;
      slot = (slot + 1) & this.mask;
    }
    const id = this.dict.intern(decoder.decode(bytes.subarray(start, end)));
    this.addEntry(slot, h, id, bytes, start, len);
    return id;
  }

  private sameBytes(entry: number, bytes: Uint8Array, start: number, len: number): boolean {
    const pool = this.pool;
    const at = this.starts[entry]!;
    for (let i = 0; i < len; i++) if (pool[at + i] !== bytes[start + i]) return false;
    return true;
  }

  private addEntry(slot: number, h: number, id: number, bytes: Uint8Array, start: number, len: number): void {
    const entry = this.count++;
    if (entry === this.hashes.length) {
      const size = entry * 2;
      this.hashes = grown(this.hashes, size);
      this.ids = grown(this.ids, size);
      this.starts = grown(this.starts, size);
      this.lengths = grown(this.lengths, size);
    }
    if (this.poolUsed + len > this.pool.length) {
      const pool = new Uint8Array(Math.max(this.pool.length * 2, this.poolUsed + len));
      pool.set(this.pool.subarray(0, this.poolUsed));
      this.pool = pool;
    }
    this.pool.set(bytes.subarray(start, start + len), this.poolUsed);
    this.hashes[entry] = h;
    this.ids[entry] = id;
    this.starts[entry] = this.poolUsed;
    this.lengths[entry] = len;
    this.poolUsed += len;
    this.slots[slot] = entry + 1;
    // At most half full, so probes stay short.
    if (this.count * 2 > this.mask + 1) this.rehash();
  }

  private rehash(): void {
    const capacity = (this.mask + 1) * 2;
    this.slots = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (let entry = 0; entry < this.count; entry++) {
      let slot = this.hashes[entry]! & this.mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
      this.slots[slot] = entry + 1;
    }
  }
}

function grown(arr: Uint32Array, size: number): Uint32Array<ArrayBuffer> {
  const next = new Uint32Array(size);
  next.set(arr);
  return next;
}
