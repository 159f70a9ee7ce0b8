import type * as http from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { CoreConfig } from '../config';
import type { IngestDeps } from '../ingest/ingestEvents';
import type { CoreMetrics } from '../metrics/coreMetrics';
import type { EntitySnapshotsProjection } from '../projections/entitySnapshots';
import type { ProjectionManager } from '../projections/projectionManager';
import type { EventStore } from '../storage/eventStore';

/** What every subsystem module is built from (by the composition root, createCore.ts). */
export interface CoreModuleDeps {
  config: CoreConfig;
  logger: Logger;
  store: EventStore;
  metrics: CoreMetrics;
  projections: ProjectionManager;
  entitySnapshots: EntitySnapshotsProjection;
  ingest: IngestDeps;
}

/**
 * A subsystem of the core (schema registry, replay, pipelines, snapshots, compaction, analytics,
 * WebSocket stream): it lives in its own folder, registers its own routes and releases its own
 * resources. The composition root lists the modules; nothing else knows them.
 */
export interface CoreModule {
  readonly name: string;
  /** Register HTTP routes (before the 404 handler). */
  routes?(app: Express): void;
  /** Attach to the HTTP server (e.g. WebSocket upgrades) once it exists. */
  attach?(server: http.Server): void;
  /** Bytes the module keeps on disk under DATA_DIR (counted in storage size). */
  storageBytes?(): number;
  /** Called on shutdown, before the store closes. */
  close?(): Promise<void>;
}
