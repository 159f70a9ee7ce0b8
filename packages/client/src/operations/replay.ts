import { encodePath, type HttpClient, type RequestOptions } from '../http';
import type { ActionResponse, ListReplaysResponse, ReplayProgress, StartReplayRequest, StartReplayResponse } from '../types';

const replayPath = (id: string) => `/api/v1/replay/${encodePath(id)}`;

/** `POST /api/v1/replay`; runs in the background, poll with `getReplay`. */
export function startReplay(http: HttpClient, request: StartReplayRequest = {}, options?: RequestOptions): Promise<StartReplayResponse> {
  return http.json<StartReplayResponse>('POST', '/api/v1/replay', { ...options, body: request });
}

/** `GET /api/v1/replay`. */
export function listReplays(http: HttpClient, options?: RequestOptions): Promise<ListReplaysResponse> {
  return http.json<ListReplaysResponse>('GET', '/api/v1/replay', options);
}

/** `GET /api/v1/replay/:id`; kind `not_found` if unknown. */
export function getReplay(http: HttpClient, replayId: string, options?: RequestOptions): Promise<ReplayProgress> {
  return http.json<ReplayProgress>('GET', replayPath(replayId), options);
}

/** `POST /api/v1/replay/:id/cancel`; resolves with the answer body (`{}` when empty). */
export function cancelReplay(http: HttpClient, replayId: string, options?: RequestOptions): Promise<ActionResponse> {
  return http.json<ActionResponse>('POST', `${replayPath(replayId)}/cancel`, options, {});
}

/** `DELETE /api/v1/replay/:id`; resolves with the answer body (`{}` when empty, e.g. 204). */
export function deleteReplay(http: HttpClient, replayId: string, options?: RequestOptions): Promise<ActionResponse> {
  return http.json<ActionResponse>('DELETE', replayPath(replayId), options, {});
}

export interface ReplayApi {
  start(request?: StartReplayRequest, options?: RequestOptions): Promise<StartReplayResponse>;
  list(options?: RequestOptions): Promise<ListReplaysResponse>;
  get(replayId: string, options?: RequestOptions): Promise<ReplayProgress>;
  cancel(replayId: string, options?: RequestOptions): Promise<ActionResponse>;
  delete(replayId: string, options?: RequestOptions): Promise<ActionResponse>;
}

export function replayApi(http: HttpClient): ReplayApi {
  return {
    start: (request, options) => startReplay(http, request, options),
    list: (options) => listReplays(http, options),
    get: (replayId, options) => getReplay(http, replayId, options),
    cancel: (replayId, options) => cancelReplay(http, replayId, options),
    delete: (replayId, options) => deleteReplay(http, replayId, options),
  };
}
