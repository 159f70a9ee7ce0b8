// Same as services/core/src/http/middleware/jsonBody.ts.
import { AllSourceError } from '@allsource/errors';
import express, { type NextFunction, type Request, type Response } from 'express';

/**
 * JSON body parsing with the API's errors: 415 unless the body is declared JSON, 413 past the
 * size limit (checked while reading, so a huge body is never buffered), 400 for malformed JSON.
 */
export function jsonBody(maxBytes: number) {
  const parse = express.json({ limit: maxBytes, strict: false, type: () => true });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.is(['application/json', 'application/*+json'])) {
      next(new AllSourceError('UNSUPPORTED_MEDIA_TYPE', "send the body as 'Content-Type: application/json'"));
      return;
    }
    parse(req, res, (err?: unknown) => next(err ? bodyError(err, maxBytes) : undefined));
  };
}

function bodyError(err: unknown, maxBytes: number): unknown {
  const type = (err as { type?: string }).type;
  switch (type) {
    case 'entity.too.large':
      return new AllSourceError('PAYLOAD_TOO_LARGE', `request body exceeds ${maxBytes} bytes`);
    case 'entity.parse.failed':
      return new AllSourceError('INVALID_JSON', `malformed JSON body: ${(err as Error).message}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AllSourceError('UNSUPPORTED_MEDIA_TYPE', (err as Error).message);
    case 'request.aborted':
    case 'request.size.invalid':
      return new AllSourceError('INVALID_INPUT', 'the request body was incomplete');
    default:
      return err;
  }
}
