/**
 * Index sidecars (`<segment>.idx`) over real data directories: written by the first start that
 * reads a segment, used by the next, and never trusted beyond what they are: a corrupt, stale
 * or foreign sidecar is ignored and rebuilt, a damaged segment is refused whatever its sidecar
 * says, and sidecars of segments that are gone are removed.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { NewEvent, StoredEvent } from '../events/storedEvent';
import { useOpenStores } from '../testing/storeOptions';
import { useTempDir } from '../testing/tempDirs';
import type { EventStore } from './eventStore';
import { SIDECAR_SUFFIX, SIDECAR_TEMP_SUFFIX } from './segments/indexSidecar';

const tmp = useTempDir('allsource-sidecar-int-');
const stores = useOpenStores();
let counter = 0;
const freshDir = (): string => path.join(tmp.path, `d${++counter}`);
const open = (dir: string): Promise<EventStore> => stores.open(dir, { rowGroupSize: 32 });

function events(n: number, tag: string): NewEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    eventType: i % 3 ? 'order.placed' : 'user.créé',
    entityId: `${tag}-${i % 9}${i % 4 ? '' : '-ü✓'}`,
    tenantId: i % 5 ? 'default' : 'tenant-ß',
    payloadJson: JSON.stringify({ i, tag }),
    metadataJson: i % 2 ? null : '{"m":1}',
  }));
}

/** A store with three segments and a WAL tail, closed without a flush. */
async function build(dir: string): Promise<StoredEvent[]> {
  const store = await open(dir);
  const stored: StoredEvent[] = [];
  for (let s = 0; s < 3; s++) {
    stored.push(...(await store.append(events(100, `s${s}`))));
    await store.flush();
  }
  stored.push(...(await store.append(events(10, 'tail'))));
  await stores.close(store, false);
  return stored;
}

const segmentsDir = (dir: string): string => path.join(dir, 'segments');
const list = async (dir: string, suffix: string): Promise<string[]> => (await readdir(segmentsDir(dir))).filter((n) => n.endsWith(suffix)).sort();

async function readAll(store: EventStore): Promise<StoredEvent[]> {
  return store.readPositions(Array.from({ length: store.index.count }, (_, i) => i));
}

/** What the index answers, as plain data. */
function indexView(store: EventStore): unknown {
  const ix = store.index;
  const n = ix.count;
  return {
    n,
    ts: Array.from(ix.timestampUs.subarray(0, n)),
    entityOf: Array.from(ix.entityOf.subarray(0, n)),
    typeOf: Array.from(ix.typeOf.subarray(0, n)),
    tenantOf: Array.from(ix.tenantOf.subarray(0, n)),
    segmentOf: Array.from(ix.segmentOf.subarray(0, n)),
    rowOf: Array.from(ix.rowOf.subarray(0, n)),
    entities: ix.entities.values.map((e) => [e, ix.versionOf(e), ix.lastVersionOf(e)]),
    types: [...ix.types.values],
    tenants: [...ix.tenants.values],
  };
}

async function reopenAndCheck(dir: string, stored: StoredEvent[], fromSidecar: number): Promise<EventStore> {
  const store = await open(dir);
  expect(store.recovery).toMatchObject({ segmentsLoaded: 3, eventsFromSegments: 300, eventsFromWal: 10, segmentErrors: [], segmentsFromSidecar: fromSidecar });
  expect(await readAll(store)).toEqual(stored);
  for (const e of stored) expect(await store.getById(e.id)).toEqual(e);
  return store;
}

describe('index sidecars', () => {
  it('are written by the first start that reads the segments and give the next start the same index', async () => {
    const dir = freshDir();
    const stored = await build(dir);
    expect(await list(dir, SIDECAR_SUFFIX)).toEqual([]);

    const first = await reopenAndCheck(dir, stored, 0);
    const fromParquet = indexView(first);
    await stores.close(first, false);
    const parquet = await list(dir, '.parquet');
    expect(await list(dir, SIDECAR_SUFFIX)).toEqual(parquet.map((p) => p + SIDECAR_SUFFIX));

    const second = await reopenAndCheck(dir, stored, 3);
    expect(indexView(second)).toEqual(fromParquet);
    // Versions go on from where they were.
    const [next] = await second.append([{ ...events(1, 's0')[0]! }]);
    expect(next!.version).toBe(stored.filter((e) => e.entityId === next!.entityId).length + 1);
  });

  it('a corrupt, truncated, foreign or missing sidecar is ignored, the segment read from Parquet, and the sidecar rewritten', async () => {
    const dir = freshDir();
    const stored = await build(dir);
    await stores.close(await open(dir), false);
    const [a, b, c] = await list(dir, SIDECAR_SUFFIX);
    const at = (name: string): string => path.join(segmentsDir(dir), name);
    // a: one bit flipped in its rows; b: c's sidecar under b's name (made from another file); c: cut short.
    const bytesA = await readFile(at(a!));
    bytesA[bytesA.length >> 1]! ^= 0x10;
    await writeFile(at(a!), bytesA);
    await writeFile(at(b!), await readFile(at(c!)));
    const bytesC = await readFile(at(c!));
    await writeFile(at(c!), bytesC.subarray(0, bytesC.length - 9));

    const store = await reopenAndCheck(dir, stored, 0);
    await stores.close(store, false);
    // All three were rewritten: the next start uses them.
    await stores.close(await reopenAndCheck(dir, stored, 3), false);

    await writeFile(at(b!), Buffer.alloc(0));
    await (await import('node:fs/promises')).unlink(at(a!));
    await stores.close(await reopenAndCheck(dir, stored, 1), false);
    expect(await list(dir, SIDECAR_SUFFIX)).toEqual([a, b, c]);
  });

  it('never vouch for a damaged segment: its checksum is checked against the manifest first', async () => {
    const dir = freshDir();
    const stored = await build(dir);
    await stores.close(await open(dir), false);
    const [segment] = await list(dir, '.parquet');
    const file = path.join(segmentsDir(dir), segment!);
    const bytes = await readFile(file);
    bytes[100]! ^= 0x01;
    await writeFile(file, bytes);

    const store = await open(dir);
    expect(store.recovery.segmentErrors).toEqual([expect.objectContaining({ file: segment, error: expect.stringContaining('checksum mismatch') })]);
    expect(store.recovery.segmentsFromSidecar).toBe(2);
    expect(store.recovery.eventsFromSegments).toBe(200);
    expect(await readAll(store)).toEqual(stored.slice(100));
  });

  it('sidecars of segments a compaction replaced, and half-written ones, are removed', async () => {
    const dir = freshDir();
    const stored = await build(dir);
    const store = await open(dir);
    const before = await list(dir, SIDECAR_SUFFIX);
    expect(before).toHaveLength(3);
    const result = await store.compact({ smallSegmentBytes: 1 << 30, targetBytes: 1 << 30, minFiles: 2 });
    expect(result.filesCompacted).toBe(3);
    // The replaced segments' sidecars went with them; the merged segment has none yet.
    expect(await list(dir, SIDECAR_SUFFIX)).toEqual([]);
    await stores.close(store, false);

    // A sidecar left by a crash in the middle of its write, and one whose segment is gone.
    await writeFile(path.join(segmentsDir(dir), `seg-x.parquet${SIDECAR_TEMP_SUFFIX}`), 'partial');
    await writeFile(path.join(segmentsDir(dir), `seg-0000000000000001-0000000000000100-g0.parquet${SIDECAR_SUFFIX}`), 'stale');
    const reopened = await open(dir);
    expect(reopened.recovery).toMatchObject({ segmentsLoaded: 1, eventsFromSegments: 300, eventsFromWal: 10, orphanFilesRemoved: [], segmentErrors: [] });
    expect(await readAll(reopened)).toEqual(stored);
    const left = (await readdir(segmentsDir(dir))).filter((n) => n.includes('.idx'));
    expect(left).toEqual([(await list(dir, '.parquet'))[0]! + SIDECAR_SUFFIX]);
  });
});
