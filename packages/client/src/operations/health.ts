import type { HealthResponse, StatsResponse } from '@allsource/types';
import type { HttpClient, RequestOptions } from '../http';

/**
 * `GET /health`. Resolves with the body for 200 and also for a 503 whose body is a health answer
 * (`"status":"unhealthy"` plus a `reason`), so a health check can read the reason; any other
 * failure rejects with an `AllSourceApiError`.
 */
export async function health(http: HttpClient, options?: RequestOptions): Promise<HealthResponse> {
  const res = await http.raw<unknown>('GET', '/health', options);
  const body = res.data;
  const isHealthBody =
    body !== null && typeof body === 'object' && typeof (body as { status?: unknown }).status === 'string';
  if ((res.status >= 200 && res.status < 300) || (res.status === 503 && isHealthBody)) {
    return http.jsonBody<HealthResponse>(res, 'GET', http.url('/health'));
  }
  throw http.httpError(res, 'GET', http.url('/health'));
}

/** `GET /api/v1/stats`. */
export function stats(http: HttpClient, options?: RequestOptions): Promise<StatsResponse> {
  return http.json<StatsResponse>('GET', '/api/v1/stats', options);
}

/** `GET /metrics` as Prometheus text (asks for `text/plain`). */
export async function metricsText(http: HttpClient, options: RequestOptions = {}): Promise<string> {
  const res = await http.raw<unknown>('GET', '/metrics', {
    ...options,
    headers: { Accept: 'text/plain', ...(options.headers ?? {}) },
  });
  if (res.status >= 200 && res.status < 300) return res.text;
  throw http.httpError(res, 'GET', http.url('/metrics'));
}
