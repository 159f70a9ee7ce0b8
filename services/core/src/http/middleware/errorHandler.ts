import { AllSourceError, isAllSourceError } from '@allsource/errors';
import type { NextFunction, Request, Response } from 'express';

/** Unknown routes: 404 with the API's error shape. */
export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(new AllSourceError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
}

/** Every error becomes the API's JSON error; a 5xx is logged and never carries a stack trace. */
export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  let error: AllSourceError;
  if (isAllSourceError(err)) {
    error = err;
  } else if ((err as { type?: string }).type === 'entity.parse.failed') {
    error = new AllSourceError('INVALID_JSON', 'malformed JSON body');
  } else {
    req.log.error({ err }, 'unhandled error');
    error = new AllSourceError('INTERNAL', 'the request could not be completed');
  }
  if (error.status >= 500 && isAllSourceError(err)) req.log.warn({ code: error.code, msg: error.message }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(error.status).json(error.toBody());
}
