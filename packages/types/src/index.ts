/**
 * Wire shapes of the AllSource HTTP API (see docs/api.md). Field names are snake_case as on
 * the wire; both services and the typed client share these definitions.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** An event as the API returns it. */
export interface Event {
  id: string;
  event_type: string;
  entity_id: string;
  tenant_id: string;
  payload: JsonValue;
  metadata: JsonValue | null;
  /** RFC 3339 UTC with microsecond precision, e.g. `2026-11-27T14:10:08.123456Z`. */
  timestamp: string;
  /** Per-entity sequence number, 1 for an entity's first event. */
  version: number;
}

/** Body of `POST /api/v1/events` and one element of a batch. */
export interface IngestEventRequest {
  event_type: string;
  entity_id: string;
  payload: JsonValue;
  metadata?: JsonValue | null;
  tenant_id?: string;
  /** The entity's current version the writer expects (0 for "no events yet"); 409 when it differs. */
  expected_version?: number;
}

export interface IngestEventResponse {
  event_id: string;
  timestamp: string;
  version: number;
}

export interface BatchIngestRequest {
  events: IngestEventRequest[];
}

export interface BatchIngestResponse {
  total: number;
  ingested: number;
  events: IngestEventResponse[];
}

export interface QueryEventsParams {
  entity_id?: string;
  event_type?: string;
  tenant_id?: string;
  since?: string;
  until?: string;
  as_of?: string;
  limit?: number;
  offset?: number;
  order?: 'asc' | 'desc';
}

export interface QueryEventsResponse {
  events: Event[];
  count: number;
}

export interface EntityHistoryItem {
  event_id: string;
  type: string;
  timestamp: string;
  payload: JsonValue;
}

export interface EntityStateResponse {
  entity_id: string;
  last_updated: string;
  event_count: number;
  as_of: string | null;
  current_state: { [key: string]: JsonValue };
  history: EntityHistoryItem[];
}

export interface EntitySnapshotResponse {
  entity_id: string;
  snapshot: { [key: string]: JsonValue };
  from_projection: 'entity_snapshots';
}

export interface TopEntity {
  entity_id: string;
  event_count: number;
  last_event_at: string;
}

export interface TopEntitiesResponse {
  entities: TopEntity[];
  total_entities: number;
}

export interface HealthResponse {
  /** `degraded` (HTTP 200): writes work, but start-up recovery lost data (see `reason`, `recovery`). */
  status: 'healthy' | 'degraded' | 'unhealthy';
  service: string;
  version: string;
  reason?: string;
  [key: string]: unknown;
}

export interface StatsResponse {
  total_events: number;
  total_entities: number;
  total_event_types: number;
  total_ingested: number;
  storage_bytes: number;
  wal_segments: number;
  parquet_files: number;
  buffered_events: number;
  uptime_seconds: number;
  [key: string]: unknown;
}

/** Every non-2xx answer of both services. */
export interface ErrorResponse {
  error: string;
  code: string;
  [key: string]: unknown;
}

export type ReplayStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** The wire form of a replay (GET /api/v1/replay/:id). */
export interface ReplayProgress {
  replay_id: string;
  status: ReplayStatus;
  projection_name: string;
  from_timestamp: string | null;
  to_timestamp: string | null;
  entity_id: string | null;
  event_type: string | null;
  batch_size: number;
  started_at: string;
  updated_at: string;
  completed_at: string | null;
  total_events: number;
  processed_events: number;
  failed_events: number;
  progress_percentage: number;
  events_per_second: number;
  error_message: string | null;
}
