/**
 * Compaction of Parquet segments over real data directories: every event comes back identical
 * (ids, versions, payloads, timestamps) from fewer, larger files that DuckDB reads too; the
 * merge survives restarts; the crash windows of a compaction (merged file written but manifest
 * not swapped, manifest swapped but old files not yet deleted, some deleted) give each event
 * exactly once; queries, flushes and appends running during a compaction stay correct.
 */
import { cp, readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { NewEvent, StoredEvent } from '../events/storedEvent';
import { readParquetRows, rowToStoredEvent, useDuck } from '../testing/duckdb';
import { useOpenStores } from '../testing/storeOptions';
import { useTempDir } from '../testing/tempDirs';
import { waitFor } from '../testing/wait';
import { MAX_COMPACTIONS_WAITING, type EventStore, type CompactionResult, type EventStoreOptions } from './eventStore';
import { nodeFileSystem, type FileSystem } from './fs/fileSystem';
import type { Manifest } from './segments/manifest';

const MiB = 1024 * 1024;

const tmp = useTempDir('allsource-compaction-int-');
const duck = useDuck();

let dirCounter = 0;
const freshDir = (): string => path.join(tmp.path, `d${++dirCounter}`);

const stores = useOpenStores();
const open = (dataDir: string, over: Partial<EventStoreOptions> = {}): Promise<EventStore> => stores.open(dataDir, over);
const closeStore = (store: EventStore, flush = false): Promise<void> => stores.close(store, flush);

/** A mix of payload shapes, entities, tenants and metadata. */
function variedEvents(n: number, prefix = 'e'): NewEvent[] {
  const out: NewEvent[] = [];
  for (let i = 0; i < n; i++) {
    const payload =
      i % 4 === 0
        ? { i, name: `n${i}`, nested: { deep: [1, 'two', { three: 3 }] }, note: 'ünïcödé ✓ "quoted" \\ \n 🎉' }
        : i % 4 === 1
          ? [i, null, 'x', 1.5e300, -0.125]
          : i % 4 === 2
            ? `plain string ${i}`
            : i;
    out.push({
      eventType: i % 3 === 0 ? 'user.created' : 'order.placed',
      entityId: `${prefix}-${i % 7}`,
      tenantId: i % 5 === 0 ? 'tenant_b' : 'default',
      payloadJson: JSON.stringify(payload),
      metadataJson: i % 2 === 0 ? null : JSON.stringify({ source: 'test', seq: i }),
    });
  }
  return out;
}

/** Append `segments` × `perSegment` events (batches of 5) and flush after each group: one segment each. */
async function fillSegments(store: EventStore, segments: number, perSegment: number, prefix = 'e'): Promise<StoredEvent[]> {
  const written: StoredEvent[] = [];
  for (let s = 0; s < segments; s++) {
    const events = variedEvents(perSegment, `${prefix}${s % 3}`);
    for (let i = 0; i < events.length; i += 5) written.push(...(await store.append(events.slice(i, i + 5))));
    await store.flush();
  }
  return written;
}

async function readAll(store: EventStore): Promise<StoredEvent[]> {
  return store.readPositions(Array.from({ length: store.index.count }, (_, i) => i));
}

async function parquetFiles(dataDir: string): Promise<string[]> {
  return (await readdir(path.join(dataDir, 'segments'))).filter((n) => n.endsWith('.parquet')).sort();
}

async function manifestOf(dataDir: string): Promise<Manifest> {
  return JSON.parse(await readFile(path.join(dataDir, 'segments', 'manifest.json'), 'utf8')) as Manifest;
}

function expectExactlyOnce(events: StoredEvent[], expected: StoredEvent[]): void {
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  expect(new Set(events.map((e) => e.lsn)).size).toBe(events.length);
  expect(events).toEqual(expected);
}

/** Every entity's versions, in LSN order, are exactly 1..n. */
function expectContiguousVersions(events: StoredEvent[]): void {
  const perEntity = new Map<string, number[]>();
  for (const e of [...events].sort((a, b) => a.lsn - b.lsn)) {
    let list = perEntity.get(e.entityId);
    if (!list) perEntity.set(e.entityId, (list = []));
    list.push(e.version);
  }
  for (const [, versions] of perEntity) expect(versions).toEqual(versions.map((_, i) => i + 1));
}

const duckRows = async (file: string): Promise<StoredEvent[]> => (await readParquetRows(duck.con, file)).map(rowToStoredEvent);

const SMALL = { smallSegmentBytes: 4 * MiB, targetBytes: 64 * MiB, minFiles: 2 };

describe('EventStore.compact', () => {
  it('merges adjacent small segments into one file with every event identical, which DuckDB reads and a restart keeps', async () => {
    const dir = freshDir();
    const compactions: CompactionResult[] = [];
    const store = await open(dir, { observer: { onCompaction: (r) => compactions.push(r) } });
    const written = await fillSegments(store, 8, 25);
    const before = await readAll(store);
    expect(before).toEqual(written);
    const oldFiles = await parquetFiles(dir);
    expect(oldFiles).toHaveLength(8);
    const bytesBefore = store.segments.reduce((sum, s) => sum + s.bytes, 0);
    const flushedLsn = store.stats().flushedLsn;

    const result = await store.compact(SMALL);

    const files = await parquetFiles(dir);
    expect(files).toHaveLength(1);
    expect(oldFiles).not.toContain(files[0]);
    const merged = path.join(dir, 'segments', files[0]!);
    expect(result).toMatchObject({ filesCompacted: 8, segmentsCreated: 1, eventsCompacted: 200, bytesBefore });
    expect(result.bytesAfter).toBe((await stat(merged)).size);
    expect(result.bytesSaved).toBe(Math.max(0, bytesBefore - result.bytesAfter));
    expect(result.bytesAfter).toBeLessThan(bytesBefore); // eight footers and headers become one
    expect(compactions).toEqual([result]);

    const manifest = await manifestOf(dir);
    expect(manifest.flushedLsn).toBe(flushedLsn);
    expect(manifest.segments).toEqual([
      {
        file: files[0],
        firstLsn: written[0]!.lsn,
        lastLsn: written[written.length - 1]!.lsn,
        events: 200,
        bytes: result.bytesAfter,
        minTimestampUs: written[0]!.timestampUs,
        maxTimestampUs: written[written.length - 1]!.timestampUs,
        generation: 1,
      },
    ]);
    expect(store.stats()).toMatchObject({ parquetFiles: 1, segmentBytes: result.bytesAfter, totalEvents: 200 });

    // Every event identical, by position and by id, and to a third-party reader.
    expectExactlyOnce(await readAll(store), before);
    for (const e of before.filter((_, i) => i % 17 === 0)) expect(await store.getById(e.id)).toEqual(e);
    expect(await duckRows(merged)).toEqual(before);

    const totals = store.compactionStats();
    expect(totals).toMatchObject({
      compactions: 1,
      filesCompacted: 8,
      segmentsCreated: 1,
      bytesBefore,
      bytesAfter: result.bytesAfter,
      eventsCompacted: 200,
      spaceSavedBytes: result.bytesSaved,
      failures: 0,
      running: false,
      pendingDeletions: 0,
    });
    expect(totals.lastDurationMs).toBe(result.durationMs);
    expect(totals.lastCompactedAt).toBeGreaterThan(0);

    // New events after the compaction, then a restart: all there, versions continue.
    const more = await fillSegments(store, 2, 10, 'late');
    await closeStore(store);
    const reopened = await open(dir);
    expect(reopened.recovery).toMatchObject({ segmentsLoaded: 3, eventsFromSegments: 220, orphanFilesRemoved: [], segmentErrors: [] });
    const all = await readAll(reopened);
    expectExactlyOnce(all, [...written, ...more]);
    expectContiguousVersions(all);
    const [next] = await reopened.append([{ ...variedEvents(1, 'e0')[0]! }]);
    expect(next!.version).toBe(all.filter((e) => e.entityId === next!.entityId).length + 1);

    // The merged segment (generation 1) merges again with the new small ones into generation 2.
    await reopened.flush();
    const again = await reopened.compact(SMALL);
    expect(again).toMatchObject({ filesCompacted: 4, segmentsCreated: 1, eventsCompacted: 221 });
    expect(reopened.segments).toHaveLength(1);
    expect(reopened.segments[0]!.generation).toBe(2);
    expect(await parquetFiles(dir)).toEqual([reopened.segments[0]!.file]);
    expectExactlyOnce(await readAll(reopened), [...written, ...more, next!]);
  });

  it('answers zeros when nothing qualifies and leaves the files alone', async () => {
    const dir = freshDir();
    const compactions: CompactionResult[] = [];
    const store = await open(dir, { observer: { onCompaction: (r) => compactions.push(r) } });
    expect(await store.compact(SMALL)).toMatchObject({ filesCompacted: 0, segmentsCreated: 0, bytesBefore: 0, bytesAfter: 0, eventsCompacted: 0 });
    const written = await fillSegments(store, 1, 20);
    // A single segment, and the buffer (never compacted) holding more.
    const buffered = await store.append(variedEvents(3, 'buf'));
    const files = await parquetFiles(dir);
    expect(await store.compact(SMALL)).toMatchObject({ filesCompacted: 0, eventsCompacted: 0 });
    await fillSegments(store, 2, 20, 'x');
    // Three segments, but none small enough.
    expect(await store.compact({ ...SMALL, smallSegmentBytes: 100 })).toMatchObject({ filesCompacted: 0 });
    expect(await parquetFiles(dir)).toHaveLength(files.length + 2);
    expect(compactions).toEqual([]);
    expect(store.compactionStats()).toMatchObject({ compactions: 0, filesCompacted: 0, failures: 0 });
    expect((await readAll(store)).slice(0, 23)).toEqual([...written, ...buffered]);
    await expect(store.compact({ minFiles: 1 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    // At most MAX_COMPACTIONS_WAITING passes wait or run at once: the next call is refused, not queued.
    const passes = Array.from({ length: MAX_COMPACTIONS_WAITING }, () => store.compact(SMALL));
    await expect(store.compact(SMALL)).rejects.toMatchObject({ code: 'OVERLOADED' });
    await Promise.all(passes);
    expect(await store.compact(SMALL)).toMatchObject({ filesCompacted: 0 });
  });

  it('merges only runs of adjacent segments below the size threshold, up to the target size, of at least minFiles', async () => {
    const dir = freshDir();
    const store = await open(dir);
    const written: StoredEvent[] = [];
    written.push(...(await fillSegments(store, 2, 10, 'a'))); // small, small
    // A big segment in the middle: many events with large payloads that do not compress.
    let seed = 12345;
    const noise = (length: number): string =>
      Array.from({ length }, () => ((seed = (seed * 1103515245 + 12345) % 2147483648) % 36).toString(36)).join('');
    const big = Array.from({ length: 200 }, (_, i) => ({ ...variedEvents(1, 'big')[0]!, payloadJson: JSON.stringify({ i, blob: noise(2000) }) }));
    for (let i = 0; i < big.length; i += 50) written.push(...(await store.append(big.slice(i, i + 50))));
    await store.flush();
    written.push(...(await fillSegments(store, 5, 10, 'b'))); // five small ones
    const segs = store.segments.map((s) => ({ file: s.file, bytes: s.bytes }));
    expect(segs).toHaveLength(8);
    const smallMax = Math.max(...segs.filter((_, i) => i !== 2).map((s) => s.bytes));
    const threshold = smallMax + 1;
    expect(segs[2]!.bytes).toBeGreaterThan(threshold * 4);

    // minFiles 3: the run of two before the big segment stays; at most 3 small files fit the target.
    const r1 = await store.compact({ smallSegmentBytes: threshold, targetBytes: smallMax * 3, minFiles: 3 });
    expect(r1).toMatchObject({ filesCompacted: 3, segmentsCreated: 1 });
    let files = store.segments.map((s) => s.file);
    expect(files.slice(0, 3)).toEqual(segs.slice(0, 3).map((s) => s.file));
    expect(files.slice(4)).toEqual(segs.slice(6).map((s) => s.file));
    expect(files).toHaveLength(6);
    expect(await readAll(store)).toEqual(written);

    // minFiles 2 and a large target: both runs of small segments merge; the big one stays between them.
    const r2 = await store.compact({ smallSegmentBytes: threshold * 4, targetBytes: 64 * MiB, minFiles: 2 });
    expect(r2).toMatchObject({ filesCompacted: 5, segmentsCreated: 2 });
    files = store.segments.map((s) => s.file);
    expect(files).toHaveLength(3);
    expect(files[1]).toBe(segs[2]!.file);
    expect(store.segments.map((s) => s.generation)).toEqual([1, 0, 2]);
    expect(await parquetFiles(dir)).toEqual([...files].sort());
    expectExactlyOnce(await readAll(store), written);
    expect(store.compactionStats()).toMatchObject({ compactions: 2, filesCompacted: 8, segmentsCreated: 3 });

    await closeStore(store);
    const reopened = await open(dir);
    expectExactlyOnce(await readAll(reopened), written);
  });
});

describe('EventStore.compact crash windows', () => {
  /**
   * A FileSystem that copies the data directory aside (a "crash image") at points of the
   * compaction: right after the merged segment is written, right before the first old segment
   * is deleted (manifest swapped) and right after it (some deleted).
   */
  function crashImages(dataDir: string): { fs: FileSystem; arm(): void; images: Map<string, string> } {
    const images = new Map<string, string>();
    let armed = false;
    const snap = async (name: string): Promise<void> => {
      if (images.has(name)) return;
      const target = path.join(tmp.path, `image-${dirCounter}-${name}`);
      await cp(dataDir, target, { recursive: true });
      images.set(name, target);
    };
    const fs: FileSystem = {
      ...nodeFileSystem,
      async writeFileAtomic(file, data) {
        await nodeFileSystem.writeFileAtomic(file, data);
        if (armed && file.endsWith('.parquet')) await snap('merged-written');
      },
      async unlink(file) {
        if (armed && file.endsWith('.parquet')) await snap('manifest-swapped');
        await nodeFileSystem.unlink(file);
        if (armed && file.endsWith('.parquet')) await snap('one-old-file-deleted');
      },
    };
    return { fs, arm: () => (armed = true), images };
  }

  it('gives each event exactly once from every crash point of a compaction', async () => {
    const dir = freshDir();
    const crash = crashImages(dir);
    const store = await open(dir, { fs: crash.fs });
    const flushed = await fillSegments(store, 6, 15);
    // A WAL tail that is not in any segment: it must come back once too.
    const tail = await store.append(variedEvents(7, 'tail'));
    const oldFiles = await parquetFiles(dir);
    crash.arm();
    const result = await store.compact(SMALL);
    expect(result.filesCompacted).toBe(6);
    const mergedFile = store.segments[0]!.file;
    expect([...crash.images.keys()].sort()).toEqual(['manifest-swapped', 'merged-written', 'one-old-file-deleted']);
    await closeStore(store);
    const expected = [...flushed, ...tail];

    // Merged file written, manifest not swapped: the merged file is an orphan.
    const beforeSwap = crash.images.get('merged-written')!;
    expect(await parquetFiles(beforeSwap)).toEqual([...oldFiles, mergedFile].sort());
    let reopened = await open(beforeSwap);
    expect(reopened.recovery.orphanFilesRemoved).toEqual([mergedFile]);
    expect(reopened.segments.map((s) => s.file)).toEqual(oldFiles);
    expect(await parquetFiles(beforeSwap)).toEqual(oldFiles);
    expectExactlyOnce(await readAll(reopened), expected);
    expectContiguousVersions(await readAll(reopened));
    await closeStore(reopened);

    // Manifest swapped, no old file deleted yet: the old files are orphans.
    const afterSwap = crash.images.get('manifest-swapped')!;
    expect(await parquetFiles(afterSwap)).toEqual([...oldFiles, mergedFile].sort());
    reopened = await open(afterSwap);
    expect([...reopened.recovery.orphanFilesRemoved].sort()).toEqual(oldFiles);
    expect(reopened.segments.map((s) => s.file)).toEqual([mergedFile]);
    expect(await parquetFiles(afterSwap)).toEqual([mergedFile]);
    expectExactlyOnce(await readAll(reopened), expected);
    await closeStore(reopened);

    // Some old files deleted.
    const midDelete = crash.images.get('one-old-file-deleted')!;
    expect(await parquetFiles(midDelete)).toHaveLength(oldFiles.length);
    reopened = await open(midDelete);
    expect(reopened.recovery.orphanFilesRemoved).toHaveLength(oldFiles.length - 1);
    expectExactlyOnce(await readAll(reopened), expected);
    // And the recovered store compacts and appends normally.
    expect((await reopened.compact(SMALL)).filesCompacted).toBe(0);
    await reopened.append(variedEvents(2, 'after'));
    await closeStore(reopened);

    // The finished compaction itself.
    reopened = await open(dir);
    expect(reopened.recovery.orphanFilesRemoved).toEqual([]);
    expectExactlyOnce(await readAll(reopened), expected);
  });

  it('stops cleanly when the store closes during a compaction, losing and duplicating nothing', async () => {
    // Closed while the merged file is being written: the pass stops before its manifest swap
    // and removes the file it wrote.
    const dir = freshDir();
    let closing: Promise<void> | undefined;
    let store: EventStore | undefined;
    const fs: FileSystem = {
      ...nodeFileSystem,
      async writeFileAtomic(file, data) {
        if (file.endsWith('.parquet') && store && !closing && store.compactionStats().running) closing = closeStore(store);
        await nodeFileSystem.writeFileAtomic(file, data);
      },
    };
    store = await open(dir, { fs });
    const written = await fillSegments(store, 10, 20);
    const files = await parquetFiles(dir);
    const result = await store.compact(SMALL);
    expect(closing).toBeDefined();
    await closing;
    expect(result.filesCompacted).toBe(0);
    expect(await parquetFiles(dir)).toEqual(files);
    await expect(store.compact(SMALL)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });

    let reopened = await open(dir);
    expect(reopened.recovery.orphanFilesRemoved).toEqual([]);
    expectExactlyOnce(await readAll(reopened), written);

    // Closed right after asking: the pass does nothing.
    const pass = reopened.compact(SMALL);
    await closeStore(reopened);
    expect((await pass).filesCompacted).toBe(0);

    reopened = await open(dir);
    expectExactlyOnce(await readAll(reopened), written);
    expect((await reopened.compact(SMALL)).filesCompacted).toBe(10);
    expect(await parquetFiles(dir)).toHaveLength(1);
    expectExactlyOnce(await readAll(reopened), written);
  });
});

describe('EventStore.compact storage faults', () => {
  it('fails a pass whose merged file or manifest cannot be written, keeps serving every event, and succeeds later', async () => {
    const dir = freshDir();
    let failParquet = 0;
    let failManifest = 0;
    const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const fs: FileSystem = {
      ...nodeFileSystem,
      async writeFileAtomic(file, data) {
        if (file.endsWith('.parquet') && failParquet > 0) {
          failParquet--;
          throw enospc();
        }
        if (file.endsWith('manifest.json') && failManifest > 0) {
          failManifest--;
          throw enospc();
        }
        await nodeFileSystem.writeFileAtomic(file, data);
      },
    };
    const compactions: CompactionResult[] = [];
    const store = await open(dir, { fs, observer: { onCompaction: (r) => compactions.push(r) } });
    const written = await fillSegments(store, 5, 12);
    const files = await parquetFiles(dir);

    // The merged file cannot be written.
    failParquet = 1;
    await expect(store.compact(SMALL)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringContaining('ENOSPC') });
    expect(store.compactionStats()).toMatchObject({ failures: 1, compactions: 0, lastError: expect.stringContaining('ENOSPC') });
    expect(store.segments.map((s) => s.file)).toEqual(files);
    expectExactlyOnce(await readAll(store), written);

    // The manifest cannot be swapped: the old segments stay in use.
    failManifest = 1;
    await expect(store.compact(SMALL)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(store.compactionStats()).toMatchObject({ failures: 2, compactions: 0 });
    expect(store.segments.map((s) => s.file)).toEqual(files);
    expect((await manifestOf(dir)).segments.map((s) => s.file)).toEqual(files);
    expectExactlyOnce(await readAll(store), written);
    expect(compactions).toEqual([]);

    // The fault is gone: the next pass merges.
    const result = await store.compact(SMALL);
    expect(result).toMatchObject({ filesCompacted: 5, eventsCompacted: 60 });
    expect(compactions).toEqual([result]);
    expectExactlyOnce(await readAll(store), written);
    await closeStore(store);

    // The merged file of the failed swap was an orphan: gone at the next start.
    const reopened = await open(dir);
    expect(reopened.recovery.orphanFilesRemoved).toHaveLength(1);
    expect(await parquetFiles(dir)).toEqual([reopened.segments[0]!.file]);
    expectExactlyOnce(await readAll(reopened), written);
  });
});

describe('EventStore.compact concurrency', () => {
  it('keeps queries correct while compactions run, and deletes the old files once the reads are done', async () => {
    const dir = freshDir();
    // Few open files: reads also race the open-file LRU.
    const store = await open(dir, { maxOpenSegments: 2, segmentCacheBytes: 64 * 1024 });
    const written = await fillSegments(store, 24, 20);
    const n = written.length;
    let stop = false;
    let iterations = 0;
    let compacting = false;
    let duringCompaction = 0;
    const reader = async (seed: number): Promise<void> => {
      let k = seed;
      while (!stop) {
        const during = compacting;
        const positions = Array.from({ length: 40 }, () => (k = (k * 7919 + 13) % n));
        const got = await store.readPositions(positions);
        expect(got).toEqual(positions.map((p) => written[p]));
        const one = written[(k * 31) % n]!;
        expect(await store.getById(one.id)).toEqual(one);
        const entity = store.index.positionsOfEntity(one.entityId)!;
        const all = await store.readPositions(Array.from(entity.data.subarray(0, entity.length)));
        expect(all).toEqual(written.filter((e) => e.entityId === one.entityId));
        iterations++;
        if (during) duringCompaction++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const readers = [reader(1), reader(2), reader(3)];
    try {
      // Two passes: pairs of small segments first, then everything.
      compacting = true;
      const first = await store.compact({ ...SMALL, targetBytes: Math.max(...store.segments.map((s) => s.bytes)) * 2 });
      expect(first.filesCompacted).toBe(24);
      expect(first.segmentsCreated).toBe(12);
      const second = await store.compact(SMALL);
      compacting = false;
      expect(second).toMatchObject({ filesCompacted: 12, segmentsCreated: 1, eventsCompacted: n });
      // Let the readers go on over the merged file for a while.
      const target = iterations + 20;
      await waitFor('reads after the compaction', () => iterations >= target, 30_000);
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    expect(duringCompaction).toBeGreaterThan(0);
    await waitFor('old files deleted', () => store.compactionStats().pendingDeletions === 0, 30_000);
    expect(await parquetFiles(dir)).toEqual([store.segments[0]!.file]);
    expectExactlyOnce(await readAll(store), written);
  });

  it('runs alongside appends and automatic flushes, and serialises concurrent passes', async () => {
    const dir = freshDir();
    const store = await open(dir, { flushMaxEvents: 15 });
    const written: StoredEvent[] = [];
    const appendSome = async (count: number, prefix: string): Promise<void> => {
      const events = variedEvents(count, prefix);
      for (let i = 0; i < events.length; i += 3) written.push(...(await store.append(events.slice(i, i + 3))));
    };
    await appendSome(150, 'w');
    await waitFor('background flushes', () => store.stats().bufferedEvents < 15, 30_000);
    await store.flush();
    const segmentsBefore = store.segments.length;
    expect(segmentsBefore).toBeGreaterThanOrEqual(9);

    // Two passes asked for at once, with appends (and the flushes they cause) in between.
    const [a, b] = await Promise.all([store.compact(SMALL), store.compact(SMALL), appendSome(90, 'x')]);
    // The first pass merged what qualified; the second only what was flushed meanwhile.
    expect(a!.filesCompacted).toBeGreaterThanOrEqual(segmentsBefore);
    expect(a!.filesCompacted + b!.filesCompacted).toBeGreaterThanOrEqual(segmentsBefore);
    await store.flush();
    written.sort((x, y) => x.lsn - y.lsn);
    expectExactlyOnce(await readAll(store), written);
    expectContiguousVersions(written);
    const manifest = await manifestOf(dir);
    expect(manifest.segments.map((s) => s.file)).toEqual(store.segments.map((s) => s.file));
    expect(manifest.flushedLsn).toBe(written[written.length - 1]!.lsn);
    // Segments stay in LSN order without overlap.
    for (let i = 1; i < manifest.segments.length; i++) {
      expect(manifest.segments[i]!.firstLsn).toBeGreaterThan(manifest.segments[i - 1]!.lastLsn);
    }
    await waitFor('old files deleted', () => store.compactionStats().pendingDeletions === 0, 30_000);
    expect(await parquetFiles(dir)).toEqual(manifest.segments.map((s) => s.file).sort());

    await closeStore(store, true);
    const reopened = await open(dir);
    expect(reopened.recovery.orphanFilesRemoved).toEqual([]);
    expectExactlyOnce(await readAll(reopened), written);
  });
});
