import express, { type Express } from 'express';
import type { ControlPlaneContext } from './context';
import { errorHandler, notFound } from './middleware/errorHandler';
import { httpMetrics } from './middleware/httpMetrics';
import { requestContext } from './middleware/requestContext';
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
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestContext(ctx.logger, ctx.config.logRequests));
  app.use(httpMetrics(ctx.metrics));
  healthRoutes(app, ctx);
  clusterRoutes(app, ctx);
  dashboardRoutes(app, ctx);
  operationRoutes(app, ctx);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
