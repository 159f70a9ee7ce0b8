/**
 * Unit tests of @allsource/client against a tiny real HTTP server on 127.0.0.1 (real sockets, no
 * axios mocks): the server records every request and answers what the test tells it to.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import {
  AllSourceClient,
  AllSourceApiError,
  isApiError,
  kindForStatus,
  type ApiError,
  type ApiErrorKind,
} from './index';

interface Recorded {
  method: string;
  /** Raw request target exactly as received, e.g. `/api/v1/events/a%2Fb?x=1`. */
  url: string;
  path: string;
  query: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Canned {
  status?: number;
  /** Sent as JSON unless it is a string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Never answer (for timeouts). */
  hang?: boolean;
}

class TestServer {
  readonly requests: Recorded[] = [];
  respond: (req: Recorded) => Canned = () => ({ status: 200, body: { ok: true } });
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const rec: Recorded = {
        method: req.method ?? '',
        url,
        path: q === -1 ? url : url.slice(0, q),
        query: q === -1 ? '' : url.slice(q + 1),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      this.requests.push(rec);
      const canned = this.respond(rec);
      if (canned.hang) return;
      const status = canned.status ?? 200;
      const headers: Record<string, string> = { ...(canned.headers ?? {}) };
      let payload = '';
      if (canned.body !== undefined) {
        if (typeof canned.body === 'string') {
          payload = canned.body;
        } else {
          payload = JSON.stringify(canned.body);
          headers['content-type'] ??= 'application/json; charset=utf-8';
        }
      }
      res.writeHead(status, headers);
      res.end(payload);
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  get last(): Recorded {
    const r = this.requests[this.requests.length - 1];
    if (!r) throw new Error('no request recorded');
    return r;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let server: TestServer;
let baseUrl: string;
let client: AllSourceClient;

beforeAll(async () => {
  server = new TestServer();
  baseUrl = await server.start();
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  server.requests.length = 0;
  server.respond = () => ({ status: 200, body: { ok: true } });
  client = new AllSourceClient({ baseUrl, apiKey: 'secret-key' });
});

async function caught(p: Promise<unknown>): Promise<AllSourceApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AllSourceApiError) return err;
    throw err;
  }
  throw new Error('expected the call to reject');
}

describe('headers and configuration', () => {
  it('sends Authorization: Bearer <apiKey> and asks for JSON', async () => {
    await client.stats();
    expect(server.last.headers['authorization']).toBe('Bearer secret-key');
    expect(server.last.headers['accept']).toBe('application/json');
    expect(server.last.headers['user-agent']).toMatch(/^allsource-client\//);
  });

  it('sends no Authorization header without an apiKey', async () => {
    const anon = new AllSourceClient({ baseUrl });
    await anon.stats();
    expect(server.last.headers['authorization']).toBeUndefined();
  });

  it('ignores a trailing slash in baseUrl and keeps a path prefix', async () => {
    await new AllSourceClient({ baseUrl: `${baseUrl}/` }).stats();
    expect(server.last.url).toBe('/api/v1/stats');
    await new AllSourceClient({ baseUrl: `${baseUrl}/prefix/` }).stats();
    expect(server.last.url).toBe('/prefix/api/v1/stats');
  });

  it('rejects a missing baseUrl', () => {
    expect(() => new AllSourceClient({ baseUrl: '' })).toThrow(TypeError);
  });

  it('sends through an injected axios instance', async () => {
    const instance = axios.create();
    instance.interceptors.request.use((config) => {
      config.headers.set('X-Injected', 'yes');
      return config;
    });
    await new AllSourceClient({ baseUrl, axios: instance }).stats();
    expect(server.last.headers['x-injected']).toBe('yes');
  });
});

describe('core endpoints: method, path, query and body', () => {
  type Case = {
    name: string;
    call: (c: AllSourceClient) => Promise<unknown>;
    method: string;
    url: string;
    body?: unknown;
  };
  const cases: Case[] = [
    { name: 'health', call: (c) => c.health(), method: 'GET', url: '/health' },
    { name: 'stats', call: (c) => c.stats(), method: 'GET', url: '/api/v1/stats' },
    {
      name: 'ingest',
      call: (c) => c.ingest({ event_type: 'user.created', entity_id: 'u1', payload: { a: 1 }, expected_version: 0 }),
      method: 'POST',
      url: '/api/v1/events',
      body: { event_type: 'user.created', entity_id: 'u1', payload: { a: 1 }, expected_version: 0 },
    },
    {
      name: 'ingestBatch (array)',
      call: (c) => c.ingestBatch([{ event_type: 'a.b', entity_id: 'e', payload: null }]),
      method: 'POST',
      url: '/api/v1/events/batch',
      body: { events: [{ event_type: 'a.b', entity_id: 'e', payload: null }] },
    },
    {
      name: 'ingestBatch (body)',
      call: (c) => c.ingestBatch({ events: [] }),
      method: 'POST',
      url: '/api/v1/events/batch',
      body: { events: [] },
    },
    { name: 'queryEvents (no params)', call: (c) => c.queryEvents(), method: 'GET', url: '/api/v1/events/query' },
    {
      name: 'queryEvents (all params)',
      call: (c) =>
        c.queryEvents({
          entity_id: 'u 1',
          event_type: 'user.created',
          tenant_id: 't-1',
          since: '2026-01-01T00:00:00.000Z',
          until: '2026-01-02T00:00:00.000Z',
          as_of: '2026-01-02T00:00:00.000Z',
          limit: 10,
          offset: 5,
          order: 'desc',
        }),
      method: 'GET',
      url:
        '/api/v1/events/query?entity_id=u%201&event_type=user.created&tenant_id=t-1' +
        '&since=2026-01-01T00%3A00%3A00.000Z&until=2026-01-02T00%3A00%3A00.000Z&as_of=2026-01-02T00%3A00%3A00.000Z' +
        '&limit=10&offset=5&order=desc',
    },
    {
      name: 'queryEvents (undefined params left out)',
      call: (c) => c.queryEvents({ entity_id: undefined, limit: 0 }),
      method: 'GET',
      url: '/api/v1/events/query?limit=0',
    },
    { name: 'getEvent', call: (c) => c.getEvent('abc'), method: 'GET', url: '/api/v1/events/abc' },
    { name: 'entityState', call: (c) => c.entityState('u1'), method: 'GET', url: '/api/v1/entities/u1/state' },
    {
      name: 'entityState as_of (Date)',
      call: (c) => c.entityState('u1', { as_of: new Date('2026-03-04T05:06:07.089Z') }),
      method: 'GET',
      url: '/api/v1/entities/u1/state?as_of=2026-03-04T05%3A06%3A07.089Z',
    },
    { name: 'entitySnapshot', call: (c) => c.entitySnapshot('u1'), method: 'GET', url: '/api/v1/entities/u1/snapshot' },
    { name: 'topEntities', call: (c) => c.topEntities(), method: 'GET', url: '/api/v1/entities/top' },
    {
      name: 'topEntities params',
      call: (c) => c.topEntities({ limit: 3, by: 'events' }),
      method: 'GET',
      url: '/api/v1/entities/top?limit=3&by=events',
    },
    {
      name: 'analytics.frequency',
      call: (c) => c.analytics.frequency({ window: 'hour', event_type: 'a.b', since: '2026-01-01T00:00:00Z' }),
      method: 'GET',
      url: '/api/v1/analytics/frequency?window=hour&event_type=a.b&since=2026-01-01T00%3A00%3A00Z',
    },
    {
      name: 'analytics.summary',
      call: (c) => c.analytics.summary({ entity_id: 'e1' }),
      method: 'GET',
      url: '/api/v1/analytics/summary?entity_id=e1',
    },
    {
      name: 'analytics.correlation',
      call: (c) => c.analytics.correlation({ event_type_a: 'a.x', event_type_b: 'b.y', time_window_seconds: 60 }),
      method: 'GET',
      url: '/api/v1/analytics/correlation?event_type_a=a.x&event_type_b=b.y&time_window_seconds=60',
    },
    { name: 'projections.list', call: (c) => c.projections.list(), method: 'GET', url: '/api/v1/projections' },
    {
      name: 'projections.state',
      call: (c) => c.projections.state('event_counters', { key: 'user.created' }),
      method: 'GET',
      url: '/api/v1/projections/event_counters/state?key=user.created',
    },
    {
      name: 'snapshots.create (id)',
      call: (c) => c.snapshots.create('u1'),
      method: 'POST',
      url: '/api/v1/snapshots',
      body: { entity_id: 'u1' },
    },
    {
      name: 'snapshots.create (body)',
      call: (c) => c.snapshots.create({ entity_id: 'u2' }),
      method: 'POST',
      url: '/api/v1/snapshots',
      body: { entity_id: 'u2' },
    },
    { name: 'snapshots.list', call: (c) => c.snapshots.list(), method: 'GET', url: '/api/v1/snapshots' },
    {
      name: 'snapshots.list entity',
      call: (c) => c.snapshots.list({ entity_id: 'u1' }),
      method: 'GET',
      url: '/api/v1/snapshots?entity_id=u1',
    },
    { name: 'snapshots.latest', call: (c) => c.snapshots.latest('u1'), method: 'GET', url: '/api/v1/snapshots/u1/latest' },
    { name: 'compaction.trigger', call: (c) => c.compaction.trigger(), method: 'POST', url: '/api/v1/compaction/trigger' },
    { name: 'compaction.stats', call: (c) => c.compaction.stats(), method: 'GET', url: '/api/v1/compaction/stats' },
    {
      name: 'schemas.register',
      call: (c) => c.schemas.register({ subject: 'user.created', schema: { type: 'object' }, tags: ['x'] }),
      method: 'POST',
      url: '/api/v1/schemas',
      body: { subject: 'user.created', schema: { type: 'object' }, tags: ['x'] },
    },
    { name: 'schemas.list', call: (c) => c.schemas.list(), method: 'GET', url: '/api/v1/schemas' },
    { name: 'schemas.get', call: (c) => c.schemas.get('user.created'), method: 'GET', url: '/api/v1/schemas/user.created' },
    {
      name: 'schemas.get version',
      call: (c) => c.schemas.get('user.created', { version: 2 }),
      method: 'GET',
      url: '/api/v1/schemas/user.created?version=2',
    },
    {
      name: 'schemas.versions',
      call: (c) => c.schemas.versions('user.created'),
      method: 'GET',
      url: '/api/v1/schemas/user.created/versions',
    },
    {
      name: 'schemas.setCompatibility',
      call: (c) => c.schemas.setCompatibility('user.created', 'FULL'),
      method: 'PUT',
      url: '/api/v1/schemas/user.created/compatibility',
      body: { compatibility: 'FULL' },
    },
    {
      name: 'schemas.validate',
      call: (c) => c.schemas.validate({ subject: 'user.created', version: 1, payload: { a: 1 } }),
      method: 'POST',
      url: '/api/v1/schemas/validate',
      body: { subject: 'user.created', version: 1, payload: { a: 1 } },
    },
    {
      name: 'replay.start',
      call: (c) => c.replay.start({ projection_name: 'entity_snapshots', config: { batch_size: 50 } }),
      method: 'POST',
      url: '/api/v1/replay',
      body: { projection_name: 'entity_snapshots', config: { batch_size: 50 } },
    },
    { name: 'replay.start (no body)', call: (c) => c.replay.start(), method: 'POST', url: '/api/v1/replay', body: {} },
    { name: 'replay.list', call: (c) => c.replay.list(), method: 'GET', url: '/api/v1/replay' },
    { name: 'replay.get', call: (c) => c.replay.get('r1'), method: 'GET', url: '/api/v1/replay/r1' },
    { name: 'replay.cancel', call: (c) => c.replay.cancel('r1'), method: 'POST', url: '/api/v1/replay/r1/cancel' },
    { name: 'replay.delete', call: (c) => c.replay.delete('r1'), method: 'DELETE', url: '/api/v1/replay/r1' },
    {
      name: 'pipelines.create',
      call: (c) =>
        c.pipelines.create({
          name: 'p',
          source_event_types: ['order.placed'],
          operators: [
            { type: 'filter', field: 'amount', value: 10, op: 'gt' },
            { type: 'map', field: 'name', transform: 'multiply:2' },
            {
              type: 'window',
              config: { window_type: 'tumbling', size_seconds: 60 },
              aggregation: { type: 'reduce', field: 'amount', function: 'sum', group_by: 'region' },
            },
          ],
          enabled: true,
        }),
      method: 'POST',
      url: '/api/v1/pipelines',
      body: {
        name: 'p',
        source_event_types: ['order.placed'],
        operators: [
          { type: 'filter', field: 'amount', value: 10, op: 'gt' },
          { type: 'map', field: 'name', transform: 'multiply:2' },
          {
            type: 'window',
            config: { window_type: 'tumbling', size_seconds: 60 },
            aggregation: { type: 'reduce', field: 'amount', function: 'sum', group_by: 'region' },
          },
        ],
        enabled: true,
      },
    },
    { name: 'pipelines.list', call: (c) => c.pipelines.list(), method: 'GET', url: '/api/v1/pipelines' },
    { name: 'pipelines.stats', call: (c) => c.pipelines.stats(), method: 'GET', url: '/api/v1/pipelines/stats' },
    { name: 'pipelines.get', call: (c) => c.pipelines.get('p1'), method: 'GET', url: '/api/v1/pipelines/p1' },
    { name: 'pipelines.delete', call: (c) => c.pipelines.delete('p1'), method: 'DELETE', url: '/api/v1/pipelines/p1' },
    {
      name: 'pipelines.pipelineStats',
      call: (c) => c.pipelines.pipelineStats('p1'),
      method: 'GET',
      url: '/api/v1/pipelines/p1/stats',
    },
    { name: 'pipelines.reset', call: (c) => c.pipelines.reset('p1'), method: 'PUT', url: '/api/v1/pipelines/p1/reset' },
    { name: 'pipelines.results', call: (c) => c.pipelines.results('p1'), method: 'GET', url: '/api/v1/pipelines/p1/results' },
  ];

  it.each(cases)('$name → $method $url', async ({ call, method, url, body }) => {
    await expect(call(client)).resolves.toEqual({ ok: true });
    expect(server.requests).toHaveLength(1);
    expect(server.last.method).toBe(method);
    expect(server.last.url).toBe(url);
    if (body === undefined) {
      expect(server.last.body).toBe('');
      expect(server.last.headers['content-type']).toBeUndefined();
    } else {
      expect(server.last.headers['content-type']).toBe('application/json');
      expect(JSON.parse(server.last.body)).toEqual(body);
    }
  });

  it('resolves with the parsed answer body', async () => {
    const answer = { event_id: 'id-1', timestamp: '2026-01-01T00:00:00.000Z', version: 3 };
    server.respond = () => ({ status: 200, body: answer });
    await expect(client.ingest({ event_type: 'a.b', entity_id: 'e', payload: {} })).resolves.toEqual(answer);
  });

  it('metricsText asks for text and returns it verbatim', async () => {
    const text = '# HELP x_total X\n# TYPE x_total counter\nx_total 1\n';
    server.respond = () => ({ status: 200, body: text, headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } });
    await expect(client.metricsText()).resolves.toBe(text);
    expect(server.last.url).toBe('/metrics');
    expect(server.last.headers['accept']).toBe('text/plain');
  });

  it('health resolves with the unhealthy body of a 503', async () => {
    const body = { status: 'unhealthy', service: 'allsource-core', version: '0.1.0', reason: 'disk full' };
    server.respond = () => ({ status: 503, body });
    await expect(client.health()).resolves.toEqual(body);
  });

  it('health rejects a 503 that is not a health answer', async () => {
    server.respond = () => ({ status: 503, body: 'Service Unavailable', headers: { 'content-type': 'text/plain' } });
    const err = await caught(client.health());
    expect(err.kind).toBe('unavailable');
  });

  it('action endpoints resolve with {} on an empty answer (204)', async () => {
    server.respond = () => ({ status: 204 });
    await expect(client.replay.delete('r1')).resolves.toEqual({});
    await expect(client.pipelines.reset('p1')).resolves.toEqual({});
  });

  it('a 2xx that is not JSON where JSON is expected rejects with kind server', async () => {
    server.respond = () => ({ status: 200, body: '<html>proxy</html>', headers: { 'content-type': 'text/html' } });
    const err = await caught(client.stats());
    expect(err.kind).toBe('server');
    expect(err.code).toBe('INVALID_RESPONSE_BODY');
    expect(err.body).toBe('<html>proxy</html>');
  });
});

describe('path parameter encoding', () => {
  const id = 'tenant/user 42?#%';
  const enc = 'tenant%2Fuser%2042%3F%23%25';
  const cases: Array<[string, (c: AllSourceClient) => Promise<unknown>, string]> = [
    ['getEvent', (c) => c.getEvent(id), `/api/v1/events/${enc}`],
    ['entityState', (c) => c.entityState(id), `/api/v1/entities/${enc}/state`],
    ['entitySnapshot', (c) => c.entitySnapshot(id), `/api/v1/entities/${enc}/snapshot`],
    ['projections.state', (c) => c.projections.state(id), `/api/v1/projections/${enc}/state`],
    ['snapshots.latest', (c) => c.snapshots.latest(id), `/api/v1/snapshots/${enc}/latest`],
    ['schemas.get', (c) => c.schemas.get(id), `/api/v1/schemas/${enc}`],
    ['schemas.versions', (c) => c.schemas.versions(id), `/api/v1/schemas/${enc}/versions`],
    ['schemas.setCompatibility', (c) => c.schemas.setCompatibility(id, 'NONE'), `/api/v1/schemas/${enc}/compatibility`],
    ['replay.get', (c) => c.replay.get(id), `/api/v1/replay/${enc}`],
    ['replay.cancel', (c) => c.replay.cancel(id), `/api/v1/replay/${enc}/cancel`],
    ['replay.delete', (c) => c.replay.delete(id), `/api/v1/replay/${enc}`],
    ['pipelines.get', (c) => c.pipelines.get(id), `/api/v1/pipelines/${enc}`],
    ['pipelines.delete', (c) => c.pipelines.delete(id), `/api/v1/pipelines/${enc}`],
    ['pipelines.pipelineStats', (c) => c.pipelines.pipelineStats(id), `/api/v1/pipelines/${enc}/stats`],
    ['pipelines.reset', (c) => c.pipelines.reset(id), `/api/v1/pipelines/${enc}/reset`],
    ['pipelines.results', (c) => c.pipelines.results(id), `/api/v1/pipelines/${enc}/results`],
  ];

  it.each(cases)('%s encodes slashes, spaces and reserved characters', async (_name, call, url) => {
    await call(client);
    expect(server.last.url).toBe(url);
    expect(decodeURIComponent(server.last.path.split('/')[4] ?? '')).toBe(id);
  });

  it('encodes query values with spaces, slashes, plus and unicode', async () => {
    await client.queryEvents({ entity_id: 'a b/c+d&e=f', event_type: 'ü.x' });
    const params = new URLSearchParams(server.last.query);
    expect(params.get('entity_id')).toBe('a b/c+d&e=f');
    expect(params.get('event_type')).toBe('ü.x');
    expect(server.last.query).toBe('entity_id=a%20b%2Fc%2Bd%26e%3Df&event_type=%C3%BC.x');
  });
});

describe('error mapping', () => {
  const cases: Array<[number, ApiErrorKind, string]> = [
    [400, 'bad_request', 'INVALID_QUERY'],
    [401, 'unauthorized', 'UNAUTHORIZED'],
    [403, 'forbidden', 'FORBIDDEN'],
    [404, 'not_found', 'EVENT_NOT_FOUND'],
    [405, 'bad_request', 'METHOD_NOT_ALLOWED'],
    [409, 'conflict', 'VERSION_CONFLICT'],
    [413, 'payload_too_large', 'PAYLOAD_TOO_LARGE'],
    [415, 'unsupported_media_type', 'UNSUPPORTED_MEDIA_TYPE'],
    [422, 'validation', 'VALIDATION_FAILED'],
    [429, 'rate_limited', 'RATE_LIMITED'],
    [500, 'server', 'INTERNAL'],
    [502, 'unavailable', 'UPSTREAM_UNAVAILABLE'],
    [503, 'unavailable', 'STORAGE_UNAVAILABLE'],
    [504, 'unavailable', 'UPSTREAM_UNAVAILABLE'],
  ];

  it.each(cases)('%d → %s', async (status, kind, code) => {
    const body = { error: `Some prefix: failure ${status}`, code, details: { index: 2 } };
    server.respond = () => ({ status, body });
    const err = await caught(client.getEvent('x'));
    expect(err).toBeInstanceOf(AllSourceApiError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AllSourceApiError');
    expect(err.kind).toBe(kind);
    expect(err.status).toBe(status);
    expect(err.code).toBe(code);
    expect(err.message).toBe(body.error);
    expect(err.serverMessage).toBe(body.error);
    expect(err.body).toEqual(body);
    expect(err.method).toBe('GET');
    expect(err.url).toBe(`${baseUrl}/api/v1/events/x`);
    expect(isApiError(err)).toBe(true);
    expect(isApiError(err, kind)).toBe(true);
    expect(kindForStatus(status)).toBe(kind);
  });

  it('maps every kind of a POST too (ingest 422 with details)', async () => {
    server.respond = () => ({
      status: 422,
      body: { error: 'Validation error: payload.name is required', code: 'VALIDATION_FAILED', details: [{ path: '/name' }] },
    });
    const err = await caught(client.ingest({ event_type: 'a.b', entity_id: 'e', payload: {} }));
    expect(err.kind).toBe('validation');
    expect(err.method).toBe('POST');
    expect((err.body as { details: unknown }).details).toEqual([{ path: '/name' }]);
  });

  it('an error body without code falls back to HTTP_<status> and keeps the text', async () => {
    server.respond = () => ({ status: 502, body: '<html>Bad Gateway</html>', headers: { 'content-type': 'text/html' } });
    const err = await caught(client.stats());
    expect(err.kind).toBe('unavailable');
    expect(err.code).toBe('HTTP_502');
    expect(err.body).toBe('<html>Bad Gateway</html>');
    expect(err.message).toContain('502');
  });

  it('connection refused → network', async () => {
    const dead = new TestServer();
    const deadUrl = await dead.start();
    await dead.stop();
    const err = await caught(new AllSourceClient({ baseUrl: deadUrl }).stats());
    expect(err.kind).toBe('network');
    expect(err.status).toBe(0);
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.body).toBeUndefined();
    expect(err.retryable).toBe(true);
  });

  it('timeout → network', async () => {
    server.respond = () => ({ hang: true });
    const err = await caught(new AllSourceClient({ baseUrl, timeoutMs: 100 }).stats());
    expect(err.kind).toBe('network');
    expect(err.status).toBe(0);
    expect(['ETIMEDOUT', 'ECONNABORTED']).toContain(err.code);
  });

  it('aborted → network with ERR_CANCELED', async () => {
    server.respond = () => ({ hang: true });
    const ac = new AbortController();
    const p = client.stats({ signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    const err = await caught(p);
    expect(err.kind).toBe('network');
    expect(err.code).toBe('ERR_CANCELED');
  });

  it('the kind is a discriminant callers can switch on exhaustively', async () => {
    server.respond = () => ({ status: 409, body: { error: 'Conflict: expected version 1, current 2', code: 'VERSION_CONFLICT' } });
    const describeError = (err: ApiError): string => {
      switch (err.kind) {
        case 'bad_request':
        case 'unauthorized':
        case 'forbidden':
        case 'not_found':
        case 'payload_too_large':
        case 'unsupported_media_type':
        case 'validation':
        case 'rate_limited':
        case 'unavailable':
        case 'server':
        case 'network':
          return err.kind;
        case 'conflict':
          return `conflict:${err.code}`;
        default: {
          const never: never = err;
          return String(never);
        }
      }
    };
    try {
      await client.ingest({ event_type: 'a.b', entity_id: 'e', payload: {}, expected_version: 1 });
      throw new Error('expected a rejection');
    } catch (err) {
      if (!isApiError(err)) throw err;
      expect(describeError(err)).toBe('conflict:VERSION_CONFLICT');
      expect(isApiError(err, 'not_found')).toBe(false);
    }
    expect(isApiError(new Error('x'))).toBe(false);
    expect(isApiError(undefined)).toBe(false);
  });
});

describe('raw escape hatch', () => {
  it('does not throw for error statuses and returns status, data and headers', async () => {
    server.respond = () => ({
      status: 500,
      body: { error: 'Internal error: boom', code: 'INTERNAL' },
      headers: { 'x-request-id': 'r-1' },
    });
    const res = await client.raw('GET', '/api/v1/stats');
    expect(res.status).toBe(500);
    expect(res.data).toEqual({ error: 'Internal error: boom', code: 'INTERNAL' });
    expect(res.headers['x-request-id']).toBe('r-1');
    expect(res.headers['content-type']).toContain('application/json');
    expect(res.text).toBe('{"error":"Internal error: boom","code":"INTERNAL"}');
  });

  it('sends a raw string body byte for byte with a custom content type', async () => {
    server.respond = () => ({ status: 415, body: { error: 'Unsupported media type: text/plain', code: 'UNSUPPORTED_MEDIA_TYPE' } });
    const res = await client.raw('POST', '/api/v1/events', { body: 'not json at all', headers: { 'Content-Type': 'text/plain' } });
    expect(res.status).toBe(415);
    expect(server.last.body).toBe('not json at all');
    expect(server.last.headers['content-type']).toBe('text/plain');
  });

  it('keeps malformed JSON malformed even with an application/json content type', async () => {
    server.respond = () => ({ status: 400, body: { error: 'Invalid input: malformed JSON', code: 'INVALID_JSON' } });
    const res = await client.raw('POST', '/api/v1/events', {
      body: '{"event_type": "a.b", ',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(server.last.body).toBe('{"event_type": "a.b", ');
    expect(server.last.headers['content-type']).toBe('application/json');
  });

  it('sends no Content-Type for a string body when none is given', async () => {
    await client.raw('POST', '/api/v1/events', { body: '{"a":1}' });
    expect(server.last.body).toBe('{"a":1}');
    expect(server.last.headers['content-type']).toBeUndefined();
  });

  it('sends large bodies (no client-side body limit, so the server can answer 413)', async () => {
    server.respond = (req) => ({ status: 413, body: { error: `Payload too large: ${req.body.length}`, code: 'PAYLOAD_TOO_LARGE' } });
    const big = 'x'.repeat(12 * 1024 * 1024);
    const res = await client.raw('POST', '/api/v1/events', { body: big, headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(413);
    expect(server.last.body.length).toBe(big.length);
  });

  it('sends Buffers as is and JSON-encodes objects', async () => {
    await client.raw('POST', '/x', { body: Buffer.from([0x7b, 0x7d]), headers: { 'Content-Type': 'application/octet-stream' } });
    expect(server.last.body).toBe('{}');
    expect(server.last.headers['content-type']).toBe('application/octet-stream');
    await client.raw('PUT', '/y', { body: { a: [1, 'b'] }, params: { q: 'a b', n: 1, skip: undefined } });
    expect(server.last.method).toBe('PUT');
    expect(server.last.url).toBe('/y?q=a%20b&n=1');
    expect(server.last.headers['content-type']).toBe('application/json');
    expect(JSON.parse(server.last.body)).toEqual({ a: [1, 'b'] });
  });

  it('lets caller headers override the defaults, Authorization included', async () => {
    await client.raw('GET', '/api/v1/stats', { headers: { authorization: 'Bearer other', Accept: 'text/plain' } });
    expect(server.last.headers['authorization']).toBe('Bearer other');
    expect(server.last.headers['accept']).toBe('text/plain');
  });

  it('returns non-JSON bodies as text', async () => {
    server.respond = () => ({ status: 404, body: 'nope', headers: { 'content-type': 'text/plain' } });
    const res = await client.raw<string>('GET', '/nowhere');
    expect(res).toMatchObject({ status: 404, data: 'nope', text: 'nope' });
  });

  it('request is an alias of raw', async () => {
    server.respond = () => ({ status: 503, body: { error: 'Overloaded: busy', code: 'OVERLOADED' } });
    const res = await client.request<{ code: string }>('GET', '/api/v1/stats');
    expect(res.status).toBe(503);
    expect(res.data.code).toBe('OVERLOADED');
  });

  it('raw rejects with kind network when there is no answer', async () => {
    const dead = new TestServer();
    const deadUrl = await dead.start();
    await dead.stop();
    const err = await caught(new AllSourceClient({ baseUrl: deadUrl }).raw('GET', '/health'));
    expect(err.kind).toBe('network');
  });

  it('send is the typed throwing variant', async () => {
    server.respond = () => ({ status: 200, body: { hello: 'world' } });
    await expect(client.send<{ hello: string }>('GET', '/anything', { params: { a: 1 } })).resolves.toEqual({ hello: 'world' });
    expect(server.last.url).toBe('/anything?a=1');
    server.respond = () => ({ status: 404, body: { error: 'Not found: x', code: 'NOT_FOUND' } });
    const err = await caught(client.send('GET', '/anything'));
    expect(err.kind).toBe('not_found');
  });
});
