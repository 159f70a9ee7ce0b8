import type { HttpClient, RequestOptions } from '../http';
import type {
  CorrelationParams,
  CorrelationResponse,
  FrequencyParams,
  FrequencyResponse,
  SummaryParams,
  SummaryResponse,
} from '../types';

/** `GET /api/v1/analytics/frequency`. */
export function frequency(http: HttpClient, params: FrequencyParams = {}, options?: RequestOptions): Promise<FrequencyResponse> {
  return http.json<FrequencyResponse>('GET', '/api/v1/analytics/frequency', { ...options, params });
}

/** `GET /api/v1/analytics/summary`. */
export function summary(http: HttpClient, params: SummaryParams = {}, options?: RequestOptions): Promise<SummaryResponse> {
  return http.json<SummaryResponse>('GET', '/api/v1/analytics/summary', { ...options, params });
}

/** `GET /api/v1/analytics/correlation`. */
export function correlation(http: HttpClient, params: CorrelationParams, options?: RequestOptions): Promise<CorrelationResponse> {
  return http.json<CorrelationResponse>('GET', '/api/v1/analytics/correlation', { ...options, params });
}

export interface AnalyticsApi {
  frequency(params?: FrequencyParams, options?: RequestOptions): Promise<FrequencyResponse>;
  summary(params?: SummaryParams, options?: RequestOptions): Promise<SummaryResponse>;
  correlation(params: CorrelationParams, options?: RequestOptions): Promise<CorrelationResponse>;
}

export function analyticsApi(http: HttpClient): AnalyticsApi {
  return {
    frequency: (params, options) => frequency(http, params, options),
    summary: (params, options) => summary(http, params, options),
    correlation: (params, options) => correlation(http, params, options),
  };
}
