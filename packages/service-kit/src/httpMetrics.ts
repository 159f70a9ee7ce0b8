import type { NextFunction, Request, Response } from 'express';

/** The three instruments request metrics feed (each service passes its own catalogue's handles). */
export interface HttpMetricHandles {
  /** Counter labelled method, endpoint, status: `labels(method, endpoint, status)`. */
  requests: { labels(method: string, endpoint: string, status: string): { inc(): void } };
  /** Histogram (seconds) labelled method, endpoint: `labels(method, endpoint)`. */
  duration: { labels(method: string, endpoint: string): { observe(value: number): void } };
  /** Gauge of requests being answered. */
  inFlight: { inc(): void; dec(): void };
}

/**
 * Label sets kept with their children, beyond which children are looked up per request. Method,
 * route template and status are bounded sets, so real traffic stays far below it.
 */
const MAX_KEPT = 4096;

interface Children {
  requests: { inc(): void };
  duration: { observe(value: number): void };
}

/**
 * Counts every request and its duration by method, route template (never the raw URL, so series
 * stay bounded) and status; unmatched URLs are labelled `unmatched`. Keeps the in-flight gauge.
 * Without handles (metrics switched off) it only passes the request on.
 *
 * Per request: one `close` listener (Node emits `close` on every response, after `finish`, and on
 * an aborted one), and the children of its label set from a small map (endpoint → method →
 * status), so no label object is built and no label hash computed on the way. (Keep the start
 * time in the closure: a property added to the response costs far more, Express changes its
 * prototype per request.)
 */
export function httpMetrics(handles: HttpMetricHandles | undefined) {
  if (!handles) return (_req: Request, _res: Response, next: NextFunction) => next();
  const { requests, duration, inFlight } = handles;
  const kept = new Map<string, Map<string, Map<number, Children>>>();
  let keptCount = 0;
  const childrenOf = (method: string, endpoint: string, status: number): Children => {
    let byMethod = kept.get(endpoint);
    let byStatus = byMethod?.get(method);
    let children = byStatus?.get(status);
    if (children !== undefined) return children;
    children = { requests: requests.labels(method, endpoint, String(status)), duration: duration.labels(method, endpoint) };
    if (keptCount < MAX_KEPT) {
      if (byMethod === undefined) kept.set(endpoint, (byMethod = new Map()));
      if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
      byStatus.set(status, children);
      keptCount++;
    }
    return children;
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    inFlight.inc();
    res.on('close', () => {
      inFlight.dec();
      const endpoint = (req.route?.path as string | undefined) ?? 'unmatched';
      const method = KNOWN_METHODS.has(req.method) ? req.method : 'OTHER';
      const children = childrenOf(method, endpoint, res.statusCode);
      children.requests.inc();
      children.duration.observe((performance.now() - started) / 1000);
    });
    next();
  };
}

const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
