/**
 * Wire shapes of the endpoints `@allsource/types` does not cover yet (analytics, projections,
 * snapshots, compaction, schemas, replay, pipelines), snake_case as on the wire, following
 * /work/shared/spec/api-contract.md. Where the contract only says `[…]` or `{…}`, the type is kept
 * open (index signatures / `JsonValue`) rather than guessing field names.
 */
import type { JsonValue, ReplayProgress, ReplayStatus } from '@allsource/types';

export type { ReplayProgress, ReplayStatus };

export type JsonObject = { [key: string]: JsonValue };

/** Answer of action endpoints the contract gives no shape for (cancel, delete, reset); `{}` when empty. */
export type ActionResponse = { [key: string]: JsonValue };

// ---------------------------------------------------------------------------------------------
// Entities
// ---------------------------------------------------------------------------------------------

export interface EntityStateParams {
  /** RFC 3339 timestamp (a `Date` is sent as `toISOString()`). */
  as_of?: string | Date;
}

export interface TopEntitiesParams {
  limit?: number;
  /** Ranking; the contract names `events` (the default). */
  by?: 'events' | (string & {});
}

// ---------------------------------------------------------------------------------------------
// Analytics
// ---------------------------------------------------------------------------------------------

export type TimeWindow = 'minute' | 'hour' | 'day' | 'week' | 'month';

export interface TimeRange {
  from: string;
  to: string;
}

/** `GET /api/v1/analytics/frequency` query. */
export interface FrequencyParams {
  since?: string | Date;
  until?: string | Date;
  window?: TimeWindow;
  entity_id?: string;
  event_type?: string;
}

export interface FrequencyBucket {
  timestamp: string;
  count: number;
  event_types: { [event_type: string]: number };
}

export interface FrequencyResponse {
  /** Gap-filled: one bucket per window in the range, empty ones with count 0. */
  buckets: FrequencyBucket[];
  total_events: number;
  window: TimeWindow;
  time_range: TimeRange;
}

/** `GET /api/v1/analytics/summary` query. */
export interface SummaryParams {
  entity_id?: string;
  event_type?: string;
  since?: string | Date;
  until?: string | Date;
}

export interface TopEventTypeSummary {
  event_type: string;
  count: number;
  percentage: number;
}

export interface TopEntitySummary {
  entity_id: string;
  count: number;
  percentage: number;
}

export interface SummaryResponse {
  total_events: number;
  /** True count, not capped by `top_entities`. */
  unique_entities: number;
  /** True count, not capped by `top_event_types`. */
  unique_event_types: number;
  /** `null` when no event matched. */
  time_range: TimeRange | null;
  events_per_day: number;
  top_event_types: TopEventTypeSummary[];
  top_entities: TopEntitySummary[];
  /** Timestamp of the first matching event, `null` when none. */
  first_event: string | null;
  /** Timestamp of the last matching event, `null` when none. */
  last_event: string | null;
}

/** `GET /api/v1/analytics/correlation` query. */
export interface CorrelationParams {
  event_type_a: string;
  event_type_b: string;
  time_window_seconds?: number;
  since?: string | Date;
  until?: string | Date;
}

/** One example pair; the contract leaves the fields open. */
export type CorrelationExample = { [key: string]: JsonValue };

export interface CorrelationResponse {
  event_type_a: string;
  event_type_b: string;
  total_a: number;
  total_b: number;
  correlated_pairs: number;
  correlation_percentage: number;
  /** `null` (or 0) when there are no correlated pairs. */
  avg_time_between_seconds: number | null;
  examples: CorrelationExample[];
}

// ---------------------------------------------------------------------------------------------
// Projections
// ---------------------------------------------------------------------------------------------

export interface ProjectionInfo {
  name: string;
  events_processed: number;
  errors: number;
  last_processed_at: string | null;
}

export interface ProjectionsListResponse {
  projections: ProjectionInfo[];
}

export interface ProjectionStateParams {
  key?: string;
}

// ---------------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------------

export type SnapshotType = 'manual' | 'automatic';

export interface CreateSnapshotRequest {
  entity_id: string;
}

export interface CreateSnapshotResponse {
  snapshot_id: string;
  entity_id: string;
  created_at: string;
  as_of: string;
  event_count: number;
  size_bytes: number;
}

export interface SnapshotInfo {
  id: string;
  entity_id: string;
  created_at: string;
  as_of: string;
  event_count: number;
  size_bytes: number;
  snapshot_type: SnapshotType;
}

export interface ListSnapshotsParams {
  entity_id?: string;
}

export interface ListSnapshotsResponse {
  snapshots: SnapshotInfo[];
  total: number;
}

/** `GET /api/v1/snapshots/:entity_id/latest`: the snapshot with its `state`. */
export interface LatestSnapshotResponse extends SnapshotInfo {
  state: JsonObject;
}

// ---------------------------------------------------------------------------------------------
// Compaction
// ---------------------------------------------------------------------------------------------

export interface CompactionResult {
  files_compacted: number;
  bytes_before: number;
  bytes_after: number;
  events_compacted: number;
  duration_ms: number;
}

export interface CompactionStats {
  total_compactions: number;
  total_files_compacted: number;
  total_bytes_before: number;
  total_bytes_after: number;
  total_events_compacted: number;
  last_compaction_duration_ms: number;
  space_saved_bytes: number;
}

export interface CompactionStatsResponse {
  stats: CompactionStats;
  config: JsonObject;
}

// ---------------------------------------------------------------------------------------------
// Schema registry
// ---------------------------------------------------------------------------------------------

export type CompatibilityMode = 'NONE' | 'BACKWARD' | 'FORWARD' | 'FULL';

export interface RegisterSchemaRequest {
  /** The event type the schema applies to. */
  subject: string;
  /** A JSON Schema (draft 2020-12 or draft-07). */
  schema: JsonValue;
  description?: string;
  tags?: string[];
}

export interface RegisterSchemaResponse {
  schema_id: string;
  subject: string;
  version: number;
  created_at: string;
}

export interface ListSubjectsResponse {
  subjects: string[];
  total: number;
}

export interface GetSchemaParams {
  version?: number;
}

export interface SchemaResponse {
  id: string;
  subject: string;
  version: number;
  schema: JsonValue;
  created_at: string;
  description: string | null;
  tags: string[];
}

export interface SchemaVersionsResponse {
  subject: string;
  versions: number[];
}

export interface SetCompatibilityRequest {
  compatibility: CompatibilityMode;
}

export interface SetCompatibilityResponse {
  subject: string;
  compatibility: CompatibilityMode;
}

export interface ValidatePayloadRequest {
  subject: string;
  version?: number;
  payload: JsonValue;
}

export interface ValidatePayloadResponse {
  valid: boolean;
  errors: string[];
  schema_version: number;
}

// ---------------------------------------------------------------------------------------------
// Replay
// ---------------------------------------------------------------------------------------------


export interface StartReplayRequest {
  projection_name?: string;
  from_timestamp?: string;
  to_timestamp?: string;
  entity_id?: string;
  event_type?: string;
  config?: { batch_size?: number };
}

export interface StartReplayResponse {
  replay_id: string;
  status: ReplayStatus;
  started_at: string;
  total_events: number;
}


export interface ListReplaysResponse {
  replays: ReplayProgress[];
  total: number;
}

// ---------------------------------------------------------------------------------------------
// Stream pipelines
// ---------------------------------------------------------------------------------------------

export type FilterOp = 'eq' | 'ne' | 'gt' | 'lt' | 'contains';

export interface FilterOperator {
  type: 'filter';
  /** Dot path into the payload. */
  field: string;
  value: JsonValue;
  op: FilterOp;
}

export type MapTransform = 'uppercase' | 'lowercase' | 'trim' | `multiply:${number}` | `add:${number}`;

export interface MapOperator {
  type: 'map';
  field: string;
  transform: MapTransform;
}

export type ReduceFunction = 'count' | 'sum' | 'avg' | 'min' | 'max';

export interface ReduceOperator {
  type: 'reduce';
  field: string;
  function: ReduceFunction;
  group_by?: string;
}

export type WindowType = 'tumbling' | 'sliding' | 'session';

export interface WindowConfig {
  window_type: WindowType;
  size_seconds: number;
  slide_seconds?: number;
  session_timeout_seconds?: number;
}

export interface WindowOperator {
  type: 'window';
  config: WindowConfig;
  aggregation: ReduceOperator;
}

export interface EnrichOperator {
  type: 'enrich';
  source: string;
  fields: string[];
}

export interface BranchOperator {
  type: 'branch';
  field: string;
  /** value → route */
  branches: { [value: string]: string };
}

export type PipelineOperator =
  | FilterOperator
  | MapOperator
  | ReduceOperator
  | WindowOperator
  | EnrichOperator
  | BranchOperator;

export interface PipelineConfig {
  id?: string;
  name: string;
  description?: string;
  source_event_types: string[];
  operators: PipelineOperator[];
  enabled: boolean;
}

/** A stored pipeline as `GET /api/v1/pipelines/:id` returns it (its id is always known). */
export interface Pipeline extends PipelineConfig {
  id: string;
  [key: string]: unknown;
}

export interface CreatePipelineResponse {
  pipeline_id: string;
  name: string;
  enabled: boolean;
}

/** `GET /api/v1/pipelines`; the contract names no fields besides the list. */
export interface ListPipelinesResponse {
  pipelines: Pipeline[];
  [key: string]: unknown;
}

export interface PipelineStats {
  pipeline_id: string;
  events_processed: number;
  events_filtered: number;
  events_failed: number;
  last_processed: string | null;
}

/** `GET /api/v1/pipelines/stats` (all pipelines); shape not fixed by the contract. */
export type AllPipelineStatsResponse = { [key: string]: unknown };

/** `GET /api/v1/pipelines/:id/results`: reduce/window aggregates per group and window. */
export type PipelineResultsResponse = { [key: string]: JsonValue };
