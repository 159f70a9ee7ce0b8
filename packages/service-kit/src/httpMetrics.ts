import type { NextFunction, Request, Response } from 'express';

/** The three instruments request metrics feed (each service passes its own catalogue's handles). */
export interface HttpMetricHandles {
  /** Counter labelled method, endpoint, status. */
  requests: { inc(labels: { method: string; endpoint: string; status: string }): void };
  /** Histogram (seconds) labelled method, endpoint. */
  duration: { observe(labels: { method: string; endpoint: string }, value: number): void };
  /** Gauge of requests being answered. */
  inFlight: { inc(): void; dec(): void };
}

/**
 * Counts every request and its duration by method, route template (never the raw URL, so series
 * stay bounded) and status; unmatched URLs are labelled `unmatched`. Keeps the in-flight gauge.
 * Without handles (metrics switched off) it only passes the request on.
 */
export function httpMetrics(handles: HttpMetricHandles | undefined) {
  if (!handles) return (_req: Request, _res: Response, next: NextFunction) => next();
  const { requests, duration, inFlight } = handles;
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
