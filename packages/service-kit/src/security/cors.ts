import type { NextFunction, Request, Response } from 'express';

/**
 * CORS for the listed origins only (none by default: browsers on other origins are refused by
 * their own same-origin rules). Preflight requests are answered here.
 */
export function cors(allowedOrigins: readonly string[]) {
  const allowAll = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins);
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    if (allowedOrigins.length === 0 || typeof origin !== 'string' || !(allowAll || allowed.has(origin))) return next();
    res.setHeader('Access-Control-Allow-Origin', allowAll ? '*' : origin);
    if (!allowAll) res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id, Retry-After');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-API-Key, X-Request-Id');
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
