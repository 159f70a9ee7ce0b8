/**
 * Segment flushes over real data directories. Segments built from the WAL records' bytes on the
 * Parquet worker (walColumns.ts): flushes that cut a record in two, recovery that resumes in the
 * middle of a record, and records in the JSON layout, which a flush builds from the events
 * instead. Overlapping flushes: the next segment is encoded while the previous one is written,
 * they finish in order, and a failure fails the flush behind it.
 */
import * as path from 'node:path';
import type { NewEvent, StoredEvent } from '../events/storedEvent';
import { useOpenStores } from '../testing/storeOptions';
import { useTempDir } from '../testing/tempDirs';
import { waitFor } from '../testing/wait';
import type { EventStore } from './eventStore';
import { nodeFileSystem, type FileSystem } from './fs/fileSystem';
import { ParquetWriterPool } from './segments/parquetWriterPool';
import { UnflushedRecords } from './wal/unflushedRecords';

const tmp = useTempDir('allsource-segments-from-wal-');
const stores = useOpenStores();
let dirs = 0;
const freshDir = (): string => path.join(tmp.path, `d${++dirs}`);

// Which way each flush built its segment (the real methods still run).
const fromWal = jest.spyOn(ParquetWriterPool.prototype, 'encodeWal');
const fromEvents = jest.spyOn(ParquetWriterPool.prototype, 'encode');
beforeEach(() => {
  fromWal.mockClear();
  fromEvents.mockClear();
});

function batch(n: number, from: number): NewEvent[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      eventType: i % 3 === 0 ? 'commande.créée' : 'order.placed',
      entityId: `entity-${i % 11}${i % 5 === 0 ? '-ü😀' : ''}`,
      tenantId: i % 4 === 0 ? 'tenant_b' : 'default',
      payloadJson: JSON.stringify({ i, note: i % 2 === 0 ? 'naïve ✓' : 'plain' }),
      metadataJson: i % 3 === 1 ? JSON.stringify({ seq: i }) : null,
    };
  });
}

async function everything(store: EventStore): Promise<StoredEvent[]> {
  const count = store.stats().totalEvents;
  return store.readPositions(Array.from({ length: count }, (_, i) => i));
}

describe('segments built from WAL records', () => {
  it('flushes that cut records in two write every event once, as appended', async () => {
    const dir = freshDir();
    const store = await stores.open(dir, { flushMaxEvents: 100 });
    const appended: StoredEvent[] = [];
    for (let b = 0; b < 7; b++) appended.push(...(await store.append(batch(70, b * 70))));
    // 490 events in flushes of at most 100: most flushes end inside a 70-event record.
    while (store.stats().bufferedEvents > 0) await store.flush();
    expect(store.stats().parquetFiles).toBe(5);
    expect([fromWal.mock.calls.length, fromEvents.mock.calls.length]).toEqual([5, 0]);
    expect(await everything(store)).toEqual(appended);

    await stores.close(store, false);
    const reopened = await stores.open(dir);
    expect(reopened.stats().bufferedEvents).toBe(0);
    expect(await everything(reopened)).toEqual(appended);
  });

  it('recovery resumes in the middle of a record, and the next flush starts there', async () => {
    const dir = freshDir();
    const store = await stores.open(dir, { flushMaxEvents: 100 });
    const appended: StoredEvent[] = [];
    for (let b = 0; b < 2; b++) appended.push(...(await store.append(batch(70, b * 70))));
    // The second append filled the buffer past 100: a flush of events 1..100 cuts its record
    // after the 30th event.
    await waitFor('the size-triggered flush', () => store.stats().parquetFiles === 1 && store.stats().bufferedEvents === 40);
    await stores.close(store, false);

    const reopened = await stores.open(dir, { flushMaxEvents: 100 });
    expect(reopened.stats().bufferedEvents).toBe(40);
    appended.push(...(await reopened.append(batch(5, 140))));
    while (reopened.stats().bufferedEvents > 0) await reopened.flush();
    expect(reopened.stats().parquetFiles).toBe(2);
    expect([fromWal.mock.calls.length, fromEvents.mock.calls.length]).toEqual([2, 0]);
    expect(await everything(reopened)).toEqual(appended);
    await stores.close(reopened, false);

    const third = await stores.open(dir);
    expect(await everything(third)).toEqual(appended);
  });

  it('a record in the JSON layout (ill-formed text) is flushed from the events, with the binary ones around it', async () => {
    const dir = freshDir();
    const store = await stores.open(dir);
    const appended: StoredEvent[] = [];
    appended.push(...(await store.append(batch(20, 0))));
    // A lone surrogate cannot round-trip through UTF-8: this record is written as JSON.
    appended.push(...(await store.append([{ eventType: 'odd', entityId: 'x', tenantId: 'default', payloadJson: '"\ud800"', metadataJson: null }])));
    appended.push(...(await store.append(batch(20, 20))));
    await store.flush();
    expect(store.stats().bufferedEvents).toBe(0);
    const read = await everything(store);
    expect(read.length).toBe(41);
    expect(read.slice(0, 20)).toEqual(appended.slice(0, 20));
    expect(read.slice(21)).toEqual(appended.slice(21));
    expect(read[20]!.id).toBe(appended[20]!.id);
    expect([fromWal.mock.calls.length, fromEvents.mock.calls.length]).toEqual([0, 1]);

    // Once that record is in a segment, the next flushes build from the WAL bytes again.
    const more = await store.append(batch(30, 40));
    await store.flush();
    expect((await everything(store)).slice(41)).toEqual(more);
    expect([fromWal.mock.calls.length, fromEvents.mock.calls.length]).toEqual([1, 1]);
  });
});

describe('events of large appends, buffered as their records', () => {
  it('reads them back before and after their flushes, flushes cutting records, a JSON record among them', async () => {
    const dir = freshDir();
    const store = await stores.open(dir, { flushMaxEvents: 250, flushMaxAgeMs: 3_600_000 });
    const appended: StoredEvent[] = [];
    // 300-event records (~30 KB: buffered as records), a single event, and a JSON-layout record.
    appended.push(...(await store.append(batch(300, 0))));
    appended.push(...(await store.append(batch(1, 300))));
    appended.push(...(await store.append([{ eventType: 'odd', entityId: 'x', tenantId: 'default', payloadJson: '"\ud800"', metadataJson: null }])));
    await waitFor('the size-triggered flush', () => store.stats().parquetFiles === 1);
    appended.push(...(await store.append(batch(300, 302))));
    // Read while buffered: decoded from the record bytes, the same events the appends answered.
    expect(await everything(store)).toEqual(appended);
    expect(await store.getById(appended[450]!.id)).toEqual(appended[450]);
    while (store.stats().bufferedEvents > 0) await store.flush();
    // The flush holding the JSON record was built from the events (the record-held ones decoded).
    expect(fromEvents.mock.calls.length).toBe(1);
    // Every event as appended, but the lone surrogate, which UTF-8 in the segment cannot keep
    // (it reads back as U+FFFD, as in the test above).
    const odd = 301;
    const withoutOdd = (events: StoredEvent[]): StoredEvent[] => events.filter((_, i) => i !== odd);
    const flushed = await everything(store);
    expect(withoutOdd(flushed)).toEqual(withoutOdd(appended));
    expect(flushed[odd]!.id).toBe(appended[odd]!.id);
    await stores.close(store, false);
    expect(withoutOdd(await everything(await stores.open(dir)))).toEqual(withoutOdd(appended));
  });
});

/** nodeFileSystem whose segment file writes wait at a gate while it is closed, and can fail. */
function gatedSegmentWrites(): { fs: FileSystem; close: () => void; open: () => void; failNext: () => void; writes: () => number } {
  let gate: Promise<void> | undefined;
  let openGate: () => void = () => undefined;
  let fail = false;
  let writes = 0;
  const fs: FileSystem = {
    ...nodeFileSystem,
    async writeFileAtomic(file, data) {
      if (file.endsWith('.parquet')) {
        writes++;
        await gate;
        if (fail) {
          fail = false;
          throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
        }
      }
      return nodeFileSystem.writeFileAtomic(file, data);
    },
  };
  return {
    fs,
    close: () => {
      gate = new Promise<void>((resolve) => (openGate = resolve));
    },
    open: () => {
      gate = undefined;
      openGate();
    },
    failNext: () => (fail = true),
    writes: () => writes,
  };
}

describe('overlapping flushes', () => {
  it('encode the next segment while the previous one is written, and finish in order', async () => {
    const gated = gatedSegmentWrites();
    const store = await stores.open(freshDir(), { flushMaxEvents: 100, fs: gated.fs });
    gated.close();
    const appended: StoredEvent[] = [];
    try {
      for (let b = 0; b < 4; b++) appended.push(...(await store.append(batch(100, b * 100))));
      // The first flush waits at the gate; the second has encoded its segment meanwhile; no
      // third starts while two are in flight.
      await waitFor('two segments encoded', () => fromWal.mock.calls.length === 2);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(fromWal.mock.calls.length).toBe(2);
      expect(gated.writes()).toBe(1);
      expect(store.stats().parquetFiles).toBe(0);
      // Reads see every event (from the buffer) while flushes are in flight.
      expect(await everything(store)).toEqual(appended);
    } finally {
      gated.open();
    }
    await waitFor('every event in a segment', () => store.stats().bufferedEvents === 0);
    expect(store.segments.map((s) => [s.firstLsn, s.lastLsn])).toEqual([
      [appended[0]!.lsn, appended[99]!.lsn],
      [appended[100]!.lsn, appended[199]!.lsn],
      [appended[200]!.lsn, appended[299]!.lsn],
      [appended[300]!.lsn, appended[399]!.lsn],
    ]);
    expect(await everything(store)).toEqual(appended);
  });

  it('a flush in flight leaves the next one to start inside a record, and steady ingest makes full segments', async () => {
    const gated = gatedSegmentWrites();
    const store = await stores.open(freshDir(), { flushMaxEvents: 100, fs: gated.fs });
    // The slices each flush takes (copied: the worker gets the originals).
    const taken: number[][] = [];
    const take = UnflushedRecords.prototype.take;
    const spy = jest.spyOn(UnflushedRecords.prototype, 'take').mockImplementation(function (this: UnflushedRecords, events: number, skip?: number) {
      const wal = take.call(this, events, skip);
      if (wal) taken.push(Array.from(wal.slices));
      return wal;
    });
    gated.close();
    const appended: StoredEvent[] = [];
    try {
      for (let b = 0; b < 4; b++) appended.push(...(await store.append(batch(70, b * 70))));
      // The first flush (events 1..100: a record and 30 of the next) waits at the gate; the
      // second (101..200) starts 30 events into a record, as [offset, length, skip, count].
      await waitFor('two segments encoded', () => fromWal.mock.calls.length === 2);
      expect(taken[0]!.filter((_, i) => i % 4 >= 2)).toEqual([0, 70, 0, 30]);
      expect(taken[1]!.filter((_, i) => i % 4 >= 2)).toEqual([30, 40, 0, 60]);
    } finally {
      spy.mockRestore();
      gated.open();
    }
    for (let b = 4; b < 30; b++) appended.push(...(await store.append(batch(70, b * 70))));
    while (store.stats().bufferedEvents > 0) await store.flush();
    // Flushes started by appends take exactly FLUSH_MAX_EVENTS events, never the few committed
    // since the last one started; only the final, explicit one takes what is left.
    const sizes = store.segments.map((s) => s.events);
    expect(sizes.slice(0, -1).every((n) => n === 100)).toBe(true);
    expect(sizes.reduce((a, n) => a + n, 0)).toBe(2100);
    expect(await everything(store)).toEqual(appended);
  });

  it('a flush that fails fails the one behind it, and flushing starts again from the front', async () => {
    const gated = gatedSegmentWrites();
    const dir = freshDir();
    const store = await stores.open(dir, { flushMaxEvents: 100, fs: gated.fs });
    gated.close();
    gated.failNext();
    const appended: StoredEvent[] = [];
    let failed: Promise<unknown>;
    try {
      for (let b = 0; b < 2; b++) appended.push(...(await store.append(batch(100, b * 100))));
      await waitFor('two segments encoded', () => fromWal.mock.calls.length === 2);
      // The first write fails: the second flush fails with it without writing, and nothing moved.
      failed = store.flush().catch((err: Error) => err);
    } finally {
      gated.open();
    }
    expect(await failed).toMatchObject({ code: 'EIO' });
    await waitFor('the retried flushes', () => store.stats().bufferedEvents === 0);
    expect(gated.writes()).toBe(3);
    expect(store.segments.map((s) => s.events)).toEqual([100, 100]);
    expect(await everything(store)).toEqual(appended);

    await stores.close(store, false);
    const reopened = await stores.open(dir);
    expect(await everything(reopened)).toEqual(appended);
  });
});
