import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { errorHandler, notFound } from './errorHandler';
import { httpMetrics, type HttpMetricHandles } from './httpMetrics';
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
  const common: RequestHandler[] = [requestContext(app, options.logger, options.logRequests), httpMetrics(options.metrics)];
  const security = options.security;
  if (security) {
    const s = security.settings;
    common.push(
      securityHeaders(),
      cors(s.corsOrigins),
      accessControl({ keys: s.apiKeys, policy: security.policy, metricsToken: s.metricsToken }),
      rateLimit({
        perSecond: s.rateLimitPerSecond,
        burst: s.rateLimitBurst,
        maxClients: s.rateLimitMaxClients,
        ...(security.rateLimitExempt ? { exempt: security.rateLimitExempt } : {}),
      }),
    );
  }
  app.use(inSequence(common));
  routes(app);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}

/**
 * Run synchronous middleware one after the other as one router layer: each layer Express's
 * router walks costs path matching and bookkeeping on every request, and these run on all of
 * them. An error (thrown or passed to `next`) skips the rest and goes to the error handler.
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
