/**
 * The metrics catalogue (shared/spec/metrics-catalog.md) as data. Names, types and labels are
 * kept exactly as the spec lists them, including the seed counters that lack `_total`, because
 * alert rules and dashboards depend on them. Entries marked `extra` are ours, beyond the spec.
 */
import {
  BATCH_SIZE_BUCKETS,
  FSYNC_BUCKETS,
  HTTP_BUCKETS,
  INGESTION_BUCKETS,
  LONG_OPERATION_BUCKETS,
  PER_EVENT_BUCKETS,
  PER_EVENT_BY_NAME_BUCKETS,
  QUERY_BUCKETS,
  SCRAPE_BUCKETS,
  SEGMENT_FLUSH_BUCKETS,
} from './buckets';

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labelNames: readonly string[];
  /** Histograms only. */
  readonly buckets?: readonly number[];
  readonly group: string;
  /** Not in the spec's tables; added for operators (WAL, segments, label folding, build info). */
  readonly extra?: boolean;
}

/**
 * Labels fed by user data. Their values must go through a `LabelCap` so the series count stays
 * bounded whatever clients send.
 */
export const USER_FED_LABELS = ['event_type', 'subject', 'pipeline_name', 'projection_name'] as const;

/** Values of `allsource_wal_corruptions_total{kind}`. */
export const WAL_CORRUPTION_KINDS = ['torn_tail', 'checksum', 'garbage'] as const;

export const CORE_METRICS = [
  // ingestion
  {
    name: 'allsource_events_ingested_total',
    type: 'counter',
    help: 'Events durably appended to the store.',
    labelNames: [],
    group: 'ingestion',
  },
  {
    name: 'allsource_events_ingested_by_type',
    type: 'counter',
    help: 'Events appended, by event type (capped; excess types fold into __other__).',
    labelNames: ['event_type'],
    group: 'ingestion',
  },
  {
    name: 'allsource_ingestion_duration_seconds',
    type: 'histogram',
    help: 'Time to ingest one request (single event or batch), including WAL fsync.',
    labelNames: [],
    buckets: INGESTION_BUCKETS,
    group: 'ingestion',
  },
  {
    name: 'allsource_ingestion_errors_total',
    type: 'counter',
    help: 'Ingestion requests rejected or failed, by reason (validation, schema, storage, conflict).',
    labelNames: ['reason'],
    group: 'ingestion',
  },

  // query
  {
    name: 'allsource_queries_total',
    type: 'counter',
    help: 'Queries executed, by query type.',
    labelNames: ['query_type'],
    group: 'query',
  },
  {
    name: 'allsource_query_duration_seconds',
    type: 'histogram',
    help: 'Query execution time, by query type.',
    labelNames: ['query_type'],
    buckets: QUERY_BUCKETS,
    group: 'query',
  },
  {
    name: 'allsource_query_results_total',
    type: 'counter',
    help: 'Results (events or entities) returned by queries, by query type.',
    labelNames: ['query_type'],
    group: 'query',
  },

  // storage
  {
    name: 'allsource_storage_events_total',
    type: 'gauge',
    help: 'Events currently held by the store.',
    labelNames: [],
    group: 'storage',
  },
  {
    name: 'allsource_storage_entities_total',
    type: 'gauge',
    help: 'Distinct entities currently held by the store.',
    labelNames: [],
    group: 'storage',
  },
  {
    name: 'allsource_storage_size_bytes',
    type: 'gauge',
    help: 'Bytes on disk used by WAL, segments and snapshots.',
    labelNames: [],
    group: 'storage',
  },
  {
    name: 'allsource_parquet_files_total',
    type: 'gauge',
    help: 'Parquet/segment files currently on disk.',
    labelNames: [],
    group: 'storage',
  },
  {
    name: 'allsource_wal_segments_total',
    type: 'gauge',
    help: 'WAL segment files currently on disk.',
    labelNames: [],
    group: 'storage',
  },

  // projections
  {
    name: 'allsource_projection_events_processed',
    type: 'counter',
    help: 'Events applied by each projection.',
    labelNames: ['projection_name'],
    group: 'projections',
  },
  {
    name: 'allsource_projection_errors_total',
    type: 'counter',
    help: 'Events a projection failed to apply.',
    labelNames: ['projection_name'],
    group: 'projections',
  },
  {
    name: 'allsource_projection_processing_duration_seconds',
    type: 'histogram',
    help: 'Time for a projection to apply one event.',
    labelNames: ['projection_name'],
    buckets: PER_EVENT_BY_NAME_BUCKETS,
    group: 'projections',
  },

  // schema registry
  {
    name: 'allsource_schemas_registered_total',
    type: 'counter',
    help: 'Schema versions registered.',
    labelNames: [],
    group: 'schema_registry',
  },
  {
    name: 'allsource_schema_validations_total',
    type: 'counter',
    help: 'Events validated against a schema, by subject and result (valid/invalid).',
    labelNames: ['subject', 'result'],
    group: 'schema_registry',
  },
  {
    name: 'allsource_schema_validation_duration_seconds',
    type: 'histogram',
    help: 'Time to validate one event against its schema.',
    labelNames: [],
    buckets: PER_EVENT_BUCKETS,
    group: 'schema_registry',
  },

  // replay
  {
    name: 'allsource_replays_started_total',
    type: 'counter',
    help: 'Replays started.',
    labelNames: [],
    group: 'replay',
  },
  {
    name: 'allsource_replays_completed_total',
    type: 'counter',
    help: 'Replays that finished successfully.',
    labelNames: [],
    group: 'replay',
  },
  {
    name: 'allsource_replays_failed_total',
    type: 'counter',
    help: 'Replays that failed or were cancelled.',
    labelNames: [],
    group: 'replay',
  },
  {
    name: 'allsource_replay_events_processed',
    type: 'counter',
    help: 'Events re-applied by replays.',
    labelNames: [],
    group: 'replay',
  },
  {
    name: 'allsource_replay_duration_seconds',
    type: 'histogram',
    help: 'Wall time of a whole replay.',
    labelNames: [],
    buckets: LONG_OPERATION_BUCKETS,
    group: 'replay',
  },

  // pipelines
  {
    name: 'allsource_pipelines_registered_total',
    type: 'gauge',
    help: 'Pipelines currently active.',
    labelNames: [],
    group: 'pipelines',
  },
  {
    name: 'allsource_pipeline_events_processed',
    type: 'counter',
    help: 'Events that went through each pipeline.',
    labelNames: ['pipeline_name'],
    group: 'pipelines',
  },
  {
    name: 'allsource_pipeline_events_filtered',
    type: 'counter',
    help: 'Events dropped by a pipeline filter.',
    labelNames: ['pipeline_name'],
    group: 'pipelines',
  },
  {
    name: 'allsource_pipeline_processing_duration_seconds',
    type: 'histogram',
    help: 'Time for a pipeline to process one event.',
    labelNames: ['pipeline_name'],
    buckets: PER_EVENT_BY_NAME_BUCKETS,
    group: 'pipelines',
  },

  // snapshots
  {
    name: 'allsource_snapshots_created_total',
    type: 'counter',
    help: 'Snapshots created, by snapshot type.',
    labelNames: ['snapshot_type'],
    group: 'snapshots',
  },
  {
    name: 'allsource_snapshot_creation_duration_seconds',
    type: 'histogram',
    help: 'Time to create one snapshot.',
    labelNames: [],
    buckets: LONG_OPERATION_BUCKETS,
    group: 'snapshots',
  },
  {
    name: 'allsource_snapshots_total',
    type: 'gauge',
    help: 'Snapshots currently stored.',
    labelNames: [],
    group: 'snapshots',
  },

  // compaction
  {
    name: 'allsource_compactions_total',
    type: 'counter',
    help: 'Compactions performed.',
    labelNames: [],
    group: 'compaction',
  },
  {
    name: 'allsource_compaction_duration_seconds',
    type: 'histogram',
    help: 'Wall time of one compaction.',
    labelNames: [],
    buckets: LONG_OPERATION_BUCKETS,
    group: 'compaction',
  },
  {
    name: 'allsource_compaction_files_merged',
    type: 'counter',
    help: 'Input files merged away by compactions.',
    labelNames: [],
    group: 'compaction',
  },
  {
    name: 'allsource_compaction_bytes_saved',
    type: 'counter',
    help: 'Bytes of disk reclaimed by compactions.',
    labelNames: [],
    group: 'compaction',
  },

  // websocket
  {
    name: 'allsource_websocket_connections_active',
    type: 'gauge',
    help: 'WebSocket clients currently connected.',
    labelNames: [],
    group: 'websocket',
  },
  {
    name: 'allsource_websocket_connections_total',
    type: 'counter',
    help: 'WebSocket connections accepted.',
    labelNames: [],
    group: 'websocket',
  },
  {
    name: 'allsource_websocket_messages_sent',
    type: 'counter',
    help: 'Messages sent to WebSocket clients.',
    labelNames: [],
    group: 'websocket',
  },
  {
    name: 'allsource_websocket_errors_total',
    type: 'counter',
    help: 'WebSocket errors (protocol, send failures, dropped slow clients).',
    labelNames: [],
    group: 'websocket',
  },

  // http
  {
    name: 'allsource_http_requests_total',
    type: 'counter',
    help: 'HTTP requests answered, by method, route template (or "unmatched") and status code.',
    labelNames: ['method', 'endpoint', 'status'],
    group: 'http',
  },
  {
    name: 'allsource_http_request_duration_seconds',
    type: 'histogram',
    help: 'HTTP request duration, by method and route template.',
    labelNames: ['method', 'endpoint'],
    buckets: HTTP_BUCKETS,
    group: 'http',
  },
  {
    name: 'allsource_http_requests_in_flight',
    type: 'gauge',
    help: 'HTTP requests currently being served.',
    labelNames: [],
    group: 'http',
  },

  // storage internals (extra)
  {
    name: 'allsource_wal_fsync_duration_seconds',
    type: 'histogram',
    help: 'Time of one WAL fsync.',
    labelNames: [],
    buckets: FSYNC_BUCKETS,
    group: 'storage_internals',
    extra: true,
  },
  {
    name: 'allsource_wal_group_commit_batch_events',
    type: 'histogram',
    help: 'Events made durable by one WAL group commit (one fsync).',
    labelNames: [],
    buckets: BATCH_SIZE_BUCKETS,
    group: 'storage_internals',
    extra: true,
  },
  {
    name: 'allsource_wal_corruptions_total',
    type: 'counter',
    help: 'Damaged WAL records found at recovery, by kind (torn_tail, checksum, garbage).',
    labelNames: ['kind'],
    group: 'storage_internals',
    extra: true,
  },
  {
    name: 'allsource_wal_bytes_truncated_total',
    type: 'counter',
    help: 'WAL bytes discarded at recovery because they followed a damaged record.',
    labelNames: [],
    group: 'storage_internals',
    extra: true,
  },
  {
    name: 'allsource_segment_flushes_total',
    type: 'counter',
    help: 'Segment files written from the in-memory buffer.',
    labelNames: [],
    group: 'storage_internals',
    extra: true,
  },
  {
    name: 'allsource_segment_flush_duration_seconds',
    type: 'histogram',
    help: 'Time to write one segment file.',
    labelNames: [],
    buckets: SEGMENT_FLUSH_BUCKETS,
    group: 'storage_internals',
    extra: true,
  },
  {
    name: 'allsource_segment_cache_hits_total',
    type: 'counter',
    help: 'Segment reads served from the in-memory cache.',
    labelNames: [],
    group: 'storage_internals',
    extra: true,
  },
  {
    name: 'allsource_segment_cache_misses_total',
    type: 'counter',
    help: 'Segment reads that had to load the file from disk.',
    labelNames: [],
    group: 'storage_internals',
    extra: true,
  },

  // meta (extra)
  {
    name: 'allsource_metric_label_values_folded_total',
    type: 'counter',
    help: 'Label values replaced by __other__ because the label reached its cap, by label name.',
    labelNames: ['label'],
    group: 'meta',
    extra: true,
  },
  {
    name: 'allsource_build_info',
    type: 'gauge',
    help: 'Always 1; labels carry the AllSource version and the Node.js version.',
    labelNames: ['version', 'node_version'],
    group: 'meta',
    extra: true,
  },
] as const satisfies readonly MetricDef[];

export const CONTROL_PLANE_METRICS = [
  {
    name: 'control_plane_http_requests_total',
    type: 'counter',
    help: 'HTTP requests answered, by method, route template (or "unmatched") and status code.',
    labelNames: ['method', 'endpoint', 'status'],
    group: 'control_plane',
  },
  {
    name: 'control_plane_http_request_duration_seconds',
    type: 'histogram',
    help: 'HTTP request duration, by method and route template.',
    labelNames: ['method', 'endpoint'],
    buckets: HTTP_BUCKETS,
    group: 'control_plane',
  },
  {
    name: 'control_plane_http_requests_in_flight',
    type: 'gauge',
    help: 'HTTP requests currently being served.',
    labelNames: [],
    group: 'control_plane',
  },
  {
    name: 'control_plane_core_health_status',
    type: 'gauge',
    help: 'Last health check of each core node: 1 healthy, 0 unhealthy.',
    labelNames: ['node_id'],
    group: 'control_plane',
  },
  {
    name: 'control_plane_core_events_total',
    type: 'gauge',
    help: 'Events stored by each core node, as of its last successful scrape.',
    labelNames: ['node_id'],
    group: 'control_plane',
  },
  {
    name: 'control_plane_scrapes_total',
    type: 'counter',
    help: 'Scrapes of core nodes, by node and result (success/error).',
    labelNames: ['node_id', 'result'],
    group: 'control_plane',
  },
  {
    name: 'control_plane_scrape_duration_seconds',
    type: 'histogram',
    help: 'Time to scrape one core node.',
    labelNames: ['node_id'],
    buckets: SCRAPE_BUCKETS,
    group: 'control_plane',
  },
  {
    name: 'control_plane_uptime_seconds',
    type: 'gauge',
    help: 'Seconds since the control plane started.',
    labelNames: [],
    group: 'control_plane',
  },
] as const satisfies readonly MetricDef[];

export type CoreMetricName = (typeof CORE_METRICS)[number]['name'];
export type ControlPlaneMetricName = (typeof CONTROL_PLANE_METRICS)[number]['name'];

export const ALL_CORE_METRIC_NAMES: readonly CoreMetricName[] = CORE_METRICS.map((m) => m.name);
export const ALL_CONTROL_PLANE_METRIC_NAMES: readonly ControlPlaneMetricName[] =
  CONTROL_PLANE_METRICS.map((m) => m.name);

const BY_NAME: ReadonlyMap<string, MetricDef> = new Map(
  [...CORE_METRICS, ...CONTROL_PLANE_METRICS].map((m): [string, MetricDef] => [m.name, m]),
);

/** The definition of a core or control-plane metric, or undefined if the name is not catalogued. */
export function findMetric(name: string): MetricDef | undefined {
  return BY_NAME.get(name);
}
