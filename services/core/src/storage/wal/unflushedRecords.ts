import type { WalSlices } from '../segments/walColumns';
import { BINARY_MAGIC } from './walPayload';

/** Records are copied into blocks of this size; a larger record gets a block of its own. */
const BLOCK_BYTES = 1 << 20;
/**
 * Owned records from this size are kept as they are (a 1000-event append's is ~155 KB): copying
 * them cost a second buffer of that size per append. Smaller ones (single-event appends) are
 * still copied into blocks, so they add no object per record. (It is also well above the 4 KiB
 * under which `Buffer.allocUnsafe` carves buffers out of a shared slab.)
 */
const OWNED_MIN_BYTES = 16 * 1024;
/**
 * After a block of its own, the next records go into a new block (blocks stay in record order):
 * it starts this small and doubles while records keep coming, so small records between large
 * ones do not each leave a 1 MiB block nearly empty.
 */
const SMALLEST_BLOCK_BYTES = 16 * 1024;

/**
 * The WAL records of the events not yet in a segment, in commit order, kept so that a flush can
 * hand their bytes to the Parquet worker (walColumns.ts) instead of rebuilding the events' text.
 *
 * Records are copied into blocks of up to 1 MiB (large ones that are the caller's own are kept as
 * they are), and what is known of each record is kept in typed
 * arrays, so a single-event append adds no object that lives until the flush. A record that is
 * not in the binary layout (JSON, written for ill-formed text or by older versions) is noted
 * without bytes: a flush that covers one builds its columns from the events instead.
 */
export class UnflushedRecords {
  private blocks: Uint8Array[] = [];
  /** Bytes of records in each block (what `bytes` counts: a block's unused end is not). */
  private blockFill: number[] = [];
  /** Block index of blocks[0] (blocks before it are released). */
  private firstBlock = 0;
  private blockUsed = BLOCK_BYTES;
  /** Size of the block being filled (see `SMALLEST_BLOCK_BYTES`). */
  private blockSize = BLOCK_BYTES;
  /** Size of the next block to fill: after a block of its own, doubles up to `BLOCK_BYTES` while blocks fill up. */
  private nextBlockSize = BLOCK_BYTES;
  /** Per record: block index, offset in the block, length (-1: not binary), events. */
  private meta = new Float64Array(4 * 1024);
  private head = 0;
  private tail = 0;
  /** Events of the head record already in a segment. */
  private headSkip = 0;
  private heldBytes = 0;

  /**
   * Bytes of the records held (counted with the buffer's memory). The blocks themselves hold up
   * to 1 MiB more: the unused end of the block being filled.
   */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Bytes of the blocks held, unused ends included (tests). */
  get blockBytes(): number {
    let total = 0;
    for (const b of this.blocks) total += b.byteLength;
    return total;
  }

  /**
   * Note the record (its payload as written to the WAL) of newly committed events: by default
   * all `recordEvents` of it; at recovery, `count` of them from event `from`. Only a record's
   * tail can be kept with its bytes, and only as the first record noted. `owned`: the payload's
   * memory holds nothing else worth freeing (a view of a buffer of its own size, not of a WAL
   * file read in), so a large one is kept as is instead of copied. Returns whether it was: the
   * buffer may then hold the events as that same record (`BufferedEvents.pushRecord`).
   */
  add(payload: Uint8Array, recordEvents: number, from = 0, count = recordEvents - from, owned = false): boolean {
    if (this.tail * 4 + 4 > this.meta.length) this.makeRoom();
    const m = this.meta;
    const at = this.tail++ * 4;
    const whole = from === 0 && count === recordEvents;
    const tailOfFirst = from + count === recordEvents && this.head + 1 === this.tail;
    if (payload[0] !== BINARY_MAGIC || !(whole || tailOfFirst)) {
      m[at] = -1;
      m[at + 1] = 0;
      m[at + 2] = -1;
      m[at + 3] = count;
      return false;
    }
    m[at + 3] = recordEvents;
    if (!whole) this.headSkip = from;
    const length = payload.byteLength;
    // Owned and large, and the whole of its memory but for the record header in front (never a
    // slice of a shared slab, whatever `Buffer.poolSize` is set to).
    const keep = owned && length >= OWNED_MIN_BYTES && payload.byteOffset <= 16 && payload.byteOffset + length === payload.buffer.byteLength;
    if (length > BLOCK_BYTES / 4 || keep) {
      // A block of its own: the payload itself when owned, else a copy (a view would keep the
      // whole source alive, at recovery the whole WAL file read in).
      this.blocks.push(keep ? payload : Uint8Array.prototype.slice.call(payload));
      this.blockFill.push(length);
      this.blockUsed = this.blockSize = BLOCK_BYTES;
      this.nextBlockSize = SMALLEST_BLOCK_BYTES;
      m[at] = this.firstBlock + this.blocks.length - 1;
      m[at + 1] = 0;
    } else {
      if (this.blockUsed + length > this.blockSize) {
        this.blockSize = Math.max(this.nextBlockSize, length);
        this.nextBlockSize = Math.min(BLOCK_BYTES, this.nextBlockSize * 2);
        this.blocks.push(new Uint8Array(this.blockSize));
        this.blockFill.push(0);
        this.blockUsed = 0;
      }
      this.blocks[this.blocks.length - 1]!.set(payload, this.blockUsed);
      this.blockFill[this.blockFill.length - 1]! += length;
      m[at] = this.firstBlock + this.blocks.length - 1;
      m[at + 1] = this.blockUsed;
      this.blockUsed += length;
    }
    this.heldBytes += length;
    m[at + 2] = length;
    return keep;
  }

  /**
   * The bytes and slices of `events` unflushed events after the first `skip` (those a flush in
   * progress has taken), or undefined when a record among them has no binary bytes. Nothing is
   * consumed (see `consume`). Always a copy: the records kept as they are may be the buffer's
   * events too (`BufferedEvents`), so they are never handed over (transferred) themselves.
   */
  take(events: number, skip = 0): WalSlices | undefined {
    const m = this.meta;
    // The first record holding wanted events, and how many of its events come before them.
    let first = this.head;
    let before = this.headSkip + skip;
    while (first < this.tail && before >= m[first * 4 + 3]!) {
      before -= m[first * 4 + 3]!;
      first++;
    }
    let total = 0;
    let records = 0;
    for (let r = first, left = events; left > 0; r++) {
      if (r >= this.tail) throw new Error(`${events} events after ${skip} asked for, fewer are noted`);
      if (m[r * 4 + 2]! < 0) return undefined;
      total += m[r * 4 + 2]!;
      left -= m[r * 4 + 3]! - (r === first ? before : 0);
      records++;
    }
    const bytes = new Uint8Array(total);
    const slices = new Int32Array(records * 4);
    let at = 0;
    // Records back to back in one block are copied as one run (single-event appends make many).
    let runBlock = -1;
    let runStart = 0;
    let runEnd = 0;
    let runAt = 0;
    const copyRun = (): void => {
      if (runBlock >= 0) bytes.set(this.blocks[runBlock - this.firstBlock]!.subarray(runStart, runEnd), runAt);
    };
    for (let k = 0, left = events; k < records; k++) {
      const r = (first + k) * 4;
      const length = m[r + 2]!;
      const block = m[r]!;
      const offset = m[r + 1]!;
      if (block !== runBlock || offset !== runEnd) {
        copyRun();
        runBlock = block;
        runStart = offset;
        runAt = at;
      }
      runEnd = offset + length;
      const from = k === 0 ? before : 0;
      const count = Math.min(left, m[r + 3]! - from);
      slices[k * 4] = at;
      slices[k * 4 + 1] = length;
      slices[k * 4 + 2] = from;
      slices[k * 4 + 3] = count;
      left -= count;
      at += length;
    }
    copyRun();
    return { bytes, slices };
  }

  /** The next `events` events are in a segment: forget their records (blocks no record uses go). */
  consume(events: number): void {
    const m = this.meta;
    let left = events;
    while (left > 0 && this.head < this.tail) {
      const inHead = m[this.head * 4 + 3]! - this.headSkip;
      if (left < inHead) {
        this.headSkip += left;
        left = 0;
      } else {
        left -= inHead;
        this.head++;
        this.headSkip = 0;
      }
    }
    // Release whole blocks before the one the first live binary record is in (all of them once
    // none is left).
    let first = this.head;
    while (first < this.tail && m[first * 4 + 2]! < 0) first++;
    const keepFrom = first < this.tail ? m[first * 4]! : this.firstBlock + this.blocks.length;
    let released = 0;
    while (this.firstBlock + released < keepFrom && released < this.blocks.length) {
      this.heldBytes -= this.blockFill[released]!;
      released++;
    }
    if (released > 0) {
      this.blocks = this.blocks.slice(released);
      this.blockFill = this.blockFill.slice(released);
      this.firstBlock += released;
      if (this.blocks.length === 0) this.blockUsed = this.blockSize = BLOCK_BYTES;
    }
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    }
  }

  /** Move the live records to the front of `meta`, growing it when they fill more than half. */
  private makeRoom(): void {
    const live = (this.tail - this.head) * 4;
    if (live * 2 + 4 > this.meta.length) {
      const next = new Float64Array(this.meta.length * 2);
      next.set(this.meta.subarray(this.head * 4, this.tail * 4));
      this.meta = next;
    } else {
      this.meta.copyWithin(0, this.head * 4, this.tail * 4);
    }
    this.tail -= this.head;
    this.head = 0;
  }
}
