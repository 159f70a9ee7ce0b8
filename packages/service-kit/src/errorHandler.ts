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
  } else if (clientErrorStatus(err) !== undefined) {
    // A 4xx raised by Express, the router or body-parser (e.g. a path parameter that is not valid
    // percent-encoding, a body that fails to decompress): the client's fault, not a 500.
    error = fromClientError(err as Error, clientErrorStatus(err)!);
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

/** The 4xx status of an http-errors style error (`status`/`statusCode`), if it carries one. */
function clientErrorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const value = typeof status === 'number' ? status : statusCode;
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value < 500 ? value : undefined;
}

function fromClientError(err: Error, status: number): AllSourceError {
  const message = typeof err.message === 'string' && err.message !== '' ? err.message : 'bad request';
  switch (status) {
    case 404:
      return new AllSourceError('NOT_FOUND', message);
    case 413:
      return new AllSourceError('PAYLOAD_TOO_LARGE', message);
    case 415:
      return new AllSourceError('UNSUPPORTED_MEDIA_TYPE', message);
    default:
      return new AllSourceError('INVALID_INPUT', message);
  }
}
