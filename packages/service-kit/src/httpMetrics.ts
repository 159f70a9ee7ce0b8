import type { Request, Response } from 'express';

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

/** What a request's lifetime tells an observer (request metrics); see `requestContext`. */
export interface RequestObserver {
  /** A request came in. */
  started(): void;
  /** Its answer ended (finished, or the connection closed first), `seconds` after it came in. */
  ended(req: Request, res: Response, seconds: number): void;
}

/**
 * Counts every request and its duration by method, route template (never the raw URL, so series
 * stay bounded) and status; unmatched URLs are labelled `unmatched`. Keeps the in-flight gauge.
 *
 * It adds no listener of its own: `requestContext` calls it from the one `close` listener a
 * request gets (Node emits `close` on every response, after `finish`, and on an aborted one).
 * The children of a label set come from a small map (endpoint → method → status), so no label
 * object is built and no label hash computed on the way.
 */
export function httpMetricsObserver(handles: HttpMetricHandles): RequestObserver {
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
  return {
    started: () => inFlight.inc(),
    ended: (req, res, seconds) => {
      inFlight.dec();
      const endpoint = (req.route?.path as string | undefined) ?? 'unmatched';
      const method = KNOWN_METHODS.has(req.method) ? req.method : 'OTHER';
      const children = childrenOf(method, endpoint, res.statusCode);
      children.requests.inc();
      children.duration.observe(seconds);
    },
  };
}

const KNOWN_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
