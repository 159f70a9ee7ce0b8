/** SnapshotService over a real store: the bounded automatic queue, coalescing, size cap, close. */
import * as path from 'node:path';
import { isAllSourceError } from '@allsource/errors';
import type { StoredEvent } from '../events/storedEvent';
import { CoreMetrics } from '../metrics/coreMetrics';
import type { EventStore } from '../storage/eventStore';
import { nodeFileSystem } from '../storage/fs/fileSystem';
import { openTestStore } from '../testing/storeOptions';
import { makeTempDir, removeDir } from '../testing/tempDirs';
import { SnapshotFiles } from './snapshotFiles';
import { SnapshotRepository } from './snapshotRepository';
import { SnapshotService, type SnapshotPolicy } from './snapshotService';

const MiB = 1024 * 1024;
const log = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('SnapshotService', () => {
  let dir: string;
  let store: EventStore;
  beforeEach(async () => {
    dir = await makeTempDir('allsource-snapsvc-');
    store = await openTestStore(dir, { syncMode: 'none', segmentCacheBytes: MiB, maxOpenSegments: 4 });
  });
  afterEach(async () => {
    await store.close({ flush: false });
    await removeDir(dir);
  });

  function build(policy: Partial<SnapshotPolicy>) {
    const metrics = new CoreMetrics({ enabled: true, version: 'test', eventTypeLabelLimit: 10, labelValueLimit: 10 }, () => store.stats());
    const repository = new SnapshotRepository({ maxPerEntity: 10, maxTotal: 100, maxTotalBytes: MiB });
    const files = new SnapshotFiles(path.join(dir, 'snapshots'), nodeFileSystem, (id) => repository.ofEntity(id), log);
    const service = new SnapshotService({
      store,
      repository,
      files,
      metrics,
      logger: log,
      policy: { everyEvents: 2, maxAgeMs: 0, maxStateBytes: MiB, queueMax: 100, ...policy },
    });
    return { metrics, repository, service };
  }

  const append = (entity: string, n: number, payload: object = { x: 1 }): Promise<StoredEvent[]> =>
    store.append(Array.from({ length: n }, () => ({ eventType: 'a.b', entityId: entity, tenantId: 'default', payloadJson: JSON.stringify(payload), metadataJson: null })));

  it('queues at most SNAPSHOT_QUEUE_MAX entities and counts what it drops', async () => {
    const { service, repository } = build({ queueMax: 2 });
    const events: StoredEvent[] = [];
    for (const e of ['a', 'b', 'c', 'd', 'e']) events.push(...(await append(e, 2)));
    // Five entities reach version 2 in one commit group: two fit in the queue.
    service.onCommit(events);
    expect(service.stats).toMatchObject({ queued: 2, dropped: 3 });
    service.onCommit(events); // the queued two are not queued twice; the other three are dropped again
    expect(service.stats).toMatchObject({ queued: 2, dropped: 6 });
    await waitUntil(() => service.stats.created === 2);
    expect(repository.count).toBe(2);
    expect(repository.ofEntity('a').map((s) => [s.eventCount, s.type])).toEqual([[2, 'automatic']]);
    expect(repository.ofEntity('c')).toEqual([]);
    await service.close();
  });

  it('skips an entity with nothing new since its latest snapshot, and refuses states over the size cap', async () => {
    const { service, repository, metrics } = build({ maxStateBytes: 50 });
    await append('small', 2);
    const manual = await service.createManual('small');
    expect(manual.eventCount).toBe(2);
    // Queued although the manual snapshot already covers version 2: the worker skips it.
    service.onCommit([{ entityId: 'small', version: 2 } as StoredEvent]);
    await service.close();
    expect(repository.ofEntity('small')).toHaveLength(1);

    await append('big', 1, { text: 'x'.repeat(100) });
    let caught: unknown;
    try {
      await service.createManual('big');
    } catch (err) {
      caught = err;
    }
    expect(isAllSourceError(caught) && caught.code === 'PAYLOAD_TOO_LARGE').toBe(true);
    const created = await metrics.registry.getSingleMetric('allsource_snapshots_created_total')!.get();
    expect(created.values.map((v) => [v.labels.snapshot_type, v.value])).toEqual([['manual', 1]]);
    const gauge = await metrics.registry.getSingleMetric('allsource_snapshots_total')!.get();
    expect(gauge.values[0]!.value).toBe(1);
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
