import type { JsonValue } from '@allsource/types';
import { encodePath, type HttpClient, type RequestOptions } from '../http';
import type { ProjectionStateParams, ProjectionsListResponse } from '../types';

/** `GET /api/v1/projections`. */
export function listProjections(http: HttpClient, options?: RequestOptions): Promise<ProjectionsListResponse> {
  return http.json<ProjectionsListResponse>('GET', '/api/v1/projections', options);
}

/** `GET /api/v1/projections/:name/state?key=`: the projection's state, or one key of it. */
export function projectionState<T = JsonValue>(
  http: HttpClient,
  name: string,
  params: ProjectionStateParams = {},
  options?: RequestOptions,
): Promise<T> {
  return http.json<T>('GET', `/api/v1/projections/${encodePath(name)}/state`, {
    ...options,
    params: { key: params.key },
  });
}

export interface ProjectionsApi {
  list(options?: RequestOptions): Promise<ProjectionsListResponse>;
  state<T = JsonValue>(name: string, params?: ProjectionStateParams, options?: RequestOptions): Promise<T>;
}

export function projectionsApi(http: HttpClient): ProjectionsApi {
  return {
    list: (options) => listProjections(http, options),
    state: <T = JsonValue>(name: string, params?: ProjectionStateParams, options?: RequestOptions) =>
      projectionState<T>(http, name, params, options),
  };
}
