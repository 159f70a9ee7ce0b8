/**
 * Test helper: EventStore options and stores over real directories.
 *
 *   const stores = useOpenStores();                       // closes leftovers after each test
 *   const store = await stores.open(dir, { rowGroupSize: 64 });
 *   await stores.close(store, true);                      // flush, as a clean shutdown does
 *
 * The options turn off every automatic flush (a test flushes when it wants to), fsync each write
 * and use small row groups and caches so a few events already make several row groups.
 */
import { EventStore, type EventStoreOptions } from '../storage/eventStore';

const MiB = 1024 * 1024;

/** Options for a test store in `dataDir`; `overrides` win over the defaults. */
export function testStoreOptions(dataDir: string, overrides: Partial<EventStoreOptions> = {}): EventStoreOptions {
  return {
    dataDir,
    syncMode: 'always',
    walMaxFileBytes: 64 * MiB,
    // No automatic flushes unless a test asks for them.
    flushMaxEvents: 1_000_000,
    flushMaxBytes: 1024 * MiB,
    flushMaxAgeMs: 3_600_000,
    bufferMaxBytes: 1024 * MiB,
    pendingMaxBytes: 1024 * MiB,
    rowGroupSize: 16,
    segmentCacheBytes: 8 * MiB,
    maxOpenSegments: 16,
    ...overrides,
  };
}

/** Opens (recovers) a store in `dataDir` with `testStoreOptions`. The caller closes it. */
export function openTestStore(dataDir: string, overrides: Partial<EventStoreOptions> = {}): Promise<EventStore> {
  return EventStore.open(testStoreOptions(dataDir, overrides));
}

/** The stores a test opened; whatever it left open is closed without a flush by `closeAll`. */
export class OpenStores {
  private readonly stores: EventStore[] = [];

  /** `openTestStore`, remembered for `closeAll`. */
  async open(dataDir: string, overrides: Partial<EventStoreOptions> = {}): Promise<EventStore> {
    const store = await openTestStore(dataDir, overrides);
    this.stores.push(store);
    return store;
  }

  /** Closes `store` (with a final flush when `flush`) and forgets it. */
  async close(store: EventStore, flush = false): Promise<void> {
    const i = this.stores.indexOf(store);
    if (i >= 0) this.stores.splice(i, 1);
    await store.close({ flush });
  }

  /** Closes every remembered store, newest first, without a flush (as after a crash). */
  async closeAll(): Promise<void> {
    while (this.stores.length > 0) await this.stores.pop()!.close({ flush: false });
  }
}

/** An `OpenStores` whose leftovers jest closes after each test (call at the top of a file or `describe`). */
export function useOpenStores(): OpenStores {
  const stores = new OpenStores();
  afterEach(() => stores.closeAll());
  return stores;
}
