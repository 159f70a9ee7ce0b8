import type { NextFunction, Request, Response } from 'express';
import type { ControlPlaneMetrics } from '../../metrics/controlPlaneMetrics';

/**
 * Counts every request and its duration by method, route template (never the raw URL, so series
 * stay bounded) and status; unmatched URLs are labelled `unmatched`. Keeps the in-flight gauge.
 */
export function httpMetrics(metrics: ControlPlaneMetrics) {
  const requests = metrics.m.counter('control_plane_http_requests_total');
  const duration = metrics.m.histogram('control_plane_http_request_duration_seconds');
  const inFlight = metrics.m.gauge('control_plane_http_requests_in_flight');
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    inFlight.inc();
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      inFlight.dec();
      const endpoint = (req.route?.path as string | undefined) ?? 'unmatched';
      const method = KNOWN_METHODS.has(req.method) ? req.method : 'OTHER';
      requests.inc({ method, endpoint, status: String(res.statusCode) });
      duration.observe({ method, endpoint }, (performance.now() - started) / 1000);
    };
    res.on('finish', finish);
    res.on('close', finish);
    next();
  };
}

const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
