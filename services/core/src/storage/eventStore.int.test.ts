/**
 * Integration tests of the storage engine over real temporary data directories: recovery from
 * the WAL and from Parquet segments, the crash windows between them, torn WAL tails, version
 * bookkeeping across restarts, concurrency, the bounded segment cache and storage faults.
 */
import { cp, readdir, readlink, stat, truncate } from 'node:fs/promises';
import * as path from 'node:path';
import { AllSourceError } from '@allsource/errors';
import type { NewEvent, StoredEvent } from '../events/storedEvent';
import { useOpenStores } from '../testing/storeOptions';
import { useTempDir } from '../testing/tempDirs';
import { MAX_BUFFER_WAITERS, type EventStore, type EventStoreOptions } from './eventStore';
import { nodeFileSystem, type FileSystem } from './fs/fileSystem';

const tmp = useTempDir('allsource-store-int-');

let dirCounter = 0;
async function freshDir(): Promise<string> {
  return path.join(tmp.path, `d${++dirCounter}`);
}

/** Stores opened by a test; closed (without flush) after it if the test did not. */
const stores = useOpenStores();
const open = (dataDir: string, over: Partial<EventStoreOptions> = {}): Promise<EventStore> => stores.open(dataDir, { rowGroupSize: 64, ...over });
const closeStore = (store: EventStore, flush: boolean): Promise<void> => stores.close(store, flush);

function ev(entityId: string, payload: unknown, over: Partial<NewEvent> = {}): NewEvent {
  return {
    eventType: 'test.happened',
    entityId,
    tenantId: 'default',
    payloadJson: JSON.stringify(payload),
    metadataJson: null,
    ...over,
  };
}

/** A mix of payload shapes, entities, tenants and metadata. */
function variedEvents(n: number, prefix = 'e'): NewEvent[] {
  const out: NewEvent[] = [];
  for (let i = 0; i < n; i++) {
    const payload =
      i % 4 === 0
        ? { i, name: `n${i}`, nested: { deep: [1, 'two', { three: 3 }], flag: i % 2 === 0 }, note: 'ünïcödé ✓ "quoted" \\ \n' }
        : i % 4 === 1
          ? [i, null, 'x', 1.5e300, -0.125]
          : i % 4 === 2
            ? `plain string ${i} 🎉`
            : i;
    out.push(
      ev(`${prefix}-${i % 7}`, payload, {
        eventType: i % 3 === 0 ? 'user.created' : 'order.placed',
        tenantId: i % 5 === 0 ? 'tenant_b' : 'default',
        metadataJson: i % 2 === 0 ? null : JSON.stringify({ source: 'test', seq: i }),
      }),
    );
  }
  return out;
}

async function readAll(store: EventStore): Promise<StoredEvent[]> {
  const positions = Array.from({ length: store.index.count }, (_, i) => i);
  return store.readPositions(positions);
}

/** Everything the index holds, as plain data. */
function snapshotIndex(store: EventStore): Record<string, unknown> & { segmentOf: number[]; rowOf: number[] } {
  const ix = store.index;
  const n = ix.count;
  const col = (a: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> }): number[] => Array.from(a.subarray(0, n));
  return {
    count: n,
    timestampUs: col(ix.timestampUs),
    entities: ix.entities.values.map((e) => [e, Array.from(ix.positionsOfEntity(e)!.data.subarray(0, ix.versionOf(e))), ix.lastVersionOf(e)]),
    types: ix.types.values.map((t) => [t, ix.positionsOfType(t)!.length]),
    tenants: [...ix.tenants.values],
    entityOf: col(ix.entityOf),
    typeOf: col(ix.typeOf),
    tenantOf: col(ix.tenantOf),
    segmentOf: col(ix.segmentOf),
    rowOf: col(ix.rowOf),
  };
}

const byLsn = (events: StoredEvent[]): StoredEvent[] => [...events].sort((a, b) => a.lsn - b.lsn);

async function walFiles(dataDir: string): Promise<string[]> {
  return (await readdir(path.join(dataDir, 'wal'))).filter((n) => n.endsWith('.log')).sort();
}

async function parquetFiles(dataDir: string): Promise<string[]> {
  return (await readdir(path.join(dataDir, 'segments'))).filter((n) => n.endsWith('.parquet')).sort();
}

/** Append events one record per event (sequentially), returning what was stored. */
async function appendEach(store: EventStore, events: NewEvent[]): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for (const e of events) out.push(...(await store.append([e])));
  return out;
}

/** Every entity's versions, in LSN order, are exactly 1..n. */
function expectContiguousVersions(events: StoredEvent[]): void {
  const perEntity = new Map<string, number[]>();
  for (const e of byLsn(events)) {
    let list = perEntity.get(e.entityId);
    if (!list) perEntity.set(e.entityId, (list = []));
    list.push(e.version);
  }
  for (const [, versions] of perEntity) {
    expect(versions).toEqual(versions.map((_, i) => i + 1));
  }
}

function expectUnique(events: StoredEvent[]): void {
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  expect(new Set(events.map((e) => e.lsn)).size).toBe(events.length);
}

describe('EventStore recovery', () => {
  it('keeps every event identical across a restart from the WAL alone', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    const written = [...(await appendEach(store, variedEvents(40))), ...(await store.append(variedEvents(25, 'b')))];
    expect(await readAll(store)).toEqual(written);
    await closeStore(store, false);
    expect(await parquetFiles(dir)).toEqual([]);

    const reopened = await open(dir);
    expect(reopened.recovery.eventsFromWal).toBe(65);
    expect(reopened.recovery.eventsFromSegments).toBe(0);
    expect(reopened.recovery.walCorruptions).toEqual([]);
    expect(await readAll(reopened)).toEqual(written);
    for (const e of written) expect(await reopened.getById(e.id)).toEqual(e);
  });

  it('keeps every event identical across a restart from a segment and removes the WAL files it covers', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    const written = await appendEach(store, variedEvents(50));
    const walBefore = await walFiles(dir);
    expect(walBefore.length).toBeGreaterThan(0);
    await store.flush();
    expect(store.stats().bufferedEvents).toBe(0);
    expect(store.stats().parquetFiles).toBe(1);
    const walAfter = await walFiles(dir);
    // Every WAL file that held the flushed events is gone; only the fresh active file is left.
    for (const f of walBefore) expect(walAfter).not.toContain(f);
    expect(await readAll(store)).toEqual(written);
    await closeStore(store, true);

    const reopened = await open(dir);
    expect(reopened.recovery.segmentsLoaded).toBe(1);
    expect(reopened.recovery.eventsFromSegments).toBe(50);
    expect(reopened.recovery.eventsFromWal).toBe(0);
    expect(await readAll(reopened)).toEqual(written);
    for (const e of written) expect(await reopened.getById(e.id)).toEqual(e);
  });

  it('restores a mix of segment events and a WAL tail', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    const first = await appendEach(store, variedEvents(30, 'a'));
    await store.flush();
    const second = await store.append(variedEvents(12, 'b'));
    await store.flush();
    const tail = await appendEach(store, variedEvents(9, 'a'));
    await closeStore(store, false);
    expect((await parquetFiles(dir)).length).toBe(2);

    const reopened = await open(dir);
    expect(reopened.recovery.eventsFromSegments).toBe(42);
    expect(reopened.recovery.eventsFromWal).toBe(9);
    const all = await readAll(reopened);
    expect(all).toEqual([...first, ...second, ...tail]);
    expectContiguousVersions(all);
  });

  it('rebuilds from segments (read column by column) exactly the index it had before the restart', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    // Several segments of several row groups; entity ids and tenants with non-ASCII text,
    // entities spread over every segment, then a WAL tail.
    const weird = (n: number, prefix: string): NewEvent[] =>
      variedEvents(n, prefix).map((e, i) => (i % 3 === 0 ? { ...e, entityId: `${e.entityId}-ünï✓🎉`, tenantId: i % 2 ? 'tënant-ß' : e.tenantId } : e));
    const stored: StoredEvent[] = [];
    for (let s = 0; s < 4; s++) {
      stored.push(...(await store.append(weird(150, 'x'))));
      await store.flush();
    }
    stored.push(...(await appendEach(store, weird(20, 'x'))));
    const before = snapshotIndex(store);
    await closeStore(store, false);
    expect((await parquetFiles(dir)).length).toBe(4);

    const reopened = await open(dir);
    expect(reopened.recovery).toMatchObject({ segmentsLoaded: 4, eventsFromSegments: 600, eventsFromWal: 20, segmentErrors: [] });
    expect(reopened.recovery.segmentsMs).toBeGreaterThanOrEqual(0);
    expect(reopened.recovery.walMs).toBeGreaterThanOrEqual(0);
    const after = snapshotIndex(reopened);
    // Segment numbers and rows are where the events now live; everything else is as before.
    expect({ ...after, segmentOf: undefined, rowOf: undefined }).toEqual({ ...before, segmentOf: undefined, rowOf: undefined });
    expect(after.segmentOf).toEqual([...Array(600).keys()].map((p) => Math.floor(p / 150)).concat(Array(20).fill(-1)));
    expect(after.rowOf.slice(0, 600)).toEqual([...Array(600).keys()].map((p) => p % 150));
    for (const e of stored) expect(await reopened.getById(e.id)).toEqual(e);
    expect(await readAll(reopened)).toEqual(stored);
    // Versions continue where they were.
    const [next] = await reopened.append([ev('x-1-ünï✓🎉', 1)]);
    expect(next!.version).toBe(stored.filter((e) => e.entityId === 'x-1-ünï✓🎉').length + 1);
  });

  it('continues versions after a restart and honours expected versions', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    await appendEach(store, [ev('acct', { n: 1 }), ev('acct', { n: 2 }), ev('acct', { n: 3 })]);
    await store.flush();
    await appendEach(store, [ev('acct', { n: 4 }), ev('other', { n: 1 })]);
    await closeStore(store, false);

    const reopened = await open(dir);
    expect(reopened.index.versionOf('acct')).toBe(4);
    const [fifth] = await reopened.append([ev('acct', { n: 5 })]);
    expect(fifth!.version).toBe(5);
    const [sixth] = await reopened.append([ev('acct', { n: 6 }, { expectedVersion: 5 })]);
    expect(sixth!.version).toBe(6);
    await expect(reopened.append([ev('acct', { n: 7 }, { expectedVersion: 5 })])).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    const [other] = await reopened.append([ev('other', { n: 2 }, { expectedVersion: 1 })]);
    expect(other!.version).toBe(2);
    const [fresh] = await reopened.append([ev('brand-new', {}, { expectedVersion: 0 })]);
    expect(fresh!.version).toBe(1);
    await closeStore(reopened, false);

    const again = await open(dir);
    const all = await readAll(again);
    expect(all.filter((e) => e.entityId === 'acct').map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expectContiguousVersions(all);
  });

  it('does not duplicate events that are both in a segment and in a WAL file (crash before WAL removal)', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    const flushed = await appendEach(store, variedEvents(35));
    const aside = path.join(tmp.path, `wal-aside-${dirCounter}`);
    await cp(path.join(dir, 'wal'), aside, { recursive: true });
    await store.flush();
    const tail = await appendEach(store, variedEvents(6, 'tail'));
    await closeStore(store, false);
    // Put the WAL files the flush removed back, as if the process died right after the manifest swap.
    for (const f of await readdir(aside)) {
      if (f.endsWith('.log') && !(await walFiles(dir)).includes(f)) await cp(path.join(aside, f), path.join(dir, 'wal', f));
    }

    const reopened = await open(dir);
    expect(reopened.recovery.eventsFromSegments).toBe(35);
    expect(reopened.recovery.walRecordsSkipped).toBe(35);
    const all = await readAll(reopened);
    expect(all).toHaveLength(41);
    expectUnique(all);
    expect(all).toEqual([...flushed, ...tail]);
    expectContiguousVersions(all);
    // New appends continue after the highest LSN seen anywhere.
    const [next] = await reopened.append([ev('tail-0', { after: true })]);
    expect(next!.lsn).toBeGreaterThan(Math.max(...all.map((e) => e.lsn)));
    expect(next!.version).toBe(all.filter((e) => e.entityId === 'tail-0').length + 1);
  });

  it('removes an orphan segment not in the manifest (crash before the manifest swap) and serves its events from the WAL', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    const first = await appendEach(store, variedEvents(10, 'x'));
    await store.flush();
    const second = await appendEach(store, variedEvents(20, 'y'));
    const segDir = path.join(dir, 'segments');
    const walAside = path.join(tmp.path, `orphan-wal-${dirCounter}`);
    const manifestAside = path.join(tmp.path, `orphan-manifest-${dirCounter}.json`);
    await cp(path.join(dir, 'wal'), walAside, { recursive: true });
    await cp(path.join(segDir, 'manifest.json'), manifestAside);
    const segmentsBefore = await parquetFiles(dir);
    await store.flush();
    await closeStore(store, false);
    const orphan = (await parquetFiles(dir)).filter((f) => !segmentsBefore.includes(f));
    expect(orphan).toHaveLength(1);
    // Roll back to the state just before the manifest swap: old manifest, WAL files still there.
    await cp(manifestAside, path.join(segDir, 'manifest.json'));
    for (const f of await readdir(walAside)) {
      if (f.endsWith('.log') && !(await walFiles(dir)).includes(f)) await cp(path.join(walAside, f), path.join(dir, 'wal', f));
    }

    const reopened = await open(dir);
    expect(reopened.recovery.orphanFilesRemoved).toEqual(orphan);
    expect(await parquetFiles(dir)).toEqual(segmentsBefore);
    expect(reopened.recovery.eventsFromSegments).toBe(10);
    expect(reopened.recovery.eventsFromWal).toBe(20);
    const all = await readAll(reopened);
    expect(all).toEqual([...first, ...second]);
    expectUnique(all);
  });

  it('cuts a torn WAL tail, keeps everything before it and reports the corruption', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    const written = await appendEach(store, variedEvents(20));
    await closeStore(store, false);
    const files = await walFiles(dir);
    let last = '';
    for (const f of files) if ((await stat(path.join(dir, 'wal', f))).size > 0) last = f;
    expect(last).not.toBe('');
    const lastPath = path.join(dir, 'wal', last);
    const size = (await stat(lastPath)).size;
    await truncate(lastPath, size - 5);

    const reopened = await open(dir);
    expect(reopened.recovery.walCorruptions).toHaveLength(1);
    expect(reopened.recovery.walCorruptions[0]).toMatchObject({ file: last, kind: 'torn_tail' });
    expect(reopened.recovery.walCorruptions[0]!.bytesCut).toBeGreaterThan(0);
    expect(await readAll(reopened)).toEqual(written.slice(0, -1));
    expect(reopened.health().ok).toBe(true);
    // The store keeps working and the cut record does not come back.
    const [next] = await reopened.append([ev(written[19]!.entityId, { after: 'cut' })]);
    expect(next!.version).toBe(written[19]!.version);
    await closeStore(reopened, false);

    const again = await open(dir);
    expect(again.recovery.walCorruptions).toEqual([]);
    const all = await readAll(again);
    expect(all).toEqual([...written.slice(0, -1), next]);
    expectContiguousVersions(all);
  });

  it('keeps timestamps non-decreasing in ingest order, also across restarts', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    await appendEach(store, variedEvents(30));
    await Promise.all(Array.from({ length: 30 }, (_, i) => store.append([ev(`c${i % 3}`, { i })])));
    await store.flush();
    await closeStore(store, false);
    const reopened = await open(dir);
    await appendEach(reopened, variedEvents(10));
    const all = byLsn(await readAll(reopened));
    expect(all).toHaveLength(70);
    for (let i = 1; i < all.length; i++) expect(all[i]!.timestampUs).toBeGreaterThanOrEqual(all[i - 1]!.timestampUs);
    for (const e of all) expect(Number.isSafeInteger(e.timestampUs)).toBe(true);
  });
});

describe('EventStore with an unreadable segment', () => {
  it('keeps the segment, never reuses its LSNs and never loses later acknowledged events', async () => {
    const dataDir = await freshDir();
    let store = await open(dataDir);
    await appendEach(store, variedEvents(30, 'first'));
    await store.flush();
    const [segment] = await parquetFiles(dataDir);
    await appendEach(store, variedEvents(5, 'tail'));
    await closeStore(store, false);

    // Bit rot: the segment's footer is gone.
    await truncate(path.join(dataDir, 'segments', segment!), 100);
    store = await open(dataDir);
    expect(store.recovery.segmentErrors.map((e) => e.file)).toEqual([segment]);
    expect(store.index.count).toBe(5);
    const acknowledged = await appendEach(store, variedEvents(7, 'after'));
    expect(Math.min(...acknowledged.map((e) => e.lsn))).toBeGreaterThan(35);
    await closeStore(store, false); // as after kill -9: the new events are only in the WAL

    store = await open(dataDir);
    const ids = new Set((await readAll(store)).map((e) => e.id));
    for (const e of acknowledged) expect(ids.has(e.id)).toBe(true);
    await store.flush(); // a later flush rewrites the manifest: the bad segment must stay listed
    await closeStore(store, true);
    store = await open(dataDir);
    expect(await parquetFiles(dataDir)).toContain(segment);
    expect(store.recovery.orphanFilesRemoved).not.toContain(segment);
    expect(store.index.count).toBe(12);
    await closeStore(store, true);
  });
});

describe('EventStore close', () => {
  /** Files under `dir` this process still has open (Linux: /proc/self/fd). */
  async function openFilesUnder(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const fd of await readdir('/proc/self/fd')) {
      const target = await readlink(path.join('/proc/self/fd', fd)).catch(() => '');
      if (target.startsWith(dir + path.sep)) out.push(target);
    }
    return out;
  }

  it('keeps at most maxOpenSegments segment files open while reading many segments', async () => {
    if (process.platform !== 'linux') return;
    const dir = await freshDir();
    const store = await open(dir);
    const written: StoredEvent[] = [];
    for (let s = 0; s < 6; s++) {
      written.push(...(await store.append(variedEvents(40, `s${s}`))));
      await store.flush();
    }
    await closeStore(store, false);
    const reopened = await open(dir, { maxOpenSegments: 2, segmentCacheBytes: 0 });
    const segmentFds = async (): Promise<string[]> => (await openFilesUnder(dir)).filter((f) => f.endsWith('.parquet'));
    // Every segment, back and forth, one read each: opened, and closed again beyond the bound.
    for (const s of [0, 5, 1, 4, 2, 3, 0, 5]) {
      const positions = [s * 40, s * 40 + 39];
      expect(await reopened.readPositions(positions)).toEqual(positions.map((p) => written[p]));
      // A file dropped from the open set is closed asynchronously: give it a moment.
      for (let wait = 0; wait < 100 && (await segmentFds()).length > 2; wait++) await new Promise((r) => setTimeout(r, 10));
      expect((await segmentFds()).length).toBeLessThanOrEqual(2);
    }
    await closeStore(reopened, false);
    expect(await openFilesUnder(dir)).toEqual([]);
  });

  it('flushes the whole buffer, however many flush chunks it takes, and leaves no WAL to replay', async () => {
    const dir = await freshDir();
    const store = await open(dir, { flushMaxEvents: 100 });
    const written: StoredEvent[] = [];
    for (let i = 0; i < 21; i++) written.push(...(await store.append(variedEvents(50, `k${i}`))));
    await closeStore(store, true);
    let walBytes = 0;
    for (const f of await walFiles(dir)) walBytes += (await stat(path.join(dir, 'wal', f))).size;
    expect(walBytes).toBe(0);

    const reopened = await open(dir);
    expect(reopened.recovery.eventsFromWal).toBe(0);
    expect(reopened.recovery.eventsFromSegments).toBe(1050);
    expect(await readAll(reopened)).toEqual(written);
  });

  it('releases every file it opened', async () => {
    if (process.platform !== 'linux') return;
    for (const flush of [true, false]) {
      const dir = await freshDir();
      const store = await open(dir, { flushMaxEvents: 40 });
      await appendEach(store, variedEvents(30));
      await store.append(variedEvents(50));
      await store.flush();
      await store.readPositions([0, 1, 79]);
      await store.append(variedEvents(5));
      expect((await openFilesUnder(dir)).length).toBeGreaterThan(0);
      await closeStore(store, flush);
      expect(await openFilesUnder(dir)).toEqual([]);
    }
  });
});

describe('EventStore id index on its worker thread', () => {
  it('finds ids on the worker (default) and on the event loop alike, across a restart', async () => {
    for (const idIndexOnWorker of [true, false]) {
      const dir = await freshDir();
      const store = await open(dir, { idIndexOnWorker });
      const written = await store.append(variedEvents(300));
      for (const e of written.slice(0, 40)) expect(await store.getById(e.id)).toEqual(e);
      expect(store.stats().idIndexBytes).toBe(1024 * 12);
      await closeStore(store, true);
      const reopened = await open(dir, { idIndexOnWorker });
      for (const e of written.slice(-40)) expect(await reopened.getById(e.id)).toEqual(e);
      expect(await reopened.getById('7b0c8a52-3e4f-4d6b-9a1c-2f3e4d5c6b7a')).toBeUndefined();
    }
  });

  it('answers STORAGE_UNAVAILABLE for lookups by id once the worker died, keeps ingesting, and a restart rebuilds it', async () => {
    const dir = await freshDir();
    const errors: string[] = [];
    const logger = { info: () => {}, warn: () => {}, error: (_o: object, msg?: string) => void errors.push(msg ?? '') };
    const store = await open(dir, { logger });
    const [first] = await store.append(variedEvents(1));
    expect(await store.getById(first!.id)).toEqual(first);
    const thread = (store.index as unknown as { ids: { worker: import('node:worker_threads').Worker } }).ids.worker;
    const exited = new Promise((resolve) => thread.once('exit', resolve));
    await thread.terminate();
    await exited;
    expect(errors).toEqual(['the event id index worker died: lookups by id fail until a restart']);
    const failure = await store.getById(first!.id).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(AllSourceError);
    expect((failure as AllSourceError).code).toBe('STORAGE_UNAVAILABLE');
    const later = await store.append(variedEvents(5, 'later'));
    expect(await store.readPositions([store.index.count - 1])).toEqual([later[4]]);
    await closeStore(store, false);
    const reopened = await open(dir);
    for (const e of [first!, ...later]) expect(await reopened.getById(e.id)).toEqual(e);
  });

  it('answers STORAGE_UNAVAILABLE for a lookup by id after close', async () => {
    const store = await open(await freshDir());
    const [one] = await store.append(variedEvents(1));
    await closeStore(store, false);
    const failure = await store.getById(one!.id).catch((err: unknown) => err);
    expect((failure as AllSourceError).code).toBe('STORAGE_UNAVAILABLE');
  });
});

describe('EventStore appends', () => {
  it('rejects an expected-version conflict with an AllSourceError VERSION_CONFLICT', async () => {
    const store = await open(await freshDir());
    await store.append([ev('v', 1), ev('v', 2)]);
    const err = await store.append([ev('v', 3, { expectedVersion: 1 })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllSourceError);
    expect(err).toMatchObject({ code: 'VERSION_CONFLICT', status: 409 });
    expect((err as AllSourceError).details).toMatchObject({ entity_id: 'v', current_version: 2, expected_version: 1 });
    expect(store.index.versionOf('v')).toBe(2);
  });

  it('applies a batch all or nothing', async () => {
    const dir = await freshDir();
    const store = await open(dir);
    const before = await store.append([ev('a', 1), ev('b', 1)]);
    const batch = [ev('a', 2), ev('c', 1), ev('b', 2, { expectedVersion: 7 }), ev('d', 1)];
    await expect(store.append(batch)).rejects.toMatchObject({ code: 'VERSION_CONFLICT', details: { index: 2 } });
    expect(store.index.count).toBe(2);
    expect(store.index.versionOf('a')).toBe(1);
    expect(store.index.versionOf('c')).toBe(0);
    // Expected versions inside one batch see the batch's own earlier events.
    const ok = await store.append([ev('a', 2, { expectedVersion: 1 }), ev('a', 3, { expectedVersion: 2 }), ev('c', 1, { expectedVersion: 0 })]);
    expect(ok.map((e) => e.version)).toEqual([2, 3, 1]);
    await closeStore(store, false);

    const reopened = await open(dir);
    const all = await readAll(reopened);
    expect(all).toEqual([...before, ...ok]);
  });

  it('gives concurrent appends distinct LSNs and ids and consistent per-entity versions', async () => {
    const dir = await freshDir();
    const store = await open(dir, { flushMaxEvents: 150 });
    const calls = Array.from({ length: 300 }, (_, i) =>
      i % 10 === 0
        ? store.append(Array.from({ length: 5 }, (_, k) => ev(`ent-${(i + k) % 13}`, { i, k })))
        : store.append([ev(`ent-${i % 13}`, { i })]),
    );
    const results = (await Promise.all(calls)).flat();
    expect(results).toHaveLength(270 + 30 * 5);
    expectUnique(results);
    expectContiguousVersions(results);
    // The whole batch shares one timestamp and consecutive LSNs.
    for (let i = 0; i < 300; i += 10) {
      const batch = (await calls[i])!;
      for (let k = 1; k < batch.length; k++) expect(batch[k]!.lsn).toBe(batch[k - 1]!.lsn + 1);
    }
    // Only one of many writers racing on the same expected version wins.
    const racing = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.append([ev('race', { i }, { expectedVersion: 0 })])));
    expect(racing.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of racing) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'VERSION_CONFLICT' });

    await store.flush();
    const stored = byLsn(await readAll(store));
    expect(stored).toHaveLength(results.length + 1);
    await closeStore(store, false);
    const reopened = await open(dir);
    const all = byLsn(await readAll(reopened));
    expect(all).toEqual(stored);
    expectContiguousVersions(all);
  });

  it('keeps versions consecutive when appends to an entity start before and after its first commit', async () => {
    const store = await open(await freshDir());
    // The first append goes out alone; these queue behind it while 'fresh' is still unknown to the index.
    const first = store.append([ev('fresh', { n: 0 })]);
    const queued = Array.from({ length: 20 }, (_, i) => store.append([ev('fresh', { n: i + 1 }), ev(`other-${i % 3}`, { i })]));
    await first;
    // 'fresh' is indexed now, while the queued appends' versions are still only reserved.
    const later = Array.from({ length: 20 }, (_, i) => store.append([ev('fresh', { n: 100 + i }), ev(`other-${i % 3}`, { i })]));
    const results = (await Promise.all([first, ...queued, ...later])).flat();
    expectUnique(results);
    expectContiguousVersions(results);
    expect(Math.max(...results.filter((e) => e.entityId === 'fresh').map((e) => e.version))).toBe(41);
    expect(store.index.versionOf('fresh')).toBe(41);
    await expect(store.append([ev('fresh', {}, { expectedVersion: 41 })])).resolves.toHaveLength(1);
  });

  it('makes appends wait for a flush when the buffer is over its bound, and refuses them when told not to wait', async () => {
    // No flush by size or age: only the bound on the buffer can start one.
    const bounds = { bufferMaxBytes: 4096, flushMaxBytes: 2 ** 30, flushMaxEvents: 1_000_000, flushMaxAgeMs: 3_600_000 };
    const refusing = await open(await freshDir(), { ...bounds, bufferFullWaitMs: 0 });
    await refusing.append(variedEvents(50, 'r'));
    await expect(refusing.append(variedEvents(1, 'r2'))).rejects.toMatchObject({ code: 'OVERLOADED', status: 503 });
    expect(refusing.stats().bufferedEvents).toBe(50);

    const waiting = await open(await freshDir(), { ...bounds, bufferFullWaitMs: 5_000 });
    const first = await waiting.append(variedEvents(50, 'w'));
    // The buffer is over its bound now: these wait for the flush that the first of them starts.
    const results = [first, ...(await Promise.all(Array.from({ length: 19 }, (_, i) => waiting.append(variedEvents(50, `w${i}-`)))))];
    expect(results.flat()).toHaveLength(1000);
    expectUnique(results.flat());
    expect(waiting.segments.length).toBeGreaterThan(0);
    expect(byLsn(await readAll(waiting))).toHaveLength(1000);
  });

  it('lets at most MAX_BUFFER_WAITERS appends wait for buffer space, and wakes them when the store closes', async () => {
    // Segment writes hang until released: the buffer stays full while appends pile up.
    let releaseWrites!: () => void;
    const writesReleased = new Promise<void>((resolve) => (releaseWrites = resolve));
    const slowFs: FileSystem = {
      ...nodeFileSystem,
      writeFileAtomic: async (file, data) => {
        await writesReleased;
        return nodeFileSystem.writeFileAtomic(file, data);
      },
    };
    const bounds = { bufferMaxBytes: 4096, flushMaxBytes: 2 ** 30, flushMaxEvents: 1_000_000, flushMaxAgeMs: 3_600_000 };
    const store = await open(await freshDir(), { ...bounds, fs: slowFs, bufferFullWaitMs: 60_000 });
    await store.append(variedEvents(50, 'fill'));
    const waiting = Array.from({ length: MAX_BUFFER_WAITERS }, (_, i) => store.append([ev(`w-${i}`, { i })]));
    const settled = waiting.map((p) => p.then(() => 'stored', (err: AllSourceError) => err.code));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(store.append([ev('one-too-many', {})])).rejects.toMatchObject({ code: 'OVERLOADED' });

    const closing = closeStore(store, false);
    expect(new Set(await Promise.all(settled))).toEqual(new Set(['STORAGE_UNAVAILABLE']));
    releaseWrites();
    await closing;
  });

  it('reads flushed events back from disk through a small bounded segment cache', async () => {
    const dir = await freshDir();
    const store = await open(dir, { rowGroupSize: 16, flushMaxEvents: 400 });
    const events: NewEvent[] = Array.from({ length: 1200 }, (_, i) =>
      ev(`big-${i % 40}`, { i, blob: `${i}:`.padEnd(1000, String.fromCharCode(97 + (i % 26))), arr: [i, i * 2] }),
    );
    const written: StoredEvent[] = [];
    for (let i = 0; i < events.length; i += 100) written.push(...(await store.append(events.slice(i, i + 100))));
    for (let f = 0; f < 10 && store.stats().bufferedEvents > 0; f++) await store.flush();
    expect(store.stats().parquetFiles).toBeGreaterThanOrEqual(3);
    const afterFlush = store.stats();
    // The buffer no longer holds payloads.
    expect(afterFlush.bufferedEvents).toBe(0);
    expect(afterFlush.bufferedBytes).toBe(0);
    await closeStore(store, true);

    const cacheBytes = 64 * 1024;
    const reopened = await open(dir, { segmentCacheBytes: cacheBytes, maxOpenSegments: 2 });
    expect(reopened.stats().bufferedEvents).toBe(0);
    // A row group of 16 events of ~1 KiB is ~20 KiB: the cache may hold one group beyond its bound.
    const bound = cacheBytes + 32 * 1024;
    let maxSeen = 0;
    // In order, in reverse and in a scattered order, one small read at a time.
    const orders = [
      written.map((_, i) => i),
      written.map((_, i) => written.length - 1 - i),
      written.map((_, i) => (i * 7919) % written.length),
    ];
    for (const order of orders) {
      for (let i = 0; i < order.length; i += 37) {
        const positions = order.slice(i, i + 37);
        const got = await reopened.readPositions(positions);
        expect(got).toEqual(positions.map((p) => written[p]));
        maxSeen = Math.max(maxSeen, reopened.stats().segmentCacheBytes);
        expect(reopened.stats().segmentCacheBytes).toBeLessThanOrEqual(bound);
      }
    }
    expect(maxSeen).toBeGreaterThan(0);
    for (const e of written.slice(0, 50)) expect(await reopened.getById(e.id)).toEqual(e);
  });
});

describe('EventStore segment cache contents', () => {
  it('caches only the columns the index does not hold: long entity ids and types cost no cache bytes', async () => {
    const dir = await freshDir();
    const store = await open(dir, { rowGroupSize: 32 });
    // Entity ids, types and tenants of 2 KB each (the index holds them), tiny payloads.
    const long = (tag: string, i: number): string => `${tag}-${i % 3}-`.padEnd(2000, 'x');
    const written = await store.append(
      Array.from({ length: 256 }, (_, i) => ev(long('entity', i), i, { eventType: long('type', i), tenantId: long('tenant', i), metadataJson: i % 2 ? null : '{"m":"ü"}' })),
    );
    await closeStore(store, true);

    const reopened = await open(dir);
    expect(await readAll(reopened)).toEqual(written);
    const cached = reopened.stats().segmentCacheBytes;
    // 8 row groups of 32 rows: ids, LSNs, versions, payloads, metadata and a fixed overhead only.
    expect(cached).toBeGreaterThan(0);
    expect(cached).toBeLessThan(8 * (2048 + 32 * 100));
    // Row groups taken from the cache give the same events again, also in another order.
    const scattered = written.map((_, i) => (i * 37) % written.length);
    expect(await reopened.readPositions(scattered)).toEqual(scattered.map((p) => written[p]));
    expect(reopened.stats().segmentCacheBytes).toBe(cached);
  });
});

describe('EventStore concurrent segment reads', () => {
  it('serves concurrent reads over more segments than it keeps open (a closed file is never freed under a read)', async () => {
    const dir = await freshDir();
    const store = await open(dir, { rowGroupSize: 16, maxOpenSegments: 2, segmentCacheBytes: 32 * 1024 });
    const written: StoredEvent[] = [];
    for (let s = 0; s < 12; s++) {
      written.push(...(await store.append(variedEvents(30, `s${s}`))));
      await store.flush();
    }
    expect(store.stats().parquetFiles).toBe(12);
    const readers = Array.from({ length: 4 }, async (_, r) => {
      for (let round = 0; round < 15; round++) {
        const positions = Array.from({ length: 25 }, (_, i) => (i * 97 + round * 31 + r * 13) % written.length);
        expect(await store.readPositions(positions)).toEqual(positions.map((p) => written[p]));
      }
    });
    await Promise.all(readers);
  });
});

describe('EventStore storage faults', () => {
  /** A FileSystem whose next fdatasync(s) fail with EIO once armed. */
  function faultyFs(): { fs: FileSystem; failNextSyncs(n: number): void } {
    let failures = 0;
    const fs: FileSystem = {
      ...nodeFileSystem,
      async fdatasync(fd) {
        if (failures > 0) {
          failures--;
          throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        }
        return nodeFileSystem.fdatasync(fd);
      },
    };
    return { fs, failNextSyncs: (n) => (failures = n) };
  }

  it('rejects the write whose sync fails, reports unhealthy, then recovers on the next append', async () => {
    const dir = await freshDir();
    const faults = faultyFs();
    const store = await open(dir, { fs: faults.fs });
    const ok1 = await store.append([ev('f', { n: 1 }), ev('g', { n: 1 })]);
    expect(store.health().ok).toBe(true);

    faults.failNextSyncs(1);
    const err = await store.append([ev('f', { n: 'lost' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AllSourceError);
    expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE', status: 503 });
    const health = store.health();
    expect(health.ok).toBe(false);
    expect(health.reason).toMatch(/write-ahead log/);
    // Nothing of the failed write is visible.
    expect(store.index.count).toBe(2);
    expect(store.index.versionOf('f')).toBe(1);

    const ok2 = await store.append([ev('f', { n: 2 })]);
    expect(ok2[0]!.version).toBe(2);
    expect(store.health()).toEqual({ ok: true });
    const ok3 = await store.append([ev('g', { n: 2 }), ev('f', { n: 3 })]);
    await closeStore(store, false);

    const reopened = await open(dir);
    const all = await readAll(reopened);
    const acknowledged = [...ok1, ...ok2, ...ok3];
    for (const e of acknowledged) expect(all.filter((x) => x.id === e.id)).toEqual([e]);
    // The rejected write does not come back after a restart, and versions stay 1..n.
    expect(all.some((e) => e.payloadJson.includes('lost'))).toBe(false);
    expect(all).toEqual(acknowledged);
    expectContiguousVersions(all);
  });

  it('fails every write of a failing group commit and keeps only acknowledged writes', async () => {
    const dir = await freshDir();
    const faults = faultyFs();
    const store = await open(dir, { fs: faults.fs });
    await store.append([ev('h', { n: 0 })]);
    faults.failNextSyncs(1);
    const settled = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => store.append([ev(`h${i % 3}`, { i })])));
    const acknowledged = settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    for (const r of settled) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(settled.some((r) => r.status === 'rejected')).toBe(true);
    const later = await Promise.all(Array.from({ length: 9 }, (_, i) => store.append([ev(`h${i % 3}`, { later: i })])));
    expect(store.health().ok).toBe(true);
    const live = byLsn(await readAll(store));
    expectContiguousVersions(live);
    await closeStore(store, false);

    const reopened = await open(dir);
    const all = byLsn(await readAll(reopened));
    for (const e of [...acknowledged, ...later.flat()]) expect(all.filter((x) => x.id === e.id)).toEqual([e]);
    expect(all).toEqual(live);
    expectContiguousVersions(all);
  });
});
