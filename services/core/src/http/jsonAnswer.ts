import type { Response } from 'express';
import type { JsonOutput } from '../query/jsonOutput';

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

// These answers skip Express's `res.send`: it re-parses and re-formats the Content-Type for a
// string and looks up ETag and freshness settings, a few microseconds a request on the ingest
// and query paths. Nothing it would add applies here: ETags are off in every service app, these
// answers carry no Last-Modified, and Node itself leaves out the body of an answer to HEAD.

/** Send JSON text (status as set, 200 by default). */
export function sendJsonText(res: Response, text: string): void {
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * Send an answer built in a `JsonOutput`, from the output's own buffer, which goes back to the
 * pool once the response has finished (every byte handed to the socket). A response that ends
 * otherwise (the client went away) leaves it to the collector.
 */
export function sendJsonOutput(res: Response, out: JsonOutput): void {
  const body = out.result();
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.setHeader('Content-Length', body.length);
  res.once('finish', () => out.recycle());
  res.end(body);
}
