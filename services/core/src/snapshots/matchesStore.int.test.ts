/**
 * The start-up check of a stored snapshot against the store (`matchesStore`), with the id index
 * on its worker and after that worker died (the event is then read where the snapshot says).
 */
import type { Worker } from 'node:worker_threads';
import { useOpenStores } from '../testing/storeOptions';
import { useTempDir } from '../testing/tempDirs';
import type { EventStore } from '../storage/eventStore';
import type { Snapshot } from './snapshotRepository';
import { matchesStore } from './snapshotsModule';

const tmp = useTempDir('allsource-snapshot-match-');
const stores = useOpenStores();

function snapshotOf(entityId: string, eventCount: number, lastEventId: string): Snapshot {
  return { id: 's', entityId, createdAtUs: 1, asOfUs: 1, eventCount, lastEventId, type: 'automatic', stateJson: '{}', sizeBytes: 2 };
}

async function killIdWorker(store: EventStore): Promise<void> {
  const thread = (store.index as unknown as { ids: { worker: Worker } }).ids.worker;
  const exited = new Promise((resolve) => thread.once('exit', resolve));
  await thread.terminate();
  await exited;
}

describe('matchesStore', () => {
  it('accepts a snapshot whose last event is where it says and refuses others, with or without the id index', async () => {
    const store = await stores.open(tmp.path);
    const events = await store.append(
      Array.from({ length: 6 }, (_, i) => ({ eventType: 't', entityId: i % 2 ? 'odd' : 'even', tenantId: 'default', payloadJson: `{"i":${i}}`, metadataJson: null })),
    );
    const evens = events.filter((e) => e.entityId === 'even');
    const cases: Array<[Snapshot, boolean]> = [
      [snapshotOf('even', 2, evens[1]!.id), true],
      [snapshotOf('even', 3, evens[2]!.id), true],
      // The right id at the wrong count, another entity's event, an id never stored, too many events.
      [snapshotOf('even', 2, evens[2]!.id), false],
      [snapshotOf('even', 2, events[1]!.id), false],
      [snapshotOf('even', 2, '7b0c8a52-3e4f-4d6b-9a1c-2f3e4d5c6b7a'), false],
      [snapshotOf('even', 4, evens[2]!.id), false],
      [snapshotOf('nobody', 1, evens[0]!.id), false],
    ];
    for (const [s, expected] of cases) expect(await matchesStore(store, s)).toBe(expected);
    await store.flush();
    await killIdWorker(store);
    await expect(store.index.idCandidates(evens[0]!.id)).rejects.toThrow('unavailable');
    for (const [s, expected] of cases) expect(await matchesStore(store, s)).toBe(expected);
  });
});
