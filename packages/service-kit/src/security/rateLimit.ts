import { AllSourceError } from '@allsource/errors';
import type { NextFunction, Request, Response } from 'express';

export interface RateLimitOptions {
  /** Sustained requests per second per client; 0 switches rate limiting off. */
  perSecond: number;
  /** Bucket size: how many requests a client may send at once. */
  burst: number;
  /** Clients tracked at once (least recently seen forgotten first). */
  maxClients: number;
  /** Paths never limited (health checks, scrapes). */
  exempt?: (path: string) => boolean;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token-bucket rate limiting per client: the API key's name when one was presented and
 * accepted, else the remote address. Excess gets 429 with `Retry-After`. The client map is an
 * LRU bounded by `maxClients`, so a flood of addresses cannot grow memory.
 */
export function rateLimit(options: RateLimitOptions) {
  const buckets = new Map<string, Bucket>();
  return (req: Request, res: Response, next: NextFunction): void => {
    if (options.perSecond <= 0 || options.exempt?.(req.path)) return next();
    const client = req.caller ? `key:${req.caller.name}` : `ip:${req.socket.remoteAddress ?? 'unknown'}`;
    const now = performance.now();
    let bucket = buckets.get(client);
    if (bucket) {
      buckets.delete(client);
      bucket.tokens = Math.min(options.burst, bucket.tokens + ((now - bucket.at) / 1000) * options.perSecond);
      bucket.at = now;
    } else {
      bucket = { tokens: options.burst, at: now };
      if (buckets.size >= options.maxClients) buckets.delete(buckets.keys().next().value as string);
    }
    buckets.set(client, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / options.perSecond));
      res.setHeader('Retry-After', String(retryAfter));
      return next(new AllSourceError('RATE_LIMITED', `more than ${options.perSecond} requests per second; retry after ${retryAfter} s`));
    }
    bucket.tokens -= 1;
    next();
  };
}
