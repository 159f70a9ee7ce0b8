import express, { type Express } from 'express';
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
  app.use(requestContext(options.logger, options.logRequests));
  app.use(httpMetrics(options.metrics));
  const security = options.security;
  if (security) {
    const s = security.settings;
    app.use(securityHeaders());
    app.use(cors(s.corsOrigins));
    app.use(accessControl({ keys: s.apiKeys, policy: security.policy, metricsToken: s.metricsToken }));
    app.use(
      rateLimit({
        perSecond: s.rateLimitPerSecond,
        burst: s.rateLimitBurst,
        maxClients: s.rateLimitMaxClients,
        ...(security.rateLimitExempt ? { exempt: security.rateLimitExempt } : {}),
      }),
    );
  }
  routes(app);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
