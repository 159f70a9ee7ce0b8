import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';

const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      id: string;
      log: Logger;
    }
  }
}

const BASE_LOGGER = Symbol('allsource.baseLogger');
const CHILD_LOGGER = Symbol('allsource.childLogger');
type ContextRequest = Request & { [BASE_LOGGER]?: Logger; [CHILD_LOGGER]?: Logger };

// `req.log` is a getter on Express's request prototype, made once: defining a property on every
// request object would cost more than most requests ever spend logging. The child logger (with
// the request id) is made the first time a request logs.
Object.defineProperty(express.request, 'log', {
  configurable: true,
  get(this: ContextRequest): Logger {
    const base = this[BASE_LOGGER];
    if (!base) throw new Error('req.log is only available behind the requestContext middleware');
    return (this[CHILD_LOGGER] ??= base.child({ req_id: this.id }));
  },
});

/** Gives each request an id (the caller's `X-Request-Id` when sane), a child logger and an access log line. */
export function requestContext(logger: Logger, logRequests: boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    (req as ContextRequest)[BASE_LOGGER] = logger;
    if (logRequests) {
      const started = performance.now();
      res.on('finish', () => {
        logger.info(
          {
            req_id: req.id,
            method: req.method,
            path: req.path,
            status: res.statusCode,
            duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
          },
          'request',
        );
      });
    }
    next();
  };
}
