import { encodePath, type HttpClient, type RequestOptions } from '../http';
import type {
  CreateSnapshotRequest,
  CreateSnapshotResponse,
  LatestSnapshotResponse,
  ListSnapshotsParams,
  ListSnapshotsResponse,
} from '../types';

/** `POST /api/v1/snapshots` `{entity_id}`; takes the entity id or the request body. */
export function createSnapshot(
  http: HttpClient,
  entity: string | CreateSnapshotRequest,
  options?: RequestOptions,
): Promise<CreateSnapshotResponse> {
  const body: CreateSnapshotRequest = typeof entity === 'string' ? { entity_id: entity } : entity;
  return http.json<CreateSnapshotResponse>('POST', '/api/v1/snapshots', { ...options, body });
}

/** `GET /api/v1/snapshots?entity_id=`. */
export function listSnapshots(
  http: HttpClient,
  params: ListSnapshotsParams = {},
  options?: RequestOptions,
): Promise<ListSnapshotsResponse> {
  return http.json<ListSnapshotsResponse>('GET', '/api/v1/snapshots', { ...options, params: { entity_id: params.entity_id } });
}

/** `GET /api/v1/snapshots/:entity_id/latest`; kind `not_found` when there is none. */
export function latestSnapshot(http: HttpClient, entityId: string, options?: RequestOptions): Promise<LatestSnapshotResponse> {
  return http.json<LatestSnapshotResponse>('GET', `/api/v1/snapshots/${encodePath(entityId)}/latest`, options);
}

export interface SnapshotsApi {
  create(entity: string | CreateSnapshotRequest, options?: RequestOptions): Promise<CreateSnapshotResponse>;
  list(params?: ListSnapshotsParams, options?: RequestOptions): Promise<ListSnapshotsResponse>;
  latest(entityId: string, options?: RequestOptions): Promise<LatestSnapshotResponse>;
}

export function snapshotsApi(http: HttpClient): SnapshotsApi {
  return {
    create: (entity, options) => createSnapshot(http, entity, options),
    list: (params, options) => listSnapshots(http, params, options),
    latest: (entityId, options) => latestSnapshot(http, entityId, options),
  };
}
