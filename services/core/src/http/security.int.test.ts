/**
 * Access control, metrics token, CORS, rate limits and security headers of the core, through
 * real sockets.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { loadConfig } from '../config';
import WebSocket from 'ws';
import { startTestCore, type TestCore } from '../testing/testCore';

const READ = 'reader-key-0123456789abcdef';
const WRITE = 'writer-key-0123456789abcdef';
const ADMIN = 'admin-key-0123456789abcdef';
const METRICS = 'metrics-token-0123456789';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('with API keys', () => {
  let t: TestCore;
  beforeAll(async () => {
    t = await startTestCore({ API_KEYS: `reader:read:${READ},writer:write:${WRITE},boss:admin:${ADMIN}`, CORS_ORIGINS: 'https://ops.example.com' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const event = { event_type: 'user.created', entity_id: 'u-1', payload: { a: 1 } };

  it('answers 401 with the JSON error without a key or with an unknown one', async () => {
    const attempts: Array<Record<string, string>> = [{}, bearer('not-a-valid-key-at-all'), { 'x-api-key': 'nope-nope-nope-nope' }];
    for (const headers of attempts) {
      const res = await t.client.raw('GET', '/api/v1/events/query', { headers });
      expect(res.status).toBe(401);
      expect(res.data).toEqual({ error: expect.stringMatching(/^Unauthorized: /), code: 'UNAUTHORIZED' });
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('lets each role do its part and answers 403 beyond it', async () => {
    expect((await t.client.raw('GET', '/api/v1/events/query', { headers: bearer(READ) })).status).toBe(200);
    expect((await t.client.raw('GET', '/api/v1/stats', { headers: { 'x-api-key': READ } })).status).toBe(200);
    const denied = await t.client.raw('POST', '/api/v1/events', { headers: bearer(READ), body: event });
    expect(denied.status).toBe(403);
    expect(denied.data).toEqual({ error: expect.stringMatching(/^Forbidden: .*'write'/), code: 'FORBIDDEN' });

    expect((await t.client.raw('POST', '/api/v1/events', { headers: bearer(WRITE), body: event })).status).toBe(200);
    expect((await t.client.raw('POST', '/api/v1/events/batch', { headers: bearer(WRITE), body: { events: [event] } })).status).toBe(200);
    const schema = { subject: 'user.created', schema: { type: 'object' } };
    expect((await t.client.raw('POST', '/api/v1/schemas', { headers: bearer(WRITE), body: schema })).status).toBe(403);
    expect((await t.client.raw('POST', '/api/v1/compaction/trigger', { headers: bearer(WRITE) })).status).toBe(403);
    expect((await t.client.raw('POST', '/api/v1/replay', { headers: bearer(WRITE), body: {} })).status).toBe(403);

    expect((await t.client.raw('POST', '/api/v1/schemas', { headers: bearer(ADMIN), body: schema })).status).toBe(200);
    expect((await t.client.raw('POST', '/api/v1/events', { headers: bearer(ADMIN), body: event })).status).toBe(200);
    expect((await t.client.raw('POST', '/api/v1/schemas/validate', { headers: bearer(READ), body: { subject: 'user.created', payload: {} } })).status).toBe(200);
  });

  it('keeps /health and /metrics open (no metrics token configured)', async () => {
    expect((await t.client.raw('GET', '/health')).status).toBe(200);
    const metrics = await t.client.raw('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('allsource_events_ingested_total');
  });

  it('refuses a WebSocket upgrade without a valid key and accepts one with ?api_key=', async () => {
    const url = `${t.baseUrl.replace('http', 'ws')}/api/v1/events/stream`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(401);
    const accepted = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${url}?api_key=${READ}`);
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    });
    expect(accepted).toBe(101);
    const withHeader = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url, { headers: bearer(WRITE) });
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    });
    expect(withHeader).toBe(101);
  });

  it('sends security headers and CORS only for the listed origin', async () => {
    const res = await t.client.raw('GET', '/health', { headers: { origin: 'https://ops.example.com' } });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['access-control-allow-origin']).toBe('https://ops.example.com');
    const other = await t.client.raw('GET', '/health', { headers: { origin: 'https://evil.example.com' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await t.client.raw('OPTIONS', '/api/v1/events', {
      headers: { origin: 'https://ops.example.com', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-headers']).toContain('Authorization');
  });
});

describe('with a metrics token', () => {
  let t: TestCore;
  beforeAll(async () => {
    t = await startTestCore({ METRICS_TOKEN: METRICS, API_KEYS: `boss:admin:${ADMIN},reader:read:${READ}` });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('protects /metrics with the token (or an admin key)', async () => {
    expect((await t.client.raw('GET', '/metrics')).status).toBe(401);
    expect((await t.client.raw('GET', '/metrics', { headers: bearer(READ) })).status).toBe(401);
    expect((await t.client.raw('GET', '/metrics', { headers: bearer(METRICS) })).status).toBe(200);
    expect((await t.client.raw('GET', '/metrics', { headers: bearer(ADMIN) })).status).toBe(200);
  });
});

describe('rate limiting', () => {
  let t: TestCore;
  beforeAll(async () => {
    t = await startTestCore({ RATE_LIMIT_PER_SECOND: '2', RATE_LIMIT_BURST: '5' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers 429 with Retry-After past the burst, and never limits /health', async () => {
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await t.client.raw('GET', '/api/v1/stats');
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers['retry-after'] as string;
        expect(res.data).toEqual({ error: expect.stringMatching(/^Too many requests: /), code: 'RATE_LIMITED' });
      }
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 20; i++) expect((await t.client.raw('GET', '/health')).status).toBe(200);
  });
});

describe('security settings', () => {
  it('refuses CORS * with keys, short keys and short metrics tokens', () => {
    expect(() => loadConfig({ API_KEYS: `a:admin:${ADMIN}`, CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ API_KEYS: 'a:admin:short' })).toThrow(/at least 16/);
    expect(() => loadConfig({ API_KEYS: `a:superuser:${ADMIN}` })).toThrow(/role/);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });

  it('reads a keys file holding SHA-256 digests instead of keys', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'allsource-keys-')), 'keys.json');
    const digest = createHash('sha256').update(ADMIN).digest('hex');
    fs.writeFileSync(file, JSON.stringify([{ name: 'ops', role: 'admin', sha256: digest }, { name: 'app', role: 'write', key: WRITE }]));
    const keys = loadConfig({ API_KEYS_FILE: file }).security.apiKeys;
    expect(keys.identify(ADMIN)).toEqual({ name: 'ops', role: 'admin' });
    expect(keys.identify(WRITE)).toEqual({ name: 'app', role: 'write' });
    expect(keys.identify('something-else-entirely')).toBeUndefined();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
