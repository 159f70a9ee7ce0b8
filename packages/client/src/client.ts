import type {
  BatchIngestRequest,
  BatchIngestResponse,
  EntitySnapshotResponse,
  EntityStateResponse,
  Event,
  HealthResponse,
  IngestEventRequest,
  IngestEventResponse,
  QueryEventsParams,
  QueryEventsResponse,
  StatsResponse,
  TopEntitiesResponse,
} from '@allsource/types';
import { HttpClient, type AllSourceClientOptions, type HttpMethod, type RawResponse, type RequestOptions } from './http';
import * as healthOps from './operations/health';
import * as eventOps from './operations/events';
import * as entityOps from './operations/entities';
import { analyticsApi, type AnalyticsApi } from './operations/analytics';
import { projectionsApi, type ProjectionsApi } from './operations/projections';
import { snapshotsApi, type SnapshotsApi } from './operations/snapshots';
import { compactionApi, type CompactionApi } from './operations/compaction';
import { schemasApi, type SchemasApi } from './operations/schemas';
import { replayApi, type ReplayApi } from './operations/replay';
import { pipelinesApi, type PipelinesApi } from './operations/pipelines';
import type { EntityStateParams, TopEntitiesParams } from './types';

/**
 * Typed client of the AllSource core HTTP API.
 *
 * Every method resolves with the parsed body of a 2xx answer and rejects with an
 * `AllSourceApiError` otherwise (`switch (err.kind)`); `raw` is the non-throwing escape hatch.
 */
export class AllSourceClient {
  /** The transport (exposed for advanced use: `http.url()`, `http.send()`, …). */
  readonly http: HttpClient;
  readonly analytics: AnalyticsApi;
  readonly projections: ProjectionsApi;
  readonly snapshots: SnapshotsApi;
  readonly compaction: CompactionApi;
  readonly schemas: SchemasApi;
  readonly replay: ReplayApi;
  readonly pipelines: PipelinesApi;

  constructor(options: AllSourceClientOptions) {
    this.http = new HttpClient(options);
    this.analytics = analyticsApi(this.http);
    this.projections = projectionsApi(this.http);
    this.snapshots = snapshotsApi(this.http);
    this.compaction = compactionApi(this.http);
    this.schemas = schemasApi(this.http);
    this.replay = replayApi(this.http);
    this.pipelines = pipelinesApi(this.http);
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  // --- health, stats, metrics ---------------------------------------------------------------

  /** `GET /health`; also resolves (not rejects) with the body of a 503 "unhealthy" answer. */
  health(options?: RequestOptions): Promise<HealthResponse> {
    return healthOps.health(this.http, options);
  }

  /** `GET /api/v1/stats`. */
  stats(options?: RequestOptions): Promise<StatsResponse> {
    return healthOps.stats(this.http, options);
  }

  /** `GET /metrics`: Prometheus text exposition. */
  metricsText(options?: RequestOptions): Promise<string> {
    return healthOps.metricsText(this.http, options);
  }

  // --- events ---------------------------------------------------------------------------------

  /** `POST /api/v1/events`. */
  ingest(event: IngestEventRequest, options?: RequestOptions): Promise<IngestEventResponse> {
    return eventOps.ingest(this.http, event, options);
  }

  /** `POST /api/v1/events/batch`; takes the events (or a `{events}` body). */
  ingestBatch(events: IngestEventRequest[] | BatchIngestRequest, options?: RequestOptions): Promise<BatchIngestResponse> {
    return eventOps.ingestBatch(this.http, events, options);
  }

  /** `GET /api/v1/events/query`. */
  queryEvents(params?: QueryEventsParams, options?: RequestOptions): Promise<QueryEventsResponse> {
    return eventOps.queryEvents(this.http, params, options);
  }

  /** `GET /api/v1/events/:event_id`. */
  getEvent(eventId: string, options?: RequestOptions): Promise<Event> {
    return eventOps.getEvent(this.http, eventId, options);
  }

  // --- entities -------------------------------------------------------------------------------

  /** `GET /api/v1/entities/:entity_id/state?as_of=`. */
  entityState(entityId: string, params?: EntityStateParams, options?: RequestOptions): Promise<EntityStateResponse> {
    return entityOps.entityState(this.http, entityId, params, options);
  }

  /** `GET /api/v1/entities/:entity_id/snapshot`. */
  entitySnapshot(entityId: string, options?: RequestOptions): Promise<EntitySnapshotResponse> {
    return entityOps.entitySnapshot(this.http, entityId, options);
  }

  /** `GET /api/v1/entities/top?limit=&by=`. */
  topEntities(params?: TopEntitiesParams, options?: RequestOptions): Promise<TopEntitiesResponse> {
    return entityOps.topEntities(this.http, params, options);
  }

  // --- escape hatches -------------------------------------------------------------------------

  /**
   * Sends any request and resolves with `{status, data, headers, text}` whatever the status
   * (never rejects for a non-2xx answer; rejects with kind `network` only when there is no answer).
   * A string / Buffer body is sent as is, so tests can send malformed JSON with any content type.
   */
  raw<T = unknown>(method: HttpMethod | string, path: string, options?: RequestOptions): Promise<RawResponse<T>> {
    return this.http.raw<T>(method, path, options);
  }

  /** Alias of `raw` (same non-throwing behaviour). */
  request<T = unknown>(method: HttpMethod | string, path: string, options?: RequestOptions): Promise<RawResponse<T>> {
    return this.http.raw<T>(method, path, options);
  }

  /** Like `raw` but typed and throwing: resolves with the body of a 2xx answer, rejects with `AllSourceApiError`. */
  send<T = unknown>(method: HttpMethod | string, path: string, options?: RequestOptions): Promise<T> {
    return this.http.send<T>(method, path, options);
  }
}
