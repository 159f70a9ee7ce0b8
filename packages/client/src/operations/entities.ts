import type { EntitySnapshotResponse, EntityStateResponse, TopEntitiesResponse } from '@allsource/types';
import { encodePath, type HttpClient, type RequestOptions } from '../http';
import type { EntityStateParams, TopEntitiesParams } from '../types';

/** `GET /api/v1/entities/:entity_id/state?as_of=`. */
export function entityState(
  http: HttpClient,
  entityId: string,
  params: EntityStateParams = {},
  options?: RequestOptions,
): Promise<EntityStateResponse> {
  return http.json<EntityStateResponse>('GET', `/api/v1/entities/${encodePath(entityId)}/state`, {
    ...options,
    params: { as_of: params.as_of },
  });
}

/** `GET /api/v1/entities/:entity_id/snapshot`. */
export function entitySnapshot(http: HttpClient, entityId: string, options?: RequestOptions): Promise<EntitySnapshotResponse> {
  return http.json<EntitySnapshotResponse>('GET', `/api/v1/entities/${encodePath(entityId)}/snapshot`, options);
}

/** `GET /api/v1/entities/top?limit=&by=`. */
export function topEntities(
  http: HttpClient,
  params: TopEntitiesParams = {},
  options?: RequestOptions,
): Promise<TopEntitiesResponse> {
  return http.json<TopEntitiesResponse>('GET', '/api/v1/entities/top', {
    ...options,
    params: { limit: params.limit, by: params.by },
  });
}
