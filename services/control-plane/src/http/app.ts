import { createServiceApp } from '@allsource/service-kit';
import type { Express } from 'express';
import { dashboardPageRoutes } from '../dashboard/dashboardRoutes';
import { controlPlaneAccessPolicy } from './accessPolicy';
import type { ControlPlaneContext } from './context';
import { clusterRoutes } from './routes/cluster';
import { dashboardRoutes } from './routes/dashboard';
import { healthRoutes } from './routes/health';
import { operationRoutes } from './routes/operations';

/**
 * The control plane's Express app. Every answer is built from the latest scrape results and the
 * history (never by scraping a core on demand); only operations and, with PROMETHEUS_URL, the
 * timeseries make a request upstream.
 */
export function createHttpApp(ctx: ControlPlaneContext): Express {
  const { m } = ctx.metrics;
  const httpMetrics = {
    requests: m.counter('control_plane_http_requests_total'),
    duration: m.histogram('control_plane_http_request_duration_seconds'),
    inFlight: m.gauge('control_plane_http_requests_in_flight'),
  };
  const security = {
    settings: ctx.config.security,
    policy: controlPlaneAccessPolicy,
    rateLimitExempt: (path: string) => path === '/health' || path === '/metrics',
  };
  return createServiceApp({ logger: ctx.logger, logRequests: ctx.config.logRequests, metrics: httpMetrics, security }, (app) => {
    healthRoutes(app, ctx);
    clusterRoutes(app, ctx);
    dashboardRoutes(app, ctx);
    operationRoutes(app, ctx);
    dashboardPageRoutes(app, ctx);
  });
}
