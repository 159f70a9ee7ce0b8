import {
  ConfigError,
  envBool,
  envInt,
  envOneOf,
  securitySettings,
  serviceSettings,
  type Env,
  type SecuritySettings,
  type ServiceSettings,
} from '@allsource/service-kit';
import { SEGMENT_COMPRESSIONS, type SegmentCompression } from './storage/segments/parquetWriterPool';
import type { SyncMode } from './storage/wal/writeAheadLog';

/**
 * The core's only reader of the environment. Every setting, its variable and its default is
 * listed here and in docs/configuration.md.
 */
export interface CoreConfig extends ServiceSettings {
  /** API keys, metrics token, CORS, rate limits (docs/security.md). */
  security: SecuritySettings;
  syncMode: SyncMode;
  walMaxFileBytes: number;
  walPendingMaxBytes: number;
  flushMaxEvents: number;
  flushMaxBytes: number;
  flushMaxAgeMs: number;
  bufferMaxBytes: number;
  bufferFullWaitMs: number;
  rowGroupSize: number;
  /** Parquet codec of new segments (SEGMENT_COMPRESSION). */
  segmentCompression: SegmentCompression;
  segmentCacheBytes: number;
  maxOpenSegments: number;
  /** Event ids indexed on a worker thread of their own (ID_INDEX_WORKER). */
  idIndexOnWorker: boolean;
  /** Compaction: automatic pass every this many ms (0: only on POST /api/v1/compaction/trigger). */
  compactionIntervalMs: number;
  /** Compaction: only segment files smaller than this (bytes) are merged. */
  compactionSmallSegmentBytes: number;
  /** Compaction: a merged segment is built from at most this many bytes of input files. */
  compactionTargetBytes: number;
  /** Compaction: a run merges at least this many adjacent small segments. */
  compactionMinFiles: number;

  maxBodyBytes: number;
  maxBatchEvents: number;
  maxEventBytes: number;
  maxQueryLimit: number;
  maxEntityHistory: number;
  /** Largest query answer and entity history, in bytes: past it the answer stops early and says so. */
  maxAnswerBytes: number;
  entitySnapshotCacheEntries: number;
  /** JSON bytes (estimated) of the states that cache holds. */
  entitySnapshotCacheBytes: number;

  /** Projections: most keys one GET /api/v1/projections/:name/state page holds (also its default `limit`). */
  projectionStateMaxKeys: number;
  /** Projections: most JSON bytes of state one state answer holds (a page stops early; a single larger value → 413). */
  projectionStateMaxBytes: number;

  /** Replay: replays running at once (more → 429). */
  replayMaxConcurrent: number;
  /** Replay: replay records kept (finished ones beyond it are dropped, oldest first). */
  replayMaxRecords: number;
  /** Replay: events read per chunk when a request gives no `config.batch_size`. */
  replayBatchSize: number;
  /** Replay: largest `config.batch_size` a request may ask for (more → 400). */
  replayMaxBatchSize: number;

  /** Snapshots: an automatic snapshot when an entity's version crosses a multiple of this (0: off). */
  snapshotEveryEvents: number;
  /** Snapshots: an automatic snapshot when an event arrives for an entity whose latest snapshot is older than this (0: off). */
  snapshotMaxAgeMs: number;
  /** Snapshots kept per entity (the one covering the fewest events is dropped first). */
  snapshotMaxPerEntity: number;
  /** Snapshots kept in all (the oldest created is dropped first). */
  snapshotMaxTotal: number;
  /** Bytes of snapshot state (JSON) kept in all, in memory and on disk (the oldest created is dropped first). */
  snapshotMaxTotalBytes: number;
  /** Largest state (JSON bytes) one snapshot may hold; a larger manual snapshot is refused with 413. */
  snapshotMaxStateBytes: number;
  /** Entities waiting for an automatic snapshot; past it, requests are dropped (and counted). */
  snapshotQueueMax: number;

  /** Analytics: most index entries one analytics request may scan (more → 400 asking for narrower filters). */
  analyticsMaxScanEvents: number;
  /** Analytics: most buckets one frequency answer may hold (more → 400 asking for a larger window). */
  analyticsMaxBuckets: number;

  metricsEnabled: boolean;
  eventTypeLabelLimit: number;
  labelValueLimit: number;

  /** Schema registry: ingest enforcement for every subject that has a schema (`all`) or only per subject (`off`). */
  schemaEnforcement: 'off' | 'all';
  /** Schema registry: most subjects (more → 400). */
  schemaMaxSubjects: number;
  /** Schema registry: most versions per subject (more → 400). */
  schemaMaxVersionsPerSubject: number;
  /** Schema registry: largest schema (JSON bytes) one version may hold (more → 413). */
  schemaMaxSchemaBytes: number;
  /** Schema registry: JSON bytes of all schema versions kept, in memory and on disk (more → 400). */
  schemaMaxTotalBytes: number;
  /** Schema registry: compiled validators kept (least recently used dropped first, recompiled on demand). */
  schemaValidatorCacheEntries: number;
  /** Schema registry: registrations and setting changes waiting to be written (more → 503). */
  schemaMaxPendingWrites: number;
  /** Schema registry: most validation errors reported for one payload. */
  schemaMaxErrors: number;

  /** Stream pipelines: most pipelines registered at once (more → 429). */
  pipelineMax: number;
  /** Most operators in one pipeline (more → 400). */
  pipelineMaxOperators: number;
  /** Most groups one reduce/window operator keeps (over its open windows); more fold into `__other__`. */
  pipelineMaxGroups: number;
  /** Closed windows kept per window operator for /results (oldest dropped first). */
  pipelineMaxClosedWindows: number;
  /** Latest pipeline outputs kept per pipeline for /results (0: none). */
  pipelineRecentOutputs: number;
  /** How long after its end (event time, or wall clock when results are read) a window stays open for late events. */
  pipelineWindowLatenessMs: number;
  /** Entity states kept for pipeline `enrich` operators that read entities (LRU). */
  pipelineEnrichCacheEntries: number;
  /** JSON bytes (estimated) of the states that cache holds. */
  pipelineEnrichCacheBytes: number;

  /** WebSocket live stream (GET /api/v1/events/stream): connections above this are refused with 503. */
  wsMaxConnections: number;
  /**
   * Bytes of earlier frames still waiting to be sent to one WebSocket client when new events
   * arrive, above which it is closed as a slow consumer (1013). One commit group is always queued
   * in full, so a client may briefly hold this plus one group.
   */
  wsMaxBufferedBytes: number;
  /** Ping interval; a client that has not answered the previous ping is terminated. */
  wsHeartbeatIntervalMs: number;
}

const MiB = 1024 * 1024;

export const DEFAULTS: CoreConfig = {
  security: securitySettings({}),
  port: 8080,
  host: '127.0.0.1',
  dataDir: './data',
  logLevel: 'info',
  logRequests: true,
  shutdownTimeoutMs: 10_000,

  syncMode: 'always',
  walMaxFileBytes: 64 * MiB,
  walPendingMaxBytes: 64 * MiB,
  flushMaxEvents: 50_000,
  flushMaxBytes: 32 * MiB,
  flushMaxAgeMs: 10_000,
  bufferMaxBytes: 256 * MiB,
  bufferFullWaitMs: 1000,
  rowGroupSize: 1024,
  segmentCompression: 'snappy',
  segmentCacheBytes: 128 * MiB,
  maxOpenSegments: 256,
  idIndexOnWorker: true,
  compactionIntervalMs: 300_000,
  compactionSmallSegmentBytes: 4 * MiB,
  compactionTargetBytes: 64 * MiB,
  compactionMinFiles: 2,

  maxBodyBytes: 16 * MiB,
  maxBatchEvents: 10_000,
  maxEventBytes: 1 * MiB,
  maxQueryLimit: 10_000,
  maxEntityHistory: 10_000,
  maxAnswerBytes: 64 * MiB,
  entitySnapshotCacheEntries: 10_000,
  entitySnapshotCacheBytes: 64 * MiB,

  projectionStateMaxKeys: 1000,
  projectionStateMaxBytes: 4 * MiB,

  replayMaxConcurrent: 4,
  replayMaxRecords: 100,
  replayBatchSize: 1000,
  replayMaxBatchSize: 10_000,

  snapshotEveryEvents: 100,
  snapshotMaxAgeMs: 3_600_000,
  snapshotMaxPerEntity: 10,
  snapshotMaxTotal: 100_000,
  snapshotMaxTotalBytes: 256 * MiB,
  snapshotMaxStateBytes: 16 * MiB,
  snapshotQueueMax: 10_000,

  analyticsMaxScanEvents: 5_000_000,
  analyticsMaxBuckets: 10_000,

  metricsEnabled: true,
  eventTypeLabelLimit: 1000,
  labelValueLimit: 200,

  schemaEnforcement: 'off',
  schemaMaxSubjects: 10_000,
  schemaMaxVersionsPerSubject: 1000,
  schemaMaxSchemaBytes: 64 * 1024,
  schemaMaxTotalBytes: 256 * MiB,
  schemaValidatorCacheEntries: 1000,
  schemaMaxPendingWrites: 64,
  schemaMaxErrors: 100,

  pipelineMax: 100,
  pipelineMaxOperators: 32,
  pipelineMaxGroups: 10_000,
  pipelineMaxClosedWindows: 100,
  pipelineRecentOutputs: 10,
  pipelineWindowLatenessMs: 5000,
  pipelineEnrichCacheEntries: 10_000,
  pipelineEnrichCacheBytes: 64 * MiB,

  wsMaxConnections: 1000,
  wsMaxBufferedBytes: 4 * MiB,
  wsHeartbeatIntervalMs: 30_000,
};

export { ConfigError };

export function loadConfig(env: Env = process.env): CoreConfig {
  const d = DEFAULTS;
  return {
    ...serviceSettings(env, d),
    security: securitySettings(env),

    syncMode: envOneOf<SyncMode>(env, 'WAL_SYNC_MODE', d.syncMode, ['always', 'none']),
    walMaxFileBytes: envInt(env, 'WAL_MAX_FILE_BYTES', d.walMaxFileBytes, 1024),
    walPendingMaxBytes: envInt(env, 'WAL_PENDING_MAX_BYTES', d.walPendingMaxBytes, 1024),
    flushMaxEvents: envInt(env, 'FLUSH_MAX_EVENTS', d.flushMaxEvents, 1),
    flushMaxBytes: envInt(env, 'FLUSH_MAX_BYTES', d.flushMaxBytes, 1024),
    flushMaxAgeMs: envInt(env, 'FLUSH_MAX_AGE_MS', d.flushMaxAgeMs, 10),
    bufferMaxBytes: envInt(env, 'BUFFER_MAX_BYTES', d.bufferMaxBytes, 1024),
    bufferFullWaitMs: envInt(env, 'BUFFER_FULL_WAIT_MS', d.bufferFullWaitMs, 0, 60_000),
    rowGroupSize: envInt(env, 'ROW_GROUP_SIZE', d.rowGroupSize, 16, 1_000_000),
    segmentCompression: envOneOf<SegmentCompression>(env, 'SEGMENT_COMPRESSION', d.segmentCompression, SEGMENT_COMPRESSIONS),
    segmentCacheBytes: envInt(env, 'SEGMENT_CACHE_BYTES', d.segmentCacheBytes, 0),
    maxOpenSegments: envInt(env, 'MAX_OPEN_SEGMENTS', d.maxOpenSegments, 1),
    idIndexOnWorker: envBool(env, 'ID_INDEX_WORKER', d.idIndexOnWorker),
    compactionIntervalMs: envInt(env, 'COMPACTION_INTERVAL_MS', d.compactionIntervalMs, 0, 2_147_483_647),
    compactionSmallSegmentBytes: envInt(env, 'COMPACTION_SMALL_SEGMENT_BYTES', d.compactionSmallSegmentBytes, 1),
    compactionTargetBytes: envInt(env, 'COMPACTION_TARGET_BYTES', d.compactionTargetBytes, 1),
    compactionMinFiles: envInt(env, 'COMPACTION_MIN_FILES', d.compactionMinFiles, 2, 100_000),

    maxBodyBytes: envInt(env, 'MAX_BODY_BYTES', d.maxBodyBytes, 1024),
    maxBatchEvents: envInt(env, 'MAX_BATCH_EVENTS', d.maxBatchEvents, 1),
    maxEventBytes: envInt(env, 'MAX_EVENT_BYTES', d.maxEventBytes, 64),
    maxQueryLimit: envInt(env, 'MAX_QUERY_LIMIT', d.maxQueryLimit, 1),
    maxEntityHistory: envInt(env, 'MAX_ENTITY_HISTORY', d.maxEntityHistory, 1),
    maxAnswerBytes: envInt(env, 'MAX_ANSWER_BYTES', d.maxAnswerBytes, 1024),
    entitySnapshotCacheEntries: envInt(env, 'ENTITY_SNAPSHOT_CACHE_ENTRIES', d.entitySnapshotCacheEntries, 1),
    entitySnapshotCacheBytes: envInt(env, 'ENTITY_SNAPSHOT_CACHE_BYTES', d.entitySnapshotCacheBytes, 1024),

    projectionStateMaxKeys: envInt(env, 'PROJECTION_STATE_MAX_KEYS', d.projectionStateMaxKeys, 1, 1_000_000),
    projectionStateMaxBytes: envInt(env, 'PROJECTION_STATE_MAX_BYTES', d.projectionStateMaxBytes, 1024),

    replayMaxConcurrent: envInt(env, 'REPLAY_MAX_CONCURRENT', d.replayMaxConcurrent, 1, 1000),
    replayMaxRecords: envInt(env, 'REPLAY_MAX_RECORDS', d.replayMaxRecords, 1, 100_000),
    replayBatchSize: envInt(env, 'REPLAY_BATCH_SIZE', d.replayBatchSize, 1, 1_000_000),
    replayMaxBatchSize: envInt(env, 'REPLAY_MAX_BATCH_SIZE', d.replayMaxBatchSize, 1, 1_000_000),

    snapshotEveryEvents: envInt(env, 'SNAPSHOT_EVERY_EVENTS', d.snapshotEveryEvents, 0),
    snapshotMaxAgeMs: envInt(env, 'SNAPSHOT_MAX_AGE_MS', d.snapshotMaxAgeMs, 0),
    snapshotMaxPerEntity: envInt(env, 'SNAPSHOT_MAX_PER_ENTITY', d.snapshotMaxPerEntity, 1, 10_000),
    snapshotMaxTotal: envInt(env, 'SNAPSHOT_MAX_TOTAL', d.snapshotMaxTotal, 1),
    snapshotMaxTotalBytes: envInt(env, 'SNAPSHOT_MAX_TOTAL_BYTES', d.snapshotMaxTotalBytes, 1024),
    snapshotMaxStateBytes: envInt(env, 'SNAPSHOT_MAX_STATE_BYTES', d.snapshotMaxStateBytes, 2),
    snapshotQueueMax: envInt(env, 'SNAPSHOT_QUEUE_MAX', d.snapshotQueueMax, 1),

    analyticsMaxScanEvents: envInt(env, 'ANALYTICS_MAX_SCAN_EVENTS', d.analyticsMaxScanEvents, 1),
    analyticsMaxBuckets: envInt(env, 'ANALYTICS_MAX_BUCKETS', d.analyticsMaxBuckets, 1, 10_000_000),

    metricsEnabled: envBool(env, 'METRICS_ENABLED', d.metricsEnabled),
    eventTypeLabelLimit: envInt(env, 'EVENT_TYPE_LABEL_LIMIT', d.eventTypeLabelLimit, 1),
    labelValueLimit: envInt(env, 'LABEL_VALUE_LIMIT', d.labelValueLimit, 1),

    schemaEnforcement: envOneOf(env, 'SCHEMA_ENFORCEMENT', d.schemaEnforcement, ['off', 'all']),
    schemaMaxSubjects: envInt(env, 'SCHEMA_MAX_SUBJECTS', d.schemaMaxSubjects, 1),
    schemaMaxVersionsPerSubject: envInt(env, 'SCHEMA_MAX_VERSIONS_PER_SUBJECT', d.schemaMaxVersionsPerSubject, 1, 1_000_000),
    schemaMaxSchemaBytes: envInt(env, 'SCHEMA_MAX_SCHEMA_BYTES', d.schemaMaxSchemaBytes, 64),
    schemaMaxTotalBytes: envInt(env, 'SCHEMA_MAX_TOTAL_BYTES', d.schemaMaxTotalBytes, 1024),
    schemaValidatorCacheEntries: envInt(env, 'SCHEMA_VALIDATOR_CACHE_ENTRIES', d.schemaValidatorCacheEntries, 1),
    schemaMaxPendingWrites: envInt(env, 'SCHEMA_MAX_PENDING_WRITES', d.schemaMaxPendingWrites, 1),
    schemaMaxErrors: envInt(env, 'SCHEMA_MAX_ERRORS', d.schemaMaxErrors, 1, 10_000),

    pipelineMax: envInt(env, 'PIPELINE_MAX', d.pipelineMax, 1, 100_000),
    pipelineMaxOperators: envInt(env, 'PIPELINE_MAX_OPERATORS', d.pipelineMaxOperators, 1, 1000),
    pipelineMaxGroups: envInt(env, 'PIPELINE_MAX_GROUPS', d.pipelineMaxGroups, 1, 10_000_000),
    pipelineMaxClosedWindows: envInt(env, 'PIPELINE_MAX_CLOSED_WINDOWS', d.pipelineMaxClosedWindows, 0, 100_000),
    pipelineRecentOutputs: envInt(env, 'PIPELINE_RECENT_OUTPUTS', d.pipelineRecentOutputs, 0, 1000),
    pipelineWindowLatenessMs: envInt(env, 'PIPELINE_WINDOW_LATENESS_MS', d.pipelineWindowLatenessMs, 0, 86_400_000),
    pipelineEnrichCacheEntries: envInt(env, 'PIPELINE_ENRICH_CACHE_ENTRIES', d.pipelineEnrichCacheEntries, 1, 10_000_000),
    pipelineEnrichCacheBytes: envInt(env, 'PIPELINE_ENRICH_CACHE_BYTES', d.pipelineEnrichCacheBytes, 1024),

    wsMaxConnections: envInt(env, 'WS_MAX_CONNECTIONS', d.wsMaxConnections, 1),
    wsMaxBufferedBytes: envInt(env, 'WS_MAX_BUFFERED_BYTES', d.wsMaxBufferedBytes, 1024),
    wsHeartbeatIntervalMs: envInt(env, 'WS_HEARTBEAT_INTERVAL_MS', d.wsHeartbeatIntervalMs, 100),
  };
}
