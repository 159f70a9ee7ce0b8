/**
 * Segments built from the WAL records' bytes on the Parquet worker (walColumns.ts), over real
 * data directories: flushes that cut a record in two, recovery that resumes in the middle of a
 * record, and records in the JSON layout, which a flush builds from the events instead.
 */
import * as path from 'node:path';
import type { NewEvent, StoredEvent } from '../events/storedEvent';
import { useOpenStores } from '../testing/storeOptions';
import { useTempDir } from '../testing/tempDirs';
import { waitFor } from '../testing/wait';
import type { EventStore } from './eventStore';
import { ParquetWriterPool } from './segments/parquetWriterPool';

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
