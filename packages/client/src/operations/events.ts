import type {
  BatchIngestRequest,
  BatchIngestResponse,
  Event,
  IngestEventRequest,
  IngestEventResponse,
  QueryEventsParams,
  QueryEventsResponse,
} from '@allsource/types';
import { encodePath, type HttpClient, type RequestOptions } from '../http';

/** `POST /api/v1/events`; resolves once the event is durable. 409 when `expected_version` differs. */
export function ingest(http: HttpClient, event: IngestEventRequest, options?: RequestOptions): Promise<IngestEventResponse> {
  return http.json<IngestEventResponse>('POST', '/api/v1/events', { ...options, body: event });
}

/** `POST /api/v1/events/batch` (all-or-nothing); takes the events or a `{events}` body. */
export function ingestBatch(
  http: HttpClient,
  events: IngestEventRequest[] | BatchIngestRequest,
  options?: RequestOptions,
): Promise<BatchIngestResponse> {
  const body: BatchIngestRequest = Array.isArray(events) ? { events } : events;
  return http.json<BatchIngestResponse>('POST', '/api/v1/events/batch', { ...options, body });
}

/** `GET /api/v1/events/query`; every parameter optional. */
export function queryEvents(
  http: HttpClient,
  params: QueryEventsParams = {},
  options?: RequestOptions,
): Promise<QueryEventsResponse> {
  return http.json<QueryEventsResponse>('GET', '/api/v1/events/query', { ...options, params });
}

/** `GET /api/v1/events/:event_id`; rejects with kind `not_found` if unknown. */
export function getEvent(http: HttpClient, eventId: string, options?: RequestOptions): Promise<Event> {
  return http.json<Event>('GET', `/api/v1/events/${encodePath(eventId)}`, options);
}
