import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { errorHandler, notFound } from './errorHandler';
import { httpMetricsObserver, type HttpMetricHandles } from './httpMetrics';
import { requestContext } from './requestContext';
import { accessControl, cors, rateLimit, securityHeaders, type AccessPolicy, type SecuritySettings } from './security';

export interface ServiceAppOptions {
  logger: Logger;
  /** Log one line per request. */
  logRequests: boolean;
  /** Request metrics; undefined when metrics are switched off. */
  metrics: HttpMetricHandles | undefined;
  /** Access control, CORS, rate limits and security headers (docs/security.md). */
  security?: {
    settings: SecuritySettings;
    /** What each request needs (open, metrics token, or a role). */
    policy: AccessPolicy;
    /** Paths the rate limit never applies to (health checks, scrapes). */
    rateLimitExempt?: (path: string) => boolean;
  };
}

/**
 * An Express app with the services' conventions: no `X-Powered-By`, no ETags, the simple query
 * parser, request ids and logging, request metrics, security headers, CORS, access control and
 * rate limits, then `routes`, then the API's 404 and error answers.
 */
export function createServiceApp(options: ServiceAppOptions, routes: (app: Express) => void): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const observer = options.metrics ? httpMetricsObserver(options.metrics) : undefined;
  const common: RequestHandler[] = [requestContext(app, options.logger, options.logRequests, observer)];
  const security = options.security;
  if (security) {
    // Only what can act under this configuration is installed: with no CORS origins, no API key,
    // no metrics token and no rate limit, those steps would pass every request anyway.
    const s = security.settings;
    common.push(securityHeaders());
    if (s.corsOrigins.length > 0) common.push(cors(s.corsOrigins));
    if (s.apiKeys.enabled || s.metricsToken !== undefined) {
      common.push(accessControl({ keys: s.apiKeys, policy: security.policy, metricsToken: s.metricsToken }));
    }
    if (s.rateLimitPerSecond > 0) {
      common.push(
        rateLimit({
          perSecond: s.rateLimitPerSecond,
          burst: s.rateLimitBurst,
          maxClients: s.rateLimitMaxClients,
          ...(security.rateLimitExempt ? { exempt: security.rateLimitExempt } : {}),
        }),
      );
    }
  }
  runBeforeRouter(app, inSequence(common));
  routes(app);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}

/** Express's request dispatch (`app.handle`, private in its types but stable since Express 3). */
type Dispatch = (req: Request, res: Response, callback?: NextFunction) => void;

/**
 * Run `middleware` on every request before Express's router rather than as its first layer: a
 * router layer costs Express 5 about 5-10 µs a request on this project's bench machine (path
 * match, params, prefix trimming; a pass-through `app.use` measured side by side), which was
 * several percent of a single-event ingest. The request and answer get Express's prototypes
 * first, as the router's layers would see them. An error passed on goes to the API's error
 * answer, as from any layer.
 */
function runBeforeRouter(app: Express, middleware: RequestHandler): void {
  const target = app as unknown as { handle: Dispatch; request: object; response: object };
  const routerDispatch = target.handle;
  target.handle = function dispatch(this: unknown, req: Request, res: Response, callback?: NextFunction): void {
    Object.setPrototypeOf(req, target.request);
    Object.setPrototypeOf(res, target.response);
    req.res = res;
    res.req = req;
    middleware(req, res, (err?: unknown) => {
      if (err !== undefined && err !== null) return errorHandler(err, req, res, () => undefined);
      routerDispatch.call(app, req, res, callback);
    });
  };
}

/**
 * Run synchronous middleware one after the other as one handler (see `runBeforeRouter`). An error
 * (thrown or passed to `next`) skips the rest and is handed on.
 */
export function inSequence(handlers: readonly RequestHandler[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null) return next(err);
      if (i === handlers.length) return next();
      const handler = handlers[i++]!;
      try {
        handler(req, res, step);
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
}
