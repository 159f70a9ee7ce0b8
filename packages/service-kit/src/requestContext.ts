import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
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

/** Gives each request an id (the caller's `X-Request-Id` when sane), a child logger and an access log line. */
export function requestContext(logger: Logger, logRequests: boolean) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    let child: Logger | undefined;
    Object.defineProperty(req, 'log', {
      get: () => (child ??= logger.child({ req_id: req.id })),
      configurable: true,
    });
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
