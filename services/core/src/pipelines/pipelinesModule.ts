import * as path from 'node:path';
import type { CoreModule, CoreModuleDeps } from '../app/coreModule';
import { foldEntity } from '../query/entityState';
import { nodeFileSystem, type FileSystem } from '../storage/fs/fileSystem';
import { EntityStateCache } from './entityStateCache';
import { PipelineManager } from './pipelineManager';
import { pipelineRoutes } from './routes';

/** Entity loads for `enrich` in flight at once (each reads one entity's events from the store). */
const ENRICH_MAX_PENDING_LOADS = 32;

/**
 * Stream pipelines (`/api/v1/pipelines…`): configs in `DATA_DIR/pipelines/`, loaded at start;
 * enabled pipelines consume the live stream from the store's commit listener.
 */
export async function createPipelinesModule(deps: CoreModuleDeps, options: { fs?: FileSystem } = {}): Promise<CoreModule> {
  const { config, store, metrics } = deps;
  const log = deps.logger.child({ component: 'pipelines' });

  const registered = metrics.m.gauge('allsource_pipelines_registered_total');

  const entityCache = new EntityStateCache({
    maxEntries: config.pipelineEnrichCacheEntries,
    maxBytes: config.pipelineEnrichCacheBytes,
    maxPendingLoads: ENRICH_MAX_PENDING_LOADS,
    load: async (entityId) => {
      const fold = await foldEntity(store, entityId, undefined, 0);
      return fold && { state: fold.state, eventCount: fold.eventCount };
    },
    versionOf: (entityId) => store.index.versionOf(entityId),
  });

  const manager = await PipelineManager.open({
    dir: path.join(config.dataDir, 'pipelines'),
    fs: options.fs ?? nodeFileSystem,
    maxPipelines: config.pipelineMax,
    maxOperators: config.pipelineMaxOperators,
    pipeline: {
      maxGroups: config.pipelineMaxGroups,
      maxClosedWindows: config.pipelineMaxClosedWindows,
      windowLatenessUs: config.pipelineWindowLatenessMs * 1000,
      recentOutputs: config.pipelineRecentOutputs,
      entityState: (entityId) => entityCache.get(entityId),
      onEntityMiss: (entityId) => entityCache.warm(entityId),
    },
    entityCache,
    observer: {
      onActiveCount: (count) => registered.set(count),
      onProcessed: (name, delta, seconds) => {
        const m = metrics.pipeline(name);
        if (delta.processed > 0) m.processed.inc(delta.processed);
        if (delta.filtered > 0) m.filtered.inc(delta.filtered);
        // One observation per commit group: the group's time per event taken in.
        m.duration.observe(seconds / delta.received);
      },
    },
    logger: log,
  });
  const unsubscribe = store.onCommit((events) => manager.process(events));

  return {
    name: 'pipelines',
    routes(app) {
      pipelineRoutes(app, manager, config.maxBodyBytes);
    },
    async close() {
      unsubscribe();
    },
  };
}
