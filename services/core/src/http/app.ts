import { createServiceApp } from '@allsource/service-kit';
import type { Express } from 'express';
import type { CoreModule } from '../app/coreModule';
import { coreAccessPolicy } from './accessPolicy';
import type { HttpContext } from './context';
import { entityRoutes } from './routes/entities';
import { eventRoutes } from './routes/events';
import { healthRoutes } from './routes/health';

/** The core's Express app. Routes are thin: they parse, call the engine or a service, answer. */
export function createHttpApp(ctx: HttpContext, modules: readonly CoreModule[] = []): Express {
  const { metrics } = ctx;
  const httpMetrics = metrics.enabled
    ? {
        requests: metrics.m.counter('allsource_http_requests_total'),
        duration: metrics.m.histogram('allsource_http_request_duration_seconds'),
        inFlight: metrics.m.gauge('allsource_http_requests_in_flight'),
      }
    : undefined;
  const security = {
    settings: ctx.config.security,
    policy: coreAccessPolicy,
    rateLimitExempt: (path: string) => path === '/health' || path === '/metrics',
  };
  return createServiceApp({ logger: ctx.logger, logRequests: ctx.config.logRequests, metrics: httpMetrics, security }, (app) => {
    // Express tries routes in this order: the ingest and query routes, the busiest, come first.
    eventRoutes(app, ctx);
    entityRoutes(app, ctx);
    healthRoutes(app, ctx);
    for (const module of modules) module.routes?.(app);
  });
}
