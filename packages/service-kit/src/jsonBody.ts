import { AllSourceError } from '@allsource/errors';
import express, { type NextFunction, type Request, type Response } from 'express';

/**
 * Deepest nesting of arrays and objects a body may have. JSON.parse takes any depth, but
 * JSON.stringify, schema validation and every other recursive walk of the value overflow the
 * stack a few thousand levels down (a 100k-deep array fits in 200 KB): refused up front with
 * 400 instead of failing later with a 500. Real documents stay far below it.
 */
export const MAX_JSON_DEPTH = 128;

/** Whether `value` nests arrays/objects deeper than `max` (iterative: no recursion on hostile input). */
export function jsonDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  // Two parallel stacks rather than a [node, depth] pair per node: this runs on every request body.
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (typeof child === 'object' && child !== null) {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const key in node) {
        const child: unknown = (node as Record<string, unknown>)[key];
        if (typeof child === 'object' && child !== null) {
          nodes.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

/**
 * JSON body parsing with the API's errors: 415 unless the body is declared JSON, 413 past the
 * size limit (checked while reading, so a huge body is never buffered), 400 for malformed JSON
 * or for nesting deeper than `maxDepth`.
 */
export function jsonBody(maxBytes: number, maxDepth = MAX_JSON_DEPTH) {
  const parse = express.json({ limit: maxBytes, strict: false, type: () => true });
  return (req: Request, res: Response, next: NextFunction): void => {
    // The usual header on a request with a body is matched as is; anything else goes through
    // type-is, which also answers "no body" (no Content-Length, no Transfer-Encoding) with a 415.
    const h = req.headers;
    const plainJson =
      (h['content-type'] === 'application/json' || h['content-type'] === 'application/json; charset=utf-8') &&
      (h['content-length'] !== undefined || h['transfer-encoding'] !== undefined);
    if (!plainJson && !req.is(['application/json', 'application/*+json'])) {
      next(new AllSourceError('UNSUPPORTED_MEDIA_TYPE', "send the body as 'Content-Type: application/json'"));
      return;
    }
    parse(req, res, (err?: unknown) => {
      if (err) return next(bodyError(err, maxBytes));
      if (jsonDeeperThan(req.body, maxDepth)) {
        return next(new AllSourceError('INVALID_JSON', `the JSON body nests arrays and objects deeper than ${maxDepth} levels`));
      }
      next();
    });
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
