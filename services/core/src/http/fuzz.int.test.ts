/**
 * Hostile input: a seeded fuzzer sends 10,000+ generated requests across every endpoint of the
 * core (and malformed WebSocket handshakes and frames): broken JSON, 100k-deep arrays and
 * objects, huge strings and arrays within and above the body limit, invalid UTF-8 in bodies and
 * URLs, `__proto__` / `constructor` keys, control characters and unicode in ids, negative and
 * huge limits, bad timestamps, wrong methods and content types, raw request lines no client
 * library would send.
 *
 * Expected: never a 5xx, every error the API's JSON shape, the core healthy and answering
 * afterwards, no prototype pollution, memory bounded. The seed is printed on failure:
 * `FUZZ_SEED=<seed> npx jest services/core/src/http/fuzz.int.test.ts` reproduces the run.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import WebSocket from 'ws';
import { mulberry32 } from '../testing/random';
import { useTestCore } from '../testing/testCore';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const REQUESTS = 10_000;
const CONCURRENCY = 16;
const MAX_BODY = 256 * 1024;
/** Stop generating after this long, whatever the count (the assertion on the count then fails). */
const TIME_BUDGET_MS = 50_000;
const RSS_BOUND = 1024 * 1024 * 1024;

const t = useTestCore({
  MAX_BODY_BYTES: String(MAX_BODY),
  // Durability is not what this test checks; without an fsync per write it sends more per second.
  WAL_SYNC_MODE: 'none',
  MAX_EVENT_BYTES: String(64 * 1024),
  MAX_BATCH_EVENTS: '100',
  MAX_QUERY_LIMIT: '500',
  FLUSH_MAX_EVENTS: '200',
  COMPACTION_INTERVAL_MS: '0',
  WS_MAX_CONNECTIONS: '50',
});

type Rand = () => number;
const pick = <T>(rand: Rand, list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
const int = (rand: Rand, max: number): number => Math.floor(rand() * max);

// --- hostile values -----------------------------------------------------------------------------

const NASTY_STRINGS = [
  '',
  ' ',
  'a',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '..',
  '../../etc/passwd',
  'nul\u0000byte',
  'tab\tnew\nline\r',
  '\u001b[31mred',
  '\u007f\u0085\u009f',
  'ünïcødé ✓',
  '日本語テキスト',
  '😀👍🏽👨‍👩‍👧',
  '\u202e\u0644\u0639\u0631\u0628\u064a',
  '\ud800',
  '\udc00lone',
  '\ufeffbom',
  '\u2028\u2029',
  '%',
  '%ZZ',
  '%00',
  '%C0%AF',
  '%FF%FE',
  '%E0%80%80',
  'a'.repeat(129),
  'x'.repeat(5000),
  '<script>alert(1)</script>',
  "'; DROP TABLE events; --",
  '${jndi:ldap://x}',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  'user.created',
  'valid-entity-1',
];

const NUMBERS = ['-1', '0', '1', '10', '-9999999999', '99999999999999999999', '1e3', '0x10', '1.5', 'NaN', 'Infinity', '', ' 5', '5 ', '+5', '９', '1e309'];
const TIMESTAMPS = [
  '2026-01-02T03:04:05Z',
  '2026-01-02T03:04:05.123456Z',
  '2026-13-45T99:99:99Z',
  '2026-02-30T00:00:00Z',
  '0000-00-00T00:00:00Z',
  '9999-12-31T23:59:59.999999999+14:00',
  '-271821-04-20T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '1970-01-01T00:00:00Z',
  'yesterday',
  'now',
  '1700000000',
  '2026-01-02',
  '2026-01-02T03:04:05',
  '2026-01-02 03:04:05Z',
  '2026-01-02T03:04:05.1234567890123Z',
  '',
];

/** A random JSON value, `depth`-bounded, hostile keys included. */
function jsonValue(rand: Rand, depth: number): unknown {
  const r = rand();
  if (depth <= 0 || r < 0.35) {
    return pick(rand, [
      null,
      true,
      false,
      0,
      -0.0,
      1e308,
      -1e-308,
      Number.MAX_SAFE_INTEGER,
      2 ** 64,
      int(rand, 1000),
      rand(),
      pick(rand, NASTY_STRINGS),
    ]);
  }
  if (r < 0.6) return Array.from({ length: int(rand, 6) }, () => jsonValue(rand, depth - 1));
  const out: Record<string, unknown> = {};
  for (let i = int(rand, 6); i > 0; i--) {
    const key = rand() < 0.3 ? pick(rand, ['__proto__', 'constructor', 'prototype', 'polluted', 'toString', 'valueOf']) : pick(rand, NASTY_STRINGS);
    Object.defineProperty(out, key, { value: jsonValue(rand, depth - 1), enumerable: true, configurable: true, writable: true });
  }
  return out;
}

function validEvent(rand: Rand): Record<string, unknown> {
  return {
    event_type: pick(rand, ['fuzz.created', 'fuzz.updated', 'user.created', 'a_b.c_d']),
    entity_id: pick(rand, ['fuzz-1', 'fuzz-2', 'ünïcødé', '日本', '__proto__', 'constructor']),
    payload: jsonValue(rand, 3),
    ...(rand() < 0.5 ? { metadata: jsonValue(rand, 2) } : {}),
    ...(rand() < 0.2 ? { tenant_id: pick(rand, ['default', 'tenant_b', 'bad tenant', '', '__proto__']) } : {}),
    ...(rand() < 0.1 ? { expected_version: pick(rand, [0, 1, -1, 1.5, 2 ** 60, '1', null]) } : {}),
  };
}

/** A hostile event: fields of wrong types, nasty strings, hostile keys. */
function hostileEvent(rand: Rand): unknown {
  const e = validEvent(rand);
  const fields = ['event_type', 'entity_id', 'payload', 'metadata', 'tenant_id', 'expected_version'];
  for (let i = int(rand, 3); i >= 0; i--) {
    const f = pick(rand, fields);
    e[f] = rand() < 0.5 ? pick(rand, NASTY_STRINGS) : jsonValue(rand, 2);
  }
  if (rand() < 0.2) delete e[pick(rand, fields)];
  return rand() < 0.1 ? jsonValue(rand, 3) : e;
}

const PROTO_BODIES = [
  '{"__proto__":{"polluted":"yes"},"event_type":"a.b","entity_id":"e","payload":{}}',
  '{"event_type":"a.b","entity_id":"e","payload":{"__proto__":{"polluted":"yes"}}}',
  '{"constructor":{"prototype":{"polluted":"yes"}},"event_type":"a.b","entity_id":"e","payload":{}}',
  '{"event_type":"a.b","entity_id":"__proto__","payload":{"constructor":{"prototype":{"polluted":"yes"}}}}',
  '{"events":[{"__proto__":{"polluted":"yes"},"event_type":"a.b","entity_id":"e","payload":{"__proto__":{"isAdmin":true}}}]}',
  '{"subject":"__proto__","schema":{"type":"object","properties":{"__proto__":{"type":"string"}}}}',
  '{"name":"p","source_event_types":["a.b"],"operators":[{"type":"map","field":"__proto__.polluted","transform":"uppercase"}],"enabled":true}',
  '{"name":"p","source_event_types":["a.b"],"operators":[{"type":"branch","field":"constructor.prototype","branches":{"__proto__":"x"}}],"enabled":true}',
  '{"entity_id":"__proto__"}',
  '{"projection_name":"__proto__"}',
  '{"projection_name":"constructor","config":{"batch_size":{"__proto__":1}}}',
];

/** Syntactically broken or adversarial JSON text (as bytes). */
function brokenBody(rand: Rand): Buffer {
  switch (int(rand, 14)) {
    case 0:
      return Buffer.from(JSON.stringify(validEvent(rand)).slice(0, 1 + int(rand, 40)));
    case 1:
      return Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)); // 100k-deep arrays, within the limit
    case 2:
      return Buffer.from('{"a":'.repeat(40_000) + '1' + '}'.repeat(40_000)); // 40k-deep objects
    case 3:
      return Buffer.from(`{"event_type":"a.b","entity_id":"deep","payload":${'['.repeat(50_000)}${']'.repeat(50_000)}}`);
    case 4:
      return Buffer.from('['.repeat(100_000)); // unclosed
    case 5:
      return Buffer.from([0xff, 0xfe, 0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0xed, 0xa0, 0x80, 0x7d]); // invalid UTF-8 around JSON
    case 6:
      return Buffer.concat([Buffer.from('{"event_type":"a.b","entity_id":"'), Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xf0, 0x28, 0x8c, 0xbc]), Buffer.from('","payload":{}}')]);
    case 7:
      return Buffer.from(pick(rand, ['', ' ', 'null', 'true', '0', '"string"', '[]', '{}', 'NaN', 'undefined', '{,}', '{"a":}', "{'a':1}", '{"a":1,}', '\u0000']));
    case 8:
      return Buffer.from(pick(rand, PROTO_BODIES));
    case 9: {
      // A huge string: sometimes within the body limit, sometimes above it.
      const size = rand() < 0.5 ? 100_000 + int(rand, 100_000) : MAX_BODY + 1 + int(rand, 100_000);
      return Buffer.from(`{"event_type":"a.b","entity_id":"big","payload":"${'x'.repeat(size)}"}`);
    }
    case 10: {
      // A huge array, within or above the limit.
      const n = rand() < 0.5 ? 50_000 : 140_000;
      return Buffer.from(`{"events":[${'0,'.repeat(n)}0]}`);
    }
    case 11:
      return Buffer.from(JSON.stringify({ events: Array.from({ length: int(rand, 130) }, () => (rand() < 0.8 ? validEvent(rand) : hostileEvent(rand))) }));
    case 12: {
      const bytes = Buffer.alloc(1 + int(rand, 2000));
      for (let i = 0; i < bytes.length; i++) bytes[i] = int(rand, 256);
      return bytes;
    }
    default:
      return Buffer.from(`{"a":"${'\\u0000\\ud800\\"'.repeat(1 + int(rand, 500))}"}`);
  }
}

// --- requests -----------------------------------------------------------------------------------

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The body is over the limit: the server may cut the connection while it is still being sent. */
  oversized?: boolean;
}

/** A path parameter: nasty, sometimes sent percent-encoded as is (invalid UTF-8 sequences, bad escapes), sometimes valid. */
function param(rand: Rand): string {
  const s = pick(rand, NASTY_STRINGS);
  try {
    return rand() < 0.3 ? s.replace(/[^%A-Za-z0-9]/g, (c) => encodeURIComponent(c)) : encodeURIComponent(s);
  } catch {
    return '%ED%A0%80'; // a lone surrogate, percent-encoded
  }
}

function query(rand: Rand, names: string[]): string {
  const parts: string[] = [];
  for (let i = int(rand, 5); i > 0; i--) {
    const name = rand() < 0.15 ? pick(rand, ['__proto__', 'constructor', 'limit[]', 'a[b]', 'x']) : pick(rand, names);
    const r = rand();
    const value = r < 0.35 ? pick(rand, NUMBERS) : r < 0.65 ? pick(rand, TIMESTAMPS) : pick(rand, NASTY_STRINGS);
    let v: string;
    try {
      v = rand() < 0.2 ? value.replace(/[^%A-Za-z0-9]/g, (c) => encodeURIComponent(c)) : encodeURIComponent(value);
    } catch {
      v = '%ED%A0%80';
    }
    parts.push(`${encodeURIComponent(name)}=${v}`);
    if (rand() < 0.1) parts.push(`${encodeURIComponent(name)}=${v}`); // repeated
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

const Q_EVENTS = ['entity_id', 'event_type', 'tenant_id', 'since', 'until', 'as_of', 'limit', 'offset', 'order'];
const Q_ANALYTICS = ['since', 'until', 'window', 'entity_id', 'event_type', 'event_type_a', 'event_type_b', 'time_window_seconds', 'limit'];

/**
 * The endpoints: method, path maker, query names, body maker, and a weight for the ones whose
 * every call is costly (a compaction pass starts a worker thread; a replay re-reads the store).
 */
const ENDPOINTS: Array<{ method: string; path: (r: Rand) => string; q?: string[]; body?: (r: Rand) => unknown; weight?: number }> = [
  { method: 'GET', path: () => '/health' },
  { method: 'GET', path: () => '/metrics' },
  { method: 'GET', path: () => '/api/v1/stats' },
  { method: 'POST', path: () => '/api/v1/events', body: (r) => (r() < 0.5 ? validEvent(r) : hostileEvent(r)) },
  { method: 'POST', path: () => '/api/v1/events/batch', body: (r) => ({ events: Array.from({ length: int(r, 8) }, () => (r() < 0.6 ? validEvent(r) : hostileEvent(r))) }) },
  { method: 'GET', path: () => '/api/v1/events/query', q: Q_EVENTS },
  { method: 'GET', path: (r) => `/api/v1/events/${param(r)}` },
  { method: 'GET', path: () => '/api/v1/entities/top', q: ['limit', 'by'] },
  { method: 'GET', path: (r) => `/api/v1/entities/${param(r)}/state`, q: ['as_of'] },
  { method: 'GET', path: (r) => `/api/v1/entities/${param(r)}/snapshot` },
  { method: 'GET', path: () => '/api/v1/analytics/frequency', q: Q_ANALYTICS },
  { method: 'GET', path: () => '/api/v1/analytics/summary', q: Q_ANALYTICS },
  { method: 'GET', path: () => '/api/v1/analytics/correlation', q: Q_ANALYTICS },
  { method: 'GET', path: () => '/api/v1/projections' },
  { method: 'GET', path: (r) => `/api/v1/projections/${r() < 0.5 ? pick(r, ['entity_snapshots', 'event_counters']) : param(r)}/state`, q: ['key', 'limit', 'cursor', 'prefix'] },
  { method: 'POST', path: () => '/api/v1/snapshots', body: (r) => ({ entity_id: r() < 0.5 ? 'fuzz-1' : pick(r, NASTY_STRINGS) }) },
  { method: 'GET', path: () => '/api/v1/snapshots', q: ['entity_id', 'limit', 'offset'] },
  { method: 'GET', path: (r) => `/api/v1/snapshots/${param(r)}/latest` },
  { method: 'GET', path: () => '/api/v1/compaction/stats' },
  { method: 'POST', path: () => '/api/v1/compaction/trigger', weight: 0.1 },
  {
    method: 'POST',
    path: () => '/api/v1/schemas',
    body: (r) => ({ subject: r() < 0.5 ? pick(r, ['fuzz.created', 'user.created']) : pick(r, NASTY_STRINGS), schema: r() < 0.5 ? { type: 'object', properties: { a: { type: pick(r, ['string', 'number', 'bogus']) } } } : jsonValue(r, 4), description: jsonValue(r, 1), tags: jsonValue(r, 1) }),
  },
  { method: 'GET', path: () => '/api/v1/schemas' },
  { method: 'POST', path: () => '/api/v1/schemas/validate', body: (r) => ({ subject: pick(r, ['fuzz.created', ...NASTY_STRINGS]), version: pick(r, [1, -1, 'x', null, 2 ** 60]), payload: jsonValue(r, 4) }) },
  { method: 'GET', path: (r) => `/api/v1/schemas/${param(r)}`, q: ['version'] },
  { method: 'GET', path: (r) => `/api/v1/schemas/${param(r)}/versions` },
  { method: 'PUT', path: (r) => `/api/v1/schemas/${param(r)}/compatibility`, body: (r) => ({ compatibility: pick(r, ['NONE', 'BACKWARD', 'FORWARD', 'FULL', 'bogus', '', null, 1]) }) },
  { method: 'PUT', path: (r) => `/api/v1/schemas/${param(r)}/enforcement`, body: (r) => ({ enforce: pick(r, [true, false, 'yes', null]), enabled: pick(r, [true, false, 1]) }) },
  {
    method: 'POST',
    weight: 0.3,
    path: () => '/api/v1/replay',
    body: (r) => ({ projection_name: pick(r, ['event_counters', 'entity_snapshots', ...NASTY_STRINGS]), from_timestamp: pick(r, TIMESTAMPS), to_timestamp: pick(r, TIMESTAMPS), entity_id: pick(r, NASTY_STRINGS), config: { batch_size: pick(r, [1, 0, -5, 1e9, 'x', null]) } }),
  },
  { method: 'GET', path: () => '/api/v1/replay' },
  { method: 'GET', path: (r) => `/api/v1/replay/${param(r)}` },
  { method: 'POST', path: (r) => `/api/v1/replay/${param(r)}/cancel` },
  { method: 'DELETE', path: (r) => `/api/v1/replay/${param(r)}` },
  {
    method: 'POST',
    path: () => '/api/v1/pipelines',
    body: (r) =>
      r() < 0.4
        ? {
            name: pick(r, ['p', ...NASTY_STRINGS]),
            source_event_types: [pick(r, ['fuzz.created', 'a.b'])],
            operators: [
              pick(r, [
                { type: 'filter', field: 'a', value: 1, op: pick(r, ['eq', 'ne', 'gt', 'lt', 'contains', 'bogus']) },
                { type: 'map', field: pick(r, ['a', 'a.b', '__proto__.x', 'constructor.prototype.x']), transform: pick(r, ['uppercase', 'multiply:2', 'multiply:x', 'add:1e309']) },
                { type: 'reduce', field: 'a', function: pick(r, ['count', 'sum', 'avg', 'bogus']), group_by: pick(r, ['b', '__proto__', undefined]) },
                { type: 'window', config: { window_type: pick(r, ['tumbling', 'sliding', 'session', 'x']), size_seconds: pick(r, [1, 0, -1, 1e12]) }, aggregation: { type: 'reduce', field: 'a', function: 'count' } },
              ]),
            ],
            enabled: pick(r, [true, false, 'yes']),
          }
        : jsonValue(r, 4),
  },
  { method: 'GET', path: () => '/api/v1/pipelines' },
  { method: 'GET', path: () => '/api/v1/pipelines/stats' },
  { method: 'GET', path: (r) => `/api/v1/pipelines/${param(r)}` },
  { method: 'DELETE', path: (r) => `/api/v1/pipelines/${param(r)}` },
  { method: 'GET', path: (r) => `/api/v1/pipelines/${param(r)}/stats` },
  { method: 'PUT', path: (r) => `/api/v1/pipelines/${param(r)}/reset` },
  { method: 'GET', path: (r) => `/api/v1/pipelines/${param(r)}/results` },
  { method: 'GET', path: (r) => `/${param(r)}/${param(r)}` },
  { method: 'GET', path: () => '/api/v1/events/stream' },
];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json; charset=bogus',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  '',
];

const TOTAL_WEIGHT = ENDPOINTS.reduce((sum, e) => sum + (e.weight ?? 1), 0);

function pickEndpoint(rand: Rand): (typeof ENDPOINTS)[number] {
  let x = rand() * TOTAL_WEIGHT;
  for (const e of ENDPOINTS) {
    x -= e.weight ?? 1;
    if (x < 0) return e;
  }
  return ENDPOINTS[ENDPOINTS.length - 1]!;
}

function generate(rand: Rand): FuzzRequest {
  const ep = pickEndpoint(rand);
  let method = ep.method;
  if (rand() < 0.1) method = pick(rand, ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND']);
  const path = ep.path(rand) + query(rand, ep.q ?? Q_EVENTS);
  const headers: Record<string, string> = {};
  let body: Buffer | undefined;
  if (ep.body || rand() < 0.05) {
    const r = rand();
    body = r < 0.55 && ep.body ? Buffer.from(JSON.stringify(ep.body(rand)) ?? 'null') : brokenBody(rand);
    headers['content-type'] = rand() < 0.85 ? 'application/json' : pick(rand, CONTENT_TYPES);
    if (rand() < 0.03) headers['content-encoding'] = pick(rand, ['gzip', 'deflate', 'br', 'bogus']);
  }
  if (rand() < 0.03) headers['x-request-id'] = pick(rand, ['ok-id', 'x'.repeat(500), 'bad id\u00e9']).replace(/[^\x20-\x7e]/g, '?');
  if (rand() < 0.02) headers.accept = pick(rand, ['application/openmetrics-text; version=1.0.0', 'text/html', '*/*', 'bogus/bogus;q=x']);
  return { method, path, headers, body, oversized: (body?.length ?? 0) > MAX_BODY };
}

// --- transport ----------------------------------------------------------------------------------

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

function send(port: number, agent: http.Agent, req: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body) headers['content-length'] = req.body.length;
    const r = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent, timeout: 20_000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size < 1_000_000) chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** A raw request (bytes no HTTP client would send); resolves with the status of the answer, 0 if closed without one. */
function sendRaw(port: number, bytes: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (): void => {
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      resolve(m ? Number(m[1]) : 0);
    };
    socket.setTimeout(5000, done);
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (/\r\n\r\n/.test(got)) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.write(bytes);
  });
}

const RAW_REQUESTS: Buffer[] = [
  Buffer.concat([Buffer.from('GET /api/v1/events/'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')]),
  Buffer.concat([Buffer.from('GET /api/v1/entities/'), Buffer.from([0xc0, 0xaf]), Buffer.from('/state HTTP/1.1\r\nHost: x\r\n\r\n')]),
  Buffer.from('GET /api/v1/events/a b HTTP/1.1\r\nHost: x\r\n\r\n'),
  Buffer.from('GET /api/v1/events/\u0001\u0002 HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'),
  Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\n\r\n', 'latin1'),
  Buffer.from(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
  Buffer.from('GET /health HTTP/9.9\r\nHost: x\r\n\r\n'),
  Buffer.from('BREW /health HTTP/1.1\r\nHost: x\r\n\r\n'),
  Buffer.from('POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
  Buffer.from('POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'),
  Buffer.from('POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n'),
  Buffer.from('POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"event_type":'),
  Buffer.from('POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope'),
  Buffer.from('GET /%%%%%% HTTP/1.1\r\nHost: x\r\n\r\n'),
  Buffer.from('GET /api/v1/events/%ED%A0%80 HTTP/1.1\r\nHost: x\r\n\r\n'),
  Buffer.from('GET http://evil.example/health HTTP/1.1\r\nHost: x\r\n\r\n'),
  Buffer.from('GET * HTTP/1.1\r\nHost: x\r\n\r\n'),
  Buffer.from('\r\n\r\n\r\n'),
  Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), // a TLS ClientHello
];

// --- WebSocket ----------------------------------------------------------------------------------

/** A client frame: `mask` false is a protocol error from a client. */
function frame(opcode: number, payload: Buffer, options: { fin?: boolean; mask?: boolean; rsv?: number; lengthOverride?: bigint } = {}): Buffer {
  const { fin = true, mask = true, rsv = 0, lengthOverride } = options;
  const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode) & 0xff];
  const len = lengthOverride ?? BigInt(payload.length);
  const maskBit = mask ? 0x80 : 0;
  const parts: Buffer[] = [];
  if (len < 126n) head.push(maskBit | Number(len));
  else if (len < 65536n) {
    head.push(maskBit | 126, Number(len >> 8n) & 0xff, Number(len) & 0xff);
  } else {
    head.push(maskBit | 127);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(len);
    parts.push(b);
  }
  const out: Buffer[] = [Buffer.from(head), ...parts];
  if (mask) {
    const key = Buffer.from([1, 2, 3, 4]);
    out.push(key, Buffer.from(payload.map((b, i) => b ^ key[i % 4]!)));
  } else out.push(payload);
  return Buffer.concat(out);
}

/** Opens a WebSocket with a raw handshake, sends `frames`, and resolves when the server closes (or after 2 s). */
function rawWebSocket(port: number, handshake: string, frames: Buffer[]): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    let sent = false;
    const finish = (): void => {
      socket.destroy();
      resolve(got.slice(0, 200));
    };
    socket.setTimeout(2000, finish);
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (!sent && got.includes('\r\n\r\n')) {
        sent = true;
        for (const f of frames) socket.write(f);
      }
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(handshake);
  });
}

const handshake = (path = '/api/v1/events/stream', extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

// --- the test -----------------------------------------------------------------------------------

function prototypeKeys(): string[] {
  return [Object.prototype, Array.prototype, Function.prototype, String.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join(',')).concat(Object.getOwnPropertySymbols(Object.prototype).map(String));
}

describe('deeply nested JSON (found by this fuzzer: a 500 from JSON.stringify overflowing the stack)', () => {
  const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
  const bodies: Array<[string, string, (inner: string) => string]> = [
    ['POST', '/api/v1/events', (inner) => `{"event_type":"a.b","entity_id":"deep","payload":${inner}}`],
    ['POST', '/api/v1/events', (inner) => `{"event_type":"a.b","entity_id":"deep","payload":{},"metadata":${inner}}`],
    ['POST', '/api/v1/events/batch', (inner) => `{"events":[{"event_type":"a.b","entity_id":"deep","payload":${inner}}]}`],
    ['POST', '/api/v1/schemas', (inner) => `{"subject":"deep.schema","schema":{"type":"object","default":${inner}}}`],
    ['POST', '/api/v1/schemas/validate', (inner) => `{"subject":"deep.schema","payload":${inner}}`],
    ['POST', '/api/v1/pipelines', (inner) => `{"name":"deep","source_event_types":["a.b"],"operators":${inner},"enabled":true}`],
    ['POST', '/api/v1/snapshots', (inner) => `{"entity_id":${inner}}`],
    ['POST', '/api/v1/replay', (inner) => `{"config":${inner}}`],
  ];

  it.each(bodies)('%s %s with 100k-deep nesting answers 400 INVALID_JSON, never 5xx', async (method, path, body) => {
    const res = await t.client.raw(method, path, { body: body(deep(100_000)), headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.data).toEqual({ error: expect.stringMatching(/^Invalid input: .*deeper than 128 levels/), code: 'INVALID_JSON' });
  });

  it('accepts a payload nested 120 levels deep and gives it back unchanged', async () => {
    const payload = JSON.parse(deep(120)) as unknown;
    const ack = await t.client.ingest({ event_type: 'a.b', entity_id: 'deep-ok', payload: payload as never });
    expect((await t.client.getEvent(ack.event_id)).payload).toEqual(payload);
  });
});

describe(`fuzzing every endpoint (seed ${SEED})`, () => {
  it('answers 10,000+ hostile requests without a 5xx or a crash, with JSON errors, no prototype pollution and bounded memory', async () => {
    const rand = mulberry32(SEED);
    const port = t.core.port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const protoBefore = prototypeKeys();
    const rssBefore = process.memoryUsage().rss;
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    let noAnswer = 0;
    const started = Date.now();
    const describeReq = (r: FuzzRequest): string =>
      `${r.method} ${r.path.slice(0, 200)} ${JSON.stringify(r.headers)} body ${r.body ? `${r.body.length} bytes: ${JSON.stringify(r.body.subarray(0, 120).toString('latin1'))}` : 'none'}`;

    const worker = async (): Promise<void> => {
      while (sent < REQUESTS && Date.now() - started < TIME_BUDGET_MS) {
        sent++;
        const req = generate(rand);
        let answer: Answer;
        try {
          answer = await send(port, agent, req);
        } catch (err) {
          // A body over the limit may be cut off by the server's early 413; anything else is a failure.
          if (!req.oversized) failures.push(`no answer (${(err as Error).message}) to ${describeReq(req)}`);
          noAnswer++;
          continue;
        }
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status >= 500) failures.push(`${answer.status} ${answer.text.slice(0, 300)} for ${describeReq(req)}`);
        if (answer.status >= 400 && req.method !== 'HEAD') {
          let ok = /application\/json/.test(answer.contentType);
          if (ok) {
            try {
              const body = JSON.parse(answer.text) as { error?: unknown; code?: unknown };
              ok = typeof body.error === 'string' && typeof body.code === 'string' && !/\n\s+at /.test(body.error);
            } catch {
              ok = false;
            }
          }
          if (!ok) failures.push(`${answer.status} without the JSON error shape (${answer.contentType}: ${answer.text.slice(0, 200)}) for ${describeReq(req)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));

    // Raw request lines and headers no client library sends.
    const rawStatuses: number[] = [];
    for (const bytes of RAW_REQUESTS) {
      const status = await sendRaw(port, bytes);
      rawStatuses.push(status);
      sent++;
      if (status >= 500) failures.push(`raw request answered ${status}: ${JSON.stringify(bytes.subarray(0, 80).toString('latin1'))}`);
    }

    // Malformed WebSocket handshakes and frames.
    const wsCases: Array<[string, string, Buffer[]]> = [
      ['unmasked client frame', handshake(), [frame(1, Buffer.from('{}'), { mask: false })]],
      ['reserved opcode', handshake(), [frame(3, Buffer.from('x'))]],
      ['reserved bits', handshake(), [frame(1, Buffer.from('{}'), { rsv: 7 })]],
      ['invalid UTF-8 text', handshake(), [frame(1, Buffer.from([0xff, 0xfe, 0xc0, 0xaf]))]],
      ['length 2^63-1 claimed', handshake(), [frame(1, Buffer.from('x'), { lengthOverride: 2n ** 63n - 1n })]],
      ['message over 4 KiB', handshake(), [frame(1, Buffer.alloc(70_000, 0x61))]],
      ['fragmented control frame', handshake(), [frame(9, Buffer.from('ping'), { fin: false })]],
      ['continuation without start', handshake(), [frame(0, Buffer.from('x'))]],
      ['close with invalid code', handshake(), [frame(8, Buffer.from([0x03, 0xe7]))]],
      ['close frame of 1 byte', handshake(), [frame(8, Buffer.from([0x03]))]],
      ['garbage after handshake', handshake(), [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.from([0xde, 0xad, 0xbe, 0xef])]],
      ['deep JSON filter', handshake(), [frame(1, Buffer.from('['.repeat(2000) + ']'.repeat(2000)))]],
      ['__proto__ filter', handshake(), [frame(1, Buffer.from('{"__proto__":{"polluted":1},"entity_id":"__proto__"}')), frame(1, Buffer.from('{"constructor":{"prototype":{"polluted":1}}}'))]],
      ['binary frame', handshake(), [frame(2, Buffer.from([0, 1, 2]))]],
      ['interleaved text fragments', handshake(), [frame(1, Buffer.from('{"entity'), { fin: false }), frame(1, Buffer.from('_id":1}'))]],
      ['no key', 'GET /api/v1/events/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n', []],
      ['bad version', handshake('/api/v1/events/stream', 'X: y\r\n').replace('Version: 13', 'Version: 99'), []],
      ['bad filter in URL', handshake('/api/v1/events/stream?entity_id=%00&event_type=BAD..TYPE'), []],
      ['invalid UTF-8 in URL', handshake('/api/v1/events/stream?entity_id=%C0%AF%FF'), []],
      ['repeated filter', handshake('/api/v1/events/stream?entity_id=a&entity_id=b'), []],
      ['other path', handshake('/api/v1/other'), []],
      ['POST upgrade', handshake().replace(/^GET/, 'POST'), []],
    ];
    for (const [name, hs, frames] of wsCases) {
      const got = await rawWebSocket(port, hs, frames);
      sent++;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(got)?.[1];
      if (status && Number(status) >= 500) failures.push(`WebSocket case '${name}' answered ${got.slice(0, 120)}`);
    }
    // A well-behaved client still works after all that.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/events/stream?entity_id=after-fuzz`);
    const received = new Promise<string>((resolve, reject) => {
      ws.on('message', (d: Buffer) => resolve(d.toString()));
      ws.on('error', reject);
      setTimeout(() => reject(new Error('no frame within 10 s')), 10_000).unref();
    });
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => resolve());
      ws.on('error', reject);
    });

    agent.destroy();
    const elapsed = Date.now() - started;
    const summary = `seed ${SEED}: ${sent} requests in ${elapsed} ms, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}, raw ${JSON.stringify(rawStatuses)}, no answer (oversized bodies) ${noAnswer}`;
    if (failures.length > 0) process.stderr.write(`FUZZ FAILURES (${summary}):\n${failures.slice(0, 30).join('\n')}\n`);
    expect({ seed: SEED, failures: failures.slice(0, 10) }).toEqual({ seed: SEED, failures: [] });
    expect(sent).toBeGreaterThanOrEqual(10_000);

    // Healthy and answering afterwards: a write goes in, is streamed and read back.
    const health = await t.client.raw('GET', '/health');
    expect(health.status).toBe(200);
    const ack = await t.client.ingest({ event_type: 'fuzz.after', entity_id: 'after-fuzz', payload: { ok: true } });
    expect(JSON.parse(await received)).toMatchObject({ id: ack.event_id, payload: { ok: true } });
    ws.close();
    expect(await t.client.getEvent(ack.event_id)).toMatchObject({ entity_id: 'after-fuzz', payload: { ok: true } });

    // No prototype pollution anywhere in the process.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(prototypeKeys()).toEqual(protoBefore);

    // Memory bounded (no --expose-gc under jest: a bound on the resident set instead).
    const rss = process.memoryUsage().rss;
    process.stdout.write(`${summary}; rss ${Math.round(rssBefore / 2 ** 20)} → ${Math.round(rss / 2 ** 20)} MiB\n`);
    expect(rss).toBeLessThan(RSS_BOUND);
  }, 120_000);
});
