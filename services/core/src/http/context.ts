import type { Logger } from 'pino';
import type { CoreConfig } from '../config';
import type { IngestDeps } from '../ingest/ingestEvents';
import type { CoreMetrics } from '../metrics/coreMetrics';
import type { EntitySnapshotsProjection } from '../projections/entitySnapshots';
import type { ProjectionManager } from '../projections/projectionManager';
import type { EventStore } from '../storage/eventStore';

/** Everything the HTTP routes use; built once by the composition root (app/createCore.ts). */
export interface HttpContext {
  config: CoreConfig;
  version: string;
  startedAt: number;
  logger: Logger;
  store: EventStore;
  metrics: CoreMetrics;
  projections: ProjectionManager;
  entitySnapshots: EntitySnapshotsProjection;
  ingest: IngestDeps;
  /** Events ingested since this process started. */
  ingestedSinceStart: () => number;
  /** Everything on disk under DATA_DIR: WAL, segments, snapshots. */
  storageBytes: () => number;
}
