import type { Response } from 'express';
import type { JsonOutput } from '../query/jsonOutput';

/** Send JSON text. */
export function sendJsonText(res: Response, text: string): void {
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.send(text);
}

/**
 * Send an answer built in a `JsonOutput`, from the output's own buffer, which goes back to the
 * pool once the response has finished (every byte handed to the socket). A response that ends
 * otherwise (the client went away) leaves it to the collector.
 */
export function sendJsonOutput(res: Response, out: JsonOutput): void {
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.once('finish', () => out.recycle());
  res.send(out.result());
}
