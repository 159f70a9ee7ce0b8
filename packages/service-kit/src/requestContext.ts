import { randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { RequestObserver } from './httpMetrics';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The request id: the caller's `X-Request-Id` when sane, else a new UUID. */
      readonly id: string;
      log: Logger;
    }
  }
}

const BASE_LOGGER = Symbol('allsource.baseLogger');
const CHILD_LOGGER = Symbol('allsource.childLogger');
type ContextRequest = Request & { [BASE_LOGGER]?: Logger; [CHILD_LOGGER]?: Logger };

// Nothing is stored on the request object itself: Express swaps a request's prototype when it
// takes it, and a property added after that costs a couple of microseconds each (measured under
// the single-ingest load). So `req.id` reads the X-Request-Id answer header the middleware set,
// and `req.log` finds the app's logger on the app's own request prototype; the child logger
// (with the request id) is made, and kept, the first time a request logs.
Object.defineProperty(express.request, 'id', {
  configurable: true,
  get(this: Request): string {
    const id = this.res?.getHeader('X-Request-Id');
    if (typeof id !== 'string') throw new Error('req.id is only available behind the requestContext middleware');
    return id;
  },
});
Object.defineProperty(express.request, 'log', {
  configurable: true,
  get(this: ContextRequest): Logger {
    const base = this[BASE_LOGGER];
    if (!base) throw new Error('req.log is only available behind the requestContext middleware');
    return (this[CHILD_LOGGER] ??= base.child({ req_id: this.id }));
  },
});

/**
 * Gives each request of `app` an id (the caller's `X-Request-Id` when sane, echoed in the answer),
 * a child logger (`req.log`) and, when `logRequests`, an access log line once it is answered
 * (`aborted: true` when the answer was not completed: the client went away, or the connection
 * was cut after a failure mid-answer). `observer` (request metrics) hears of each request's
 * start and end from the same single `close` listener.
 */
export function requestContext(app: Express, logger: Logger, logRequests: boolean, observer?: RequestObserver) {
  Object.defineProperty(app.request, BASE_LOGGER, { configurable: true, value: logger });
  const watch = logRequests || observer !== undefined;
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    if (watch) {
      const started = performance.now();
      observer?.started();
      res.on('close', () => {
        const ms = performance.now() - started;
        observer?.ended(req, res, ms / 1000);
        if (!logRequests) return;
        const duration_ms = Math.round(ms * 1000) / 1000;
        if (res.writableFinished) {
          logger.info({ req_id: id, method: req.method, path: req.path, status: res.statusCode, duration_ms }, 'request');
        } else {
          // Not completed: a status only if one went out (statusCode is 200 until something is sent).
          const status = res.headersSent ? res.statusCode : undefined;
          logger.info({ req_id: id, method: req.method, path: req.path, status, duration_ms, aborted: true }, 'request');
        }
      });
    }
    next();
  };
}
