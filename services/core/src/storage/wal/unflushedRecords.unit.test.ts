import { BINARY_MAGIC } from './walPayload';
import { UnflushedRecords } from './unflushedRecords';

/** A stand-in binary record: the magic byte, then `tag` repeated (UnflushedRecords only copies bytes). */
function record(tag: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length).fill(tag);
  bytes[0] = BINARY_MAGIC;
  return bytes;
}

const json = (): Uint8Array => new TextEncoder().encode('[{"l":1}]');

/** The slices of a take as [offset, length, skip, count] tuples. */
function slices(wal: { slices: Int32Array }): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < wal.slices.length; k += 4) out.push(Array.from(wal.slices.subarray(k, k + 4)));
  return out;
}

describe('UnflushedRecords', () => {
  it('hands over the bytes of the records that hold the next events, and forgets them once consumed', () => {
    const records = new UnflushedRecords();
    records.add(record(1, 100), 3);
    records.add(record(2, 50), 1);
    records.add(record(3, 200), 5);

    const first = records.take(5)!;
    expect(slices(first)).toEqual([
      [0, 100, 0, 3],
      [100, 50, 0, 1],
      [150, 200, 0, 1],
    ]);
    expect(first.bytes.length).toBe(350);
    expect(first.bytes[99]).toBe(1);
    expect(first.bytes[149]).toBe(2);
    expect(first.bytes[349]).toBe(3);

    records.consume(5);
    const rest = records.take(4)!;
    expect(slices(rest)).toEqual([[0, 200, 1, 4]]);
    records.consume(4);
    expect(records.bytes).toBe(0);
    expect(() => records.take(1)).toThrow(/fewer are noted/);
  });

  it('takes events after those a flush in progress has taken', () => {
    const records = new UnflushedRecords();
    records.add(record(1, 100), 3);
    records.add(record(2, 50), 1);
    records.add(record(3, 200), 5);
    records.consume(1);
    // Events 2..9 are unflushed; a flush in progress has the first 4 (2, 3 of record 1, 4, and 5).
    expect(slices(records.take(3, 4)!)).toEqual([[0, 200, 1, 3]]);
    expect(slices(records.take(2, 1)!)).toEqual([
      [0, 100, 2, 1],
      [100, 50, 0, 1],
    ]);
    expect(slices(records.take(1, 2)!)).toEqual([[0, 50, 0, 1]]);
    expect(() => records.take(2, 7)).toThrow(/fewer are noted/);
  });

  it('keeps large records in blocks of their own and releases every block once its records are in segments', () => {
    const records = new UnflushedRecords();
    records.add(record(1, 600_000), 1000);
    records.add(record(2, 300), 1);
    records.add(record(3, 700_000), 1000);
    expect(records.bytes).toBe(600_000 + 300 + 700_000);
    records.consume(1000);
    expect(records.bytes).toBe(300 + 700_000);
    records.consume(1);
    expect(records.bytes).toBe(700_000);
    records.consume(999);
    expect(records.bytes).toBe(700_000);
    records.consume(1);
    expect(records.bytes).toBe(0);
  });

  it('copies small records into shared blocks, so many single-event appends hold few objects', () => {
    const records = new UnflushedRecords();
    for (let i = 0; i < 20_000; i++) records.add(record(i & 0xff, 300), 1);
    expect(records.bytes).toBe(20_000 * 300);
    const wal = records.take(20_000)!;
    expect(wal.bytes.length).toBe(20_000 * 300);
    expect(wal.bytes[19_999 * 300 + 1]).toBe(19_999 & 0xff);
    records.consume(12_000);
    // Records 12,000.. start in the fourth block (3,495 records of 300 bytes a block): the
    // first three blocks are released.
    expect(records.bytes).toBe(20_000 * 300 - 3 * 3495 * 300);
    const rest = records.take(8000)!;
    expect(rest.bytes[1]).toBe(12_000 & 0xff);
    records.consume(8000);
    expect(records.bytes).toBe(0);
  });

  it('keeps owned large records as they are, and small records between them cost no nearly empty 1 MiB block each', () => {
    const records = new UnflushedRecords();
    const owned: Uint8Array[] = [];
    for (let i = 0; i < 100; i++) {
      const large = record(i & 0xff, 130_000);
      owned.push(large);
      // Kept as it is, which it says (the buffer then holds the events as this record).
      expect(records.add(large, 1000, 0, 1000, true)).toBe(true);
      expect(records.add(record(0xee, 300), 1, 0, 1, true)).toBe(false);
    }
    expect(records.bytes).toBe(100 * 130_300);
    // Each owned record is its own block; each small one after it starts a block of 16 KiB.
    expect(records.blockBytes).toBe(100 * 130_000 + 100 * 16 * 1024);
    const wal = records.take(100 * 1001)!;
    expect(wal.bytes.length).toBe(100 * 130_300);
    for (let i = 0; i < 100; i++) {
      expect(wal.bytes[i * 130_300 + 1]).toBe(i & 0xff);
      expect(wal.bytes[i * 130_300 + 130_001]).toBe(0xee);
    }
    // Owned means not copied: the record given is the block kept.
    owned[0]![5] = 0x42;
    expect(records.take(1)!.bytes[5]).toBe(0x42);
    records.consume(100 * 1001);
    expect(records.bytes).toBe(0);
    expect(records.blockBytes).toBe(0);
  });

  it('copies what it keeps: a record given as a view of a larger buffer neither changes nor keeps that buffer', () => {
    const records = new UnflushedRecords();
    // As the WAL hands them over: Buffers that are views (an over-allocated encode buffer, a file read in).
    const source = Buffer.alloc(2_000_000, 7);
    const large = source.subarray(1000, 401_000);
    large[0] = BINARY_MAGIC;
    const small = source.subarray(500_000, 500_300);
    small[0] = BINARY_MAGIC;
    // Copied, which they say: large but not owned, small, a view of a larger buffer, JSON.
    expect(records.add(large, 10)).toBe(false);
    expect(records.add(small, 1)).toBe(false);
    expect(new UnflushedRecords().add(large, 10, 0, 10, true)).toBe(false);
    expect(new UnflushedRecords().add(json(), 1, 0, 1, true)).toBe(false);
    source.fill(9);
    const wal = records.take(11)!;
    expect(wal.bytes.length).toBe(400_300);
    expect(wal.bytes[0]).toBe(BINARY_MAGIC);
    expect(wal.bytes.subarray(1, 400_000).every((b) => b === 7)).toBe(true);
    expect(wal.bytes[400_000]).toBe(BINARY_MAGIC);
    expect(wal.bytes.subarray(400_001).every((b) => b === 7)).toBe(true);
    expect(records.bytes).toBe(400_300);
  });

  it('says a flush must build from the events when a record among them is not binary', () => {
    const records = new UnflushedRecords();
    records.add(record(1, 100), 2);
    records.add(json(), 1);
    records.add(record(3, 100), 2);
    expect(records.take(2)).toBeDefined();
    expect(records.take(3)).toBeUndefined();
    records.consume(3);
    // The JSON record is gone: the rest is binary again.
    expect(slices(records.take(2)!)).toEqual([[0, 100, 0, 2]]);
  });

  it('keeps a record from the middle at recovery only when it is the tail of the first one noted', () => {
    const records = new UnflushedRecords();
    records.add(record(1, 100), 10, 6, 4);
    records.add(record(2, 100), 10);
    expect(slices(records.take(14)!)).toEqual([
      [0, 100, 6, 4],
      [100, 100, 0, 10],
    ]);
    // Not the first record, or not a tail: kept by its event count only.
    records.add(record(3, 100), 10, 2, 8);
    expect(records.take(22)).toBeUndefined();
    records.consume(22);
    expect(records.bytes).toBe(0);
    const gappy = new UnflushedRecords();
    gappy.add(record(4, 100), 10, 2, 5);
    expect(gappy.take(5)).toBeUndefined();
  });

  it('reuses its bookkeeping as records come and go', () => {
    const records = new UnflushedRecords();
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3000; i++) records.add(record(round, 40), 2);
      expect(slices(records.take(6000)!).length).toBe(3000);
      records.consume(5999);
      expect(slices(records.take(1)!)).toEqual([[0, 40, 1, 1]]);
      records.consume(1);
    }
    expect(records.bytes).toBe(0);
  });
});
