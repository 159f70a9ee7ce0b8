import express, { type Express } from 'express';
import type { CoreModule } from '../app/coreModule';
import type { HttpContext } from './context';
import { errorHandler, notFound } from './middleware/errorHandler';
import { httpMetrics } from './middleware/httpMetrics';
import { requestContext } from './middleware/requestContext';
import { entityRoutes } from './routes/entities';
import { eventRoutes } from './routes/events';
import { healthRoutes } from './routes/health';

/** The core's Express app. Routes are thin: they parse, call the engine or a service, answer. */
export function createHttpApp(ctx: HttpContext, modules: readonly CoreModule[] = []): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestContext(ctx.logger, ctx.config.logRequests));
  app.use(httpMetrics(ctx.metrics));
  healthRoutes(app, ctx);
  eventRoutes(app, ctx);
  entityRoutes(app, ctx);
  for (const module of modules) module.routes?.(app);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
