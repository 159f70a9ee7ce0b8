import { createHash, timingSafeEqual } from 'node:crypto';
import { AllSourceError } from '@allsource/errors';
import type { NextFunction, Request, Response } from 'express';
import { roleAllows, type ApiKeyIdentity, type ApiKeyStore, type Role } from './apiKeys';
import { presentedKey } from './presentedKey';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The caller, when access control is on and the request presented a valid key. */
      caller?: ApiKeyIdentity;
    }
  }
}

/** What a request needs: no key, a key of at least a role, or the metrics token. */
export type Requirement = 'open' | 'metrics' | Role;

/** Maps a request to what it needs; each service states its own policy. */
export type AccessPolicy = (method: string, path: string) => Requirement;

export interface AccessControlOptions {
  keys: ApiKeyStore;
  policy: AccessPolicy;
  /** When set, `/metrics` needs `Authorization: Bearer <token>` (or an admin key); else it is open. */
  metricsToken?: string | undefined;
}

function tokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

function unauthorized(res: Response, message: string): AllSourceError {
  res.setHeader('WWW-Authenticate', 'Bearer realm="allsource"');
  return new AllSourceError('UNAUTHORIZED', message);
}

/**
 * Access control: off (every request passes) while no API key is configured. `/metrics` is
 * open unless a metrics token is set (then the token or an admin key reads it). Missing or unknown key → 401, known key without
 * the role → 403.
 */
export function accessControl(options: AccessControlOptions) {
  const { keys, policy, metricsToken } = options;
  return (req: Request, res: Response, next: NextFunction): void => {
    const need = policy(req.method, req.path);
    if (need === 'open') return next();
    const presented = presentedKey(req);
    if (need === 'metrics') {
      // /metrics is open (Prometheus scrapes it) unless a metrics token is configured.
      if (metricsToken === undefined || tokenMatches(presented, metricsToken)) return next();
      const caller = presented === undefined ? undefined : keys.identify(presented);
      if (caller && roleAllows(caller.role, 'admin')) return next();
      return next(unauthorized(res, 'reading metrics needs the metrics token (Authorization: Bearer <token>)'));
    }
    if (!keys.enabled) return next();
    if (presented === undefined) return next(unauthorized(res, 'an API key is required (Authorization: Bearer <key> or X-API-Key)'));
    const caller = keys.identify(presented);
    if (!caller) return next(unauthorized(res, 'the API key is not valid'));
    if (!roleAllows(caller.role, need)) {
      return next(new AllSourceError('FORBIDDEN', `this operation needs the '${need}' role; the key '${caller.name}' has '${caller.role}'`));
    }
    req.caller = caller;
    next();
  };
}
