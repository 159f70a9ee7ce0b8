import * as http from 'node:http';
import { listenHttp } from '@allsource/service-kit';
import type { Logger } from 'pino';
import { createAnalyticsModule } from '../analytics/analyticsModule';
import type { CoreConfig } from '../config';
import { compactionModule } from '../compaction/compactionModule';
import { createHttpApp } from '../http/app';
import type { CoreModule, CoreModuleDeps } from './coreModule';
import type { HttpContext } from '../http/context';
import { CoreMetrics } from '../metrics/coreMetrics';
import { createPipelinesModule } from '../pipelines/pipelinesModule';
import { EntitySnapshotsProjection } from '../projections/entitySnapshots';
import { EventCountersProjection } from '../projections/eventCounters';
import { ProjectionManager } from '../projections/projectionManager';
import type { Projection } from '../projections/projection';
import { projectionsModule } from '../projections/projectionsModule';
import { createSnapshotsModule } from '../snapshots/snapshotsModule';
import { EventStore, type StoreStats } from '../storage/eventStore';
import type { FileSystem } from '../storage/fs/fileSystem';
import { schemaRegistryModule } from '../schemas/schemaModule';
import { eventStreamModule } from '../stream/eventStream';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const CORE_VERSION: string = (require('../../package.json') as { version: string }).version;

export interface CoreInstance {
  config: CoreConfig;
  store: EventStore;
  metrics: CoreMetrics;
  server: http.Server;
  /** The bound port (useful with PORT=0). */
  port: number;
  /** Stop accepting, finish in-flight requests and writes, flush, close. */
  close(): Promise<void>;
}

export interface CreateCoreOptions {
  logger: Logger;
  fs?: FileSystem;
  /** Code-defined projections (see projections/defineProjection.ts), fed like the built-in ones. */
  extraProjections?: readonly Projection[];
}

/** Composition root: builds the store, metrics, projections and HTTP server, and starts listening. */
export async function startCore(config: CoreConfig, options: CreateCoreOptions): Promise<CoreInstance> {
  const { logger } = options;
  let stats: (() => ReturnType<EventStore['stats']>) | undefined;
  let storageBytes = (_stats?: StoreStats): number => 0;
  const metrics = new CoreMetrics(
    {
      enabled: config.metricsEnabled,
      version: CORE_VERSION,
      eventTypeLabelLimit: config.eventTypeLabelLimit,
      labelValueLimit: config.labelValueLimit,
    },
    () => stats!(),
    (s) => storageBytes(s),
  );
  const store = await EventStore.open({
    dataDir: config.dataDir,
    syncMode: config.syncMode,
    walMaxFileBytes: config.walMaxFileBytes,
    pendingMaxBytes: config.walPendingMaxBytes,
    flushMaxEvents: config.flushMaxEvents,
    flushMaxBytes: config.flushMaxBytes,
    flushMaxAgeMs: config.flushMaxAgeMs,
    bufferMaxBytes: config.bufferMaxBytes,
    bufferFullWaitMs: config.bufferFullWaitMs,
    rowGroupSize: config.rowGroupSize,
    segmentCompression: config.segmentCompression,
    segmentCacheBytes: config.segmentCacheBytes,
    maxOpenSegments: config.maxOpenSegments,
    idIndexOnWorker: config.idIndexOnWorker,
    observer: metrics.storeObserver(),
    logger: logger.child({ component: 'store' }),
    ...(options.fs ? { fs: options.fs } : {}),
  });
  stats = () => store.stats();

  const projections = new ProjectionManager({
    onProcessed: (name, events, seconds) => {
      const m = metrics.projection(name);
      m.processed.inc(events);
      m.duration.observe(seconds);
    },
    onError: (name, err) => {
      metrics.projection(name).errors.inc();
      logger.warn({ projection: name, err }, 'projection failed on an event');
    },
  });
  const entitySnapshots = new EntitySnapshotsProjection(store, config.entitySnapshotCacheEntries, config.entitySnapshotCacheBytes);
  projections.register(entitySnapshots);
  projections.register(new EventCountersProjection());
  for (const projection of options.extraProjections ?? []) projections.register(projection);
  let ingested = 0;
  store.onCommit((events) => {
    ingested += events.length;
    projections.process(events);
  });
  // Projections catch up with what the store already holds: built-ins from the index alone,
  // code-defined ones by a replay of the stored events.
  if (store.index.count > 0) {
    const { replayed } = await projections.catchUp(store);
    if (replayed.length > 0) logger.info({ projections: replayed, events: store.index.count }, 'projections rebuilt from stored events');
  }

  const ingest = { store, metrics, limits: { maxEventBytes: config.maxEventBytes }, maxBatchEvents: config.maxBatchEvents };
  const moduleDeps: CoreModuleDeps = { config, logger, store, metrics, projections, entitySnapshots, ingest };
  // Subsystems, one line each (see app/coreModule.ts).
  const modules: CoreModule[] = [
    await schemaRegistryModule(moduleDeps),
    projectionsModule(moduleDeps),
    compactionModule(moduleDeps),
    eventStreamModule(moduleDeps),
    await createSnapshotsModule(moduleDeps),
    await createPipelinesModule(moduleDeps),
    createAnalyticsModule(moduleDeps),
  ];
  storageBytes = (s = store.stats()) => {
    let bytes = s.walBytes + s.segmentBytes;
    for (const module of modules) bytes += module.storageBytes?.() ?? 0;
    return bytes;
  };

  const ctx: HttpContext = {
    config,
    version: CORE_VERSION,
    startedAt: Date.now(),
    logger,
    store,
    metrics,
    projections,
    entitySnapshots,
    ingest,
    ingestedSinceStart: () => ingested,
    storageBytes: () => storageBytes(),
  };
  const server = http.createServer(createHttpApp(ctx, modules));
  for (const module of modules) module.attach?.(server);
  const listening = await listenHttp(server, config.port, config.host);
  const { port } = listening;
  logger.info({ host: config.host, port, data_dir: config.dataDir, sync_mode: config.syncMode }, 'allsource core listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      logger.info('shutting down: no new connections, finishing in-flight requests');
      await listening.close(config.shutdownTimeoutMs);
      for (const module of [...modules].reverse()) {
        await module.close?.().catch((err: unknown) => logger.warn({ err, module: module.name }, 'module failed to close'));
      }
      await store.close();
      logger.info('shutdown complete');
    })());

  return { config, store, metrics, server, port, close };
}
