import type { EntityStateObject } from './entityState';

/** One cached entity state and the entity version it includes. */
export interface CachedState {
  state: EntityStateObject;
  version: number;
}

interface Slot<E extends CachedState> {
  entry: E;
  /** Estimated JSON bytes of the state (see `StateLru`). */
  bytes: number;
}

/**
 * Entity states kept in memory, least recently used evicted first, bounded by count and by
 * size. A count alone did not bound memory: one entity's state can be as large as the store
 * lets its events be (a 1 MiB payload parsed into 21 MiB of heap was measured). The size is
 * the state's JSON length when it enters, plus the JSON length of every payload merged into it
 * since: an upper bound of its JSON (merging replaces keys), counted without serialising again.
 * A state larger than an eighth of the byte bound is not kept.
 */
export class StateLru<E extends CachedState> {
  private slots = new Map<string, Slot<E>>();
  private totalBytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.slots.size;
  }

  /** Estimated JSON bytes of every state kept. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** The entry, marked most recently used. */
  get(id: string): E | undefined {
    const slot = this.slots.get(id);
    if (!slot) return undefined;
    this.slots.delete(id);
    this.slots.set(id, slot);
    return slot.entry;
  }

  /** The entry, without marking it used. */
  peek(id: string): E | undefined {
    return this.slots.get(id)?.entry;
  }

  has(id: string): boolean {
    return this.slots.has(id);
  }

  /** Keep `entry` (its state `bytes` of JSON), evicting the least recently used past the bounds. */
  set(id: string, entry: E, bytes: number): void {
    this.delete(id);
    if (bytes > this.maxBytes / 8) return;
    this.slots.set(id, { entry, bytes });
    this.totalBytes += bytes;
    this.evict();
  }

  /** The entry's state grew by a merged payload of `bytes` JSON bytes. */
  grew(id: string, bytes: number): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    slot.bytes += bytes;
    this.totalBytes += bytes;
    if (slot.bytes > this.maxBytes / 8) this.delete(id);
    else this.evict();
  }

  delete(id: string): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    this.slots.delete(id);
    this.totalBytes -= slot.bytes;
  }

  private evict(): void {
    while (this.slots.size > this.maxEntries || this.totalBytes > this.maxBytes) {
      this.delete(this.slots.keys().next().value as string);
    }
  }
}
