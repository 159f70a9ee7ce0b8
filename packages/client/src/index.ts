/**
 * @allsource/client: the typed HTTP client of the AllSource core API.
 *
 *   const client = new AllSourceClient({ baseUrl: 'http://127.0.0.1:8080', apiKey });
 *   await client.ingest({ event_type: 'user.created', entity_id: 'u1', payload: { name: 'A' } });
 *   try { await client.getEvent(id); } catch (err) { if (isApiError(err, 'not_found')) … }
 */
export { AllSourceClient } from './client';
export {
  HttpClient,
  buildQuery,
  encodePath,
  type AllSourceClientOptions,
  type HttpMethod,
  type RawResponse,
  type RequestOptions,
} from './http';
export {
  AllSourceApiError,
  API_ERROR_KINDS,
  isApiError,
  kindForStatus,
  type AllSourceApiErrorInit,
  type ApiError,
  type ApiErrorKind,
} from './errors';
export type { AnalyticsApi } from './operations/analytics';
export type { ProjectionsApi } from './operations/projections';
export type { SnapshotsApi } from './operations/snapshots';
export type { CompactionApi } from './operations/compaction';
export type { SchemasApi } from './operations/schemas';
export type { ReplayApi } from './operations/replay';
export type { PipelinesApi } from './operations/pipelines';
export * from './types';
export type {
  BatchIngestRequest,
  BatchIngestResponse,
  EntityHistoryItem,
  EntitySnapshotResponse,
  EntityStateResponse,
  ErrorResponse,
  Event,
  HealthResponse,
  IngestEventRequest,
  IngestEventResponse,
  JsonValue,
  QueryEventsParams,
  QueryEventsResponse,
  StatsResponse,
  TopEntitiesResponse,
  TopEntity,
} from '@allsource/types';
