import type { IncomingMessage } from 'node:http';

/**
 * The API key a request presents: `Authorization: Bearer <key>`, or `X-API-Key: <key>`, or —
 * for WebSocket upgrades only, since browsers cannot set headers there — `?api_key=<key>`.
 */
export function presentedKey(req: IncomingMessage, allowQuery = false): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header.trim();
  if (allowQuery && req.url) {
    const q = req.url.indexOf('?');
    if (q >= 0) {
      const key = new URLSearchParams(req.url.slice(q + 1)).get('api_key');
      if (key) return key;
    }
  }
  return undefined;
}
