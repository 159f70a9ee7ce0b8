import { encodePath, type HttpClient, type RequestOptions } from '../http';
import type {
  ActionResponse,
  AllPipelineStatsResponse,
  CreatePipelineResponse,
  ListPipelinesResponse,
  Pipeline,
  PipelineConfig,
  PipelineResultsResponse,
  PipelineStats,
} from '../types';

const pipelinePath = (id: string) => `/api/v1/pipelines/${encodePath(id)}`;

/** `POST /api/v1/pipelines`; kind `bad_request` for an invalid config. */
export function createPipeline(http: HttpClient, config: PipelineConfig, options?: RequestOptions): Promise<CreatePipelineResponse> {
  return http.json<CreatePipelineResponse>('POST', '/api/v1/pipelines', { ...options, body: config });
}

/** `GET /api/v1/pipelines`. */
export function listPipelines(http: HttpClient, options?: RequestOptions): Promise<ListPipelinesResponse> {
  return http.json<ListPipelinesResponse>('GET', '/api/v1/pipelines', options);
}

/** `GET /api/v1/pipelines/stats` (all pipelines). */
export function allPipelineStats(http: HttpClient, options?: RequestOptions): Promise<AllPipelineStatsResponse> {
  return http.json<AllPipelineStatsResponse>('GET', '/api/v1/pipelines/stats', options);
}

/** `GET /api/v1/pipelines/:id`. */
export function getPipeline(http: HttpClient, pipelineId: string, options?: RequestOptions): Promise<Pipeline> {
  return http.json<Pipeline>('GET', pipelinePath(pipelineId), options);
}

/** `DELETE /api/v1/pipelines/:id`; resolves with the answer body (`{}` when empty). */
export function deletePipeline(http: HttpClient, pipelineId: string, options?: RequestOptions): Promise<ActionResponse> {
  return http.json<ActionResponse>('DELETE', pipelinePath(pipelineId), options, {});
}

/** `GET /api/v1/pipelines/:id/stats`. */
export function pipelineStats(http: HttpClient, pipelineId: string, options?: RequestOptions): Promise<PipelineStats> {
  return http.json<PipelineStats>('GET', `${pipelinePath(pipelineId)}/stats`, options);
}

/** `PUT /api/v1/pipelines/:id/reset`; resolves with the answer body (`{}` when empty). */
export function resetPipeline(http: HttpClient, pipelineId: string, options?: RequestOptions): Promise<ActionResponse> {
  return http.json<ActionResponse>('PUT', `${pipelinePath(pipelineId)}/reset`, options, {});
}

/** `GET /api/v1/pipelines/:id/results`: the pipeline's current output. */
export function pipelineResults(http: HttpClient, pipelineId: string, options?: RequestOptions): Promise<PipelineResultsResponse> {
  return http.json<PipelineResultsResponse>('GET', `${pipelinePath(pipelineId)}/results`, options);
}

export interface PipelinesApi {
  create(config: PipelineConfig, options?: RequestOptions): Promise<CreatePipelineResponse>;
  list(options?: RequestOptions): Promise<ListPipelinesResponse>;
  /** Stats of all pipelines (`GET /api/v1/pipelines/stats`). */
  stats(options?: RequestOptions): Promise<AllPipelineStatsResponse>;
  get(pipelineId: string, options?: RequestOptions): Promise<Pipeline>;
  delete(pipelineId: string, options?: RequestOptions): Promise<ActionResponse>;
  /** Stats of one pipeline (`GET /api/v1/pipelines/:id/stats`). */
  pipelineStats(pipelineId: string, options?: RequestOptions): Promise<PipelineStats>;
  reset(pipelineId: string, options?: RequestOptions): Promise<ActionResponse>;
  results(pipelineId: string, options?: RequestOptions): Promise<PipelineResultsResponse>;
}

export function pipelinesApi(http: HttpClient): PipelinesApi {
  return {
    create: (config, options) => createPipeline(http, config, options),
    list: (options) => listPipelines(http, options),
    stats: (options) => allPipelineStats(http, options),
    get: (pipelineId, options) => getPipeline(http, pipelineId, options),
    delete: (pipelineId, options) => deletePipeline(http, pipelineId, options),
    pipelineStats: (pipelineId, options) => pipelineStats(http, pipelineId, options),
    reset: (pipelineId, options) => resetPipeline(http, pipelineId, options),
    results: (pipelineId, options) => pipelineResults(http, pipelineId, options),
  };
}
