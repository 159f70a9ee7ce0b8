import { SnapshotRepository, restoreState, type Snapshot, type SnapshotLimits } from './snapshotRepository';

let clock = 1_700_000_000_000_000;
function snap(entityId: string, eventCount: number, state: object = { n: eventCount }, type: Snapshot['type'] = 'automatic'): Snapshot {
  const stateJson = JSON.stringify(state);
  clock += 1000;
  return {
    id: `${entityId}#${eventCount}@${clock}`,
    entityId,
    createdAtUs: clock,
    asOfUs: clock - 500,
    eventCount,
    lastEventId: '00000000-0000-4000-8000-000000000000',
    type,
    stateJson,
    sizeBytes: Buffer.byteLength(stateJson),
  };
}

const roomy: SnapshotLimits = { maxPerEntity: 10, maxTotal: 1000, maxTotalBytes: 1 << 20 };
const counts = (repo: SnapshotRepository, entity: string): number[] => repo.ofEntity(entity).map((s) => s.eventCount);

describe('SnapshotRepository', () => {
  it('keeps each entity sorted by event count and finds the latest at or below a count', () => {
    const repo = new SnapshotRepository(roomy);
    repo.add(snap('a', 200));
    repo.add(snap('a', 100)); // finished later, covers fewer events
    repo.add(snap('a', 300));
    repo.add(snap('b', 50));
    expect(counts(repo, 'a')).toEqual([100, 200, 300]);
    expect(repo.latestOf('a')!.eventCount).toBe(300);
    expect(repo.latest('a', 299)!.eventCount).toBe(200);
    expect(repo.latest('a', 300)!.eventCount).toBe(300);
    expect(repo.latest('a', 1000)!.eventCount).toBe(300);
    expect(repo.latest('a', 99)).toBeUndefined();
    expect(repo.latest('nobody', 10)).toBeUndefined();
    expect(repo.latest('a', 250)!.restore()).toEqual({ n: 200 });
    expect(repo.count).toBe(4);
    expect(repo.entityCount).toBe(2);
    expect(repo.newestFirst().map((s) => `${s.entityId}${s.eventCount}`)).toEqual(['b50', 'a300', 'a100', 'a200']);
  });

  it('drops the snapshot covering the fewest events past the per-entity cap', () => {
    const repo = new SnapshotRepository({ ...roomy, maxPerEntity: 3 });
    for (const n of [10, 20, 30]) repo.add(snap('a', n));
    const { changed, kept } = repo.add(snap('a', 40));
    expect(kept).toBe(true);
    expect([...changed]).toEqual(['a']);
    expect(counts(repo, 'a')).toEqual([20, 30, 40]);
    expect(repo.count).toBe(3);
  });

  it('drops the oldest created snapshots past the total count and byte caps, across entities', () => {
    const repo = new SnapshotRepository({ maxPerEntity: 10, maxTotal: 3, maxTotalBytes: 1 << 20 });
    repo.add(snap('a', 1));
    repo.add(snap('b', 1));
    repo.add(snap('a', 2));
    const r = repo.add(snap('c', 1));
    expect([...r.changed].sort()).toEqual(['a', 'c']);
    expect(counts(repo, 'a')).toEqual([2]);
    expect(repo.count).toBe(3);

    const big = { text: 'x'.repeat(100) }; // 111 bytes of JSON
    const bytes = new SnapshotRepository({ maxPerEntity: 10, maxTotal: 100, maxTotalBytes: 300 });
    bytes.add(snap('a', 1, big));
    bytes.add(snap('b', 1, big));
    expect(bytes.totalBytes).toBe(222);
    const third = bytes.add(snap('c', 1, big));
    expect(third.kept).toBe(true);
    expect([...third.changed].sort()).toEqual(['a', 'c']);
    expect(bytes.ofEntity('a')).toEqual([]);
    expect(bytes.latestOf('a')).toBeUndefined();
    expect(bytes.totalBytes).toBe(222);
    // A snapshot larger than the whole budget does not stay.
    expect(bytes.add(snap('d', 1, { text: 'y'.repeat(400) })).kept).toBe(false);
    expect(bytes.count).toBe(0);
    expect(bytes.totalBytes).toBe(0);
  });

  it('remembers when an entity last got a snapshot', () => {
    const repo = new SnapshotRepository(roomy);
    expect(repo.lastCreatedUs('a')).toBeUndefined();
    const first = snap('a', 5);
    const second = snap('a', 3); // created later, covers fewer events
    repo.add(first);
    repo.add(second);
    expect(repo.lastCreatedUs('a')).toBe(second.createdAtUs);
    repo.remove(second);
    repo.remove(second); // twice is a no-op
    expect(repo.lastCreatedUs('a')).toBe(first.createdAtUs);
    expect(repo.count).toBe(1);
  });

  it('restores states as fresh prototype-less objects, __proto__ being plain data', () => {
    const s = snap('a', 1, JSON.parse('{"__proto__":{"polluted":true},"k":[1]}') as object);
    const one = restoreState(s);
    const two = restoreState(s);
    expect(Object.getPrototypeOf(one)).toBeNull();
    expect(Object.keys(one)).toEqual(['__proto__', 'k']);
    (one.k as number[]).push(2);
    expect(two.k).toEqual([1]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
