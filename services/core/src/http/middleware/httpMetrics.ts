import type { NextFunction, Request, Response } from 'express';
import type { CoreMetrics } from '../../metrics/coreMetrics';

/**
 * Counts requests and their duration by method, route template (never the raw URL, so series
 * stay bounded) and status. Unmatched URLs are labelled `unmatched`.
 */
export function httpMetrics(metrics: CoreMetrics) {
  if (!metrics.enabled) return (_req: Request, _res: Response, next: NextFunction) => next();
  const requests = metrics.m.counter('allsource_http_requests_total');
  const duration = metrics.m.histogram('allsource_http_request_duration_seconds');
  const inFlight = metrics.m.gauge('allsource_http_requests_in_flight');
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
