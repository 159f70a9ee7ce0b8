import type { HttpClient, RequestOptions } from '../http';
import type { CompactionResult, CompactionStatsResponse } from '../types';

/** `POST /api/v1/compaction/trigger`. */
export function triggerCompaction(http: HttpClient, options?: RequestOptions): Promise<CompactionResult> {
  return http.json<CompactionResult>('POST', '/api/v1/compaction/trigger', options);
}

/** `GET /api/v1/compaction/stats`. */
export function compactionStats(http: HttpClient, options?: RequestOptions): Promise<CompactionStatsResponse> {
  return http.json<CompactionStatsResponse>('GET', '/api/v1/compaction/stats', options);
}

export interface CompactionApi {
  trigger(options?: RequestOptions): Promise<CompactionResult>;
  stats(options?: RequestOptions): Promise<CompactionStatsResponse>;
}

export function compactionApi(http: HttpClient): CompactionApi {
  return {
    trigger: (options) => triggerCompaction(http, options),
    stats: (options) => compactionStats(http, options),
  };
}
