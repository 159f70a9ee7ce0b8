/**
 * foldEntity over a real store (events in Parquet segments and in the buffer): starting from
 * snapshots never changes the answer — state (and its key order), event count, last event and
 * history — for every as_of, including ones between snapshots and between tied timestamps.
 */
import type { StoredEvent } from '../events/storedEvent';
import { SnapshotRepository, type Snapshot } from '../snapshots/snapshotRepository';
import type { EventStore } from '../storage/eventStore';
import { openTestStore } from '../testing/storeOptions';
import { makeTempDir, removeDir } from '../testing/tempDirs';
import { formatTimestamp } from '../events/timestamps';
import { emptyState, foldEntity, mergeInto, type EntityFold, type SnapshotLookup } from './entityState';
import { entityStateAnswer } from './entityStateAnswer';

const MiB = 1024 * 1024;

describe('foldEntity with snapshots', () => {
  let dir: string;
  let store: EventStore;
  let events: StoredEvent[];
  const entity = 'acct-ü/1';

  beforeAll(async () => {
    dir = await makeTempDir('allsource-fold-');
    store = await openTestStore(dir, { syncMode: 'none' });
    const payloads: unknown[] = [];
    for (let i = 0; i < 60; i++) {
      if (i % 11 === 5) payloads.push('not an object');
      else if (i % 13 === 7) payloads.push([i]);
      else if (i % 17 === 3) payloads.push(JSON.parse(`{"__proto__":{"p":${i}},"k${i % 4}":${i}}`));
      else payloads.push({ [`k${i % 5}`]: i, last: i, ...(i % 6 === 0 ? { [`only${i}`]: { nested: [i] } } : {}) });
    }
    const ev = (p: unknown, e = entity) => ({ eventType: 'acct.changed', entityId: e, tenantId: 'default', payloadJson: JSON.stringify(p), metadataJson: null });
    // Batches (tied timestamps) and single appends, another entity interleaved; a flush halfway.
    let i = 0;
    while (i < payloads.length) {
      const size = i % 3 === 0 ? 4 : 1;
      await store.append([...payloads.slice(i, i + size).map((p) => ev(p)), ev({ other: i }, 'other')]);
      i += size;
      if (i >= 25 && store.segments.length === 0) await store.flush();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(store.segments.length).toBe(1);
    const list = store.index.positionsOfEntity(entity)!;
    events = await store.readPositions(list.data.subarray(0, list.length));
    expect(events).toHaveLength(60);
  });
  afterAll(async () => {
    await store.close({ flush: false });
    await removeDir(dir);
  });

  /** The state after exactly the first `n` events, as a snapshot would hold it. */
  function snapshotAt(n: number, createdAtUs: number): Snapshot {
    const state = emptyState();
    for (const e of events.slice(0, n)) mergeInto(state, JSON.parse(e.payloadJson));
    const stateJson = JSON.stringify(state);
    return {
      id: `s${n}`,
      entityId: entity,
      createdAtUs,
      asOfUs: events[n - 1]!.timestampUs,
      eventCount: n,
      lastEventId: events[n - 1]!.id,
      type: 'automatic',
      stateJson,
      sizeBytes: stateJson.length,
    };
  }

  const summary = (f: EntityFold | undefined) =>
    f && {
      stateJson: JSON.stringify(f.state),
      eventCount: f.eventCount,
      last: f.last?.id,
      history: f.history.map((e) => e.id),
    };

  it('gives the same answer with and without snapshots for every as_of and history cap', async () => {
    const repo = new SnapshotRepository({ maxPerEntity: 10, maxTotal: 100, maxTotalBytes: MiB });
    for (const n of [1, 7, 20, 26, 33, 50, 60]) repo.add(snapshotAt(n, n));
    const asOfs: Array<number | undefined> = [undefined, events[0]!.timestampUs - 1];
    for (const e of events) asOfs.push(e.timestampUs, e.timestampUs + 1);
    let used = 0;
    let compared = 0;
    for (const asOf of asOfs) {
      for (const historyLimit of [0, 1, 5, 24, 1000]) {
        const plain = await foldEntity(store, entity, asOf, historyLimit);
        const fast = await foldEntity(store, entity, asOf, historyLimit, repo);
        expect(summary(fast)).toEqual(summary(plain));
        expect(Object.getPrototypeOf(fast!.state)).toBeNull();
        if (fast!.fromSnapshot > 0) used++;
        compared++;
      }
    }
    expect(compared).toBe(122 * 5);
    // Every as_of at or after the first snapshot's event started from a snapshot.
    expect(used).toBeGreaterThan(100 * 5);
  });

  it('writes the state answer as JSON.stringify over the fold would, for every as_of and history cap', async () => {
    // The answer as the route built it before it was written from the segment cache's bytes.
    const reference = (asOf: number | undefined, fold: EntityFold): string =>
      JSON.stringify({
        entity_id: entity,
        last_updated: formatTimestamp(fold.last!.timestampUs),
        event_count: fold.eventCount,
        as_of: asOf === undefined ? null : formatTimestamp(asOf),
        current_state: fold.state,
        history: fold.history.map((e) => ({ event_id: e.id, type: e.eventType, timestamp: formatTimestamp(e.timestampUs), payload: JSON.parse(e.payloadJson) as unknown })),
        ...(fold.history.length < fold.eventCount ? { history_truncated: true } : {}),
      });
    const repo = new SnapshotRepository({ maxPerEntity: 10, maxTotal: 100, maxTotalBytes: MiB });
    for (const n of [7, 26, 50]) repo.add(snapshotAt(n, n));
    const asOfs: Array<number | undefined> = [undefined, events[0]!.timestampUs - 1];
    for (const e of events) asOfs.push(e.timestampUs);
    let compared = 0;
    for (const asOf of asOfs) {
      for (const historyLimit of [0, 1, 5, 30, 1000]) {
        for (const lookup of [undefined, repo]) {
          const fold = await foldEntity(store, entity, asOf, historyLimit);
          const answer = await entityStateAnswer(store, entity, asOf, historyLimit, lookup);
          if (!fold || fold.eventCount === 0) {
            expect(answer).toBeUndefined();
            continue;
          }
          expect(answer!.eventCount).toBe(fold.eventCount);
          expect(answer!.out.result().toString('utf8')).toBe(reference(asOf, fold));
          answer!.out.recycle();
          compared++;
        }
      }
    }
    expect(compared).toBe(61 * 5 * 2); // no as_of, and each event's timestamp
    expect(await entityStateAnswer(store, 'no such entity', undefined, 10, repo)).toBeUndefined();
  });

  it('starts from the latest snapshot at or before as_of, never a later one', async () => {
    const repo = new SnapshotRepository({ maxPerEntity: 10, maxTotal: 100, maxTotalBytes: MiB });
    repo.add(snapshotAt(20, 1));
    repo.add(snapshotAt(40, 2));
    const between = events[29]!.timestampUs; // between the two snapshots
    const end = events.filter((e) => e.timestampUs <= between).length;
    const fold = await foldEntity(store, entity, between, 10, repo);
    expect(fold!.fromSnapshot).toBe(20);
    expect(fold!.eventCount).toBe(end);
    expect(summary(fold)).toEqual(summary(await foldEntity(store, entity, between, 10)));
    expect((await foldEntity(store, entity, events[10]!.timestampUs, 10, repo))!.fromSnapshot).toBe(0);
    expect((await foldEntity(store, entity, undefined, 10, repo))!.fromSnapshot).toBe(40);
  });

  it('reads only the events after the snapshot, plus the history ones', async () => {
    const repo = new SnapshotRepository({ maxPerEntity: 10, maxTotal: 100, maxTotalBytes: MiB });
    repo.add(snapshotAt(50, 1));
    let read = 0;
    const counting = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'readPositions') {
          return (positions: ArrayLike<number>) => {
            read += positions.length;
            return target.readPositions(positions);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    await foldEntity(counting, entity, undefined, 3, repo);
    expect(read).toBe(3 + 10);
    read = 0;
    await foldEntity(counting, entity, undefined, 0, repo);
    expect(read).toBe(10);
    read = 0;
    // Everything covered: only the last event is read (for last_updated).
    repo.add(snapshotAt(60, 2));
    const fold = await foldEntity(counting, entity, undefined, 0, repo);
    expect(read).toBe(1);
    expect(fold!.last!.id).toBe(events[59]!.id);
    read = 0;
    await foldEntity(counting, entity, undefined, 1000);
    expect(read).toBe(60);
  });

  it('ignores a lookup answer that covers more events than asked', async () => {
    const liar: SnapshotLookup = { latest: () => ({ eventCount: 999, restore: () => emptyState() }) };
    expect(summary(await foldEntity(store, entity, undefined, 5, liar))).toEqual(summary(await foldEntity(store, entity, undefined, 5)));
    expect(await foldEntity(store, 'nobody', undefined, 5, liar)).toBeUndefined();
  });
});
