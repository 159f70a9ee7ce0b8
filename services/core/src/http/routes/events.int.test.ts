/**
 * Integration tests of the event endpoints through real sockets: ingest (single and batch),
 * optimistic concurrency, limits, validation, prototype-pollution safety, every query filter
 * combination against a reference model, and get-by-id.
 */
import { isDeepStrictEqual } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { Event, IngestEventRequest, QueryEventsParams, RawResponse } from '@allsource/client';
import { startTestCore, useTestCore, type TestCore } from '../../testing/testCore';
import { sleep } from '../../testing/wait';
import { mulberry32 as prng } from '../../testing/random';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RFC3339_US_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

interface ErrorBody {
  error: string;
  code: string;
}

/** Asserts the API's JSON error shape, status, code and message prefix. */
function expectError(res: RawResponse<unknown>, status: number, code: string, prefix: string): ErrorBody {
  expect({ status: res.status, body: res.data }).toMatchObject({ status, body: { code } });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.data as ErrorBody;
  expect(body.error.startsWith(`${prefix}: `)).toBe(true);
  expect(body.error).not.toMatch(/\n\s+at /); // no stack trace
  return body;
}

/** Microseconds since the epoch of an RFC 3339 `…ss.ffffffZ` timestamp. */
function toUs(ts: string): number {
  return Date.parse(`${ts.slice(0, 23)}Z`) * 1000 + Number(ts.slice(23, 26));
}

function fromUs(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, 23)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}


const valid = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  event_type: 'user.created',
  entity_id: 'user-1',
  payload: { name: 'Alice' },
  ...over,
});

/** Bodies that must be rejected with 400 "Invalid event:" (name → body). */
const INVALID_EVENTS: Array<[string, unknown]> = [
  ['body is an array', [valid()]],
  ['body is a string', 'user.created'],
  ['body is a number', 42],
  ['body is null', null],
  ['missing event_type', { entity_id: 'e', payload: {} }],
  ['missing entity_id', { event_type: 'a.b', payload: {} }],
  ['missing payload', { event_type: 'a.b', entity_id: 'e' }],
  ['event_type a number', valid({ event_type: 123 })],
  ['event_type null', valid({ event_type: null })],
  ['event_type an object', valid({ event_type: { a: 1 } })],
  ['event_type empty', valid({ event_type: '' })],
  ['event_type uppercase', valid({ event_type: 'User.Created' })],
  ['event_type leading dot', valid({ event_type: '.user.created' })],
  ['event_type trailing dot', valid({ event_type: 'user.created.' })],
  ['event_type double dot', valid({ event_type: 'user..created' })],
  ['event_type with a space', valid({ event_type: 'user created' })],
  ['event_type with a dash', valid({ event_type: 'user-created' })],
  ['event_type over 128 chars', valid({ event_type: 'a'.repeat(129) })],
  ['entity_id a number', valid({ entity_id: 5 })],
  ['entity_id an array', valid({ entity_id: ['a'] })],
  ['entity_id empty', valid({ entity_id: '' })],
  ['entity_id blank', valid({ entity_id: '   ' })],
  ['entity_id leading whitespace', valid({ entity_id: ' user-1' })],
  ['entity_id trailing whitespace', valid({ entity_id: 'user-1\t' })],
  ['entity_id NUL', valid({ entity_id: 'a\u0000b' })],
  ['entity_id newline', valid({ entity_id: 'a\nb' })],
  ['entity_id DEL', valid({ entity_id: 'a\u007fb' })],
  ['entity_id C1 control', valid({ entity_id: 'a\u0085b' })],
  ['entity_id over 128 chars', valid({ entity_id: 'e'.repeat(129) })],
  ['tenant_id empty', valid({ tenant_id: '' })],
  ['tenant_id with a space', valid({ tenant_id: 'acme corp' })],
  ['tenant_id with a slash', valid({ tenant_id: 'acme/eu' })],
  ['tenant_id over 64 chars', valid({ tenant_id: 't'.repeat(65) })],
  ['tenant_id a number', valid({ tenant_id: 7 })],
  ['expected_version negative', valid({ expected_version: -1 })],
  ['expected_version fractional', valid({ expected_version: 1.5 })],
  ['expected_version a string', valid({ expected_version: '1' })],
];

describe('event ingestion', () => {
  const t = useTestCore({ MAX_BATCH_EVENTS: '5', MAX_BODY_BYTES: '4096' });

  const totalEvents = async (): Promise<number> => (await t.client.stats()).total_events;
  const entityEvents = async (entityId: string): Promise<Event[]> => (await t.client.queryEvents({ entity_id: entityId })).events;

  it('answers a single ingest with {event_id (uuid v4), timestamp (µs, Z), version} and versions 1, 2, 3', async () => {
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.client.raw('POST', '/api/v1/events', { body: valid({ entity_id: 'shape-1', payload: { i } }) });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      answers.push(res.data as { event_id: string; timestamp: string; version: number });
    }
    for (const a of answers) {
      expect(Object.keys(a).sort()).toEqual(['event_id', 'timestamp', 'version']);
      expect(a.event_id).toMatch(UUID_V4);
      expect(a.timestamp).toMatch(RFC3339_US_Z);
    }
    expect(answers.map((a) => a.version)).toEqual([1, 2, 3]);
    expect(new Set(answers.map((a) => a.event_id)).size).toBe(3);
    expect(toUs(answers[0]!.timestamp)).toBeLessThanOrEqual(toUs(answers[1]!.timestamp));
    expect(toUs(answers[1]!.timestamp)).toBeLessThanOrEqual(toUs(answers[2]!.timestamp));
    // Timestamps are server time: close to the test's clock.
    expect(Math.abs(toUs(answers[2]!.timestamp) / 1000 - Date.now())).toBeLessThan(60_000);
  });

  it('returns the full stored event by id, with defaults for tenant and metadata', async () => {
    const a = await t.client.ingest({ event_type: 'order.placed', entity_id: 'order-9', payload: { total: 12.5, items: [1, 2] } });
    const b = await t.client.ingest({
      event_type: 'order.placed',
      entity_id: 'order-10',
      payload: 'just a string',
      metadata: { source: 'test', n: 1 },
      tenant_id: 'acme-EU_1',
    });
    expect(await t.client.getEvent(a.event_id)).toEqual({
      id: a.event_id,
      event_type: 'order.placed',
      entity_id: 'order-9',
      tenant_id: 'default',
      payload: { total: 12.5, items: [1, 2] },
      metadata: null,
      timestamp: a.timestamp,
      version: 1,
    });
    expect(await t.client.getEvent(b.event_id)).toEqual({
      id: b.event_id,
      event_type: 'order.placed',
      entity_id: 'order-10',
      tenant_id: 'acme-EU_1',
      payload: 'just a string',
      metadata: { source: 'test', n: 1 },
      timestamp: b.timestamp,
      version: 1,
    });
  });

  it('accepts boundary values: 128-char event_type and entity_id, 64-char tenant, null and scalar payloads', async () => {
    const cases: IngestEventRequest[] = [
      { event_type: 'a'.repeat(128), entity_id: 'b'.repeat(128), payload: null, tenant_id: 'c'.repeat(64) },
      { event_type: 'x_1.y_2.z3', entity_id: 'ünïcødé / with spaces', payload: 0 },
      { event_type: 'n', entity_id: '1', payload: [] },
    ];
    for (const body of cases) {
      const answer = await t.client.ingest(body);
      const stored = await t.client.getEvent(answer.event_id);
      expect(stored).toMatchObject({ ...body, tenant_id: body.tenant_id ?? 'default', version: 1 });
    }
  });

  it('honours expected_version: equal → stored, different → 409 Conflict and nothing stored', async () => {
    const first = await t.client.ingest(valid({ entity_id: 'occ-1', expected_version: 0 }) as unknown as IngestEventRequest);
    expect(first.version).toBe(1);
    const second = await t.client.ingest(valid({ entity_id: 'occ-1', expected_version: 1 }) as unknown as IngestEventRequest);
    expect(second.version).toBe(2);
    const before = await totalEvents();

    const stale = await t.client.raw('POST', '/api/v1/events', { body: valid({ entity_id: 'occ-1', expected_version: 1 }) });
    expectError(stale, 409, 'VERSION_CONFLICT', 'Conflict');
    const ahead = await t.client.raw('POST', '/api/v1/events', { body: valid({ entity_id: 'occ-1', expected_version: 7 }) });
    expectError(ahead, 409, 'VERSION_CONFLICT', 'Conflict');
    const unknown = await t.client.raw('POST', '/api/v1/events', { body: valid({ entity_id: 'occ-new', expected_version: 1 }) });
    expectError(unknown, 409, 'VERSION_CONFLICT', 'Conflict');

    expect(await totalEvents()).toBe(before);
    expect((await entityEvents('occ-1')).map((e) => e.version)).toEqual([1, 2]);
    expect(await entityEvents('occ-new')).toEqual([]);
    // A null expected_version means "no expectation".
    const third = await t.client.ingest(valid({ entity_id: 'occ-1', expected_version: null }) as unknown as IngestEventRequest);
    expect(third.version).toBe(3);
  });

  it('answers a batch with {total, ingested, events[]} and per-entity versions', async () => {
    await t.client.ingest(valid({ entity_id: 'batch-a' }) as unknown as IngestEventRequest);
    const res = await t.client.raw('POST', '/api/v1/events/batch', {
      body: {
        events: [
          valid({ entity_id: 'batch-a', payload: { n: 1 } }),
          valid({ entity_id: 'batch-b', payload: { n: 2 } }),
          valid({ entity_id: 'batch-a', payload: { n: 3 }, expected_version: 2 }),
          valid({ entity_id: 'batch-b', payload: { n: 4 }, event_type: 'user.updated', tenant_id: 't1' }),
        ],
      },
    });
    expect(res.status).toBe(200);
    const body = res.data as { total: number; ingested: number; events: Array<{ event_id: string; timestamp: string; version: number }> };
    expect(Object.keys(body).sort()).toEqual(['events', 'ingested', 'total']);
    expect(body.total).toBe(4);
    expect(body.ingested).toBe(4);
    expect(body.events.map((e) => e.version)).toEqual([2, 1, 3, 2]);
    for (const e of body.events) {
      expect(Object.keys(e).sort()).toEqual(['event_id', 'timestamp', 'version']);
      expect(e.event_id).toMatch(UUID_V4);
      expect(e.timestamp).toMatch(RFC3339_US_Z);
    }
    const last = await t.client.getEvent(body.events[3]!.event_id);
    expect(last).toMatchObject({ entity_id: 'batch-b', event_type: 'user.updated', tenant_id: 't1', payload: { n: 4 }, version: 2 });
    expect((await entityEvents('batch-a')).map((e) => e.payload)).toEqual([{ name: 'Alice' }, { n: 1 }, { n: 3 }]);
  });

  it('rejects a whole batch with one invalid event (400 naming events[i]) and stores nothing', async () => {
    const before = await totalEvents();
    const res = await t.client.raw('POST', '/api/v1/events/batch', {
      body: {
        events: [
          valid({ entity_id: 'aon-1' }),
          valid({ entity_id: 'aon-2' }),
          valid({ entity_id: 'aon-3', event_type: 'Bad.Type' }),
          valid({ entity_id: 'aon-4' }),
        ],
      },
    });
    const body = expectError(res, 400, 'INVALID_EVENT', 'Invalid event');
    expect(body.error).toContain('events[2]');
    expect(await totalEvents()).toBe(before);
    for (const id of ['aon-1', 'aon-2', 'aon-3', 'aon-4']) expect(await entityEvents(id)).toEqual([]);

    const missingPayload = await t.client.raw('POST', '/api/v1/events/batch', {
      body: { events: [valid({ entity_id: 'aon-1' }), { event_type: 'a.b', entity_id: 'aon-5' }] },
    });
    expect(expectError(missingPayload, 400, 'INVALID_EVENT', 'Invalid event').error).toContain('events[1]');
    expect(await totalEvents()).toBe(before);
  });

  it('rejects a whole batch with one version conflict (409) and stores nothing', async () => {
    await t.client.ingest(valid({ entity_id: 'aon-c' }) as unknown as IngestEventRequest);
    const before = await totalEvents();
    const res = await t.client.raw('POST', '/api/v1/events/batch', {
      body: {
        events: [
          valid({ entity_id: 'aon-new' }),
          valid({ entity_id: 'aon-c', expected_version: 1 }),
          valid({ entity_id: 'aon-c', expected_version: 1 }), // the entity is at 2 after events[1]
        ],
      },
    });
    expect(expectError(res, 409, 'VERSION_CONFLICT', 'Conflict').error).toContain('events[2]');
    expect(await totalEvents()).toBe(before);
    expect(await entityEvents('aon-new')).toEqual([]);
    expect((await entityEvents('aon-c')).length).toBe(1);
  });

  it('rejects batches over MAX_BATCH_EVENTS with 413 and malformed batch bodies with 400', async () => {
    const before = await totalEvents();
    const five = Array.from({ length: 5 }, (_, i) => valid({ entity_id: `max-${i}` }));
    const six = Array.from({ length: 6 }, (_, i) => valid({ entity_id: `over-${i}` }));
    expect((await t.client.raw('POST', '/api/v1/events/batch', { body: { events: five } })).status).toBe(200);
    expectError(await t.client.raw('POST', '/api/v1/events/batch', { body: { events: six } }), 413, 'PAYLOAD_TOO_LARGE', 'Payload too large');
    expect(await totalEvents()).toBe(before + 5);
    expect(await entityEvents('over-0')).toEqual([]);

    for (const body of [{}, { events: [] }, { events: 'x' }, { events: { 0: valid() } }, [valid()], null, 3]) {
      const res = await t.client.raw('POST', '/api/v1/events/batch', { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
      expect(res.status).toBe(400);
      expect((res.data as ErrorBody).code).toMatch(/^INVALID_/);
    }
    expect(await totalEvents()).toBe(before + 5);
  });

  it('rejects a body over MAX_BODY_BYTES with 413', async () => {
    const before = await totalEvents();
    const big = valid({ entity_id: 'big-1', payload: { blob: 'x'.repeat(5000) } });
    expectError(await t.client.raw('POST', '/api/v1/events', { body: big }), 413, 'PAYLOAD_TOO_LARGE', 'Payload too large');
    expectError(
      await t.client.raw('POST', '/api/v1/events/batch', { body: { events: [big] } }),
      413,
      'PAYLOAD_TOO_LARGE',
      'Payload too large',
    );
    expect(await totalEvents()).toBe(before);
    // Just under the limit is fine.
    const fits = valid({ entity_id: 'big-1', payload: { blob: 'x'.repeat(3500) } });
    expect((await t.client.raw('POST', '/api/v1/events', { body: fits })).status).toBe(200);
  });

  it('rejects a missing or non-JSON content type with 415 and accepts JSON variants', async () => {
    const text = JSON.stringify(valid({ entity_id: 'ct-1' }));
    const before = await totalEvents();
    for (const path of ['/api/v1/events', '/api/v1/events/batch']) {
      const body = path.endsWith('batch') ? JSON.stringify({ events: [JSON.parse(text)] }) : text;
      expectError(await t.client.raw('POST', path, { body }), 415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type');
      for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
        expectError(await t.client.raw('POST', path, { body, headers: { 'Content-Type': ct } }), 415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type');
      }
    }
    expect(await totalEvents()).toBe(before);
    for (const ct of ['application/json; charset=utf-8', 'APPLICATION/JSON', 'application/vnd.allsource+json']) {
      const res = await t.client.raw('POST', '/api/v1/events', { body: text, headers: { 'Content-Type': ct } });
      expect({ ct, status: res.status }).toEqual({ ct, status: 200 });
    }
  });

  it('rejects malformed JSON with 400 INVALID_JSON', async () => {
    for (const body of ['{"event_type":', '{event_type: "a.b"}', "{'a':1}", '{"a":1}}', 'nul', '{"a":1,}']) {
      for (const path of ['/api/v1/events', '/api/v1/events/batch']) {
        const res = await t.client.raw('POST', path, { body, headers: { 'Content-Type': 'application/json' } });
        expectError(res, 400, 'INVALID_JSON', 'Invalid input');
      }
    }
  });

  it.each(INVALID_EVENTS)('rejects an invalid event (%s) with 400 "Invalid event:" and stores nothing', async (_name, body) => {
    const before = await totalEvents();
    const res = await t.client.raw('POST', '/api/v1/events', { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    expectError(res, 400, 'INVALID_EVENT', 'Invalid event');
    const batch = await t.client.raw('POST', '/api/v1/events/batch', { body: { events: [valid({ entity_id: 'inv-ok' }), body] } });
    expect(expectError(batch, 400, 'INVALID_EVENT', 'Invalid event').error).toContain('events[1]');
    expect(await totalEvents()).toBe(before);
  });

  it('stores __proto__ and constructor keys as plain data and pollutes nothing', async () => {
    const raw =
      '{"event_type":"proto.test","entity_id":"proto-1",' +
      '"payload":{"__proto__":{"polluted":"payload"},"constructor":{"prototype":{"polluted":"ctor"}},"ok":1},' +
      '"metadata":{"__proto__":{"polluted":"metadata"}}}';
    const res = await t.client.raw<{ event_id: string }>('POST', '/api/v1/events', { body: raw, headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(200);
    const batch = await t.client.raw('POST', '/api/v1/events/batch', {
      body: `{"events":[${raw.replace('proto-1', 'proto-2')}],"__proto__":{"polluted":"batch"}}`,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(batch.status).toBe(200);

    const stored = await t.client.raw<Event>('GET', `/api/v1/events/${res.data.event_id}`);
    expect(stored.status).toBe(200);
    const payload = stored.data.payload as Record<string, unknown>;
    expect(Object.prototype.hasOwnProperty.call(payload, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(payload, '__proto__')?.value).toEqual({ polluted: 'payload' });
    expect(Object.getOwnPropertyDescriptor(payload, 'constructor')?.value).toEqual({ prototype: { polluted: 'ctor' } });
    expect(payload.ok).toBe(1);
    expect(Object.getOwnPropertyDescriptor(stored.data.metadata as object, '__proto__')?.value).toEqual({ polluted: 'metadata' });
    expect(stored.text).toContain('"__proto__":{"polluted":"payload"}');

    // The entity state and the query answer carry the keys as data too.
    const state = await t.client.raw<{ current_state: Record<string, unknown> }>('GET', '/api/v1/entities/proto-1/state');
    expect(state.status).toBe(200);
    expect(Object.getOwnPropertyDescriptor(state.data.current_state, '__proto__')?.value).toEqual({ polluted: 'payload' });
    const query = await t.client.raw('GET', '/api/v1/events/query', { params: { entity_id: 'proto-2' } });
    expect(query.text).toContain('"__proto__":{"polluted":"payload"}');

    // Nothing in this process (server included) was polluted.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as unknown as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as { constructor: { prototype: Record<string, unknown> } }).constructor.prototype.polluted).toBeUndefined();
  });

  it('answers GET /api/v1/events/:id with 404 EVENT_NOT_FOUND for unknown and malformed ids', async () => {
    const known = await t.client.ingest(valid({ entity_id: 'byid-1' }) as unknown as IngestEventRequest);
    const ids = [
      '00000000-0000-4000-8000-000000000000',
      '3f2b8e0c-7c1a-4d6e-9f00-1234567890ab',
      known.event_id.toUpperCase(),
      known.event_id.slice(0, -1) + (known.event_id.endsWith('0') ? '1' : '0'),
    ];
    for (const id of ids) {
      expectError(await t.client.raw('GET', `/api/v1/events/${id}`), 404, 'EVENT_NOT_FOUND', 'Event not found');
    }
    for (const id of ['not-a-uuid', '123', 'x'.repeat(300), '%00', '..%2F..%2Fetc', "'%20OR%201=1"]) {
      const res = await t.client.raw('GET', `/api/v1/events/${id}`);
      expect({ id, status: res.status }).toEqual({ id, status: 404 });
      expect((res.data as ErrorBody).error).toMatch(/^[A-Z][a-z ]+: /);
    }
    expect((await t.client.getEvent(known.event_id)).id).toBe(known.event_id);
  });

  it('answers a path parameter that is not valid percent-encoding with 400, not 500', async () => {
    for (const path of ['/api/v1/events/%', '/api/v1/events/%E0%A4%A', '/api/v1/entities/%ZZ/state', '/api/v1/entities/%/snapshot']) {
      expectError(await t.client.raw('GET', path), 400, 'INVALID_INPUT', 'Invalid input');
    }
  });

  it('inflates a gzip body and answers an undecodable one with 400, not 500', async () => {
    const body = JSON.stringify(valid({ entity_id: 'gzip-1' }));
    const ok = await t.client.raw('POST', '/api/v1/events', {
      body: gzipSync(body),
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
    });
    expect(ok.status).toBe(200);
    expect((await entityEvents('gzip-1')).length).toBe(1);
    const bad = await t.client.raw('POST', '/api/v1/events', { body, headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' } });
    expectError(bad, 400, 'INVALID_INPUT', 'Invalid input');
    expect((await entityEvents('gzip-1')).length).toBe(1);
  });

  it('answers unknown routes with a JSON 404', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/api/v1/nope'],
      ['GET', '/api/v2/events/query'],
      ['DELETE', '/api/v1/events'],
      ['POST', '/api/v1/events/query'],
      ['GET', '/api/v1/events'],
    ] as const) {
      const res = await t.client.raw(method, path);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect((res.data as ErrorBody).code).toBe('NOT_FOUND');
      expect((res.data as ErrorBody).error.startsWith('Not found: ')).toBe(true);
    }
  });

  it('never answers a bad request with a 5xx', async () => {
    const json = { 'Content-Type': 'application/json' };
    const requests: Array<{ method: string; path: string; body?: string | undefined; headers?: Record<string, string> }> = [];
    for (const [, body] of INVALID_EVENTS) {
      requests.push({ method: 'POST', path: '/api/v1/events', body: JSON.stringify(body), headers: json });
      requests.push({ method: 'POST', path: '/api/v1/events/batch', body: JSON.stringify({ events: [body] }), headers: json });
    }
    for (const body of ['', ' ', '{', '[', '"', '{"events":', '\u0000', '{"a":1}}', 'true', '1e999999', '{"payload":1e999999}', '\ufeff{}']) {
      requests.push({ method: 'POST', path: '/api/v1/events', body, headers: json });
      requests.push({ method: 'POST', path: '/api/v1/events/batch', body, headers: json });
    }
    requests.push({ method: 'POST', path: '/api/v1/events', body: '{}', headers: { 'Content-Type': 'application/json; charset=latin-2' } });
    requests.push({ method: 'POST', path: '/api/v1/events', body: '{}', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'br-nope' } });
    requests.push({ method: 'POST', path: '/api/v1/events', body: '{}', headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' } });
    requests.push({ method: 'POST', path: '/api/v1/events', body: 'x'.repeat(10_000), headers: json });
    requests.push({ method: 'POST', path: '/api/v1/events' });
    requests.push({ method: 'POST', path: '/api/v1/events/batch', body: JSON.stringify({ events: Array(6).fill(valid()) }), headers: json });
    requests.push({ method: 'POST', path: '/api/v1/events/batch', body: JSON.stringify({ events: [valid(), valid({ expected_version: 0 })] }), headers: json });
    for (const q of BAD_QUERIES) requests.push({ method: 'GET', path: `/api/v1/events/query?${q}` });
    for (const q of ['since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z', 'offset=9007199254740993', 'limit=1e3', 'entity_id=%FF']) {
      requests.push({ method: 'GET', path: `/api/v1/events/query?${q}` });
    }
    for (const id of ['%', '%E0%A4%A', 'a%2Fb', 'null', 'undefined', '__proto__', 'constructor']) {
      requests.push({ method: 'GET', path: `/api/v1/events/${id}` });
      requests.push({ method: 'GET', path: `/api/v1/entities/${id}/state` });
      requests.push({ method: 'GET', path: `/api/v1/entities/${id}/snapshot` });
    }
    requests.push({ method: 'GET', path: '/api/v1/entities/x/state?as_of=yesterday' });
    requests.push({ method: 'GET', path: '/api/v1/entities/top?limit=0' });
    requests.push({ method: 'GET', path: '/api/v1/entities/top?by=size' });
    requests.push({ method: 'PATCH', path: '/api/v1/events' });
    requests.push({ method: 'OPTIONS', path: '/api/v1/events' });

    const failures: string[] = [];
    for (const r of requests) {
      const res = await t.client.raw(r.method, r.path, { body: r.body, headers: r.headers ?? {} });
      if (res.status >= 500) failures.push(`${r.method} ${r.path} ${JSON.stringify(r.body)?.slice(0, 60)} → ${res.status} ${res.text.slice(0, 200)}`);
      else if (res.status >= 400 && typeof (res.data as ErrorBody).code !== 'string') failures.push(`${r.method} ${r.path}: not a JSON error: ${res.text.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    expect(requests.length).toBeGreaterThan(100);
    expect((await t.client.health()).status).toBe('healthy');
  });
});

/** Query strings that must be answered 400 "Invalid query:". */
const BAD_QUERIES = [
  'limit=-1',
  'limit=abc',
  'limit=',
  'limit=1.5',
  'limit=1001',
  'limit=99999999999999999999',
  'offset=-1',
  'offset=x',
  'since=yesterday',
  'since=2026-13-01T00:00:00Z',
  'since=2026-02-30T00:00:00Z',
  'since=1700000000',
  'until=2026-01-01',
  'until=not-a-time',
  'as_of=2026-01-01T25:00:00Z',
  'order=sideways',
  'order=ASC',
  'entity_id=a&entity_id=b',
  'limit=1&limit=2',
  'event_type=a.b&event_type=a.b',
  'order=asc&order=desc',
];

interface RefEvent extends Event {
  us: number;
}

describe('event queries', () => {
  let t: TestCore;
  const ref: RefEvent[] = [];
  const entities = ['acct-1', 'acct-2', 'acct-3', 'user/4', 'user 5', 'ünï-6', 'e7', 'e8'];
  const types = ['account.opened', 'account.credited', 'account.debited', 'user.renamed', 'audit'];
  const tenants = ['default', 'tenant-a', 'tenant_b'];

  beforeAll(async () => {
    // No timed flush: the test decides what is in a segment and what stays in the buffer.
    t = await startTestCore({ MAX_QUERY_LIMIT: '1000', FLUSH_MAX_AGE_MS: '3600000' });
    const rnd = prng(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const versions = new Map<string, number>();
    let n = 0;
    while (n < 320) {
      const size = 1 + Math.floor(rnd() * 6);
      const batch: IngestEventRequest[] = [];
      for (let i = 0; i < size; i++, n++) {
        const tenant = pick(tenants);
        batch.push({
          event_type: pick(types),
          entity_id: pick(entities),
          payload: { n, amount: Math.floor(rnd() * 1000) },
          ...(rnd() < 0.3 ? { metadata: { seq: n } } : {}),
          ...(tenant === 'default' && rnd() < 0.5 ? {} : { tenant_id: tenant }),
        });
      }
      const answers = size === 1 ? [await t.client.ingest(batch[0]!)] : (await t.client.ingestBatch(batch)).events;
      answers.forEach((a, i) => {
        const req = batch[i]!;
        const version = (versions.get(req.entity_id) ?? 0) + 1;
        versions.set(req.entity_id, version);
        expect(a.version).toBe(version);
        ref.push({
          id: a.event_id,
          event_type: req.event_type,
          entity_id: req.entity_id,
          tenant_id: req.tenant_id ?? 'default',
          payload: req.payload,
          metadata: req.metadata ?? null,
          timestamp: a.timestamp,
          version,
          us: toUs(a.timestamp),
        });
      });
      // Half of the events go to a Parquet segment, the rest stay in the buffer.
      if (ref.length >= 160 && t.core.store.stats().parquetFiles === 0) await t.core.store.flush();
      await sleep(2);
    }
  });
  afterAll(() => t.stop());

  const strip = ({ us: _us, ...e }: RefEvent): Event => e;

  /** The reference answer: filter, sort by (timestamp, ingest order), order, offset, limit. */
  function expected(p: QueryEventsParams): Event[] {
    const until = [p.until, p.as_of].filter((x): x is string => x !== undefined).map(toUs);
    const untilUs = until.length > 0 ? Math.min(...until) : Infinity;
    const sinceUs = p.since === undefined ? -Infinity : toUs(p.since);
    let out = ref
      .map((e, i) => ({ e, i }))
      .filter(
        ({ e }) =>
          (p.entity_id === undefined || e.entity_id === p.entity_id) &&
          (p.event_type === undefined || e.event_type === p.event_type) &&
          (p.tenant_id === undefined || e.tenant_id === p.tenant_id) &&
          e.us >= sinceUs &&
          e.us <= untilUs,
      )
      .sort((a, b) => a.e.us - b.e.us || a.i - b.i)
      .map(({ e }) => strip(e));
    if (p.order === 'desc') out = out.reverse();
    const offset = p.offset ?? 0;
    return out.slice(offset, p.limit === undefined ? undefined : offset + p.limit);
  }

  it('ingested a few hundred events with differing timestamps over segments and the buffer', () => {
    expect(ref.length).toBeGreaterThanOrEqual(320);
    expect(new Set(ref.map((e) => e.timestamp)).size).toBeGreaterThan(50);
    const stats = t.core.store.stats();
    expect(stats.parquetFiles).toBeGreaterThanOrEqual(1);
    expect(stats.bufferedEvents).toBeGreaterThan(0);
  });

  it('returns every event, in timestamp order, with all fields, when no parameter is given', async () => {
    const res = await t.client.queryEvents();
    expect(res.count).toBe(ref.length);
    expect(res.events).toEqual(ref.map(strip));
    for (let i = 1; i < res.events.length; i++) {
      expect(res.events[i - 1]!.timestamp <= res.events[i]!.timestamp).toBe(true);
    }
  });

  it('returns the same event from GET /events/:id as from the query (segment and buffer)', async () => {
    for (const e of [ref[0]!, ref[100]!, ref[159]!, ref[200]!, ref[ref.length - 1]!]) {
      expect(await t.client.getEvent(e.id)).toEqual(strip(e));
    }
  });

  it('applies every combination of the nine parameters like the reference model', async () => {
    const keys = ['entity_id', 'event_type', 'tenant_id', 'since', 'until', 'as_of', 'limit', 'offset', 'order'] as const;
    const rnd = prng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    let nonEmpty = 0;
    const mismatches: string[] = [];
    for (let variant = 0; variant < 2; variant++) {
      for (let mask = 0; mask < 1 << keys.length; mask++) {
        const has = (k: (typeof keys)[number]): boolean => (mask & (1 << keys.indexOf(k))) !== 0;
        // Time bounds from real event timestamps (exercising inclusiveness), or 1 µs off them.
        const a = Math.floor(rnd() * ref.length);
        const b = a + Math.floor(rnd() * (ref.length - a));
        const c = a + Math.floor(rnd() * (ref.length - a));
        const jitter = (): number => (variant === 1 ? pick([-1, 0, 1]) : 0);
        const sinceUs = ref[a]!.us + (variant === 1 ? pick([0, 1]) : 0);
        const p: QueryEventsParams = {};
        if (has('entity_id')) p.entity_id = rnd() < 0.05 ? 'nobody' : pick(entities);
        if (has('event_type')) p.event_type = rnd() < 0.05 ? 'no.such.type' : pick(types);
        if (has('tenant_id')) p.tenant_id = rnd() < 0.05 ? 'tenant-z' : pick(tenants);
        if (has('since')) p.since = fromUs(sinceUs);
        if (has('until')) p.until = fromUs(Math.max(sinceUs, ref[b]!.us + jitter()));
        if (has('as_of')) p.as_of = fromUs(Math.max(sinceUs, ref[c]!.us + jitter()));
        if (has('limit')) p.limit = Math.floor(rnd() * 40);
        if (has('offset')) p.offset = Math.floor(rnd() * 30);
        if (has('order')) p.order = pick(['asc', 'desc'] as const);
        const want = expected(p);
        const res = await t.client.raw<{ events: Event[]; count: number }>('GET', '/api/v1/events/query', { params: p });
        if (res.status !== 200) {
          mismatches.push(`${JSON.stringify(p)} → ${res.status} ${res.text}`);
          continue;
        }
        if (res.data.count !== want.length || !isDeepStrictEqual(res.data.events, want)) {
          mismatches.push(`${JSON.stringify(p)}: got ${res.data.count} ids ${res.data.events.map((e) => e.id.slice(0, 4))}, want ${want.length} ids ${want.map((e) => e.id.slice(0, 4))}`);
        }
        if (want.length > 0) nonEmpty++;
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    // The combinations were not trivially empty.
    expect(nonEmpty).toBeGreaterThan(400);
  });

  it('applies time filters without entity or type (inclusive bounds)', async () => {
    const lo = ref[80]!;
    const hi = ref[240]!;
    const cases: QueryEventsParams[] = [
      { since: lo.timestamp },
      { until: hi.timestamp },
      { as_of: hi.timestamp },
      { since: lo.timestamp, until: hi.timestamp },
      { since: lo.timestamp, as_of: hi.timestamp, order: 'desc' },
      { since: lo.timestamp, until: lo.timestamp },
    ];
    for (const p of cases) {
      const want = expected(p);
      expect(want.length).toBeGreaterThan(0);
      expect(want.length).toBeLessThan(ref.length);
      const res = await t.client.queryEvents(p);
      expect(res.events.map((e) => e.id)).toEqual(want.map((e) => e.id));
      expect(res.count).toBe(want.length);
    }
    // Inclusive: an event stamped exactly at since/until is included.
    const exact = await t.client.queryEvents({ since: lo.timestamp, until: lo.timestamp });
    expect(exact.events.map((e) => e.id)).toContain(lo.id);
    // Other RFC 3339 spellings of the same instant mean the same thing.
    const offset = lo.timestamp.replace('Z', '+00:00');
    expect((await t.client.queryEvents({ since: offset })).count).toBe(expected({ since: lo.timestamp }).length);
    // Before the first and after the last event.
    expect((await t.client.queryEvents({ until: '2000-01-01T00:00:00Z' })).count).toBe(0);
    expect((await t.client.queryEvents({ since: '2999-01-01T00:00:00Z' })).count).toBe(0);
  });

  it('answers an unknown entity, type or tenant with an empty 200', async () => {
    for (const p of [{ entity_id: 'nobody' }, { event_type: 'no.such.type' }, { tenant_id: 'tenant-z' }, { entity_id: 'acct-1', event_type: 'no.such.type' }]) {
      const res = await t.client.raw('GET', '/api/v1/events/query', { params: p });
      expect(res.status).toBe(200);
      expect(res.data).toEqual({ events: [], count: 0 });
    }
  });

  it('applies limit and offset at the edges', async () => {
    expect((await t.client.queryEvents({ limit: 0 })).count).toBe(0);
    expect((await t.client.queryEvents({ limit: 1000 })).count).toBe(ref.length);
    expect((await t.client.queryEvents({ offset: ref.length })).count).toBe(0);
    expect((await t.client.queryEvents({ offset: ref.length - 1 })).events.map((e) => e.id)).toEqual([ref[ref.length - 1]!.id]);
    expect((await t.client.queryEvents({ order: 'desc', limit: 1 })).events.map((e) => e.id)).toEqual([ref[ref.length - 1]!.id]);
  });

  it.each(BAD_QUERIES)('rejects a bad parameter (%s) with 400 "Invalid query:"', async (q) => {
    expectError(await t.client.raw('GET', `/api/v1/events/query?${q}`), 400, 'INVALID_QUERY', 'Invalid query');
  });
});

describe('concurrent queries', () => {
  let t: TestCore;
  const byEntity = new Map<string, string[]>();

  beforeAll(async () => {
    // A segment cache of one row group: nearly every read waits for a decode, so queries in
    // flight together interleave while their answers are being written.
    t = await startTestCore({ SEGMENT_CACHE_BYTES: '0', ROW_GROUP_SIZE: '16', FLUSH_MAX_AGE_MS: '3600000' });
    for (let b = 0; b < 12; b++) {
      const batch = Array.from({ length: 25 }, (_, i) => ({ event_type: 'thing.happened', entity_id: `ent-${(b * 25 + i) % 9}`, payload: { b, i, text: 'ü'.repeat(i) } }));
      const res = await t.client.ingestBatch(batch);
      res.events.forEach((e, i) => byEntity.set(batch[i]!.entity_id, [...(byEntity.get(batch[i]!.entity_id) ?? []), e.event_id]));
      if (b === 7) await t.core.store.flush();
    }
  });
  afterAll(() => t.stop());

  it('answers many queries at once, each with its own events (answer buffers are reused)', async () => {
    const ids = [...byEntity.keys()];
    const asked = Array.from({ length: 60 }, (_, k) => ids[k % ids.length]!);
    const answers = await Promise.all(asked.map((entity_id) => t.client.queryEvents({ entity_id })));
    answers.forEach((res, k) => {
      expect(res.events.map((e) => e.id)).toEqual(byEntity.get(asked[k]!));
      expect(res.events.every((e) => e.entity_id === asked[k])).toBe(true);
    });
  });
});

describe('answer size bound (MAX_ANSWER_BYTES)', () => {
  let t: TestCore;
  const ids: string[] = [];

  beforeAll(async () => {
    t = await startTestCore({ MAX_ANSWER_BYTES: '4096', ROW_GROUP_SIZE: '16' });
    // 60 events of ~300 bytes each in an answer: about 18 KB, some flushed to segments, some buffered.
    for (let b = 0; b < 3; b++) {
      const res = await t.client.ingestBatch(Array.from({ length: 20 }, (_, i) => ({ event_type: 'big.one', entity_id: 'big', payload: { b, i, text: 'x'.repeat(150) } })));
      ids.push(...res.events.map((e) => e.event_id));
      if (b === 1) await t.core.store.flush();
    }
    // One event larger than the bound on its own.
    ids.push((await t.client.ingest({ event_type: 'big.one', entity_id: 'big', payload: { text: 'y'.repeat(6000) } })).event_id);
  });
  afterAll(() => t.stop());

  it('stops a query answer at the bound, says so, and the next page continues from next_offset', async () => {
    const pages: string[][] = [];
    let offset = 0;
    for (let k = 0; k < 20; k++) {
      const res = await t.client.raw('GET', '/api/v1/events/query', { params: { entity_id: 'big', offset } });
      expect(res.status).toBe(200);
      const body = res.data as { events: Array<{ id: string }>; count: number; truncated?: boolean; next_offset?: number };
      expect(body.count).toBe(body.events.length);
      pages.push(body.events.map((e) => e.id));
      // Within the bound, unless a single event is larger (it still comes, alone).
      if (body.count > 1) expect(Buffer.byteLength(JSON.stringify(res.data))).toBeLessThanOrEqual(4096);
      if (!body.truncated) break;
      expect(body.next_offset).toBe(offset + body.count);
      offset = body.next_offset!;
    }
    expect(pages.length).toBeGreaterThan(3);
    expect(pages.at(-1)).toEqual([ids.at(-1)]);
    expect(pages.flat()).toEqual(ids);
  });

  it('stops an entity state history at the bound, with the state and count still complete', async () => {
    const res = await t.client.raw('GET', '/api/v1/entities/big/state');
    expect(res.status).toBe(200);
    const body = res.data as { event_count: number; current_state: Record<string, unknown>; history: Array<{ event_id: string }>; history_truncated?: boolean };
    expect(body.event_count).toBe(ids.length);
    expect(body.history_truncated).toBe(true);
    expect(body.history.length).toBeGreaterThan(0);
    expect(body.history.length).toBeLessThan(ids.length);
    expect(body.history.map((h) => h.event_id)).toEqual(ids.slice(0, body.history.length));
    // The fold went on past the history: the last event's payload is in the state.
    expect(body.current_state).toMatchObject({ b: 2, i: 19, text: 'y'.repeat(6000) });
  });
});
