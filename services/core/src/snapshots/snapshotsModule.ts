import * as path from 'node:path';
import type { CoreModule, CoreModuleDeps } from '../app/coreModule';
import type { EventStore } from '../storage/eventStore';
import { IdIndexUnavailableError } from '../storage/index/idIndex';
import { nodeFileSystem, type FileSystem } from '../storage/fs/fileSystem';
import { SnapshotFiles } from './snapshotFiles';
import { SnapshotRepository, type Snapshot } from './snapshotRepository';
import { snapshotRoutes } from './snapshotRoutes';
import { SnapshotService } from './snapshotService';

/** Whether a loaded snapshot still describes the store: its last event is where it says. */
export async function matchesStore(store: EventStore, s: Snapshot): Promise<boolean> {
  const list = store.index.positionsOfEntity(s.entityId);
  if (!list || s.eventCount > list.length) return false;
  const position = list.data[s.eventCount - 1]!;
  try {
    return (await store.index.idCandidates(s.lastEventId)).includes(position);
  } catch (err) {
    // Without the id index (its worker died): read the event where the snapshot says it is.
    if (!(err instanceof IdIndexUnavailableError)) throw err;
    const [event] = await store.readPositions([position]);
    return event?.id === s.lastEventId;
  }
}

/**
 * Snapshots (`/api/v1/snapshots…`): manual and automatic snapshots of entity state, kept in
 * `DATA_DIR/snapshots/` and loaded at start; entity state folds start from them.
 */
export async function createSnapshotsModule(deps: CoreModuleDeps, options: { fs?: FileSystem } = {}): Promise<CoreModule> {
  const { config, store, metrics } = deps;
  const log = deps.logger.child({ component: 'snapshots' });
  const repository = new SnapshotRepository({
    maxPerEntity: config.snapshotMaxPerEntity,
    maxTotal: config.snapshotMaxTotal,
    maxTotalBytes: config.snapshotMaxTotalBytes,
  });
  const files = new SnapshotFiles(path.join(config.dataDir, 'snapshots'), options.fs ?? nodeFileSystem, (id) => repository.ofEntity(id), log);

  // Load, drop what no longer matches the store (e.g. events lost with WAL_SYNC_MODE=none, an
  // unreadable segment), apply today's caps, and rewrite the files that changed.
  const loaded = await files.load();
  const loadedPerEntity = new Map<string, number>();
  const rewrite = new Set<string>();
  let stale = 0;
  const sorted = loaded.snapshots.sort((a, b) => a.createdAtUs - b.createdAtUs);
  // All lookups at once: the id index answers them in one pass of messages, not one round trip each.
  const matches = await Promise.all(sorted.map((s) => matchesStore(store, s)));
  for (const [i, s] of sorted.entries()) {
    loadedPerEntity.set(s.entityId, (loadedPerEntity.get(s.entityId) ?? 0) + 1);
    if (!matches[i]) {
      stale++;
      rewrite.add(s.entityId);
      continue;
    }
    for (const entity of repository.add(s).changed) if (entity !== s.entityId) rewrite.add(entity);
  }
  for (const [entity, count] of loadedPerEntity) if (repository.ofEntity(entity).length !== count) rewrite.add(entity);
  for (const entity of rewrite) files.markDirty(entity);
  log.info(
    { files: loaded.filesRead, snapshots: repository.count, bytes: repository.totalBytes, stale, bad_files: loaded.badFiles.length },
    'snapshots loaded',
  );

  const service = new SnapshotService({
    store,
    repository,
    files,
    metrics,
    logger: log,
    policy: {
      everyEvents: config.snapshotEveryEvents,
      maxAgeMs: config.snapshotMaxAgeMs,
      maxStateBytes: Math.min(config.snapshotMaxStateBytes, config.snapshotMaxTotalBytes),
      queueMax: config.snapshotQueueMax,
    },
  });
  deps.entitySnapshots.snapshotLookup = repository;
  const unsubscribe = store.onCommit(service.onCommit);

  return {
    name: 'snapshots',
    storageBytes: () => repository.totalBytes,
    routes(app) {
      snapshotRoutes(app, { service, repository, maxBodyBytes: config.maxBodyBytes, maxQueryLimit: config.maxQueryLimit });
    },
    async close() {
      unsubscribe();
      await service.close();
    },
  };
}
